"""Query parameter types every route shares, and the contract rules that go with them.

One rule for every ``/api/v1`` route instead of a check per route:

- date-times are ISO 8601 / RFC 3339 strings with a time zone (``2026-11-21T06:00:00Z``), dates
  are ``YYYY-MM-DD``, months ``YYYY-MM``: never numbers (``at=0.5`` is not a time), and only
  within the years 1900 to 2199, so that no later arithmetic (hours and days added to a moment)
  can overflow the calendar;
- a side, a sector or a crossing must be one of this node's border profile (422 naming the
  parameter otherwise); the OpenAPI document lists the values (``enum``);
- an empty query value (``?side=``, what a browser form sends for an empty field) is the same
  as leaving the parameter out; the OpenAPI document says so with ``allowEmptyValue``.

The profile's values are per node, and the route modules are shared by every app in a process,
so the app gives them to ``ParamsContext`` (an ASGI middleware) which makes them known to the
validators for the duration of each request, and to ``complete_openapi`` for the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import Query
from pydantic import (
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from sarhad.core.i18n import Text, message
from sarhad.core.text import STRIPPED_MARK, text_pattern

#: The years a date or date-time parameter may name: wide enough for any record of the
#: border, narrow enough that adding days to any of them stays inside the calendar.
FIRST_YEAR, LAST_YEAR = 1900, 2199

_YEAR = r"(19\d{2}|2[01]\d{2})"
_DATE = rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
_OFFSET = r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
DATETIME_PATTERN = rf"^{_DATE}[Tt]{_TIME}{_OFFSET}$"
DATE_PATTERN = rf"^{_DATE}$"
MONTH_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
_LON = r"-?(180(\.0{1,12})?|(1[0-7]\d|\d{1,2})(\.\d{1,12})?)"
_LAT = r"-?(90(\.0{1,12})?|[0-8]?\d(\.\d{1,12})?)"
BBOX_PATTERN = rf"^{_LON},{_LAT},{_LON},{_LAT}$"

#: Marks a schema whose values are one of the node's vocabularies (sides, sectors, crossings);
#: ``complete_openapi`` replaces it with the ``enum`` of this node's values.
VOCABULARY = "x-sarhad-vocabulary"
SIDES, SECTORS, CROSSINGS = "sides", "sectors", "crossings"


def vocabulary(name: str) -> dict[str, Any]:
    """``json_schema_extra`` for a body field whose value must be one of a vocabulary."""
    return {VOCABULARY: name}


@dataclass(frozen=True)
class Vocabularies:
    """The values of this node's border profile that parameters are checked against."""

    values: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def check(self, name: str, value: str, what: Text) -> str:
        """``value`` if it is one of ``name``; a ValueError telling the choices otherwise."""
        known = self.values.get(name, ())
        if value in known:
            return value
        if len(known) > 5:
            choices = message(
                "params.range", "one of {first} … {last}", first=known[0], last=known[-1]
            )
        else:
            choices = message(
                "params.or",
                "{rest} or {last}",
                rest=", ".join(known[:-1]),
                last=known[-1] if known else "",
            )
        raise ValueError(
            message(
                "params.not_of_border",
                "{value} is not a {what} of this border; use {choices}",
                value=repr(value[:60]),
                what=what,
                choices=choices,
            )
        )


_current: ContextVar[Vocabularies] = ContextVar("sarhad_vocabularies")


def _known() -> Vocabularies:
    try:
        return _current.get()
    except LookupError:  # a route served without ParamsContext: a wiring mistake, not input
        raise RuntimeError("the app must wrap its routes in core.params.ParamsContext") from None


# -- parsers (each raises ValueError with a message for the user; pydantic names the field) ---


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(message("params.text", "must be text"))
    return value


def _outside(text: str) -> ValueError | None:
    """The error for a date-like text whose year is outside the years allowed, if it is one."""
    found = re.match(r"([+-]?\d+)-\d\d(-|$)", text)
    if found and not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        return ValueError(
            message(
                "params.outside_years",
                "{text} is outside the years {first} to {last}",
                text=repr(text[:40]),
                first=FIRST_YEAR,
                last=LAST_YEAR,
            )
        )
    return None


def parse_datetime(value: object) -> datetime | None:
    """An RFC 3339 date-time with its zone, within the years 1900-2199, as UTC."""
    if value is None or isinstance(value, datetime):  # already parsed (a direct call)
        return value
    text = _text(value).strip()
    if not text:
        return None
    if re.fullmatch(DATETIME_PATTERN, text):
        try:
            return datetime.fromisoformat(text.upper()).astimezone(UTC)
        except ValueError:
            pass  # the 30th of February and the like: the pattern does not know month lengths
    if (outside := _outside(text)) is not None:
        raise outside
    if re.fullmatch(r"\d{4}-\d\d-\d\d([Tt ][\d:.]+)?", text):
        raise ValueError(
            message(
                "params.no_zone",
                "{text} has no time zone; add one, e.g. Z for UTC",
                text=repr(text[:40]),
            )
        )
    raise ValueError(
        message(
            "params.not_datetime",
            "{text} is not a date-time; write e.g. 2026-11-21T06:00:00Z "
            "(ISO 8601 with seconds and a time zone)",
            text=repr(text[:40]),
        )
    )


