"""The crossings and markets of the border profile, and times in a side's local zone."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sarhad.border import BorderProfile
from sarhad.border.model import Place
from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message


def places(profile: BorderProfile) -> list[Place]:
    """Every crossing point and market of the border profile."""
    return [*profile.crossings, *profile.markets]


def place(profile: BorderProfile, crossing_id: str, *, field: str = "crossing") -> Place:
    """The crossing or market ``crossing_id``; an error naming ``field`` otherwise."""
    for p in places(profile):
        if p.id == crossing_id:
            return p
    known = ", ".join(p.id for p in places(profile))
    raise InvalidInput(
        FieldError.of(
            field,
            message(
                "crossings.unknown_place",
                "no crossing or market {id} on this border",
                id=repr(crossing_id),
            ),
        ),
        hint=message(
            "crossings.known_places",
            "known: {known} ('sarhad crossings status' lists them)",
            known=known,
        ),
    )


def zone_label(profile: BorderProfile, side: str) -> str:
    """``PKT (UTC+05:00)``: the side's local time as staff read it."""
    tz = profile.local_time(side)
    offset = tz.utcoffset(None) or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{tz.tzname(None)} (UTC{sign}{hh:02d}:{mm:02d})"


def local(at: datetime, tz: tzinfo) -> str:
    """``2026-11-23 06:00 PKT``."""
    t = at.astimezone(tz)
    return f"{t:%Y-%m-%d %H:%M} {t.tzname()}"
