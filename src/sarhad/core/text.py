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

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

# C0 controls but TAB, LF and CR; DEL; C1 controls; lone surrogates (valid UTF-8 never has one).
_FREE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same and TAB, LF and CR: a title or a name is one line.
_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = {0x09: "a tab", 0x0A: "a line break", 0x0D: "a line break"}


def text_problem(value: str, *, one_line: bool = False) -> str | None:
    """What is wrong with ``value`` under the rule (None if nothing), in words for the user."""
    found = (_LINE if one_line else _FREE).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        what = "a NUL character"
    elif code in _LINE_BREAKS:
        what = _LINE_BREAKS[code]
    elif 0xD800 <= code <= 0xDFFF:
        what = "half of a character (a lone UTF-16 surrogate)"
    else:
        what = "a control character"
    where = f"at character {found.start() + 1}"
    if code in _LINE_BREAKS:
        return f"contains {what} {where}; write it on one line"
    return f"contains {what} (U+{code:04X}) {where}; remove it"


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


#: A short one-line text field: a title, a name, an id, a place.
Line = Annotated[str, AfterValidator(check_line)]
#: Free text (narratives, notes, messages): tabs and line breaks allowed.
FreeText = Annotated[str, AfterValidator(check_free_text)]


def _walk(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            problem = _walk(item)
            if problem:
                return f"item {i + 1} {problem}"
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _walk(key) or _walk(item)
            if problem:
                return f"entry {str(key)[:40]!r} {problem}"
    return None


class Inbound(BaseModel):
    """Base of every schema that takes text from a client or a partner.

    Every string of every field (lists and mappings included; nested models check their own)
    is checked as free text, so no schema can forget the rule; mark one-line fields
    :data:`Line` for the stricter check. Subclasses set their own ``model_config``.
    """

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
    "FreeText",
    "Inbound",
    "Line",
    "check_free_text",
    "check_line",
    "escape_controls",
    "text_problem",
]
