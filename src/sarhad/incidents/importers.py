"""Bulk import parsers: our CSV, JSON/JSON Lines, UCDP GED and ACLED CSV → ``IncidentIn`` rows.

Pure parsing, no database. Every row is validated by ``IncidentIn``; problems are reported as
``FieldError``s that name the column (or JSON key path) as the file spells it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sarhad.core.csvfile import FileFormatError, check_text, read_table
from sarhad.core.errors import FieldError, reason_of, validation_text
from sarhad.core.i18n import Text, message
from sarhad.core.markings import TLP
from sarhad.incidents import taxonomy as tx
from sarhad.incidents.schemas import IncidentIn

Format = Literal["csv", "json", "ucdp", "acled"]
FORMATS: tuple[str, ...] = ("csv", "json", "ucdp", "acled")
Loc = tuple[int | str, ...]


@dataclass
class ParsedRow:
    """One record of the file: a valid incident, or the reasons it is not one."""

    row: int  # CSV: physical line where the record starts (header = 1); JSON: 1-based index
    incident: IncidentIn | None
    external_ref: str | None
    errors: list[FieldError] = field(default_factory=list)


# --- our CSV: column → (path in IncidentIn, converter kind); dict order is the documented order
_GROUPS = {"sf": "security_forces", "civ": "civilians", "asl": "assailants"}
# fmt: off
_OURS: dict[str, tuple[tuple[str, ...], str]] = {
    "title": (("title",), "text"), "category": (("category",), "lower"),
    "occurred_at": (("occurred_at",), "when"), "date_precision": (("date_precision",), "lower"),
    "lon": (("location", "lon"), "number"), "lat": (("location", "lat"), "number"),
    "location_precision": (("location", "precision"), "lower"),
    "place": (("location", "place"), "text"), "reporting_side": (("reporting_side",), "upper"),
    **{f"{p}_{k}": (("casualties", g, k), "whole")
       for p, g in _GROUPS.items() for k in ("killed", "injured", "detained")},
    "seizures": (("seizures",), "seizures"),
    "source_reliability": (("grading", "source_reliability"), "upper"),
    "information_credibility": (("grading", "information_credibility"), "text"),
    "tlp": (("tlp",), "tlp"), "narrative": (("narrative",), "text"),
    "sources": (("sources",), "sources"), "far_from_line": (("far_from_line",), "flag"),
    "external_ref": ((), "ref"),
}
# fmt: on
CSV_COLUMNS: tuple[str, ...] = tuple(_OURS)
CSV_REQUIRED: tuple[str, ...] = ("title", "category", "occurred_at", "lon", "lat")
_OURS_LOC: dict[tuple[str, ...], str] = {path: col for col, (path, _) in _OURS.items() if path}

# --- UCDP GED
UCDP_REQUIRED: tuple[str, ...] = (
    "id", "type_of_violence", "dyad_name", "side_a", "side_b", "source_article",
    "source_headline", "where_prec", "where_coordinates", "adm_1", "latitude", "longitude",
    "date_prec", "date_start", "deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown",
)  # fmt: skip
UCDP_CITATION = "UCDP GED 23.1 (CC BY 4.0)"
_UCDP_DATE_PREC = {1: "day", 2: "week", 3: "week", 4: "month", 5: "year"}
_UCDP_WHERE_PREC = {1: "exact", 2: "near", 3: "district", 4: "province", 5: "border"}
_UCDP_WHERE_PREC |= {6: "country", 7: "country"}
_UCDP_CATEGORY = {
    1: tx.Category.ARMED_CLASH,
    2: tx.Category.ARMED_CLASH,
    3: tx.Category.ARMED_ATTACK,
}
# fmt: off
_UCDP_LOC: dict[tuple[str, ...], str] = {
    ("title",): "dyad_name", ("category",): "type_of_violence", ("occurred_at",): "date_start",
    ("date_precision",): "date_prec", ("location", "lon"): "longitude",
    ("location", "lat"): "latitude", ("location", "precision"): "where_prec",
    ("location", "place"): "where_coordinates", ("reporting_side",): "default_side",
    ("narrative",): "source_headline", ("sources",): "source_article",
    ("casualties", "civilians", "killed"): "deaths_civilians",
}
# fmt: on

# --- ACLED (codebook columns of the export; see docs/import-formats.md)
ACLED_REQUIRED: tuple[str, ...] = (
    "event_id_cnty", "event_date", "time_precision", "event_type", "sub_event_type",
    "actor1", "inter1", "country", "admin1", "location", "latitude", "longitude",
    "geo_precision", "source", "fatalities",
)  # fmt: skip
ACLED_CITATION = "ACLED, acleddata.com (terms of use apply)"
_ACLED_TIME_PREC = {1: "day", 2: "week", 3: "month"}
_ACLED_GEO_PREC = {1: "exact", 2: "near", 3: "district"}
# (event_type, sub_event_type) → category; a pair not listed falls back to its event type.
_ACLED_SUB: dict[tuple[str, str], tx.Category] = {
    ("battles", "armed clash"): tx.Category.ARMED_CLASH,
    ("battles", "government regains territory"): tx.Category.ARMED_CLASH,
    ("battles", "non-state actor overtakes territory"): tx.Category.ARMED_CLASH,
    ("explosions/remote violence", "remote explosive/landmine/ied"): tx.Category.EXPLOSION_IED,
    ("explosions/remote violence", "suicide bomb"): tx.Category.EXPLOSION_IED,
    ("explosions/remote violence", "grenade"): tx.Category.EXPLOSION_IED,
    ("explosions/remote violence", "shelling/artillery/missile attack"): tx.Category.ARMED_ATTACK,
    ("explosions/remote violence", "air/drone strike"): tx.Category.ARMED_ATTACK,
    ("explosions/remote violence", "chemical weapon"): tx.Category.ARMED_ATTACK,
    ("violence against civilians", "attack"): tx.Category.ARMED_ATTACK,
    ("violence against civilians", "abduction/forced disappearance"): tx.Category.KIDNAPPING,
    ("violence against civilians", "sexual violence"): tx.Category.OTHER,
    ("strategic developments", "looting/property destruction"): (tx.Category.INFRASTRUCTURE_ATTACK),
    ("strategic developments", "disrupted weapons use"): tx.Category.EXPLOSION_IED,
    ("strategic developments", "arrests"): tx.Category.OTHER,
}
_ACLED_TYPES = (
    "battles", "explosions/remote violence", "violence against civilians", "protests", "riots",
    "strategic developments",
)  # fmt: skip
# inter1/inter2: numeric codes in older exports, words in newer ones.
_ACLED_INTER = {
    "1": "State forces", "2": "Rebel group", "3": "Political militia", "4": "Identity militia",
    "5": "Rioters", "6": "Protesters", "7": "Civilians", "8": "External/Other forces",
}  # fmt: skip
# Actor types that are organisations: their names may be kept in the narrative. Rioters,
# protesters and civilians are people, so only the word for their kind is kept.
_ACLED_ORGS = {"State forces", "Rebel group", "Political militia", "Identity militia"}
_ACLED_ORGS |= {"External/Other forces"}
_ACLED_CROSSING_RE = re.compile(
    r"border (?:crossing|gate|market|point|terminal)|crossing point|zero point|"
    r"\b(?:Taftan|Mirjaveh|Gabd|Rimdan|Chedgi|Kuhak)\b",
    re.IGNORECASE,
)
_ACLED_FORCES_OF = re.compile(r"\bForces of (\w+)")
# fmt: off
_ACLED_LOC: dict[tuple[str, ...], str] = {
    ("title",): "sub_event_type", ("category",): "event_type",
    ("occurred_at",): "event_date", ("date_precision",): "time_precision",
    ("location", "lon"): "longitude", ("location", "lat"): "latitude",
    ("location", "precision"): "geo_precision", ("location", "place"): "location",
    ("reporting_side",): "default_side", ("narrative",): "actor1", ("sources",): "source",
}
# fmt: on

# --- messages
_CHOICES: dict[str, tuple[Text, list[str]]] = {
    "category": (message("import.what.category", "category"), [c.value for c in tx.Category]),
    "date_precision": (
        message("import.what.date_precision", "date precision"),
        [d.value for d in tx.DatePrecision],
    ),
    "precision": (
        message("import.what.precision", "location precision"),
        [p.value for p in tx.LocationPrecision],
    ),
    "tlp": (message("import.what.tlp", "TLP"), [t.value for t in TLP]),
    "commodity": (message("import.what.commodity", "commodity"), [c.value for c in tx.Commodity]),
    "unit": (message("import.what.unit", "unit"), [u.value for u in tx.Unit]),
    "source_reliability": (
        message("import.what.reliability", "source reliability"),
        list(tx.RELIABILITY),
    ),
    "information_credibility": (
        message("import.what.credibility", "information credibility"),
        list(tx.CREDIBILITY),
    ),
}
_RANGES = {"lat": (-90, 90), "lon": (-180, 180)}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BYLINE_RE = re.compile(r"\n\s*AU[ \t]*\n[^\n]*")  # Factiva author tag in UCDP text: a person


def _explain(err: ErrorDetails) -> Text:
    """Say a pydantic error in words a duty officer understands."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    last = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
    if kind == "missing":
        return _REQUIRED
    if kind in ("enum", "literal_error") and last in _CHOICES:
        what, options = _CHOICES[last]
        return message(
            "import.unknown_choice",
            "unknown {what} {value}; use one of {options}",
            what=what,
            value=repr(value),
            options=", ".join(options),
        )
    if kind in ("greater_than_equal", "less_than_equal") and last in _RANGES:
        least, most = _RANGES[last]
        return message(
            "import.between", "must be between {least} and {most}", least=least, most=most
        )
    if kind == "greater_than_equal":
        if ctx.get("ge") == 0:
            return _NEGATIVE
        return message("import.at_least", "must be at least {least}", least=ctx.get("ge"))
    simple = {
        "less_than_equal": lambda: message(
            "import.at_most", "must be at most {most}", most=ctx.get("le")
        ),
        "greater_than": lambda: message(
            "import.more_than", "must be more than {least}", least=ctx.get("gt")
        ),
        "string_too_short": lambda: message(
            "import.too_short",
            "must be at least {least} characters long",
            least=ctx.get("min_length"),
        ),
        "string_too_long": lambda: message(
            "import.ref_too_long",
            "must be at most {most} characters long",
            most=ctx.get("max_length"),
        ),
        "too_long": lambda: message(
            "import.too_many", "must have at most {most} entries", most=ctx.get("max_length")
        ),
        "string_pattern_mismatch": lambda: message(
            "import.country", "must be a two-letter country code in capitals, e.g. PK or IR"
        ),
        "timezone_aware": lambda: _NO_ZONE,
        "extra_forbidden": lambda: message("import.unknown_field", "is not a known field"),
        "model_type": lambda: _OBJECT,
        "dict_type": lambda: _OBJECT,
        "list_type": lambda: message("import.list", "must be a list [...]"),
        "string_type": lambda: message("import.ref_text", "must be text"),
    }
    if kind in simple:
        return simple[kind]()
    if kind.startswith("int_"):
        return _not_whole(value)
    if kind.startswith("float_"):
        return message("import.not_number", "{value} is not a number", value=repr(value))
    if kind.startswith("datetime"):
        return _not_when(value)
    return validation_text(err) or message(
        "import.as_said", "{text}", text=err["msg"].removeprefix("Value error, ")
    )


