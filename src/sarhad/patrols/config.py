"""Patrol bases, shifts and effectiveness: a node's own operational data, read from TOML.

``DATA_DIR/patrols.toml`` (or ``SARHAD_PATROL_CONFIG``)::

    max_stretch = 3                     # optional; default from SARHAD_PATROL_MAX_STRETCH
    [effectiveness]                     # interdiction on a sector, coordinated plans only
    single = 0.6                        # one side's patrol alone
    joint = 0.9                         # a coordinated patrol on both banks
    [utc_offset_hours]                  # local time of each side (no DST on either side)
    PK = 5.0
    IR = 3.5
    [[shifts]]
    name = "day"
    start = "06:00"                     # local time of the planning side
    hours = 8
    weight = 1.0                        # share of the day's risk in this shift (relative)
    [[bases]]
    name = "Taftan"
    side = "PK"
    first_km = 0                        # area of responsibility along the line
    last_km = 300
    teams = 4                           # teams on duty per shift

Without a file every side gets one base covering the whole line with 4 teams per shift, and
three 8-hour shifts from 06:00.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from sarhad.core.config import Settings
from sarhad.core.errors import ConfigError
from sarhad.core.i18n import Text, message

DEFAULT_OFFSETS = {"PK": 5.0, "IR": 3.5}  # PKT, IRST (Iran dropped daylight saving in 2022)


@dataclass(frozen=True)
class Shift:
    """A shift in the planning side's local time."""

    name: str
    start: time
    hours: float
    weight: float = 1.0


@dataclass(frozen=True)
class BaseConfig:
    """A base: its side, its area along the line (km) and the teams it has on duty per shift."""

    name: str
    side: str
    first_km: float
    last_km: float
    teams: int


@dataclass(frozen=True)
class PatrolConfig:
    """Everything the planner needs besides risk."""

    shifts: tuple[Shift, ...]
    bases: tuple[BaseConfig, ...]
    max_stretch: int
    single: float = 0.6
    joint: float = 0.9
    utc_offset_hours: tuple[tuple[str, float], ...] = tuple(DEFAULT_OFFSETS.items())
    source: str = "defaults"

    def bases_of(self, side: str) -> list[BaseConfig]:
        return [b for b in self.bases if b.side == side]

    def offset(self, side: str) -> float:
        return dict(self.utc_offset_hours).get(side, 0.0)


DEFAULT_SHIFTS = (
    Shift("day", time(6, 0), 8.0),
    Shift("evening", time(14, 0), 8.0),
    Shift("night", time(22, 0), 8.0),
)


def _fail(path: Path, problem: Text) -> ConfigError:
    return ConfigError(
        message("patrols.config", "patrol config {path}: {problem}", path=path, problem=problem),
        hint=message("patrols.config.hint", "see docs/patrols.md (Patrol configuration)"),
    )


def _shift(path: Path, raw: dict[str, Any], k: int) -> Shift:
    try:
        hh, mm = str(raw["start"]).split(":")
        start = time(int(hh), int(mm))
        hours = float(raw.get("hours", 8))
        weight = float(raw.get("weight", 1.0))
        name = str(raw["name"])
    except (KeyError, ValueError) as exc:
        raise _fail(
            path,
            message(
                "patrols.config.shift",
                "shifts[{k}] needs name, start = 'HH:MM', hours, weight",
                k=k,
            ),
        ) from exc
    if not 0 < hours <= 24 or weight < 0:
        raise _fail(
            path,
            message(
                "patrols.config.shift_hours",
                "shifts[{k}]: hours must be in (0, 24] and weight >= 0",
                k=k,
            ),
        )
    return Shift(name, start, hours, weight)


def _base(path: Path, raw: dict[str, Any], k: int) -> BaseConfig:
    try:
        b = BaseConfig(
            name=str(raw["name"]),
            side=str(raw["side"]).upper(),
            first_km=float(raw["first_km"]),
            last_km=float(raw["last_km"]),
            teams=int(raw["teams"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise _fail(
            path,
            message(
                "patrols.config.base",
                "bases[{k}] needs name, side, first_km, last_km, teams",
                k=k,
            ),
        ) from exc
    if b.last_km <= b.first_km or b.teams < 0:
        raise _fail(
            path,
            message(
                "patrols.config.base_range",
                "bases[{k}] ({name}): last_km > first_km and teams >= 0",
                k=k,
                name=b.name,
            ),
        )
    return b


def load_patrol_config(
    settings: Settings, sides: tuple[str, ...], length_km: float
) -> PatrolConfig:
    """The node's patrol configuration, or the defaults when it has none."""
    path = settings.patrol_config or settings.data_dir / "patrols.toml"
    if not path.exists():
        if settings.patrol_config is not None:
            raise ConfigError(
                message("patrols.no_config", "patrol config {path} does not exist", path=path),
                hint=message("patrols.no_config.hint", "fix SARHAD_PATROL_CONFIG"),
            )
        bases = tuple(BaseConfig(f"{s}-line", s, 0.0, length_km, 4) for s in sides)
        return PatrolConfig(DEFAULT_SHIFTS, bases, settings.patrol_max_stretch)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _fail(
            path, message("patrols.config.toml", "not valid TOML: {why}", why=str(exc))
        ) from exc
    shifts = (
        tuple(_shift(path, s, k) for k, s in enumerate(raw.get("shifts", []))) or DEFAULT_SHIFTS
    )
    bases = tuple(_base(path, b, k) for k, b in enumerate(raw.get("bases", [])))
    if not bases:
        bases = tuple(BaseConfig(f"{s}-line", s, 0.0, length_km, 4) for s in sides)
    eff = raw.get("effectiveness", {})
    single, joint = float(eff.get("single", 0.6)), float(eff.get("joint", 0.9))
    if not 0 < single <= joint <= 1:
        raise _fail(
            path,
            message(
                "patrols.config.effectiveness",
                "effectiveness: 0 < single <= joint <= 1 must hold",
            ),
        )
    offsets = {
        **DEFAULT_OFFSETS,
        **{k.upper(): float(v) for k, v in raw.get("utc_offset_hours", {}).items()},
    }
    stretch = int(raw.get("max_stretch", settings.patrol_max_stretch))
    if stretch < 1:
        raise _fail(path, message("patrols.config.max_stretch", "max_stretch must be at least 1"))
    return PatrolConfig(
        shifts, bases, stretch, single, joint, tuple(offsets.items()), source=str(path)
    )
