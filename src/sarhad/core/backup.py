"""Backup and restore of a node: its database and the data folder's secrets, in one archive.

An archive is a gzipped tar file, mode 600, holding

* ``manifest.json`` first: format, node id and name, backend, schema revision, time, and the
  SHA-256 and size of every other member;
* ``database.sqlite`` (SQLite's online backup API: a consistent copy while the node runs and
  writes) or ``database.pgdump`` (``pg_dump`` custom format, one snapshot);
* ``files/…``: what a restore needs from the data folder: the node key (``node.key``, it opens
  the sealed partner tokens), the signing key ring (``keys/…``) and ``patrols.toml`` if any.

The archive holds private keys: whoever has it can sign as this node and open its partner
tokens. Keep it encrypted at rest (docs/operations.md).

A restore goes into an empty node only (no database tables, none of the files): it never
merges into or overwrites a node. It checks every checksum before it writes anything, and
refuses an archive of a schema this code does not know (made by a newer version).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import Progress, TaskID
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from sarhad import __version__
from sarhad.core.config import Settings
from sarhad.core.db import Database, utcnow
from sarhad.core.errors import ConfigError, Conflict, FieldError, InvalidInput
from sarhad.core.i18n import message
from sarhad.core.sealing import PRIVATE_DIR, PRIVATE_FILE, write_private

FORMAT = "sarhad-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
FILES = "files/"
#: SQLite pages copied per step when restoring (nobody else writes then): steps show progress.
PAGES_PER_STEP = 1024
_CHUNK = 1 << 20


@dataclass
class Manifest:
    """What an archive holds, written first in it."""

    format: str
    node_id: str
    node_name: str
    backend: str
    schema_revision: str
    created_at: str
    sarhad_version: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> sha256, size

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
            return cls(**doc)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                FieldError.of(
                    "archive",
                    message("backup.manifest", "its manifest is not readable ({why})", why=exc),
                )
            ) from None


def secret_files(settings: Settings) -> dict[str, Path]:
    """The data folder's files a restore needs, by their name in the archive (those present)."""
    data = settings.data_dir
    found = {"node.key": settings.node_key_path}
    keys = data / "keys"
    if keys.is_dir():
        for path in sorted(keys.iterdir()):
            if path.is_file() and not path.name.startswith("."):  # not lock files
                found[f"keys/{path.name}"] = path
    found["patrols.toml"] = settings.patrol_config or data / "patrols.toml"
    return {name: path for name, path in found.items() if path.is_file()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another backend or an in-memory database)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url.removeprefix("sqlite:///"))


# -- PostgreSQL tools -------------------------------------------------------------------------