_NO_ZONE = message("import.no_zone", "has no time zone; add one, e.g. Z or +05:00")
_OBJECT = message("import.object", "must be an object {{...}}")


def _not_whole(value: object) -> Text:
    return message("import.not_whole", "{value} is not a whole number", value=repr(value))


def _not_when(value: object) -> Text:
    return message(
        "import.not_when",
        "{value} is not a date and time; use ISO 8601, e.g. 2024-03-01T14:30:00+05:00, "
        "or a date 2024-03-01",
        value=repr(value),
    )


def _item(no: int, raw: str) -> Text:
    """``item 2 'hashish:x:kg'`` (or ``item 2``): where in a list cell a problem is."""
    if raw:
        return message("import.item", "item {no} {raw}", no=no, raw=raw)
    return message("import.item_no", "item {no}", no=no)


def _validate(
    data: dict[str, Any], name: Callable[[Loc], tuple[str, str]], already: set[str]
) -> tuple[IncidentIn | None, list[FieldError]]:
    """Validate through IncidentIn; ``name`` maps a pydantic loc to (field, message prefix)."""
    try:
        return IncidentIn.model_validate(data), []
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            fld, item = name(err["loc"])
            # A value we could not even convert was left out; don't also call it "required".
            if err["type"] == "missing" and fld in already:
                continue
            problem = _explain(err)
            if item:
                problem = message("import.at_item", "{item}: {problem}", item=item, problem=problem)
            errors.append(FieldError.of(fld, problem))
        return None, errors


