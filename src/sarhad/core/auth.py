"""Staff accounts, roles, API tokens (stored hashed) and the one table of who may do what."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from datetime import datetime
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sarhad.core.db import Base, UTCDateTime, lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, Unauthorized
from sarhad.core.i18n import message
from sarhad.core.journal import audit
from sarhad.core.labels import word


class Role(StrEnum):
    """What a staff account is for. Accounts name a desk or role holder, not a private person."""

    DUTY_OFFICER = "duty_officer"
    LIAISON = "liaison"
    ANALYST = "analyst"
    COMMANDER = "commander"
    ADMIN = "admin"
    PARTNER = "partner"  # a partner node's machine account: TAXII only, scoped by its agreement


class Permission(StrEnum):
    """Actions a route or command may require."""

    INCIDENTS_READ = "incidents:read"
    INCIDENTS_WRITE = "incidents:write"
    INCIDENTS_SUBMIT = "incidents:submit"
    INCIDENTS_VALIDATE = "incidents:validate"
    INCIDENTS_CLOSE = "incidents:close"
    INCIDENTS_IMPORT = "incidents:import"
    BORDER_READ = "border:read"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    SHARING_READ = "sharing:read"
    SHARING_MANAGE = "sharing:manage"
    FEDERATION_SYNC = "federation:sync"
    LINKS_DECIDE = "links:decide"
    TAXII_READ = "taxii:read"
    TAXII_WRITE = "taxii:write"
    ALERTS_READ = "alerts:read"
    ALERTS_RAISE = "alerts:raise"
    ALERTS_RESPOND = "alerts:respond"
    RISK_READ = "risk:read"
    PATROLS_READ = "patrols:read"
    PATROLS_PLAN = "patrols:plan"
    CROSSINGS_READ = "crossings:read"
    CROSSINGS_DECLARE = "crossings:declare"
    CROSSINGS_RECORD = "crossings:record"  # enter or import daily throughput
    CROSSINGS_PUBLISH = "crossings:publish"  # switch the public status page per crossing
    METRICS_READ = "metrics:read"  # /metrics from another machine (loopback needs no token)


_P = Permission
#: The single source of truth for roles; the API, CLI and (later) web pages all ask ``allowed``.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DUTY_OFFICER: frozenset(
        {
            _P.INCIDENTS_READ,
            _P.INCIDENTS_WRITE,
            _P.INCIDENTS_SUBMIT,
            _P.BORDER_READ,
            _P.ALERTS_READ,
            _P.ALERTS_RAISE,
            _P.ALERTS_RESPOND,
            _P.RISK_READ,
            _P.PATROLS_READ,
            _P.CROSSINGS_READ,
            _P.CROSSINGS_DECLARE,
            _P.CROSSINGS_RECORD,
        }
    ),
    Role.LIAISON: frozenset(
        {
            _P.INCIDENTS_READ,
            _P.INCIDENTS_WRITE,
            _P.INCIDENTS_SUBMIT,
            _P.BORDER_READ,
            _P.SHARING_READ,
            _P.SHARING_MANAGE,
            _P.FEDERATION_SYNC,
            _P.LINKS_DECIDE,
            _P.ALERTS_READ,
            _P.ALERTS_RAISE,
            _P.ALERTS_RESPOND,
            _P.RISK_READ,
            _P.PATROLS_READ,
            _P.CROSSINGS_READ,
            _P.CROSSINGS_DECLARE,
        }
    ),
    Role.ANALYST: frozenset(
        {
            _P.INCIDENTS_READ,
            _P.INCIDENTS_IMPORT,
            _P.BORDER_READ,
            _P.SHARING_READ,
            _P.LINKS_DECIDE,
            _P.ALERTS_READ,
            _P.RISK_READ,
            _P.PATROLS_READ,
            _P.CROSSINGS_READ,
            _P.CROSSINGS_RECORD,
        }
    ),
    # Commanders are the supervisors alerts escalate to: they may answer in the desk's place.
    Role.COMMANDER: frozenset(
        {
            _P.INCIDENTS_READ,
            _P.INCIDENTS_VALIDATE,
            _P.INCIDENTS_CLOSE,
            _P.BORDER_READ,
            _P.ALERTS_READ,
            _P.ALERTS_RAISE,
            _P.ALERTS_RESPOND,
            _P.RISK_READ,
            _P.PATROLS_READ,
            _P.CROSSINGS_READ,
            _P.CROSSINGS_DECLARE,
            _P.PATROLS_PLAN,
        }
    ),
    Role.ADMIN: frozenset(set(Permission) - {_P.TAXII_READ, _P.TAXII_WRITE}),
    # A partner's token reaches the TAXII routes only, never the node's own API.
    Role.PARTNER: frozenset({_P.TAXII_READ, _P.TAXII_WRITE}),
}


def allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


class User(Base):
    """A staff account (a desk or role holder)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Argon2id (pwdlib) for the web console; None: the account signs in with tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)