def _major(version_text: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if found is None:
        raise ConfigError(
            message(
                "backup.pg_version",
                "cannot read a PostgreSQL version from {text}",
                text=repr(version_text),
            )
        )
    return int(found.group(1))


def server_major(db: Database) -> int:
    """The major version of the PostgreSQL server behind ``db``."""
    with db.engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def pg_tool(name: str, major: int) -> str:
    """``pg_dump`` or ``pg_restore`` of the server's major version or newer.

    Why: pg_dump refuses a server newer than itself, and Debian installs each version's tools
    under /usr/lib/postgresql/<major>/bin while ``/usr/bin/pg_dump`` picks one of them.
    """
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/{name}")]
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if not path.is_file():
            continue
        done = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and _major(done.stdout) >= major:
            return str(path)
    raise ConfigError(
        message(
            "backup.no_tool",
            "no {name} of PostgreSQL {major} or newer on this machine",
            name=name,
            major=major,
        ),
        hint=message(
            "backup.no_tool.hint",
            "install the PostgreSQL {major} client tools (Debian: postgresql-client-{package})",
            major=major,
            package=str(major),  # a package name: its digits stay as written
        ),
    )


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url`` without its password, and the environment carrying it
    (a password on a command line is visible to every account on the machine)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConfigError(
            message(
                "backup.tool_failed",
                "{what} failed: {why}",
                what=what,
                why=done.stderr.strip()[-2000:],
            )
        )


# -- backup -----------------------------------------------------------------------------------


def _sqlite_copy(
    source: Path,
    target: Path,
    progress: Progress | None,
    task: TaskID | None,
    *,
    pages: int = -1,
) -> None:
    """Copy a SQLite database with the online backup API.

    From a running node, in one step (``pages=-1``): one read transaction, which in WAL mode
    never blocks the node's writers and, unlike a copy in steps, is never restarted by them.
    """
    src = sqlite3.connect(source, timeout=30)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.close(fd)
    dst = sqlite3.connect(target)

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None and task is not None:
            progress.update(task, total=total, completed=total - remaining)

    try:
        with dst:
            src.backup(dst, pages=pages, progress=step)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _read_sqlite_facts(path: Path) -> tuple[str, str]:
    conn = sqlite3.connect(path)
    try:
        node_id = conn.execute("SELECT value FROM node_meta WHERE key = 'node_id'").fetchone()
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        conn.close()
    if node_id is None or revision is None:
        raise ConfigError(
            message("backup.no_node", "the database has no node id or schema revision"),
            hint=message("node.run_init", "run 'sarhad init'"),
        )
    return str(node_id[0]), str(revision[0])


def _read_pg_facts(db: Database) -> tuple[str, str]:
    with db.engine.connect() as conn:
        node_id = conn.execute(text("SELECT value FROM node_meta WHERE key = 'node_id'")).scalar()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if node_id is None or revision is None:
        raise ConfigError(
            message("backup.no_node", "the database has no node id or schema revision"),
            hint=message("node.run_init", "run 'sarhad init'"),
        )
    return str(node_id), str(revision)


@contextlib.contextmanager
def _workdir(near: Path) -> Iterator[Path]:
    """A private temporary folder beside ``near`` (same disk, never readable by others)."""
    path = Path(tempfile.mkdtemp(prefix=".sarhad-backup-", dir=near))
    try:
        os.chmod(path, PRIVATE_DIR)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def backup(
    settings: Settings, db: Database, out: Path, *, progress: Progress | None = None
) -> Manifest:
    """Write the archive of this node to ``out`` (a new file, mode 600) while it runs."""
    out = out.resolve()
    if out.exists():
        raise Conflict(
            message("backup.exists", "{path} exists already", path=out),
            hint=message("backup.exists.hint", "give a new file name (a backup never overwrites)"),
        )
    if not out.parent.is_dir():
        raise InvalidInput(
            FieldError.of(
                "out",
                message("backup.no_folder", "the folder {path} does not exist", path=out.parent),
            )
        )
    with _workdir(out.parent) as work:
        if db.backend == "sqlite":
            source = sqlite_path(db.url)
            if source is None:
                raise ConfigError(
                    message("backup.in_memory", "an in-memory database cannot be backed up")
                )
            member, dump = SQLITE_MEMBER, work / SQLITE_MEMBER
            task = (
                progress.add_task("database (SQLite online backup)", total=None)
                if progress
                else None
            )
            _sqlite_copy(source, dump, progress, task)
            node_id, revision = _read_sqlite_facts(dump)
        else:
            member, dump = PG_MEMBER, work / PG_MEMBER
            node_id, revision = _read_pg_facts(db)
            tool = pg_tool("pg_dump", server_major(db))
            task = (
                progress.add_task(f"database ({Path(tool).name}, custom format)", total=1)
                if progress
                else None
            )
            uri, env = libpq(db.url)
            _run(
                [
                    tool,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={dump}",
                    f"--dbname={uri}",
                ],
                env,
                "pg_dump",
            )
            if progress is not None and task is not None:
                progress.update(task, completed=1)
        members: dict[str, Path] = {member: dump}
        members.update({FILES + name: path for name, path in secret_files(settings).items()})
        manifest = Manifest(
            format=FORMAT,
            node_id=node_id,
            node_name=settings.node_name,
            backend=db.backend,
            schema_revision=revision,
            created_at=utcnow().isoformat(timespec="seconds"),
            sarhad_version=__version__,
            members={
                name: {"sha256": _sha256(path), "size": path.stat().st_size}
                for name, path in members.items()
            },
        )
        total = sum(int(m["size"]) for m in manifest.members.values())
        task = progress.add_task("archive", total=total) if progress else None
        partial = out.with_name(f".{out.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                _add_bytes(tar, MANIFEST, manifest.to_json())
                for name, path in members.items():
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mode = PRIVATE_FILE
                    with path.open("rb") as f:
                        tar.addfile(info, f)
                    if progress is not None and task is not None:
                        progress.advance(task, info.size)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), PRIVATE_FILE, int(utcnow().timestamp())
    tar.addfile(info, io.BytesIO(data))


# -- restore ----------------------------------------------------------------------------------


def read_manifest(archive: Path) -> Manifest:
    """The manifest of ``archive`` (refuses a file that is not a Sarhad backup)."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise InvalidInput(
                    FieldError.of(
                        "archive",
                        message(
                            "backup.not_backup",
                            "{path} is not a Sarhad backup (no manifest)",
                            path=archive,
                        ),
                    )
                )
            data = tar.extractfile(first)
            assert data is not None
            manifest = Manifest.from_json(data.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInput(
            FieldError.of(
                "archive",
                message(
                    "backup.unreadable", "{path} is not readable ({why})", path=archive, why=exc
                ),
            )
        ) from None
    if manifest.format != FORMAT:
        raise InvalidInput(
            FieldError.of(
                "archive",
                message(
                    "backup.format",
                    "format {found} is not {format}",
                    found=repr(manifest.format),
                    format=repr(FORMAT),
                ),
            )
        )
    return manifest


def not_empty(settings: Settings, db: Database) -> list[str]:
    """What keeps this node from being a restore target (empty list: it is empty)."""
    found = [f"{path} exists" for name, path in secret_files(settings).items()]
    keys = settings.data_dir / "keys"
    if keys.is_dir() and any(keys.iterdir()):
        found.append(f"{keys} is not empty")
    tables = inspect(db.engine).get_table_names()
    if tables:
        found.append(
            f"the database {make_url(db.url).render_as_string()} has {len(tables)} table(s)"
        )
    return sorted(set(found))


def restore(
    settings: Settings,
    db: Database,
    archive: Path,
    *,
    knows: Callable[[str], bool],
    progress: Progress | None = None,
) -> Manifest:
    """Restore ``archive`` into this empty node (database and files); the caller then migrates.

    ``knows(revision)``: whether this code's schema history holds the archive's revision.
    """
    manifest = read_manifest(archive)
    if manifest.backend != db.backend:
        raise Conflict(
            message(
                "backup.backend",
                "the archive is of a {theirs} node and this node uses {ours}",
                theirs=manifest.backend,
                ours=db.backend,
            ),
            hint=message(
                "backup.backend.hint", "restore it into a node on {theirs}", theirs=manifest.backend
            ),
        )
    if not knows(manifest.schema_revision):
        raise Conflict(
            message(
                "backup.schema",
                "the archive's schema {revision} is newer than this version of "
                "Sarhad ({version}) knows",
                revision=manifest.schema_revision,
                version=__version__,
            ),
            hint=message(
                "backup.schema.hint",
                "restore it with Sarhad {version} or newer",
                version=manifest.sarhad_version,
            ),
        )
    settings.data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    db_file = sqlite_path(db.url)
    if db_file is not None:
        db_file.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    problems = not_empty(settings, db)
    if problems:
        raise Conflict(
            message(
                "backup.not_empty",
                "a restore goes into an empty node only: {problems}",
                problems="; ".join(problems),
            ),
            hint=message(
                "backup.not_empty.hint",
                "point SARHAD_DATA_DIR at a new folder and SARHAD_DATABASE_URL at a new, "
                "empty database (never restore over a node)",
            ),
        )
    with _workdir(settings.data_dir) as work:
        extracted = _extract(archive, manifest, work, progress)
        written: list[Path] = []
        try:
            for name, source in extracted.items():
                if not name.startswith(FILES):
                    continue
                target = _file_target(settings, name.removeprefix(FILES))
                target.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
                write_private(target, source.read_bytes())
                written.append(target)
            task = progress.add_task("database", total=None) if progress else None
            if manifest.backend == "sqlite":
                db_path = sqlite_path(db.url)
                if db_path is None:
                    raise ConfigError(
                        message(
                            "backup.restore_in_memory", "cannot restore into an in-memory database"
                        )
                    )
                db.dispose()
                written.append(db_path)
                _sqlite_copy(
                    extracted[SQLITE_MEMBER], db_path, progress, task, pages=PAGES_PER_STEP
                )
            else:
                tool = pg_tool("pg_restore", server_major(db))
                uri, env = libpq(db.url)
                _run(
                    [
                        tool,
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--single-transaction",
                        f"--dbname={uri}",
                        str(extracted[PG_MEMBER]),
                    ],
                    env,
                    "pg_restore",
                )
                if progress is not None and task is not None:
                    progress.update(task, total=1, completed=1)
        except BaseException:
            for path in written:  # leave the node as empty as it was
                path.unlink(missing_ok=True)
            raise
    return manifest


def _file_target(settings: Settings, name: str) -> Path:
    if name == "node.key":
        return settings.node_key_path
    if name == "patrols.toml":
        return settings.patrol_config or settings.data_dir / "patrols.toml"
    parts = Path(name).parts
    if len(parts) != 2 or parts[0] != "keys" or parts[1] in ("", ".", ".."):
        raise InvalidInput(
            FieldError.of(
                "archive",
                message(
                    "backup.unexpected", "unexpected file {name} in the archive", name=repr(name)
                ),
            )
        )
    return settings.data_dir / "keys" / parts[1]


def _extract(
    archive: Path, manifest: Manifest, work: Path, progress: Progress | None
) -> dict[str, Path]:
    """Every member into ``work``, each checked against the manifest before it is used."""
    total = sum(int(m["size"]) for m in manifest.members.values())
    task = progress.add_task("checking the archive", total=total) if progress else None
    out: dict[str, Path] = {}
    with tarfile.open(archive, mode="r:gz") as tar:
        for info in tar:
            if info.name == MANIFEST:
                continue
            expected = manifest.members.get(info.name)
            if expected is None or not info.isfile():
                raise InvalidInput(
                    FieldError.of(
                        "archive",
                        message(
                            "backup.not_in_manifest",
                            "member {name} is not in its manifest",
                            name=repr(info.name),
                        ),
                    )
                )
            target = work / f"{len(out)}.member"
            digest = hashlib.sha256()
            source = tar.extractfile(info)
            assert source is not None
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            with os.fdopen(fd, "wb") as f:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
                    if progress is not None and task is not None:
                        progress.advance(task, len(chunk))
            if digest.hexdigest() != expected["sha256"]:
                raise InvalidInput(
                    FieldError.of(
                        "archive",
                        message(
                            "backup.checksum",
                            "member {name} does not match its checksum: damaged",
                            name=info.name,
                        ),
                    )
                )
            out[info.name] = target
    missing = sorted(set(manifest.members) - set(out))
    if missing:
        raise InvalidInput(
            FieldError.of(
                "archive",
                message("backup.missing", "members missing: {names}", names=", ".join(missing)),
            )
        )
    return out
