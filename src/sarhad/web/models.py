"""Tables of the web console: signed-in sessions and failed sign-ins (for throttling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.db import Base, BigKey, UTCDateTime


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's random token is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginFailure(Base):
    """One failed sign-in: by name and by client address, to slow down guessing."""

    __tablename__ = "web_login_failures"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


__all__ = ["LoginFailure", "WebSession"]
