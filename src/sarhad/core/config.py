"""Node settings: environment variables prefixed ``SARHAD_`` or a TOML config file.

Settings are read when the app or a CLI command starts (``load_settings``), never at import
time, so tests and two nodes in one process can each have their own.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sarhad.core.errors import ConfigError
from sarhad.core.i18n import message


class Settings(BaseSettings):
    """Everything a node needs to start. Environment beats config file beats defaults."""

    model_config = SettingsConfigDict(env_prefix="SARHAD_", extra="forbid")

    data_dir: Path = Field(default=Path("./var"), description="Where the node keeps its files")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is SQLite (WAL) at DATA_DIR/sarhad.db",
    )
    node_name: str = Field(default="sarhad-node", description="This node's short name")
    node_side: str = Field(
        default="PK",
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166 alpha-2 code of the agency running the node",
    )
    profile_dir: Path | None = Field(
        default=None, description="Border profile folder; default is the shipped PK-IR profile"
    )
    sector_length_km: float | None = Field(
        default=None, gt=0, description="Override the profile's sector length"
    )
    max_km_from_line: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Farthest a record's point may lie from the border line, in km; farther "
        "only when marked far_from_line (default: the profile's, 150 km for PK–IR)",
    )
    sync_interval_s: float = Field(
        default=60.0, ge=0, description="How often a running node syncs with partners (0: never)"
    )
    courier_poll_s: float = Field(
        default=1.0,
        ge=0,
        description="How often the courier checks for work besides being woken (0: off)",
    )
    outbox_claim_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a process holds the alert outbox rows it claimed; a process "
        "that died or froze loses them after this (longer than a partner's answer takes)",
    )
    outbox_backoff_max_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait between two tries of an alert for a partner that is down",
    )
    escalation_check_s: float = Field(
        default=5.0, ge=0, description="How often overdue alerts are escalated (0: never)"
    )
    request_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Threads that run requests in one process (default: CPU cores + 1). Few "
        "is faster: a request's work is Python, which runs one thread at a time; add "
        "processes, not threads. Waits on partners run on threads of their own",
    )
    workers: bool = Field(
        default=True,
        description="Run background work in this process (courier, escalation, partner sync); "
        "off: it serves requests only (`sarhad serve --no-workers`)",
    )
    lease_ttl_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="How long a lease (a partner's sync) lasts unless its holder renews it: a "
        "frozen holder is replaced after at most this plus lease_poll_s",
    )
    lease_poll_s: float | None = Field(
        default=None,
        gt=0,
        description="How often leases are renewed, and free ones looked for (default "
        "lease_ttl_s / 3)",
    )
    risk_half_life_days: float = Field(
        default=90.0, gt=0, description="Sector risk: an incident's weight halves every N days"
    )
    risk_bandwidth_km: float = Field(
        default=10.0, gt=0, description="Sector risk: how far along the line a hot spot warms"
    )
    risk_medium: float = Field(
        default=2.0, gt=0, description="Sector risk at or above which the impact is medium"
    )
    risk_high: float = Field(
        default=5.0, gt=0, description="Sector risk at or above which the impact is high"
    )
    risk_critical: float = Field(
        default=10.0, gt=0, description="Sector risk at or above which the impact is critical"
    )
    patrol_config: Path | None = Field(
        default=None,
        description="Patrol bases and shifts (TOML); default DATA_DIR/patrols.toml if present",
    )
    patrol_max_stretch: int = Field(
        default=3, ge=1, le=50, description="Most sectors one team patrols in one shift"
    )
    patrol_floor: float = Field(
        default=0.02,
        ge=0,
        lt=1,
        description="Least daily coverage of every sector with positive risk (never zero)",
    )
    patrol_buffer_km: float = Field(
        default=10.0,
        ge=0,
        description="Deconfliction: km along the line between a patrol and a partner operation",
    )
    patrol_max_teams: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Most teams per shift a plan may ask of one side (the configured teams are "
        "always allowed; never more than the sectors the side's bases hold)",
    )
    patrol_days_back: int = Field(
        default=366, ge=0, le=3660, description="Oldest day a plan may be made for (days ago)"
    )
    patrol_days_ahead: int = Field(
        default=31, ge=0, le=366, description="Furthest day ahead a plan may be made for (days)"
    )
    patrol_time_limit_s: float = Field(
        default=60.0, gt=0, le=3600, description="Most seconds the planner may solve one plan"
    )
    patrol_memory_mb: int = Field(
        default=2048, ge=64, description="Most memory (MB) one plan's solver may add"
    )
    patrol_parallel: int = Field(
        default=2, ge=1, le=64, description="Most plans solved at the same time on this node"
    )
    crossing_seizure_km: float = Field(
        default=10.0, ge=0, description="Crossings: seizures within this many km count as at it"
    )
    crossing_incident_km: float = Field(
        default=25.0,
        ge=0,
        description="Crossings: an incident this close may have caused a following closure",
    )
    crossing_incident_hours: float = Field(
        default=48.0,
        gt=0,
        description="Crossings: a closure this soon after a nearby incident counts as following it",
    )
    public_rate_per_minute: int = Field(
        default=60, ge=1, description="Public status page: requests per minute per client address"
    )
    tiles_url: str | None = Field(
        default=None,
        description="Web console: the site's own tile server, e.g. http://tiles.local/{z}/{x}/{y}.png",
    )
    shutdown_grace_s: float = Field(
        default=3.0,
        ge=0,
        le=300,
        description="On SIGTERM, how long `serve` lets running requests finish before it "
        "cancels them",
    )
    node_key_file: Path | None = Field(
        default=None,
        description="The node key sealing partner tokens in the database; default "
        "DATA_DIR/node.key (back it up with the database)",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies whose X-Forwarded-For is believed: addresses or CIDR "
        "networks, comma-separated (empty: the client is the socket's peer)",
    )
    news_feeds: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="News intake: RSS/Atom feed addresses the node reads, comma-separated "
        "(empty: none; articles can still be pasted or added with `sarhad news add`)",
    )
    news_poll_s: float = Field(
        default=900.0, ge=0, description="How often the news feeds are read (0: never)"
    )
    metrics_open: bool = Field(
        default=False,
        description="Serve /metrics to any caller (a private monitoring network); otherwise "
        "only to callers on this machine or with a token allowed metrics:read",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)

    @field_validator("trusted_proxies", "news_feeds", mode="before")
    @classmethod
    def _split_proxies(cls, v: object) -> object:
        if isinstance(v, str):  # SARHAD_TRUSTED_PROXIES=10.0.0.5,192.168.1.0/24
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("news_feeds")
    @classmethod
    def _feed_urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    message("config.not_http", "{url} is not an http(s) address", url=repr(url))
                )
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        out = []
        for entry in v:
            try:
                out.append(str(ipaddress.ip_network(entry, strict=False)))
            except ValueError:
                raise ValueError(
                    message(
                        "config.not_network",
                        "{entry} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)",
                        entry=repr(entry),
                    )
                ) from None
        return out

    @field_validator("database_url", mode="before")
    @classmethod
    def _known_backend(cls, v: object) -> object:
        if v == "":
            return None  # SARHAD_DATABASE_URL= (empty) means "use the default"
        if isinstance(v, str) and not v.startswith(("sqlite", "postgresql")):
            raise ValueError(
                message("config.database_url", "must start with sqlite:// or postgresql://")
            )
        return v

    @model_validator(mode="after")
    def _thresholds_ascend(self) -> Settings:
        if not self.risk_medium < self.risk_high < self.risk_critical:
            raise ValueError(
                message("config.risk_order", "risk_medium < risk_high < risk_critical must hold")
            )
        if self.lease_poll_every_s >= self.lease_ttl_s:
            raise ValueError(
                message(
                    "config.lease_poll",
                    "lease_poll_s must be shorter than lease_ttl_s (renewals come late)",
                )
            )
        return self

    @property
    def lease_poll_every_s(self) -> float:
        """How often leases are renewed and free ones taken: ``lease_poll_s`` or ttl / 3."""
        return self.lease_poll_s or self.lease_ttl_s / 3

    @property
    def effective_database_url(self) -> str:
        """The URL actually used: the configured one, or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sarhad.db').resolve()}"

    @property
    def node_key_path(self) -> Path:
        """Where the node key is: the configured file, or ``node.key`` in the data folder."""
        return self.node_key_file or self.data_dir / "node.key"


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Read settings from ``config_file`` (or ``$SARHAD_CONFIG``), the environment and overrides.

    The config file is TOML with the same keys as the variables, lower-case, without prefix.
    """
    path = config_file or (
        Path(os.environ["SARHAD_CONFIG"]) if "SARHAD_CONFIG" in os.environ else None
    )
    file_values: dict[str, object] = {}
    if path is not None:
        try:
            file_values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                message("config.no_file", "config file {path} does not exist", path=path),
                hint=message("config.no_file.hint", "check SARHAD_CONFIG"),
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                message(
                    "config.bad_toml",
                    "config file {path} is not valid TOML: {why}",
                    path=path,
                    why=exc,
                )
            ) from exc
    # Environment wins over the file: pass only file keys not set in the environment.
    env_keys = {k[len("SARHAD_") :].lower() for k in os.environ if k.startswith("SARHAD_")}
    # Values as the file and the caller gave them: Settings itself checks each one.
    init: dict[str, Any] = {k: v for k, v in file_values.items() if k not in env_keys}
    init.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**init)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            message("config.invalid", "invalid settings: {problems}", problems=problems),
            hint=message(
                "config.invalid.hint",
                "fix the SARHAD_* variable or config key named (see docs/operations.md)",
            ),
        ) from None
