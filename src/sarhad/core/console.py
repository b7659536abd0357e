"""What every CLI command shares: loading the node, printing errors as guidance, exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from sarhad.core import i18n
from sarhad.core.config import Settings, load_settings
from sarhad.core.db import Database, open_database
from sarhad.core.errors import ConfigError, FieldError, InvalidInput, SarhadError
from sarhad.core.i18n import message
from sarhad.core.ports import MissingPort

out = Console()
err = Console(stderr=True)

#: How the CLIs colour EUROSUR-style impact levels (sector risk, patrol plans).
IMPACT_STYLE = {
    "low": "green",
    "medium": "yellow",
    "high": "bold dark_orange",
    "critical": "bold white on red",
}


def cannot_write(option: str, path: Path, exc: OSError) -> InvalidInput:
    """The error of an output file (``--out``, ``--chart``) that could not be written."""
    return InvalidInput(
        FieldError.of(
            option,
            message(
                "cli.cannot_write", "cannot write {path}: {why}", path=path, why=exc.strerror or exc
            ),
        ),
        hint=message("cli.cannot_write.hint", "check that the folder exists and is writable"),
    )


P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

#: Exit codes: 2 bad input (like usage errors), 3 not found / conflict / forbidden, 4 setup problem.
EXIT_INPUT, EXIT_STATE, EXIT_CONFIG = 2, 3, 4


_language: str | None = None


def set_language(lang: str | None) -> None:
    """Remember ``--lang`` (en, ur, fa); without it SARHAD_LANG or the locale decides."""
    global _language
    if lang is not None and i18n.normalise(lang) is None:
        raise typer.BadParameter(f"{lang!r} is not one of: {', '.join(i18n.LANGUAGES)}")
    _language = i18n.normalise(lang)


def language() -> str:
    """The language the CLI words its messages in."""
    return _language or i18n.from_environment()


def fail(exc: SarhadError) -> typer.Exit:
    """Print ``exc`` as an error (in the CLI's language) with its hint; return the Exit."""
    lang = language()
    if isinstance(exc, InvalidInput) and len(exc.errors) > 1:
        # Each problem once, on its own line (the message joins them all: not printed too).
        err.print(
            f"[bold red]error:[/] {len(exc.errors)} problems with the input:", highlight=False
        )
        for e in exc.errors:
            err.print(f"  - {e.field}: {e.in_(lang)}", highlight=False, soft_wrap=True)
    else:
        err.print(f"[bold red]error:[/] {exc.in_(lang)}", highlight=False)
    hint = exc.hint_in(lang)
    if hint:
        err.print(f"[dim]hint: {hint}[/]", highlight=False)
    if isinstance(exc, InvalidInput):
        return typer.Exit(EXIT_INPUT)
    if isinstance(exc, ConfigError):
        return typer.Exit(EXIT_CONFIG)
    return typer.Exit(EXIT_STATE)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: turn expected errors into a message and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SarhadError as exc:
            raise fail(exc) from None

    return wrapper


_config_file: Path | None = None


def set_config_file(path: Path | None) -> None:
    """Remember ``--config`` from the root command for the commands below it."""
    global _config_file
    _config_file = path


def settings() -> Settings:
    """The settings for this invocation (environment, then ``--config`` file)."""
    return load_settings(_config_file)


_opened: list[Database] = []


def closing(db: Database) -> Database:
    """Have ``db`` disposed when the command ends (``dispose_all``, run by the root command)."""
    _opened.append(db)
    return db


def dispose_all() -> None:
    """Close the connections of every database this command opened."""
    while _opened:
        _opened.pop().dispose()


def open_db(s: Settings) -> Database:
    """The node's database; tells the user to run ``sarhad init`` if it is not set up."""
    from sqlalchemy import inspect

    db = closing(open_database(s))
    if s.database_url is None and not (s.data_dir / "sarhad.db").exists():
        raise ConfigError(
            message("node.no_database", "no node database in {path}", path=s.data_dir.resolve()),
            hint=message(
                "node.no_database.hint",
                "run 'sarhad init' first (or set SARHAD_DATA_DIR / SARHAD_DATABASE_URL)",
            ),
        )
    if not inspect(db.engine).has_table("change_log"):
        raise ConfigError(
            message("node.no_schema", "the database has no Sarhad schema"),
            hint=message("node.init_first", "run 'sarhad init' first"),
        )
    return db


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


#: What ``sarhad.cli`` wires into rooms' commands: a maker of each port class, given the database.
_makers: dict[type[object], Callable[[Database], object]] = {}


def provide(kind: type[T], make: Callable[[Database], T]) -> None:
    """Register how the top-level CLI makes a room's ``kind`` of port (e.g. ``AlertPorts``).

    Why: a room's commands may not import the rooms above it; ``sarhad.cli`` may, and hands
    the makers down here at import time. The server wires the same classes into ``Node``.
    """
    _makers[kind] = make


def provided(kind: type[T], db: Database) -> T:
    """The ``kind`` port for ``db``, made by what ``provide`` registered."""
    made = _makers[kind](db) if kind in _makers else None
    if not isinstance(made, kind):
        raise MissingPort(kind)
    return made