_REQUIRED = message("import.required", "is required")
_NEGATIVE = message("import.negative", "must not be negative")


# --- converters: raise ValueError with the message to show
def _number(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        if re.fullmatch(r"-?\d+,\d+", s):
            raise ValueError(
                message(
                    "import.decimal_comma",
                    "{value} is not a number (use a point as the decimal separator)",
                    value=repr(s),
                )
            ) from None
        raise ValueError(
            message("import.not_number", "{value} is not a number", value=repr(s))
        ) from None


def _flag(s: str) -> bool:
    word = s.strip().lower()
    if word in ("true", "yes", "1", "y"):
        return True
    if word in ("false", "no", "0", "n", ""):
        return False
    raise ValueError(message("import.not_flag", "{value} is not true or false", value=repr(s)))


def _whole(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        try:
            f = float(s)  # "3.0" from a spreadsheet is still a whole number
        except ValueError:
            f = 0.5
        if not f.is_integer():
            raise ValueError(_not_whole(s)) from None
        return int(f)


def _when(s: str) -> tuple[datetime, bool]:
    """Parse occurred_at; a bare date means 00:00 UTC. Returns (when, was_date_only)."""
    if _DATE_RE.fullmatch(s):
        try:
            return datetime.combine(date.fromisoformat(s), time(), UTC), True
        except ValueError:
            raise ValueError(
                message("import.bad_date", "{value} is not a valid date", value=repr(s))
            ) from None
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(_not_when(s)) from None
    if when.tzinfo is None:
        raise ValueError(
            message(
                "import.value_no_zone",
                "{value} has no time zone; add one, e.g. Z or +05:00",
                value=repr(s),
            )
        )
    return when, False


def _seizures(s: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]], list[Text]]:
    """Parse "hashish:120:kg; diesel:5000:l" → (items, [(item no, raw)], error messages)."""
    items: list[dict[str, Any]] = []
    where: list[tuple[int, str]] = []
    problems: list[Text] = []
    for no, raw in enumerate((p.strip() for p in s.split(";") if p.strip()), 1):
        parts = [p.strip() for p in raw.split(":")]
        if len(parts) != 3:
            problems.append(
                message(
                    "import.seizure_format",
                    "item {no} {raw} must be commodity:quantity:unit, e.g. hashish:120:kg",
                    no=no,
                    raw=repr(raw),
                )
            )
            continue
        try:
            qty = _number(parts[1])
        except ValueError as exc:
            problems.append(
                message(
                    "import.quantity",
                    "item {no} {raw}: quantity {problem}",
                    no=no,
                    raw=repr(raw),
                    problem=reason_of(exc),
                )
            )
            continue
        # Units are case-sensitive in the model (kg but PKR); accept any case in files.
        unit = next((u.value for u in tx.Unit if u.value.lower() == parts[2].lower()), parts[2])
        items.append({"commodity": parts[0].lower(), "quantity": qty, "unit": unit})
        where.append((no, raw))
    return items, where, problems


