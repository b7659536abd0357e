"""One message catalogue for every room: gettext ``.po`` files compiled in memory (Babel).

Services raise errors and write reasons with a stable ``code`` and ``params``; whoever shows
them (the console, the API's error ``detail``, the CLI, a partner node) words them in the
reader's language with ``translate(code, params, lang)``. The English wording is the msgid,
the code its msgctxt, so a catalogue entry reads::

    msgctxt "incidents.not_found"
    msgid "Incident {id} not found"
    msgstr "واقعہ {id} نہیں ملا"

Mark such a message with ``message("code", "English {name}", name=...)`` (or ``define`` for a
template kept in a table); Babel extracts both (keywords ``message:1c,2`` and ``define:1c,2``,
see ``src/sarhad/babel.cfg``). A code is found again from the catalogue itself, so a partner
can word a code it received although it never ran the line that made it.

The ``.po`` files live under ``sarhad/web/translations/`` (the console has most strings);
this module only reads them (a data path, not an import), so core and every room use them.

The pseudo-locale ``qps`` wraps every string found in the catalogue in ``⟦…⟧``: a test renders
each page in it and fails on any visible text left unwrapped (tests/web/test_language.py).
"""

from __future__ import annotations

import functools
import gettext
import io
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "web" / "translations"
LANGUAGES: dict[str, str] = {"en": "English", "ur": "اردو", "fa": "فارسی"}
RTL = frozenset({"ur", "fa"})
DEFAULT = "en"
#: The pseudo-locale for tests: every catalogued string comes back as ``⟦…⟧``.
PSEUDO = "qps"
OPEN, CLOSE = "⟦", "⟧"
#: Persian readers expect Persian digits (the console's ``Intl.NumberFormat("fa")`` writes
#: them); Urdu in Pakistan is commonly printed with Latin ones, as the console does.
_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}


#: A number's separators as the console's Intl.NumberFormat("fa") writes them: ٬ and ٫.
_SEPARATORS = {"fa": str.maketrans(",.", "٬٫")}


def digits(value: str, lang: str) -> str:
    """``value`` with the digits of ``lang`` (Persian digits in Persian, else as written)."""
    table = _DIGITS.get(lang)
    return value.translate(table) if table else value


def numeral(value: str, lang: str) -> str:
    """A formatted number (``4,311.5``) in the digits and separators of ``lang``."""
    table = _SEPARATORS.get(lang)
    return digits(value.translate(table) if table else value, lang)


def N_(message: str) -> str:  # the gettext name for "translate later"
    """Mark a Python string for extraction; it is translated where it is shown."""
    return message


def compile_catalog(po_path: Path) -> gettext.GNUTranslations:
    """Read one ``.po`` file and compile it in memory."""
    with po_path.open("rb") as f:
        catalog = read_po(f)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _po_files(lang: str) -> list[Path]:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    # messages.po first; the others (one per area, so that people working on different pages
    # never edit the same file) fill in what it lacks.
    return sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))


@functools.cache
def entries() -> dict[tuple[str | None, str], None]:
    """Every (context, msgid) of the catalogue (read from the Urdu files, which have them all)."""
    found: dict[tuple[str | None, str], None] = {}
    for po in _po_files("ur"):
        with po.open("rb") as f:
            for m in read_po(f):
                if m.id:
                    found[(m.context, m.id if isinstance(m.id, str) else m.id[0])] = None
    return found


@functools.cache
def english(code: str) -> str | None:
    """The English template of a message ``code`` (its msgctxt), from the registry or catalogue."""
    if code in REGISTRY:
        return REGISTRY[code]
    for context, msgid in entries():
        if context == code:
            return msgid
    return None


#: A placeholder of a message: ``{name}`` (coded messages) or ``%(name)s`` (templates).
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_][A-Za-z0-9_]*\)[sd]")


