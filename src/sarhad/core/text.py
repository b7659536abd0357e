"""Text from a client or a partner: no NUL, no control characters, no half characters.

One rule for every inbound schema (API bodies, CLI input, imported rows and what a partner's
node sends): every string schema derived from :class:`Inbound` may hold tabs and line breaks
but no other C0 or C1 control character (NUL included), no DEL and no lone surrogate;
fields typed :data:`Line` (titles, names, ids) refuse tabs and line breaks as well.

Why: a PostgreSQL text column cannot hold NUL (the write fails) and no UTF-8 column can hold a
lone surrogate, so on one backend such a value is a server error and on the other it is
stored; control characters also garble terminals, CSV exports and partner systems. Formatting
characters of Urdu and Persian text (ZWNJ, the directional marks) are not controls and pass.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from sarhad.core.i18n import Text, message

# C0 controls but TAB, LF and CR; DEL; C1 controls; lone surrogates (valid UTF-8 never has one).
_FREE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same and TAB, LF and CR: a title or a name is one line.
_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = {
    0x09: message("text.tab", "a tab"),
    0x0A: message("text.line_break", "a line break"),
    0x0D: message("text.line_break", "a line break"),
}


def text_problem(value: str, *, one_line: bool = False) -> Text | None:
    """What is wrong with ``value`` under the rule (None if nothing), in words for the user."""
    found = (_LINE if one_line else _FREE).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        what = message("text.nul", "a NUL character")
    elif code in _LINE_BREAKS:
        what = _LINE_BREAKS[code]
    elif 0xD800 <= code <= 0xDFFF:
        what = message("text.surrogate", "half of a character (a lone UTF-16 surrogate)")
    else:
        what = message("text.control", "a control character")
    at = found.start() + 1
    if code in _LINE_BREAKS:
        return message(
            "text.one_line",
            "contains {what} at character {at}; write it on one line",
            what=what,
            at=at,
        )
    return message(
        "text.control_at",
        "contains {what} (U+{hex}) at character {at}; remove it",
        what=what,
        hex=f"{code:04X}",
        at=at,
    )


def check_line(value: str) -> str:
    """Pydantic validator: one line of text (see the module docstring)."""
    problem = text_problem(value, one_line=True)
    if problem:
        raise ValueError(problem)
    return value


def check_free_text(value: str) -> str:
    """Pydantic validator: free text, where tabs and line breaks are allowed."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# -- the same rule for the OpenAPI document ----------------------------------------------------
# JSON Schema states it as a regular expression (ECMA-262 syntax) on every text field of an
# inbound schema, so that a client (or a contract test) reading the document knows it. Lone
# surrogates are left out of the classes: JSON text cannot carry them as characters.

#: Characters free text may hold, and those of one line.
FREE_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
LINE_CHAR = r"[^\x00-\x1f\x7f-\x9f]"
#: Marks left on a string schema for :class:`Inbound` to turn into its pattern.
LINE_MARK = "x-sarhad-line"
STRIPPED_MARK = "x-sarhad-stripped"


def text_pattern(*, line: bool, stripped: int = 0) -> str:
    r"""The pattern of a text field: no character the rule refuses and, when the model strips
    surrounding spaces, ``stripped`` characters at least once they are stripped.

    What is stripped is Unicode White_Space: the regex ``\s`` but U+FEFF, with U+0085 (a C1
    control, so never allowed here anyway).
    """
    char = LINE_CHAR if line else FREE_CHAR
    if stripped <= 0:
        return f"^{char}*$"
    controls = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" if not line else r"\x00-\x1f\x7f-\x9f"
    solid = rf"(?:[^\s{controls}]|\ufeff)"
    if stripped == 1:
        return rf"^{char}*{solid}{char}*$"
    space = rf"[^\S\ufeff{controls}]"
    middle = char + ("*" if stripped == 2 else f"{{{stripped - 2},}}")
    return rf"^{space}*{solid}{middle}{solid}{space}*$"


class _OneLine:
    """Annotation marker: this text is one line (its schema pattern says so)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema[LINE_MARK] = True
        return schema


#: A short one-line text field: a title, a name, an id, a place.
Line = Annotated[str, AfterValidator(check_line), _OneLine()]
#: Free text (narratives, notes, messages): tabs and line breaks allowed.
FreeText = Annotated[str, AfterValidator(check_free_text)]


def _constrain(schema: Any) -> None:
    """Give every text in ``schema`` (a field's schema) the pattern of the rule."""
    if not isinstance(schema, dict):
        return
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for branch in schema.get(key, ()):
            _constrain(branch)
    for key in ("items", "additionalProperties"):
        _constrain(schema.get(key))
    line = bool(schema.pop(LINE_MARK, False))
    stripped = schema.pop(STRIPPED_MARK, None)
    if schema.get("type") != "string" or {"enum", "const", "format"} & schema.keys():
        return
    if stripped is not None:
        schema["pattern"] = text_pattern(line=line, stripped=int(stripped))
    elif "pattern" not in schema:  # a pattern of its own (a URL, a key) is narrower already
        schema["pattern"] = text_pattern(line=line)


def _walk(value: Any) -> Text | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            problem = _walk(item)
            if problem:
                return message("text.item", "item {i} {problem}", i=i + 1, problem=problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _walk(key) or _walk(item)
            if problem:
                return message(
                    "text.entry", "entry {key} {problem}", key=repr(str(key)[:40]), problem=problem
                )
    return None


class Inbound(BaseModel):
    """Base of every schema that takes text from a client or a partner.

    Every string of every field (lists and mappings included; nested models check their own)
    is checked as free text, so no schema can forget the rule; mark one-line fields
    :data:`Line` for the stricter check. Subclasses set their own ``model_config``.
    """

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The model's schema, every text field carrying the rule as its pattern."""
        schema = handler(core_schema)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _constrain(prop)
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, _info: ValidationInfo) -> Any:
        problem = _walk(value)
        if problem:
            raise ValueError(problem)
        return value


def escape_controls(text: str) -> str:
    """``text`` with the characters the rule refuses written as ``\\uXXXX``, so it can be stored.

    For what a node keeps about refused input (quarantine reasons and payloads): the admin
    sees what was sent, and the database is never handed a NUL or a lone surrogate.
    """
    return _FREE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


__all__ = [
    "FREE_CHAR",
    "LINE_CHAR",
    "FreeText",
    "Inbound",
    "Line",
    "check_free_text",
    "check_line",
    "escape_controls",
    "text_pattern",
    "text_problem",
]
