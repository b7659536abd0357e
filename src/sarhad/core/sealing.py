"""Secrets at rest: values the node must send again (partner tokens) are sealed with its key.

The node key file holds Fernet keys, one a line, the newest first: the first seals, every
one opens (``MultiFernet``). A sealed value is ``PREFIX`` + a Fernet token, so a value left
in clear by an older version is recognised and sealed at the next start (``seal_column``).

Rotation keeps a key file that opens every stored value at every moment, so a crash at any
step loses nothing: (1) write the file with a new key in front of the old ones, (2) re-seal
every value under the new key in one transaction, (3) write the file with the new key only.
A file with more than one key is an unfinished rotation: the next start finishes it.

A running server notices a rotated file by itself: each use compares the file's identity
(inode, size, mtime) with the one it loaded, and reloads when they differ.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sarhad.core.errors import ConfigError
from sarhad.core.i18n import message

if TYPE_CHECKING:  # SQLAlchemy is imported where a session is used: core.signing imports this
    # module, and the signature helpers (core.verifier) import core.signing without a database.
    from sqlalchemy.orm import InstrumentedAttribute, Session

log = logging.getLogger("sarhad.sealing")

#: What a sealed value starts with (then a Fernet token, which is URL-safe base64).
PREFIX = "sealed:fernet:"
#: Files and folders holding node secrets are readable by the node's own account only.
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700

_HEADER = (
    "# Sarhad node key: seals partner tokens in the database. Keep it secret, back it up\n"
    "# with the database (docs/operations.md). First key seals; every key listed opens.\n"
)


def is_sealed(value: str | None) -> bool:
    """Whether ``value`` is a sealed value (as opposed to a clear one, or nothing)."""
    return value is not None and value.startswith(PREFIX)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 600 from the first byte on.

    Why by hand: ``Path.write_bytes`` creates the file with the umask's mode and a reader could
    open it before a later chmod; and a crash mid-write must leave the old file, not half of
    the new one, so the bytes go to a temporary file that is renamed over the old one.
    """
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, PRIVATE_FILE)  # O_CREAT's mode is masked by the umask; make it exact
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a power cut
    finally:
        os.close(dir_fd)


class NodeKey:
    """The node key file: seals and opens secrets; loaded on first use, reloaded when replaced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: list[bytes] = []
        self._fernet: MultiFernet | None = None

    def __repr__(self) -> str:
        return f"NodeKey({str(self.path)!r})"

    def exists(self) -> bool:
        """Whether the key file is there."""
        return self.path.exists()

    def create(self) -> None:
        """Write a new key file with one fresh key (refused if one exists: never overwrite)."""
        if self.path.exists():
            raise ConfigError(
                message("seal.key_exists", "the node key {path} exists already", path=self.path)
            )
        self.write([Fernet.generate_key()])

    def write(self, keys: list[bytes]) -> None:
        """Replace the key file with ``keys`` (the first one seals), atomically, mode 600."""
        if not keys:
            raise ValueError("a node key file needs at least one key")
        body = _HEADER + "".join(k.decode("ascii") + "\n" for k in keys)
        write_private(self.path, body.encode("ascii"))
        with self._lock:
            self._stamp = None  # reload on next use

    def keys(self) -> list[bytes]:
        """The keys in the file, newest first."""
        self._current()
        return list(self._keys)

    def _current(self) -> MultiFernet:
        with self._lock:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                raise ConfigError(
                    message("seal.missing", "the node key file {path} is missing", path=self.path),
                    hint=message(
                        "seal.missing.hint",
                        "restore it from the backup of this node's data folder "
                        "(docs/operations.md) or set SARHAD_NODE_KEY_FILE to where it is; a node "
                        "upgraded from a version without one makes it at 'sarhad init'",
                    ),
                ) from None
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if self._fernet is None or stamp != self._stamp:
                self._keys = _parse(self.path)
                self._fernet = MultiFernet([Fernet(k) for k in self._keys])
                self._stamp = stamp
            return self._fernet

    def seal(self, text: str) -> str:
        """``text`` sealed under the newest key."""
        return PREFIX + self._current().encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, value: str) -> str:
        """The clear text of a sealed value; a clear value (stored by an older version) as is."""
        if not is_sealed(value):
            return value
        try:
            return self._current().decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):  # ValueError: not even ASCII, so damaged
            raise ConfigError(
                message(
                    "seal.does_not_open",
                    "a sealed value does not open with the node key {path}",
                    path=self.path,
                ),
                hint=message(
                    "seal.does_not_open.hint",
                    "the key file was replaced or damaged: restore it from backup "
                    "(docs/operations.md)",
                ),
            ) from None

    def opens(self, value: str) -> bool:
        """Whether ``value`` (sealed or clear) can be opened with the keys in the file."""
        try:
            self.open(value)
        except ConfigError:
            return False
        return True

    def reseal(self, value: str) -> str:
        """``value`` sealed under the newest key (a clear value is sealed, a sealed one rotated)."""
        if not is_sealed(value):
            return self.seal(value)
        try:
            token = self._current().rotate(value[len(PREFIX) :].encode("ascii"))
        except (InvalidToken, ValueError):
            self.open(value)  # raises the explanatory ConfigError
            raise
        return PREFIX + token.decode("ascii")


def _parse(path: Path) -> list[bytes]:
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    keys = [ln.strip().encode("ascii", "replace") for ln in lines]
    keys = [k for k in keys if k and not k.startswith(b"#")]
    try:
        for k in keys:
            Fernet(k)
    except ValueError:
        keys = []
    if not keys:
        raise ConfigError(
            message("seal.bad_key", "the node key file {path} holds no valid key", path=path),
            hint=message("seal.bad_key.hint", "restore it from backup (docs/operations.md)"),
        )
    return keys


def node_key(session: Session) -> NodeKey:
    """The node key of the database this session belongs to (``Database(key=...)``)."""
    key: NodeKey | None = session.info.get("node_key")
    if key is None:
        raise ConfigError(
            message("seal.no_key", "this database was opened without the node key"),
            hint=message("seal.no_key.hint", "open it with core.db.open_database(settings)"),
        )
    return key


def seal(session: Session, value: str | None) -> str | None:
    """``value`` sealed with the session's node key (None stays None)."""
    return None if value is None else node_key(session).seal(value)