# fmt: off
_CONVERT: dict[str, Callable[[str], Any]] = {
    "text": str, "lower": str.lower, "upper": str.upper, "number": _number, "whole": _whole,
    "flag": _flag,
    "tlp": lambda s: s.lower().removeprefix("tlp:"),
    "sources": lambda s: [p.strip() for p in s.split("|") if p.strip()],
}
# fmt: on


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


# --- reading
def _ours_row(
    line: int, v: dict[str, str], default_side: str, errs: list[FieldError], far: bool = False
) -> ParsedRow:
    data: dict[str, Any] = {"location": {}, "reporting_side": default_side, "far_from_line": far}
    seizure_at: list[tuple[int, str]] = []
    for col, s in v.items():
        path, kind = _OURS[col]
        try:
            if kind == "when":
                when, date_only = _when(s)
                data["occurred_at"] = when
                if date_only:
                    # setdefault: a date_precision column wins wherever it stands
                    data.setdefault("date_precision", "day")
            elif kind == "seizures":
                items, seizure_at, problems = _seizures(s)
                data["seizures"] = items
                errs += [FieldError.of(col, p) for p in problems]
            elif kind != "ref":
                _put(data, path, _CONVERT[kind](s))
        except ValueError as exc:
            errs.append(FieldError.of(col, reason_of(exc)))

    def name(loc: Loc) -> tuple[str, str]:
        if loc[0] == "seizures" and len(loc) > 1 and isinstance(loc[1], int):
            no, raw = seizure_at[loc[1]]
            return "seizures", _item(no, repr(raw))
        if loc[0] == "sources" and len(loc) > 1 and isinstance(loc[1], int):
            return "sources", _item(loc[1] + 1, "")
        return _OURS_LOC.get(tuple(str(p) for p in loc), ".".join(map(str, loc))), ""

    incident, more = _validate(data, name, {e.field for e in errs})
    order = {c: i for i, c in enumerate(("row", *CSV_COLUMNS))}
    errs = sorted(errs + more, key=lambda e: order.get(e.field, len(order)))
    return _row(line, incident, v.get("external_ref"), errs)


