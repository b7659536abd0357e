"""Web console sign-in: passwords, server-side sessions, CSRF tokens and throttling.

The cookie holds a random 256-bit token; the table keeps only its SHA-256, so a copy of the
database signs nobody in. Each session has its own CSRF token, which every state-changing
request must echo (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sarhad.core.auth import Principal, Role, User, check_password, hash_token
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import audit
from sarhad.web.models import LoginFailure, WebSession

SESSION_COOKIE = "sarhad_session"
#: The sign-in form's own CSRF token (double-submit: cookie and hidden field must match).
SIGNIN_COOKIE = "sarhad_signin"
IDLE = timedelta(hours=12)  # a session unused this long is over
TOUCH_EVERY = timedelta(minutes=1)  # refresh last_seen_at at most this often (it is a write)
FAIL_WINDOW = timedelta(minutes=15)
FAIL_LIMIT = 5
FIRST_DELAY = timedelta(seconds=30)  # after FAIL_LIMIT failures; doubles with each further one
MAX_DELAY = timedelta(minutes=15)
KEEP_FAILURES = timedelta(days=1)


def new_token() -> str:
    """A random 256-bit token, URL-safe."""
    return secrets.token_urlsafe(32)


def same(sent: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens; False when either is missing."""
    return bool(sent) and bool(expected) and secrets.compare_digest(str(sent), str(expected))


@dataclass(frozen=True)
class WebUser:
    """A signed-in browser: who it is, its CSRF token and its session row's id."""

    principal: Principal
    csrf: str
    session_id: str
    last_seen_at: datetime

    @property
    def username(self) -> str:
        """The account name."""
        return self.principal.username


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt gave: a session token, or when to try again (if throttled)."""

    token: str | None = None
    retry_at: datetime | None = None


def _retry_at(times: list[datetime], now: datetime) -> datetime | None:
    """When the next attempt is allowed after these failures within the window, if later."""
    recent = sorted(t for t in times if t > now - FAIL_WINDOW)
    if len(recent) < FAIL_LIMIT:
        return None
    delay = min(FIRST_DELAY * 2 ** (len(recent) - FAIL_LIMIT), MAX_DELAY)
    until = recent[-1] + delay
    return until if until > now else None


def retry_at(session: Session, *, username: str, address: str, now: datetime) -> datetime | None:
    """When ``address`` may try to sign in as ``username`` again, if it is refused now.

    The rule (docs/web.md, "Sign-in throttling"), with failures counted over FAIL_WINDOW:

    - per address: FAIL_LIMIT failures from one address, whatever the names, throttle that
      address for every name;
    - per account: FAIL_LIMIT failures for one name, from anywhere, throttle that name only
      from the addresses that have themselves failed for it.

    So guessing from many addresses still costs each address its turn, but nobody can lock
    the real user out: an address with no failure of its own is never refused.
    """
    since = now - FAIL_WINDOW
    by_address = session.scalars(
        select(LoginFailure.at).where(LoginFailure.address == address, LoginFailure.at > since)
    ).all()
    waits = [_retry_at(list(by_address), now)]
    if by_address:  # only an address with failures of its own can meet the account rule
        by_name = session.execute(
            select(LoginFailure.at, LoginFailure.address).where(
                LoginFailure.username == username, LoginFailure.at > since
            )
        ).all()
        if any(a == address for _, a in by_name):
            waits.append(_retry_at([t for t, _ in by_name], now))
    found = [t for t in waits if t]
    return max(found) if found else None


def _audit(session: Session, action: str, user: User | None, username: str, **detail: str) -> None:
    audit(
        session,
        actor=username,
        action=action,
        entity="user",
        entity_id=user.id if user else username,
        detail={"username": username, **detail},
    )


def sign_in(
    session: Session, *, username: str, password: str, address: str, now: datetime | None = None
) -> SignIn:
    """Check the password and open a session; every outcome is audited (never the password).

    Refused without checking while throttled. Returns the cookie token on success.
    """
    now = now or utcnow()
    lock_writes(session)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP_FAILURES))
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    wait = retry_at(session, username=username, address=address, now=now)
    if wait is not None:
        _audit(
            session,
            "web.signin.throttled",
            None,
            username,
            address=address,
            until=wait.isoformat(),
        )
        return SignIn(retry_at=wait)
    user = check_password(session, username=username, password=password)
    if user is None:
        session.add(LoginFailure(username=username, address=address, at=now))
        session.flush()
        _audit(session, "web.signin.failed", None, username, address=address)
        return SignIn(retry_at=retry_at(session, username=username, address=address, now=now))
    # Only this address's failures for this name: the real user signing in from their desk
    # must not wipe out what an attacker's address has earned.
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address
        )
    )
    token = new_token()
    session.add(
        WebSession(
            id=hash_token(token),
            user_id=user.id,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + IDLE,
        )
    )
    _audit(session, "web.signin", user, username, address=address)
    return SignIn(token=token)


def find(session: Session, token: str | None, *, now: datetime | None = None) -> WebUser | None:
    """The signed-in user of a cookie token, or None (unknown, expired or disabled)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id == hash_token(token))
    ).first()
    if row is None:
        return None
    web, user = row
    if web.expires_at <= now or user.disabled or user.role == Role.PARTNER.value:
        return None
    return WebUser(
        principal=Principal(user.username, Role(user.role)),
        csrf=web.csrf_token,
        session_id=web.id,
        last_seen_at=web.last_seen_at,
    )


def needs_touch(user: WebUser, now: datetime) -> bool:
    """Whether the session's idle clock should be pushed forward now."""
    return now - user.last_seen_at >= TOUCH_EVERY


def touch(session: Session, *, session_id: str, now: datetime | None = None) -> None:
    """Record activity: the session lives IDLE longer from now."""
    now = now or utcnow()
    lock_writes(session)
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(last_seen_at=now, expires_at=now + IDLE)
    )


def sign_out(session: Session, *, user: WebUser) -> None:
    """End the session (its row is deleted, so the cookie is worthless even if kept)."""
    lock_writes(session)
    session.execute(delete(WebSession).where(WebSession.id == user.session_id))
    audit(
        session,
        actor=user.username,
        action="web.signout",
        entity="user",
        entity_id=user.username,
        detail={"username": user.username},
    )