def unseal(session: Session, value: str | None) -> str | None:
    """The clear text of a stored value (None stays None)."""
    return None if value is None else node_key(session).open(value)


def sealed_values(session: Session, column: InstrumentedAttribute[Any]) -> list[str]:
    """Every sealed value stored in ``column``."""
    from sqlalchemy import select

    return [v for v in session.scalars(select(column).where(column.is_not(None))) if is_sealed(v)]


def seal_column(
    session: Session,
    column: InstrumentedAttribute[Any],
    *,
    clear: bool,
    sealed: bool = True,
    forget: bool = False,
) -> tuple[int, int]:
    """Seal values of ``column`` under the newest key; return (sealed, forgotten).

    ``clear`` seals values stored in clear (partner tokens of an older version); ``sealed``
    re-seals those already sealed (a rotation). ``forget`` sets values that no key in the
    file opens to NULL instead of failing (for a node whose key is lost: the operator gives
    those tokens again). The caller holds the write lock, so nothing seals a value under a
    key about to be dropped meanwhile.
    """
    from sqlalchemy import select, update

    table = column.class_
    (pk,) = table.__mapper__.primary_key
    done = forgotten = 0
    rows = session.execute(select(pk, column).where(column.is_not(None))).all()
    todo = [(i, v) for i, v in rows if (sealed if is_sealed(v) else clear)]
    if not todo:
        return 0, 0
    key = node_key(session)
    for ident, value in todo:
        if forget and not key.opens(value):
            new: str | None = None
            forgotten += 1
        else:
            new = key.reseal(value)
            done += 1
        session.execute(update(table).where(pk == ident).values({column.key: new}))
    return done, forgotten


def restrict(paths: Iterable[Path], *, mode: int) -> list[Path]:
    """Give each existing path ``mode`` if it is more open; return those changed.

    Paths owned by another account are left alone (with a warning): a data folder such as
    /srv shared with others is the operator's choice to make, not ours to take away.
    """
    changed = []
    for p in paths:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        if stat.S_IMODE(st.st_mode) & ~mode == 0:
            continue
        if st.st_uid != os.getuid():
            log.warning(
                "%s is mode %o and belongs to another account: not changed (want %o)",
                p,
                stat.S_IMODE(st.st_mode),
                mode,
            )
            continue
        log.warning(
            "%s was mode %o, readable by other accounts: set to %o",
            p,
            stat.S_IMODE(st.st_mode),
            mode,
        )
        os.chmod(p, mode)
        changed.append(p)
    return changed