def parse_date(value: object) -> date | None:
    """A ``YYYY-MM-DD`` date within the years 1900-2199."""
    if value is None or isinstance(value, date):
        return value
    text = _text(value).strip()
    if not text:
        return None
    if re.fullmatch(DATE_PATTERN, text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _outside(text) or ValueError(
        message(
            "params.not_date", "{text} is not a date; write e.g. 2026-11-21", text=repr(text[:40])
        )
    )


def parse_month(value: object) -> str | None:
    """A ``YYYY-MM`` month within the years 1900-2199 (kept as text)."""
    if value is None:
        return None
    text = _text(value).strip()
    if not text:
        return None
    if re.fullmatch(MONTH_PATTERN, text):
        return text
    raise _outside(text) or ValueError(
        message(
            "params.not_month", "{text} is not a month; write e.g. 2026-11", text=repr(text[:40])
        )
    )


def _one_of(name: str, what: Text) -> Any:
    def parse(value: object) -> str | None:
        if value is None:
            return None
        text = _text(value).strip()
        return _known().check(name, text, what) if text else None

    return parse


def _many_of(name: str, what: Text) -> Any:
    one = _one_of(name, what)

    def parse(value: object) -> list[str] | None:
        if value is None:
            return None
        values = value if isinstance(value, list | tuple) else [value]
        picked = [v for v in (one(v) for v in values) if v is not None]
        return list(dict.fromkeys(picked)) or None

    return parse


def parse_bbox(value: object) -> tuple[float, float, float, float] | None:
    """``min_lon,min_lat,max_lon,max_lat`` in WGS84 degrees, minimum before maximum."""
    if isinstance(value, list):  # read as a sequence: one box, given once
        if len(value) > 1:
            raise ValueError(message("params.one_box", "give one box"))
        value = value[0] if value else None
    if value is None:
        return None
    text = _text(value).strip()
    if not text:
        return None
    if not re.fullmatch(BBOX_PATTERN, text):
        raise ValueError(
            message(
                "params.bbox",
                "give four numbers: min_lon,min_lat,max_lon,max_lat "
                "(longitudes from -180 to 180, latitudes from -90 to 90)",
            )
        )
    w, s, e, n = (float(x) for x in text.split(","))
    if not (w <= e and s <= n):
        raise ValueError(
            message(
                "params.bbox_order",
                "the minimum comes first: min_lon <= max_lon and min_lat <= max_lat",
            )
        )
    return w, s, e, n


def _schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", **schema})


def _list_schema(item: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"type": "array", "items": {"type": "string", **item}})


# -- the shared types --------------------------------------------------------------------------

QueryDateTime = Annotated[
    datetime | None,
    PlainValidator(parse_datetime),
    _schema(format="date-time", pattern=DATETIME_PATTERN, examples=["2026-11-21T06:00:00Z"]),
]
QueryDate = Annotated[
    date | None,
    PlainValidator(parse_date),
    _schema(format="date", pattern=DATE_PATTERN, examples=["2026-11-21"]),
]
QueryMonth = Annotated[
    str | None,
    PlainValidator(parse_month),
    _schema(pattern=MONTH_PATTERN, examples=["2026-11"]),
]
Month = Annotated[
    str, PlainValidator(parse_month), _schema(pattern=MONTH_PATTERN, examples=["2026-11"])
]
_SIDE = message("params.side", "side")
_SECTOR = message("params.sector", "sector")
QuerySide = Annotated[
    str | None, PlainValidator(_one_of(SIDES, _SIDE)), _schema(**{VOCABULARY: SIDES})
]
# Query() on the lists and the box: FastAPI would read a list or a tuple from the body.
QuerySides = Annotated[
    list[str] | None,
    Query(),
    PlainValidator(_many_of(SIDES, _SIDE)),
    _list_schema({VOCABULARY: SIDES}),
]
QuerySector = Annotated[
    str | None, PlainValidator(_one_of(SECTORS, _SECTOR)), _schema(**{VOCABULARY: SECTORS})
]
QuerySectors = Annotated[
    list[str] | None,
    Query(),
    PlainValidator(_many_of(SECTORS, _SECTOR)),
    _list_schema({VOCABULARY: SECTORS}),
]
QueryCrossing = Annotated[
    str | None,
    PlainValidator(_one_of(CROSSINGS, message("params.crossing", "crossing or market"))),
    _schema(**{VOCABULARY: CROSSINGS}),
]
QueryBBox = Annotated[
    tuple[float, float, float, float] | None,
    Query(),
    PlainValidator(parse_bbox),
    _schema(
        pattern=BBOX_PATTERN,
        description="min_lon,min_lat,max_lon,max_lat (WGS84 degrees, minimum before maximum)",
        examples=["60.8,24.8,63.4,29.9"],
    ),
]


