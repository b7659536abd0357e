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
from typing import Annotated, Any, cast

from pydantic import AfterValidator, BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

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


def _no_control_characters(value: Any) -> Any:
    """The rule on every string of one field's value (lists and mappings included)."""
    problem = _walk(value)
    if problem:
        raise ValueError(problem)
    return value


# -- which fields the rule must look at --------------------------------------------------------
# Checking every field of every model cost ~50 Python calls per incident (more than the rest of
# IncidentIn's validation): most fields cannot hold text at all (numbers, enums, times, nested
# models, which check their own), and Line / FreeText fields are checked by their own type.
# What is left is decided from the field's core schema when the model is built.

#: Core schema types whose valid values hold no string (or only fixed ones: enum members,
#: literals). A nested model or dataclass is not walked into: an Inbound model checks its own.
_NO_TEXT = frozenset(
    {
        "none", "bool", "int", "float", "decimal", "complex", "enum", "literal", "date", "time",
        "datetime", "timedelta", "uuid", "url", "multi-host-url", "bytes", "model", "dataclass",
    }
)  # fmt: skip
#: pydantic's constraint checks (``Field(max_length=...)`` on an annotated type, ``ge``, ...):
#: they return the value they were given, so what is inside them decides.
_CONSTRAINTS = frozenset(
    {
        "greater_than_validator", "greater_than_or_equal_validator", "less_than_validator",
        "less_than_or_equal_validator", "multiple_of_validator", "min_length_validator",
        "max_length_validator", "max_digits_validator", "decimal_places_validator",
    }
)  # fmt: skip
#: Validators that apply the rule themselves (:data:`Line`, :data:`FreeText`).
_RULE_CHECKS: tuple[Any, ...] = (check_line, check_free_text, _no_control_characters)


def _function(schema: dict[str, Any]) -> Any:
    return schema.get("function", {}).get("function")


def _keeps_value(function: Any) -> bool:
    """Whether ``function`` (an after-validator) is one of pydantic's constraint checks."""
    inner = getattr(function, "func", None)  # functools.partial(max_length_validator, ...)
    return (
        getattr(inner, "__module__", "") == "pydantic._internal._validators"
        and getattr(inner, "__name__", "") in _CONSTRAINTS
    )


def _unchecked_text(schema: Any, resolve: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a value valid under ``schema`` may hold a string the rule has not checked.

    Anything not known to be free of such strings counts as holding them (functions that
    may return anything, ``Any``, unknown schema types): the check is only ever left out
    where it could find nothing.
    """
    if not isinstance(schema, dict):
        return True
    kind = schema.get("type")
    if kind in _NO_TEXT:
        return False
    if kind in ("function-after", "function-before"):
        if kind == "function-after" and _function(schema) in _RULE_CHECKS:
            return False
        if kind == "function-before" or _keeps_value(_function(schema)):
            return _unchecked_text(schema.get("schema"), resolve, seen)
        return True
    if kind in ("nullable", "default"):
        return _unchecked_text(schema.get("schema"), resolve, seen)
    if kind in ("list", "set", "frozenset"):
        return _unchecked_text(schema.get("items_schema", {"type": "any"}), resolve, seen)
    if kind == "tuple":
        items = schema.get("items_schema") or [{"type": "any"}]
        return any(_unchecked_text(s, resolve, seen) for s in items)
    if kind == "dict":
        return any(
            _unchecked_text(schema.get(k, {"type": "any"}), resolve, seen)
            for k in ("keys_schema", "values_schema")
        )
    if kind == "union":
        return any(
            _unchecked_text(c[0] if isinstance(c, tuple) else c, resolve, seen)
            for c in schema.get("choices", [])
        )
    if kind == "tagged-union":
        return any(_unchecked_text(c, resolve, seen) for c in schema.get("choices", {}).values())
    if kind == "lax-or-strict":
        return any(
            _unchecked_text(schema.get(k), resolve, seen) for k in ("lax_schema", "strict_schema")
        )
    if kind == "definition-ref":
        ref = schema.get("schema_ref", "")
        if ref in seen:
            return False  # a recursive reference: judged where it was first met
        try:
            target = resolve(schema)
        except LookupError:
            return True
        return _unchecked_text(target, resolve, seen | {ref})
    return True  # "str", "any", plain and wrap functions, anything else


def _model_fields(schema: dict[str, Any], cls: type, resolve: Any) -> dict[str, Any] | None:
    """The ``fields`` of ``cls``'s model-fields schema inside ``schema`` (its model schema,
    perhaps behind a reference or wrapped by model validators)."""
    node: Any = schema
    for _ in range(50):  # a chain of wrappers, never a cycle; bounded all the same
        if not isinstance(node, dict):
            return None
        kind = node.get("type")
        if kind == "definition-ref":
            node = resolve(node)
        elif kind == "model" and node.get("cls") is cls:
            node = node.get("schema")
        elif kind == "model-fields":
            fields: dict[str, Any] = node["fields"]
            return fields
        elif "schema" in node:
            node = node["schema"]
        else:
            return None
    return None


def _guard(field: dict[str, Any], resolve: Any) -> None:
    """Put the rule on ``field`` (a model-field schema) if its value may hold unchecked text.

    Inside a default, as a field validator sits: a default the model sets is not validated.
    """
    inner = field["schema"]
    target = inner["schema"] if inner.get("type") == "default" else inner
    if _function(target) is _no_control_characters or not _unchecked_text(target, resolve):
        return  # guarded already (a model whose schema is reused), or nothing to look at
    guarded = core_schema.no_info_after_validator_function(_no_control_characters, target)
    field["schema"] = {**inner, "schema": guarded} if target is not inner else guarded


class Inbound(BaseModel):
    """Base of every schema that takes text from a client or a partner.

    Every string of every field (lists and mappings included; nested models check their own)
    is checked as free text, so no schema can forget the rule; mark one-line fields
    :data:`Line` for the stricter check. Subclasses set their own ``model_config``.

    The check is put on the fields whose values can hold a string no other check of the
    rule sees, when the model's schema is built (``__get_pydantic_core_schema__``); a
    refused value is a ``value_error`` at the field, as a field validator's would be.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """The model's core schema, the rule on every field that may hold unchecked text."""
        schema = handler(source)
        fields = _model_fields(cast(dict[str, Any], schema), source, handler.resolve_ref_schema)
        if fields is None:  # fail closed: a model whose fields we cannot find is not built
            raise TypeError(f"{source.__name__}: no model fields found to check for controls")
        for field in fields.values():
            _guard(field, handler.resolve_ref_schema)
        return schema

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The model's schema, every text field carrying the rule as its pattern."""
        schema = handler(core_schema)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _constrain(prop)
        return schema


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
