"""Keyset pagination: an opaque cursor holding the sort key of the last row served.

Why keyset and not offsets or in-memory tokens: a cursor stays valid across restarts, the same
cursor always gives the same page, and rows inserted meanwhile are neither skipped nor repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message

MAX_LIMIT = 1000


def encode_cursor(key: list[Any]) -> str:
    """Opaque, URL-safe form of a sort key."""
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_FOREIGN = message("pages.foreign_cursor", "not a cursor this node issued")


def decode_cursor(cursor: str, *, arity: int, field: str = "cursor") -> list[Any]:
    """Inverse of ``encode_cursor``; a tampered or foreign cursor is a 422 naming ``field``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(FieldError.of(field, _FOREIGN)) from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidInput(FieldError.of(field, _FOREIGN))
    return key


def check_limit(limit: int, *, field: str = "limit", most: int = MAX_LIMIT) -> int:
    """Validate a page size (at most ``most``)."""
    if not 1 <= limit <= most:
        raise InvalidInput(
            FieldError.of(
                field,
                message("pages.limit", "must be between {least} and {most}", least=1, most=most),
            )
        )
    return limit