def when(field: str, values: Sequence[Any], then: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema rule for a body model: if ``field`` is one of ``values``, ``then`` holds.

    For rules between fields that pydantic checks in a validator (a unit that fits its
    commodity, a reason a closure needs), so the OpenAPI document states them too.
    """
    return {
        "if": {"properties": {field: {"enum": list(values)}}, "required": [field]},
        "then": then,
    }


def rules(*conditions: dict[str, Any]) -> dict[str, Any]:
    """``json_schema_extra`` of a model with the given ``when`` rules."""
    return {"allOf": list(conditions)}


def units_rules(units_for: Mapping[Any, Any]) -> dict[str, Any]:
    """``json_schema_extra``: each commodity takes only its own units (a goods line, a seizure)."""
    return rules(
        *(
            when(
                "commodity",
                [c.value],
                {"properties": {"unit": {"enum": sorted(u.value for u in units)}}},
            )
            for c, units in units_for.items()
        )
    )


def stripped(min_length: int = 1) -> dict[str, Any]:
    """``json_schema_extra`` of a text the model strips: ``min_length`` counts what remains.

    The pattern itself is written by ``core.text.Inbound``, which knows whether the text is
    one line; this is the free-text pattern for schemas outside it.
    """
    return {STRIPPED_MARK: min_length, "pattern": text_pattern(line=False, stripped=min_length)}


#: A text with something in it once surrounding spaces are stripped.
NOT_BLANK = {"type": "string", "pattern": text_pattern(line=False, stripped=1)}

# -- bodies ------------------------------------------------------------------------------------


def _integral(value: Any) -> Any:
    """JSON has one number type: ``5.0`` is the integer 5 (as JSON Schema counts it)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _strict_json(model: type[Any]) -> WrapValidator:
    adapter = TypeAdapter(model)

    def check(value: Any, lax: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, dict):  # the parsed JSON body: judge it as the JSON it came as
            try:
                return adapter.validate_json(json.dumps(_integral(value)), strict=True)
            except ValidationError as exc:
                if not any(e["type"] == "json_invalid" for e in exc.errors()):
                    raise
                # A lone surrogate cannot be written back as JSON: the model's own checks
                # (core.text) refuse it and name the field.
                return lax(value)
        return lax(value)

    return WrapValidator(check)


_Body = TypeVar("_Body")

if TYPE_CHECKING:
    # To a type checker ``StrictBody[PlanIn]`` is the model itself (the validator is runtime
    # metadata), as pydantic does for ``SkipValidation``; at run time it is the class below.
    StrictBody = Annotated[_Body, ...]
else:

    class StrictBody:
        """A JSON body whose values must have their own JSON types: ``data: StrictBody[PlanIn]``.

        pydantic's strict JSON mode: ``0`` is not ``false``, ``"5"`` not ``5``, ``false`` not a
        number; dates and date-times are still read from their ISO strings and enums from their
        values. Only the API's bodies are held to it; the same models stay lenient for the CLI,
        the importers and the console's forms, which hand them text.
        """

        def __class_getitem__(cls, model: type[Any]) -> Any:
            return Annotated[model, _strict_json(model)]


# -- per request: the node's vocabularies, and empty query values left out -------------------


def _without_empty_values(query: bytes) -> bytes:
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if all(v.strip() for _, v in pairs):
        return query
    return urlencode([(k, v) for k, v in pairs if v.strip()]).encode("latin-1")


class ParamsContext:
    """ASGI middleware: the node's vocabularies for the validators, and ``?name=`` as absent.

    Only under ``prefixes`` (the API), so other routes (TAXII, the console's forms) keep
    their own rules.
    """

    def __init__(
        self, app: ASGIApp, *, vocabularies: Vocabularies, prefixes: tuple[str, ...]
    ) -> None:
        self.app = app
        self.vocabularies = vocabularies
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with the vocabularies set (and empty query values dropped)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(self.prefixes) and scope.get("query_string"):
            scope = {**scope, "query_string": _without_empty_values(scope["query_string"])}
        token = _current.set(self.vocabularies)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


# -- the OpenAPI document ----------------------------------------------------------------------


def _fill(node: Any, vocabularies: Vocabularies) -> None:
    if isinstance(node, dict):
        name = node.pop(VOCABULARY, None)
        if name is not None:
            values = list(vocabularies.values.get(name, ()))
            # An optional field (anyOf string | null) keeps its null: the values go on the text.
            texts = [b for b in node.get("anyOf", ()) if b.get("type") == "string"]
            for target in texts or [node]:
                target["enum"] = values
        for value in node.values():
            _fill(value, vocabularies)
    elif isinstance(node, list):
        for value in node:
            _fill(value, vocabularies)


def complete_openapi(
    spec: dict[str, Any], *, vocabularies: Vocabularies, prefixes: tuple[str, ...]
) -> dict[str, Any]:
    """The document as this node serves it: vocabularies as enums, empty values allowed."""
    _fill(spec, vocabularies)
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith(prefixes):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return spec