def pseudo_wrap(message: str) -> str:
    """``message`` as ``qps`` shows it: its own words in ``⟦…⟧``, its placeholders outside.

    Why outside: what fills a placeholder must come through the catalogue on its own (a
    nested coded message is wrapped where it is worded) or be data (a record's text, an id,
    a number); an English word passed as a parameter is then left bare, and a test sees it.
    """
    out, at = [], 0
    for found in _PLACEHOLDER.finditer(message):
        if found.start() > at:
            out.append(f"{OPEN}{message[at : found.start()]}{CLOSE}")
        out.append(found.group())
        at = found.end()
    if at < len(message) or not out:
        out.append(f"{OPEN}{message[at:]}{CLOSE}")
    return "".join(out)


class Pseudo(gettext.NullTranslations):
    """``qps``: the English text of every catalogued string wrapped in ``⟦…⟧`` (placeholders
    left outside, see ``pseudo_wrap``); a string not in the catalogue comes back bare, so a
    test sees it."""

    def _mark(self, context: str | None, message: str) -> str:
        return pseudo_wrap(message) if (context, message) in entries() else message

    def gettext(self, message: str) -> str:
        return self._mark(None, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.npgettext(None, msgid1, msgid2, n)  # type: ignore[arg-type]

    def pgettext(self, context: str, message: str) -> str:
        return self._mark(context, message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        chosen = msgid1 if n == 1 else msgid2
        return pseudo_wrap(chosen) if (context, msgid1) in entries() else chosen


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English is the source language: no catalogue)."""
    if lang == PSEUDO:
        return Pseudo()
    if lang not in LANGUAGES or lang == DEFAULT:
        return gettext.NullTranslations()
    files = _po_files(lang)
    main = compile_catalog(files[0])
    for extra in files[1:]:
        main.add_fallback(compile_catalog(extra))
    return main


def gettext_for(lang: str) -> Callable[[str], str]:
    """Translate one string into ``lang``."""
    return translations(lang).gettext


#: English templates of the codes declared in code (``define``/``message``), by code.
REGISTRY: dict[str, str] = {}


def define(code: str, template: str) -> str:
    """Declare the English ``template`` of ``code`` (for tables of codes); returns the template."""
    REGISTRY[code] = template
    return template


class Text(str):
    """A message to a person: a stable ``code`` and its ``params``, worded when shown.

    It *is* its English wording (a ``str``: logs, joins and JSON keep working unchanged);
    ``in_(lang)`` words it in the reader's language. A param that is itself a ``Text`` is worded
    in the same language.
    """

    code: str
    params: Mapping[str, Any]

    def __new__(cls, code: str, params: Mapping[str, Any] | None = None) -> Text:
        params = dict(params or {})
        self = super().__new__(cls, translate(code, params, DEFAULT))
        self.code = code
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # copy/pickle rebuild it from code and params
        return (Text, (self.code, dict(self.params)))

    def in_(self, lang: str) -> str:
        """This message in ``lang``."""
        return translate(self.code, self.params, lang)

    def as_json(self) -> dict[str, Any]:
        """``{"code", "params"}`` with params as plain JSON (nested texts as their dicts)."""
        return {"code": self.code, "params": plain(self.params)}


def say(value: Any, lang: str) -> str:
    """``value`` in ``lang`` if it is a coded ``Text``; any other text as written."""
    return value.in_(lang) if isinstance(value, Text) else str(value)


def plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as JSON-able values: a nested ``Text`` becomes its ``{"code", "params"}``, a
    ``Number`` a JSON number (``{"number", "text"}`` when its text says more, e.g. ``4,311.5``),
    a ``Word`` ``{"word", "label"}``; ``from_json`` makes each what it was, so a message stored
    as JSON is shown later in the reader's digits and words."""
    return {k: _plain(v) for k, v in params.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Text):
        return value.as_json()
    if isinstance(value, Number):
        return value.as_json()
    if isinstance(value, Word):
        return {"word": str(value), "label": value.label}
    return value if isinstance(value, int | float) else str(value)


def _unplain(value: Any) -> Any:
    """A param back from ``_plain``."""
    if not isinstance(value, Mapping):
        return value
    if isinstance(value.get("word"), str):
        label = value.get("label")
        return Word(value["word"], label if isinstance(label, str) else None)
    number = value.get("number")
    if isinstance(number, int | float) and not isinstance(number, bool):
        text = value.get("text")
        return Number(text) if isinstance(text, str) else number
    return from_json(value) or str(value)


def message(code: str, template: str, **params: Any) -> Text:
    """A message with its English ``template`` (extracted by Babel) and its ``params``."""
    REGISTRY.setdefault(code, template)
    return Text(code, params)


def from_json(data: Any) -> Text | None:
    """A ``Text`` back from ``as_json()`` (e.g. received from a partner); None if malformed."""
    if not isinstance(data, Mapping) or not isinstance(data.get("code"), str):
        return None
    raw = data.get("params") or {}
    if not isinstance(raw, Mapping):
        return None
    return Text(data["code"], {str(k): _unplain(v) for k, v in raw.items()})


class _Safe(dict[str, Any]):
    """Format mapping that leaves an unknown ``{name}`` as it is rather than failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Number(str):
    """A number already formatted as the English text has it (``Number(f"{km:,.1f}")``);
    shown in the reader's digits like an ``int`` or ``float`` param."""

    @property
    def value(self) -> int | float | None:
        """The number itself (None if the text is not one)."""
        bare = self.replace(",", "")
        try:
            return int(bare)
        except ValueError:
            try:
                return float(bare)
            except ValueError:
                return None

    def as_json(self) -> Any:
        """A JSON number; ``{"number", "text"}`` if the number alone would lose how it was
        written (grouping, trailing zeros), so the text comes back as it was."""
        value = self.value
        if value is None:
            return str(self)
        return value if str(value) == self else {"number": value, "text": str(self)}


class Word(str):
    """A code put into a sentence (a side, a status, a shift): written as the code in English,
    where the sentences always had it, and as its ``label`` from the catalogue (the console's
    name for it) in any other language. Make one with ``core.labels.word``."""

    label: str | None

    def __new__(cls, code: str, label: str | None = None) -> Word:
        self = super().__new__(cls, code)
        self.label = label
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Word, (str(self), self.label))

    def in_(self, lang: str) -> str:
        """The word in ``lang``: its label translated (the code in English, or if unlabelled)."""
        if self.label is None or lang == DEFAULT:
            return str(self)
        return translations(lang).gettext(self.label)