def _row(n: int, inc: IncidentIn | None, ref: str | None, errs: list[FieldError]) -> ParsedRow:
    if ref is not None and len(ref) > 200:
        errs.append(
            FieldError.of(
                "external_ref",
                message("import.ref_too_long", "must be at most {most} characters long", most=200),
            )
        )
    return ParsedRow(n, None if errs else inc, ref, errs)


# --- UCDP GED
def _ucdp_text(s: str) -> str:
    """Drop Factiva author bylines (private persons), put lines on one line, fold spaces."""
    lines = (" ".join(x.split()) for x in _BYLINE_RE.sub("", s).split("\n"))
    return ", ".join(x for x in lines if x)


def _ucdp_sources(article: str) -> list[str]:
    """Split source_article: '"a,b";"c,d"' (quoted, ';'-separated) or "(1) …\n\n(2) …"."""
    if re.match(r"\(\d+\)\s", article):
        parts = [re.sub(r"^\(\d+\)\s*", "", p) for p in re.split(r"\n\s*\n(?=\(\d+\))", article)]
    else:
        # ';' splits only outside "..." (headlines may contain ';'); a stray " is literal.
        parts = [
            t[1:-1].replace('""', '"') if t[:1] == t[-1:] == '"' and len(t) > 1 else t
            for t in re.findall(r'"(?:[^"]|"")*"|[^;]+', article)
        ]
    texts = [t if len(t) <= 500 else t[:499] + "…" for t in map(_ucdp_text, parts) if t]
    return texts[:49]  # IncidentIn allows 50 sources; one is kept for the UCDP citation


def _code(table: dict[int, Any]) -> Callable[[str], Any]:
    def convert(s: str) -> Any:
        try:
            return table[_whole(s)]
        except (ValueError, KeyError):
            codes = ", ".join(map(str, sorted(table)))
            raise ValueError(
                message(
                    "import.ucdp_code",
                    "{value} is not a UCDP code ({codes})",
                    value=repr(s),
                    codes=codes,
                )
            ) from None

    return convert


