"""Errors that carry what the user must fix, mapped to 4xx by the API and exit codes by the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FieldError:
    """One problem with one input field (``field`` is a dotted path such as ``seizures.0.unit``)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SarhadError(Exception):
    """Base class: an expected failure whose message is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInput(SarhadError):
    """Input failed validation; ``errors`` names each bad field."""

    status_code = 422

    def __init__(self, errors: list[FieldError] | FieldError, *, hint: str | None = None) -> None:
        self.errors = errors if isinstance(errors, list) else [errors]
        super().__init__("; ".join(str(e) for e in self.errors), hint=hint)


def from_validation(exc: Any, *, prefix: str = "") -> InvalidInput:
    """A pydantic ``ValidationError`` as ``InvalidInput`` naming each field (``goods.0.unit``)."""
    return InvalidInput(
        [
            FieldError(
                prefix + (".".join(str(p) for p in e["loc"]) or "input"),
                e["msg"].removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
    )


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