def _param(value: Any, lang: str) -> Any:
    """A param as the reader sees it: a nested ``Text`` in ``lang``, a number in its digits."""
    if isinstance(value, Text):
        return value.in_(lang)
    if isinstance(value, Word):
        return value.in_(lang)
    if isinstance(value, Number):
        return numeral(value, lang)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return numeral(str(value), lang)
    return value


def translate(code: str, params: Mapping[str, Any] | None, lang: str) -> str:
    """The message ``code`` worded in ``lang`` with ``params`` filled in.

    An unknown code is shown as the code with its params (never an exception: a newer partner
    may send codes this node does not know yet).
    """
    params = params or {}
    template = english(code)
    # Numbers (not text params, which may be ids or codes) take the reader's digits.
    filled = _Safe({k: _param(v, lang) for k, v in params.items()})
    if template is None:
        return code + ("" if not params else " " + ", ".join(f"{k}={v}" for k, v in filled.items()))
    worded = translations(lang).pgettext(code, template)
    try:
        return worded.format_map(filled)
    except (ValueError, IndexError, AttributeError):  # a broken translation: fall back to English
        return template.format_map(filled)


def normalise(tag: str | None) -> str | None:
    """One of LANGUAGES (or qps) from a tag such as ``fa-IR``, ``ur_PK.UTF-8``; None if none."""
    if not tag:
        return None
    base = tag.strip().replace("_", "-").split(".")[0].split("-")[0].lower()
    if base == PSEUDO or base in LANGUAGES:
        return base
    return None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header that the node speaks (by q)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        lang = normalise(tag)
        if lang and weight > 0:
            ranked.append((-weight, i, lang))
    return min(ranked)[2] if ranked else None


def from_environment() -> str:
    """The CLI's language: ``SARHAD_LANG``, else the locale (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``), else English."""
    for name in ("SARHAD_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        lang = normalise(os.environ.get(name))
        if lang:
            return lang
    return DEFAULT