def _ucdp_row(
    line: int, v: dict[str, str], default_side: str, errs: list[FieldError], far: bool = False
) -> ParsedRow:
    def get(col: str, conv: Callable[[str], Any], default: Any = None) -> Any:
        try:
            return conv(v[col]) if col in v else default
        except ValueError as exc:
            errs.append(FieldError.of(col, reason_of(exc)))
            return default

    uid = get("id", lambda s: str(_whole(s)) if re.fullmatch(r"\d+\.0+", s) else s)
    if uid is None:
        errs.append(FieldError.of("id", _REQUIRED))
    category = get("type_of_violence", _code(_UCDP_CATEGORY))
    state_based = category is not None and _whole(v["type_of_violence"]) == 1
    deaths = {c: get(c, _whole, 0) for c in UCDP_REQUIRED if c.startswith("deaths_")}
    errs += [FieldError.of(c, _NEGATIVE) for c, n in deaths.items() if n < 0]
    killed = {"security_forces": 0, "civilians": deaths["deaths_civilians"], "assailants": 0}
    for side in ("a", "b"):
        # State-based: a "Government of …" side is security forces; every other party is an
        # armed group, i.e. assailants (so are both parties of non-state and one-sided events).
        gov = state_based and v.get(f"side_{side}", "").startswith("Government of")
        killed["security_forces" if gov else "assailants"] += deaths[f"deaths_{side}"]
    dyad, place, day = v.get("dyad_name", ""), v.get("where_coordinates"), v.get("date_start", "")
    notes = ["; ".join(t for t in map(_ucdp_text, v.get("source_headline", "").split(";")) if t)]
    if deaths["deaths_unknown"]:
        # Not attributable to a group, but must not be lost: best = all killed + unknown.
        notes.append(f"{deaths['deaths_unknown']} deaths of unknown affiliation (UCDP)")
    notes.append(f"UCDP GED {uid}, dyad: {dyad}")
    where = place or v.get("adm_1") or v.get("country")
    title = f"{dyad[:80]} ({where}), {day[:10]}" if where else f"{dyad[:80]}, {day[:10]}"
    location = {
        "lon": get("longitude", _number),
        "lat": get("latitude", _number),
        "precision": get("where_prec", _code(_UCDP_WHERE_PREC)),
        "place": place[:200] if place else None,
    }
    # GED exports may write the day as "2010-04-27 00:00:00.000"
    when = get("date_start", lambda s: _when(re.sub(r"[ T]00:00:00(\.0+)?$", "", s)))
    data: dict[str, Any] = {
        "title": title[:200],
        "category": category,
        "occurred_at": when[0] if when else None,
        "date_precision": get("date_prec", _code(_UCDP_DATE_PREC)),
        "location": {k: x for k, x in location.items() if x is not None},
        "reporting_side": default_side,
        "casualties": {g: {"killed": n} for g, n in killed.items()},
        "grading": {"source_reliability": "B", "information_credibility": "2"},
        "tlp": "clear",
        "narrative": "\n".join(n for n in notes if n),
        "sources": [*_ucdp_sources(v.get("source_article", "")), UCDP_CITATION],
        "far_from_line": far,
    }

    def name(loc: Loc) -> tuple[str, str]:
        key = tuple(p for p in loc if isinstance(p, str))
        if key in _UCDP_LOC:
            return _UCDP_LOC[key], ""
        return "deaths_a, deaths_b" if key[:1] == ("casualties",) else ".".join(key), ""

    data = {k: x for k, x in data.items() if x is not None}
    incident, more = _validate(data, name, {e.field for e in errs})
    return _row(line, incident, f"ucdp-ged:{uid}" if uid else None, errs + more)


