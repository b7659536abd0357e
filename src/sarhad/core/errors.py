"""Errors that carry what the user must fix, mapped to 4xx by the API and exit codes by the CLI.

Each error carries a ``code`` and ``params`` (a ``sarhad.core.i18n.Text``) so that the console,
the API's error ``detail`` and the CLI word it in the reader's language; ``message`` stays the
English wording, for logs. An error raised with a plain string (not yet given a code) gets the
code ``error.<Class>`` and is shown as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sarhad.core.i18n import Text, define, message, plain


@dataclass
class FieldError:
    """One problem with one input field (``field`` is a dotted path such as ``seizures.0.unit``)."""

    field: str
    message: str
    text: Text | None = None  # code and params of ``message``, when it has them

    def __post_init__(self) -> None:
        if self.text is None and isinstance(self.message, Text):
            self.text = self.message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def in_(self, lang: str) -> str:
        """The problem in ``lang`` (without the field's name)."""
        return self.message if self.text is None else self.text.in_(lang)

    @classmethod
    def of(cls, field: str, text: Text) -> FieldError:
        """A field error from a coded message."""
        return cls(field, str(text), text)


class SarhadError(Exception):
    """Base class: an expected failure whose message is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str | Text, *, hint: str | Text | None = None) -> None:
        text = message if isinstance(message, Text) else Text("error.plain", {"text": message})
        super().__init__(str(text))
        self.text = text
        self.message = str(text)
        self.hint_text = hint if isinstance(hint, Text) or hint is None else None
        self.hint = None if hint is None else str(hint)

    @property
    def code(self) -> str:
        """The stable code of this error (``error.plain`` while it has none of its own)."""
        return self.text.code

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of the message (JSON-able)."""
        return plain(self.text.params)

    def in_(self, lang: str) -> str:
        """The message in ``lang``."""
        return self.text.in_(lang)

    def hint_in(self, lang: str) -> str | None:
        """The hint in ``lang`` (a plain-string hint as written)."""
        return self.hint if self.hint_text is None else self.hint_text.in_(lang)


def reason_of(exc: BaseException) -> Text:
    """The coded message a lower layer raised (``ValueError(message(...))``), to raise again
    as an error of this layer; a text without a code is shown as written (``error.plain``)."""
    found = exc.args[0] if exc.args else None
    return found if isinstance(found, Text) else Text("error.plain", {"text": str(exc)})


def with_hint(exc: SarhadError) -> Text:
    """``message (hint)`` of an error, as one coded message (a field's problem that was an
    error of its own elsewhere, e.g. an unknown sector)."""
    if exc.hint_text is None:
        return exc.text
    return message("error.with_hint", "{message} ({hint})", message=exc.text, hint=exc.hint_text)


class InvalidInput(SarhadError):
    """Input failed validation; ``errors`` names each bad field."""

    status_code = 422

    def __init__(
        self, errors: list[FieldError] | FieldError, *, hint: str | Text | None = None
    ) -> None:
        self.errors = errors if isinstance(errors, list) else [errors]
        super().__init__("; ".join(str(e) for e in self.errors), hint=hint)
        self.text = Text("error.invalid", {"fields": "; ".join(str(e) for e in self.errors)})

    def in_(self, lang: str) -> str:
        """Each field's problem in ``lang``, after the field's name."""
        return "; ".join(f"{e.field}: {e.in_(lang)}" for e in self.errors)


def from_validation(exc: Any, *, prefix: str = "") -> InvalidInput:
    """A pydantic ``ValidationError`` as ``InvalidInput`` naming each field (``goods.0.unit``)."""
    return InvalidInput(
        [
            FieldError(
                prefix + (".".join(str(p) for p in e["loc"]) or "input"),
                e["msg"].removeprefix("Value error, "),
                validation_text(e),
            )
            for e in exc.errors()
        ]
    )


def validation_text(e: Any) -> Text | None:
    """A pydantic error as a coded message (``validation.<type>`` with its context), when the
    catalogue words that type; a validator's ``ValueError(message(...))`` as its own coded
    message; else None (shown as pydantic wrote it)."""
    kind = str(e.get("type", ""))
    raised = (e.get("ctx") or {}).get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Text):
        return raised.args[0]
    ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    return Text(f"validation.{kind}", ctx) if kind in VALIDATION else None


#: An error raised with a plain string (no code of its own yet) is shown as written.
define("error.plain", "{text}")
define("error.invalid", "{fields}")

#: The common pydantic error types in words (``{name}`` from the error's context); the rest
#: are shown as pydantic wrote them.
VALIDATION: dict[str, str] = {
    "missing": define("validation.missing", "this field is required"),
    "string_too_short": define(
        "validation.string_too_short", "should have at least {min_length} characters"
    ),
    "string_too_long": define(
        "validation.string_too_long", "should have at most {max_length} characters"
    ),
    "greater_than": define("validation.greater_than", "should be greater than {gt}"),
    "greater_than_equal": define("validation.greater_than_equal", "should be at least {ge}"),
    "less_than": define("validation.less_than", "should be less than {lt}"),
    "less_than_equal": define("validation.less_than_equal", "should be at most {le}"),
    "int_parsing": define("validation.int_parsing", "should be a whole number"),
    "float_parsing": define("validation.float_parsing", "should be a number"),
    "enum": define("validation.enum", "should be one of {expected}"),
    "literal_error": define("validation.literal_error", "should be one of {expected}"),
    "datetime_parsing": define("validation.datetime_parsing", "should be a date and time"),
    "datetime_from_date_parsing": define(
        "validation.datetime_from_date_parsing", "should be a date and time"
    ),
    "date_parsing": define("validation.date_parsing", "should be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": define(
        "validation.date_from_datetime_parsing", "should be a date (YYYY-MM-DD)"
    ),
    "extra_forbidden": define("validation.extra_forbidden", "is not a field of this record"),
    "string_type": define("validation.string_type", "should be text"),
    "bool_parsing": define("validation.bool_parsing", "should be true or false"),
}


class NotFound(SarhadError):
    """The named record does not exist (or the caller may not know it exists)."""

    status_code = 404


class Conflict(SarhadError):
    """The request clashes with the stored state (stale version, forbidden transition)."""

    status_code = 409


class Unauthorized(SarhadError):
    """No valid credentials."""

    status_code = 401


class Forbidden(SarhadError):
    """Valid credentials, but the role may not do this."""

    status_code = 403


class ConfigError(SarhadError):
    """Settings or data files are unusable."""

    status_code = 500


class Unavailable(SarhadError):
    """The node cannot do it now (its database does not answer); try again later."""

    status_code = 503