class ApiToken(Base):
    """An API token; only its SHA-256 is stored (tokens are 256-bit random, so no slow hash)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Principal:
    """Who is calling: the account and its role."""

    def __init__(self, username: str, role: Role) -> None:
        self.username = username
        self.role = role

    def can(self, permission: Permission) -> bool:
        """Whether the role allows ``permission``."""
        return allowed(self.role, permission)

    def require(self, permission: Permission) -> None:
        """Raise ``Forbidden`` unless the role allows ``permission``."""
        if not allowed(self.role, permission):
            raise Forbidden(
                message(
                    "auth.forbidden",
                    "role {role} may not do {permission}",
                    role=word("role", self.role),
                    permission=permission.value,
                ),
                hint=message(
                    "auth.forbidden.hint", "ask an admin for an account with the right role"
                ),
            )

    def __repr__(self) -> str:
        return f"Principal({self.username!r}, {self.role.value})"


#: The identity of local command-line work (the operator at the node's console).
CONSOLE = Principal("console", Role.ADMIN)

TOKEN_PREFIX = "srh_"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_username(username: str) -> None:
    if not username or len(username) > 80 or not all(c.isalnum() or c in "-_." for c in username):
        raise InvalidInput(
            FieldError.of(
                "username",
                message(
                    "users.bad_name",
                    "use {least}-{most} letters, digits, '-', '_' or '.' (name the desk)",
                    least=1,
                    most=80,
                ),
            )
        )


def add_user(session: Session, *, username: str, role: Role, actor: str) -> User:
    """Create an account; raises ``Conflict`` if the name is taken."""
    _check_username(username)
    lock_writes(session)
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(
            message("users.exists", "user {name} already exists", name=repr(username)),
            hint=message("users.exists.hint", "use 'sarhad users token'"),
        )
    user = User(id=str(uuid.uuid4()), username=username, role=role.value, created_at=utcnow())
    session.add(user)
    session.flush()
    audit(
        session,
        actor=actor,
        action="user.add",
        entity="user",
        entity_id=user.id,
        detail={"username": username, "role": role.value},
    )
    return user


def issue_token(session: Session, *, username: str, name: str = "default", actor: str) -> str:
    """Create a token for ``username`` and return it; it is shown once and stored hashed."""
    lock_writes(session)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(
            message("users.none", "no user {name}", name=repr(username)),
            hint=message("users.none.hint", "create it with 'sarhad users add'"),
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        id=str(uuid.uuid4()),
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:10],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor,
        action="token.issue",
        entity="user",
        entity_id=user.id,
        detail={"token_id": row.id, "prefix": row.prefix, "name": name},
    )
    return token


def revoke_tokens(session: Session, *, username: str, actor: str) -> int:
    """Revoke every live token of ``username``; returns how many."""
    lock_writes(session)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(message("users.none", "no user {name}", name=repr(username)))
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = utcnow()
    audit(
        session,
        actor=actor,
        action="token.revoke",
        entity="user",
        entity_id=user.id,
        detail={"count": len(rows)},
    )
    return len(rows)


def list_users(session: Session) -> list[User]:
    """All accounts by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal owning ``token``; ``Unauthorized`` if missing, unknown, revoked or disabled."""
    if not token:
        raise Unauthorized(
            message("auth.token_required", "an API token is required"),
            hint=message("auth.token_required.hint", "send 'Authorization: Bearer <token>'"),
        )
    # Four columns, not two ORM objects: every API request pays this look-up.
    row = session.execute(
        select(ApiToken.revoked_at, User.disabled, User.username, User.role)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None or row.revoked_at is not None or row.disabled:
        raise Unauthorized(
            message("auth.token_invalid", "the API token is not valid"),
            hint=message("auth.token_invalid.hint", "ask an admin for a new token"),
        )
    return Principal(row.username, Role(row.role))


#: Argon2id with pwdlib's defaults; a hash made with older parameters is upgraded on sign-in.
PASSWORDS = PasswordHash((Argon2Hasher(),))
MIN_PASSWORD = 12


@functools.cache
def _dummy_hash() -> str:
    """Verified when the account does not exist, so a wrong name costs as long as a wrong
    password. Made on first use: an Argon2 hash costs a noticeable part of a second, which every
    CLI command would otherwise pay at import."""
    return PASSWORDS.hash("sarhad-no-such-account")


def set_password(session: Session, *, username: str, password: str, actor: str) -> User:
    """Set or change the web console password of ``username`` (stored as an Argon2id hash)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            FieldError.of(
                "password",
                message(
                    "users.short_password",
                    "use at least {least} characters (a passphrase)",
                    least=MIN_PASSWORD,
                ),
            )
        )
    lock_writes(session)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(
            message("users.none", "no user {name}", name=repr(username)),
            hint=message("users.none.hint", "create it with 'sarhad users add'"),
        )
    if user.role == Role.PARTNER.value:
        raise InvalidInput(
            FieldError.of(
                "username",
                message(
                    "users.partner_password", "a partner's machine account has no console password"
                ),
            )
        )
    user.password_hash = PASSWORDS.hash(password)
    audit(
        session,
        actor=actor,
        action="user.password",
        entity="user",
        entity_id=user.id,
        detail={"username": username},
    )
    return user


def check_password(session: Session, *, username: str, password: str) -> User | None:
    """The account if ``password`` is its password (and it may sign in), else None.

    Never says which part was wrong. The caller holds the write lock if it wants an outdated
    hash upgraded in place.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.password_hash is None:
        PASSWORDS.verify(password, _dummy_hash())
        return None
    valid, new_hash = PASSWORDS.verify_and_update(password, user.password_hash)
    if not valid or user.disabled or user.role == Role.PARTNER.value:
        return None
    if new_hash is not None:
        user.password_hash = new_hash
    return user