# --- ACLED
def _acled_date(s: str) -> tuple[datetime, bool]:
    """ACLED writes ``2024-01-18`` (API), ``18 January 2024`` or ``18-01-2024`` (older files)."""
    if _DATE_RE.fullmatch(s):
        return _when(s)
    for pattern in ("%d %B %Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(s, pattern).replace(tzinfo=UTC), True
        except ValueError:
            continue
    raise ValueError(f"{s!r} is not a date; use 2024-01-18, 18 January 2024 or 18-01-2024")


def _acled_code(table: dict[int, str]) -> Callable[[str], str]:
    def convert(s: str) -> str:
        try:
            return table[_whole(s)]
        except (ValueError, KeyError):
            codes = ", ".join(map(str, sorted(table)))
            raise ValueError(f"{s!r} is not an ACLED code ({codes})") from None

    return convert


def _acled_category(v: dict[str, str]) -> tx.Category:
    """Map event_type/sub_event_type onto the taxonomy (the table in docs/import-formats.md)."""
    etype = v.get("event_type", "").strip().lower()
    sub = v.get("sub_event_type", "").strip().lower()
    if etype not in _ACLED_TYPES:
        known = "Battles, Explosions/Remote violence, Violence against civilians, Protests, Riots, "
        raise ValueError(
            message(
                "import.acled_type",
                "{value} is not an ACLED event type; use one of {known}",
                value=repr(v.get("event_type", "")),
                known=known + "Strategic developments",
            )
        )
    if etype in ("protests", "riots"):
        # Notes are read to classify only (never stored): they may name people.
        about = " ".join(v.get(c, "") for c in ("location", "notes"))
        if _ACLED_CROSSING_RE.search(about):
            return tx.Category.CROSSING_CLOSURE_PROTEST
        return tx.Category.OTHER
    category = _ACLED_SUB.get((etype, sub))
    if category is None:
        return tx.Category.ARMED_CLASH if etype == "battles" else tx.Category.OTHER
    if category is tx.Category.ARMED_ATTACK and etype == "explosions/remote violence":
        # Shelling or a strike by the other country's forces is fire across the border.
        foreign = _ACLED_FORCES_OF.search(v.get("actor1", ""))
        if foreign and foreign.group(1).lower() != v.get("country", "").strip().lower():
            return tx.Category.CROSS_BORDER_FIRE
    return category


def _acled_actor(name: str, inter: str) -> str | None:
    """An actor for the narrative: an organisation's name, or only the kind of people."""
    kind = _ACLED_INTER.get(inter.strip(), inter.strip())
    if not name:
        return None
    if kind in _ACLED_ORGS:
        return f"{name} ({kind.lower()})"
    return kind or None


def _acled_row(
    line: int, v: dict[str, str], default_side: str, errs: list[FieldError], far: bool = False
) -> ParsedRow:
    def get(col: str, conv: Callable[[str], Any], default: Any = None) -> Any:
        try:
            return conv(v[col]) if col in v else default
        except ValueError as exc:
            errs.append(FieldError.of(col, reason_of(exc)))
            return default

    uid = v.get("event_id_cnty")
    if uid is None:
        errs.append(FieldError.of("event_id_cnty", _REQUIRED))
    category = get("event_type", lambda _: _acled_category(v))
    fatalities = get("fatalities", _whole, 0)
    if fatalities < 0:
        errs.append(FieldError.of("fatalities", _NEGATIVE))
    # ACLED gives one total, not split by party. Where ACLED says civilians were the target,
    # the dead are civilians; otherwise no group can be chosen without guessing, so the
    # number is kept in the narrative (as UCDP's deaths of unknown affiliation are).
    civilian = bool(v.get("civilian_targeting")) and fatalities > 0
    actors = [
        a
        for a in (
            _acled_actor(v.get("actor1", ""), v.get("inter1", "")),
            _acled_actor(v.get("actor2", ""), v.get("inter2", "")),
        )
        if a
    ]
    kind = f"{v.get('event_type', '')} / {v.get('sub_event_type', '')}"
    notes = [f"ACLED {uid}: {kind}" + (f" ({v['disorder_type']})" if "disorder_type" in v else "")]
    if actors:
        notes.append("Actors: " + "; ".join(actors))
    if fatalities > 0 and not civilian:
        notes.append(f"{fatalities} reported fatalities, not split by party (ACLED)")
    where = ", ".join(
        dict.fromkeys(x for x in (v.get("location"), v.get("admin2"), v.get("admin1")) if x)
    )
    when = get("event_date", _acled_date)
    day = when[0].date().isoformat() if when else v.get("event_date", "")
    title = f"{v.get('sub_event_type', kind)[:80]} ({v.get('location', '')[:60]}), {day}"
    location = {
        "lon": get("longitude", _number),
        "lat": get("latitude", _number),
        "precision": get("geo_precision", _acled_code(_ACLED_GEO_PREC)),
        "place": where[:200] or None,
    }
    sources = [s.strip()[:500] for s in v.get("source", "").split(";") if s.strip()]
    data: dict[str, Any] = {
        "title": title[:200],
        "category": category,
        "occurred_at": when[0] if when else None,
        "date_precision": get("time_precision", _acled_code(_ACLED_TIME_PREC)),
        "location": {k: x for k, x in location.items() if x is not None},
        "reporting_side": default_side,
        "casualties": {"civilians": {"killed": fatalities if civilian else 0}},
        "grading": {"source_reliability": "B", "information_credibility": "2"},
        # Not "clear": ACLED's terms of use limit redistribution of its rows.
        "tlp": "amber",
        "narrative": "\n".join(notes),
        "sources": [*sources[:49], ACLED_CITATION],
        "far_from_line": far,
    }

    def name(loc: Loc) -> tuple[str, str]:
        key = tuple(p for p in loc if isinstance(p, str))
        if key in _ACLED_LOC:
            return _ACLED_LOC[key], ""
        return "fatalities" if key[:1] == ("casualties",) else ".".join(key), ""

    data = {k: x for k, x in data.items() if x is not None}
    incident, more = _validate(data, name, {e.field for e in errs})
    return _row(line, incident, f"acled:{uid}" if uid else None, errs + more)


# --- JSON
def _json_items(path: Path) -> list[tuple[int, Any]]:
    """Load (row number, item) pairs from a JSON array/{"incidents": [...]} or JSON Lines."""
    check_text(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        items, bad = [], []
        # split("\n"), not splitlines(): U+2028 may legally appear inside JSON strings.
        for no, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    items.append((no, json.loads(line)))
                except json.JSONDecodeError as exc:
                    bad.append(
                        message(
                            "import.bad_json_line",
                            "line {line} is not valid JSON ({why})",
                            line=no,
                            why=exc.msg,
                        )
                    )
        if bad:
            raise FileFormatError(bad[:10])
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(
                message(
                    "import.bad_json",
                    "not valid JSON at line {line}, column {column} ({why})",
                    line=exc.lineno,
                    column=exc.colno,
                    why=exc.msg,
                )
            ) from None
        if isinstance(data, dict) and isinstance(data.get("incidents"), list):
            data = data["incidents"]
        if not isinstance(data, list):
            raise FileFormatError(
                message(
                    "import.json_shape",
                    "the JSON must be a list of incidents [...] or an object "
                    '{{"incidents": [...]}}',
                )
            )
        items = list(enumerate(data, 1))
    if others := [str(n) for n, item in items if not isinstance(item, dict)]:
        shown = ", ".join(others[:10]) + (" …" if len(others) > 10 else "")
        raise FileFormatError(
            message(
                "import.not_objects", "these rows are not JSON objects {{...}}: {rows}", rows=shown
            )
        )
    return items


def _json_row(no: int, item: dict[str, Any], default_side: str, far: bool = False) -> ParsedRow:
    obj, errs = dict(item), []
    ref = obj.pop("external_ref", None)
    if ref is not None and not isinstance(ref, str):
        errs.append(FieldError.of("external_ref", message("import.ref_text", "must be text")))
        ref = None
    obj.setdefault("reporting_side", default_side)
    obj.setdefault("far_from_line", far)
    when = obj.get("occurred_at")
    if isinstance(when, str) and _DATE_RE.fullmatch(when.strip()):
        try:
            obj["occurred_at"] = _when(when.strip())[0]
            obj.setdefault("date_precision", "day")
        except ValueError as exc:
            errs.append(FieldError.of("occurred_at", reason_of(exc)))
            del obj["occurred_at"]

    def name(loc: Loc) -> tuple[str, str]:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        return path.lstrip("."), ""

    incident, more = _validate(obj, name, {e.field for e in errs})
    return _row(no, incident, (ref or "").strip() or None, errs + more)


# --- public API
def parse_file(
    path: Path, fmt: Format, *, default_side: str, far_from_line: bool = False
) -> Iterator[ParsedRow]:
    """Parse a file row by row. Raises FileFormatError if the file cannot be read at all.

    ``far_from_line`` marks every row that does not say otherwise as far from the line (its
    point may then lie beyond the node's distance limit).
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise FileFormatError(
            message(
                "import.unknown_format",
                "unknown format {fmt}; use {formats}",
                fmt=repr(fmt),
                formats=", ".join(FORMATS),
            )
        )
    if not path.is_file():
        raise FileFormatError(
            message("import.not_a_file", "{name} is not a readable file", name=repr(path.name))
        )
    try:
        if fmt == "json":
            for no, item in _json_items(path):
                yield _json_row(no, item, default_side, far_from_line)
        elif fmt == "csv":
            for line, v, errs in read_table(path, CSV_REQUIRED, CSV_COLUMNS):
                yield _ours_row(line, v, default_side, errs, far_from_line)
        elif fmt == "acled":
            for line, v, errs in read_table(path, ACLED_REQUIRED, None):
                yield _acled_row(line, v, default_side, errs, far_from_line)
        else:
            for line, v, errs in read_table(path, UCDP_REQUIRED, None):
                yield _ucdp_row(line, v, default_side, errs, far_from_line)
    except OSError as exc:
        raise FileFormatError(
            message("import.unreadable", "cannot read the file ({why})", why=exc.strerror or exc)
        ) from None


def count_records(path: Path, fmt: Format) -> int:
    """Cheap record count for a progress bar; never raises (0 when unreadable)."""
    path = Path(path)
    try:
        if fmt != "json":
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
                return max(
                    sum(1 for cells in csv.reader(f) if any(c.strip() for c in cells)) - 1, 0
                )
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            with path.open(encoding="utf-8-sig", errors="replace") as f:
                return sum(1 for line in f if line.strip())
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        data = data.get("incidents") if isinstance(data, dict) else data
        return len(data) if isinstance(data, list) else 0
    except (OSError, ValueError, csv.Error):
        return 0
