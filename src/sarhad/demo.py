"""The demo: two nodes (Pakistan and Iran) on SQLite, seeded with sample incidents, served."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from sarhad.app import create_app
from sarhad.border import profile_from_settings
from sarhad.core.auth import CONSOLE, Role, User, add_user, issue_token
from sarhad.core.config import Settings
from sarhad.core.console import closing, out
from sarhad.core.db import Database
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn
from sarhad.node import init_node

# Invented sample events at real places near the line, for demonstration only.
# (title, category, lon, lat, days ago, casualties, seizures, tlp)
SAMPLES: dict[str, list[tuple]] = {
    "PK": [
        (
            "DEMO: hashish seized at checkpoint near Taftan",
            "smuggling_narcotics",
            61.600,
            28.950,
            2,
            {"assailants": {"detained": 2}},
            [("hashish", 120, "kg")],
            "amber",
        ),
        (
            "DEMO: fuel carriers stopped north of Mand",
            "smuggling_fuel",
            62.030,
            26.140,
            5,
            {},
            [("diesel", 4200, "l")],
            "green",
        ),
        (
            "DEMO: IED strike on patrol vehicle, Kech",
            "explosion_ied",
            62.100,
            26.300,
            9,
            {"security_forces": {"killed": 1, "injured": 3}},
            [],
            "amber",
        ),
        (
            "DEMO: illegal crossing group intercepted near Jiwani",
            "illegal_crossing",
            61.900,
            25.150,
            12,
            {"assailants": {"detained": 14}},
            [],
            "green",
        ),
        (
            "DEMO: protest closes crossing gate at Taftan",
            "crossing_closure_protest",
            61.590,
            28.960,
            20,
            {"civilians": {"injured": 2}},
            [],
            "clear",
        ),
        (
            "DEMO: weapons cache found west of Panjgur",
            "smuggling_weapons",
            63.400,
            26.900,
            31,
            {},
            [("firearms", 6, "items"), ("ammunition", 900, "rounds")],
            "amber+strict",
        ),
    ],
    "IR": [
        (
            "DEMO: armed attack on border post near Saravan",
            "armed_attack",
            62.700,
            27.400,
            3,
            {"security_forces": {"killed": 2, "injured": 1}, "assailants": {"killed": 1}},
            [],
            "amber",
        ),
        (
            "DEMO: opium seized east of Mirjaveh",
            "smuggling_narcotics",
            61.500,
            29.000,
            6,
            {"assailants": {"detained": 1}},
            [("opium", 85, "kg")],
            "green",
        ),
        (
            "DEMO: fuel smuggling vehicles stopped near Pishin",
            "smuggling_fuel",
            61.760,
            26.080,
            10,
            {},
            [("petrol", 3000, "l"), ("vehicles", 3, "items")],
            "green",
        ),
        (
            "DEMO: cross-border fire reported near Kuhak",
            "cross_border_fire",
            62.900,
            27.150,
            15,
            {},
            [],
            "amber",
        ),
        (
            "DEMO: kidnapping of border guards reported",
            "kidnapping",
            62.720,
            27.700,
            28,
            {"security_forces": {"detained": 3}},
            [],
            "red",
        ),
    ],
}

NODES = (("PK", "pk-node", "Pakistan"), ("IR", "ir-node", "Iran"))


@dataclass
class DemoNode:
    side: str
    settings: Settings
    db: Database
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"


def _account(db: Database, username: str, role: Role) -> str:
    with db.session() as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            add_user(session, username=username, role=role, actor=CONSOLE.username)
        return issue_token(session, username=username, name="demo", actor=CONSOLE.username)


def _seed(db: Database, settings: Settings) -> int:
    profile = profile_from_settings(settings)
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            return 0
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for title, cat, lon, lat, days, cas, seiz, tlp in SAMPLES[settings.node_side]:
        data = IncidentIn.model_validate(
            {
                "title": title,
                "category": cat,
                "occurred_at": now - timedelta(days=days),
                "date_precision": "day",
                "location": {"lon": lon, "lat": lat, "precision": "near"},
                "reporting_side": settings.node_side,
                "casualties": cas,
                "seizures": [{"commodity": c, "quantity": q, "unit": u} for c, q, u in seiz],
                "grading": {"source_reliability": "B", "information_credibility": "2"},
                "tlp": tlp,
                "narrative": "Invented sample record for the demo.",
                "sources": ["demo"],
            }
        )
        with db.session() as session:
            service.create_incident(session, data=data, actor=CONSOLE, profile=profile)
    return len(SAMPLES[settings.node_side])


def setup_demo(*, base_port: int, data_dir: Path) -> list[DemoNode]:
    """Initialise (or reuse) both demo nodes, seed them once, and issue fresh tokens."""
    nodes = []
    for i, (side, name, _country) in enumerate(NODES):
        settings = Settings(
            data_dir=data_dir / side.lower(), node_name=name, node_side=side, port=base_port + i
        )
        db = closing(init_node(settings))
        seeded = _seed(db, settings)
        tokens = {
            "admin": _account(db, f"{side.lower()}-admin", Role.ADMIN),
            "duty": _account(db, f"{side.lower()}-duty-1", Role.DUTY_OFFICER),
        }
        if seeded:
            out.print(f"{name}: {seeded} sample incidents recorded")
        nodes.append(DemoNode(side=side, settings=settings, db=db, tokens=tokens))
    return nodes


def describe(nodes: list[DemoNode], data_dir: Path) -> str:
    """What to look at, as printed and written to DATA_DIR/WHERE-TO-LOOK.txt."""
    lines = ["Sarhad demo: two nodes on SQLite", ""]
    for n, (_side, name, country) in zip(nodes, NODES, strict=True):
        lines += [
            f"{country} node '{name}'  {n.url}   (API docs: {n.url}/docs)",
            f"  admin token:        {n.tokens['admin']}",
            f"  duty officer token: {n.tokens['duty']}",
            f"  data: {n.settings.data_dir.resolve()}",
            "",
        ]
    pk = nodes[0]
    auth = f"-H 'Authorization: Bearer {pk.tokens['duty']}'"
    env = f"SARHAD_DATA_DIR={pk.settings.data_dir} .venv/bin/sarhad"
    lines += [
        "Try:",
        f"  curl {auth} '{pk.url}/api/v1/incidents?format=geojson'",
        f"  curl {auth} '{pk.url}/api/v1/border/locate?lon=61.6&lat=28.95'",
        f"  {env} incidents list",
        f"  {env} border locate 61.6 28.95 --json",
        f"  {env} audit verify",
        "",
        "Federation between the two nodes (STIX 2.1 / TAXII 2.1) is not built yet (issue 3):",
        "today each node keeps its own incidents.",
    ]
    text = "\n".join(lines)
    (data_dir / "WHERE-TO-LOOK.txt").write_text(text + "\n", encoding="utf-8")
    return text


async def _serve(nodes: list[DemoNode]) -> None:
    import uvicorn

    servers = [
        uvicorn.Server(
            uvicorn.Config(
                create_app(n.settings, db=n.db),
                host=n.settings.host,
                port=n.settings.port,
                log_level="warning",
            )
        )
        for n in nodes
    ]
    await asyncio.gather(*(s.serve() for s in servers))


def run_demo(*, base_port: int, data_dir: Path, serve: bool = True) -> list[DemoNode]:
    """Set up the two nodes, print where to look, and serve them until Ctrl-C."""
    nodes = setup_demo(base_port=base_port, data_dir=data_dir)
    out.print(describe(nodes, data_dir), highlight=False, soft_wrap=True)
    if serve:
        out.print("\nServing both nodes; press Ctrl-C to stop.")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(nodes))
    return nodes
