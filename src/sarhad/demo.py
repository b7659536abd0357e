"""The demo: two nodes (Pakistan and Iran) on SQLite, seeded with sample incidents, served."""

from __future__ import annotations

import contextlib
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from shapely import Point
from sqlalchemy import func, select

from sarhad.analysis.risk import LEVELS
from sarhad.app import create_app
from sarhad.border import BorderProfile, profile_from_settings
from sarhad.core.auth import CONSOLE, Role, User, add_user, issue_token, set_password
from sarhad.core.clients import server_options
from sarhad.core.config import Settings
from sarhad.core.console import closing, out
from sarhad.core.db import Database, get_node_id, utcnow
from sarhad.core.errors import ConfigError
from sarhad.core.i18n import Number, message
from sarhad.core.serving import NodeServer
from sarhad.federation.service import sync_all
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn, Transition
from sarhad.incidents.taxonomy import Status
from sarhad.node import init_node
from sarhad.sharing import keys as known_keys
from sarhad.sharing import service as sharing
from sarhad.sharing.preview import preview
from sarhad.sharing.schemas import AgreementIn, PartnerUpdate

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

# An invented history of the last two months on top of the samples, so that the risk map
# shows every impact level (analysis/risk.py: medium 2, high 5, critical 10 "severity-weighted
# incidents per 30 days"; the samples alone peak near 0.8). Each side has one violent stretch
# (attacks with deaths: critical at its middle, high beside it), one of weapons and cross-border
# fire (high to medium) and one of smuggling (medium); scattered smuggling elsewhere stays low.
# Each side's weapons stretch lies across from the other side's violent one, so both sides rate
# those sectors high: there today's coordinated plan proposes mirrored (joint) patrols.
# (centre sector number, incidents, categories, killed range, injured range) per side.
_VIOLENT = ("armed_attack", "armed_clash", "explosion_ied", "cross_border_fire")
_ARMED = ("armed_attack", "smuggling_weapons", "smuggling_weapons", "cross_border_fire")
_TRADE = ("smuggling_narcotics", "smuggling_weapons", "illegal_crossing")
_SCATTERED = ("smuggling_fuel", "smuggling_goods", "illegal_crossing", "smuggling_narcotics")
HOTSPOTS: dict[str, list[tuple[int, int, tuple[str, ...], tuple[int, int], tuple[int, int]]]] = {
    "PK": [(52, 22, _VIOLENT, (1, 4), (1, 5)), (40, 20, _ARMED, (1, 2), (0, 3)),
           (70, 7, _TRADE, (0, 0), (0, 0))],
    "IR": [(40, 22, _VIOLENT, (1, 4), (1, 5)), (52, 20, _ARMED, (1, 2), (0, 3)),
           (24, 7, _TRADE, (0, 0), (0, 0))],
}  # fmt: skip
_SCATTERED_COUNT = 6  # with the two weapons stretches of 20: 55 records a side
_HURT = {"armed_attack", "armed_clash", "explosion_ied", "cross_border_fire"}


@dataclass
class DemoNode:
    side: str
    settings: Settings
    db: Database
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"


#: The demo's console password of every demo account (a demo on loopback only).
DEMO_PASSWORD = "sarhad-demo-2026"


def _account(db: Database, username: str, role: Role) -> str:
    with db.session() as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            add_user(session, username=username, role=role, actor=CONSOLE.username)
            set_password(session, username=username, password=DEMO_PASSWORD, actor=CONSOLE.username)
        return issue_token(session, username=username, name="demo", actor=CONSOLE.username)


def _near_line(profile: BorderProfile, number: int, share: float, side: str) -> tuple[float, float]:
    """A point about 3 km inside ``side`` from the line at ``share`` of sector ``number``."""
    sector = profile.sectors[number - 1]
    on = sector.geometry.interpolate(share, normalized=True)
    land = profile.polygons[side]
    for dx, dy in ((0.03, 0), (-0.03, 0), (0, 0.03), (0, -0.03), (0.02, 0.02), (-0.02, -0.02),
                   (0.02, -0.02), (-0.02, 0.02)):  # fmt: skip
        if land.contains(Point(on.x + dx, on.y + dy)):
            return round(on.x + dx, 5), round(on.y + dy, 5)
    return round(on.x, 5), round(on.y, 5)


def history(side: str, profile: BorderProfile) -> list[tuple]:
    """The invented history of ``side`` as SAMPLES rows (same every run: a seeded draw)."""
    rng = random.Random(f"sarhad-demo-{side}")
    rows: list[tuple] = []
    spots = [(c, n, kinds, k, j) for c, n, kinds, k, j in HOTSPOTS[side]]
    spots.append((0, _SCATTERED_COUNT, _SCATTERED, (0, 0), (0, 0)))
    for centre, count, kinds, killed, injured in spots:
        for _ in range(count):
            number = centre + rng.choice((-1, 0, 0, 0, 1)) if centre else rng.randint(1, 82)
            number = max(1, min(len(profile.sectors), number))
            category = rng.choice(kinds)
            hurt = category in _HURT
            dead, wounded = (
                rng.randint(*killed) if hurt else 0,
                rng.randint(*injured) if hurt else 0,
            )
            lon, lat = _near_line(profile, number, rng.random(), side)
            days = rng.randint(4, 60) if centre else rng.randint(4, 170)
            casualties = {"security_forces": {"killed": dead, "injured": wounded}} if hurt else {}
            what = category.replace("_", " ")
            rows.append((
                f"DEMO history: {what}, sector {profile.sectors[number - 1].id}",
                category, lon, lat, days, casualties, [], "green",
            ))  # fmt: skip
    return rows


def _seed(db: Database, settings: Settings) -> int:
    """Record the samples once: all validated but the last, which stays a draft."""
    profile = profile_from_settings(settings)
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            return 0
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    samples = history(settings.node_side, profile) + SAMPLES[settings.node_side]
    for i, (title, cat, lon, lat, days, cas, seiz, tlp) in enumerate(samples):
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
                "sources": ["demo source note (confidential)"],
            }
        )
        with db.session() as session:
            row = service.create_incident(session, data=data, actor=CONSOLE, profile=profile)
            steps = [] if i == len(samples) - 1 else [Status.SUBMITTED, Status.VALIDATED]
            for step in steps:
                row = service.transition_incident(
                    session,
                    incident_id=row.id,
                    actor=CONSOLE,
                    step=Transition(to=step, expected_version=row.version),
                )
    return len(samples)


def setup_demo(*, base_port: int, data_dir: Path) -> list[DemoNode]:
    """Initialise (or reuse) both demo nodes, seed them once, and issue fresh tokens."""
    nodes = []
    for i, (side, name, _country) in enumerate(NODES):
        settings = Settings(
            data_dir=data_dir / side.lower(),
            node_name=name,
            node_side=side,
            port=base_port + i,
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


# What each side lets the other have: both withhold sources; Pakistan also holds records back
# for 72 hours after they happen; Iran also withholds its source grading.
AGREEMENTS = {
    "PK": {"withheld_fields": ["sources"], "max_tlp": "amber", "release_delay_hours": 72},
    "IR": {"withheld_fields": ["sources", "grading"], "max_tlp": "amber"},
}


def federate(nodes: list[DemoNode]) -> None:
    """Make the two nodes partners of each other (once), with their agreements."""
    pk, ir = nodes
    ids = {}
    for n in nodes:
        with n.db.session() as s:
            ids[n.side] = get_node_id(s)
    with pk.db.session() as s:
        known = any(p.name == ir.settings.node_name for p in sharing.list_partners(s))
    if known:  # a re-run: the nodes know each other; only the ports may have changed
        for me, other in ((pk, ir), (ir, pk)):
            with me.db.session() as s:
                sharing.update_partner(
                    s,
                    name=other.settings.node_name,
                    changes=PartnerUpdate(taxii_url=f"{other.url}/taxii2/api/"),
                    actor=CONSOLE,
                )
        return
    tokens = {}
    for me, other in ((pk, ir), (ir, pk)):
        with me.db.session() as s:
            _, tokens[me.side] = sharing.add_partner(
                s,
                name=other.settings.node_name,
                country=other.side,
                taxii_url=f"{other.url}/taxii2/api/",
                node_id=ids[other.side],
                # The public signing keys change hands with the tokens: each side then takes
                # the other's records as signed (docs/federation.md, Signatures).
                public_key_pem=known_keys.own_ring(other.settings.data_dir).active.public.pem,
                actor=CONSOLE,
            )
            sharing.set_agreement(
                s,
                partner=other.settings.node_name,
                changes=AgreementIn(**AGREEMENTS[me.side]),
                actor=CONSOLE,
            )
    for me, other in ((pk, ir), (ir, pk)):
        with me.db.session() as s:
            # The token `other` issued for us is what we present when we call it.
            sharing.update_partner(
                s,
                name=other.settings.node_name,
                changes=PartnerUpdate(remote_token=tokens[other.side]),
                actor=CONSOLE,
            )


def exchange(nodes: list[DemoNode]) -> list[str]:
    """Sync both ways and say what crossed and what was withheld, and why."""
    lines = []
    for me, other in (nodes, nodes[::-1]):
        profile = profile_from_settings(me.settings)
        for r in sync_all(
            me.db, settings=me.settings, profile=profile, partner=other.settings.node_name
        ):
            if r.error:
                lines.append(f"{me.settings.node_name} ↔ {r.partner}: {r.error}")
    for sender, receiver in (nodes, nodes[::-1]):
        name = receiver.settings.node_name
        with sender.db.session() as s:
            view = preview(s, partner=name, limit=1000)
            own = set(s.scalars(select(Incident.id).where(Incident.origin_node_id.is_(None))))
        view.items = [i for i in view.items if i.id in own]
        crossed = sum(i.share for i in view.items)
        lines.append(
            f"{sender.settings.node_name} → {name}: {crossed} of its {len(view.items)} "
            "own records crossed"
        )
        history_items = [i for i in view.items if i.title.startswith("DEMO history:")]
        if history_items:
            went = [i for i in history_items if i.share]
            gone = sorted({f for i in went for f in i.withheld_fields}) or ["nothing"]
            lines.append(
                f"  ✓ {len(went)} of {len(history_items)} records of the invented history "
                f"(fields withheld: {', '.join(gone)})"
            )
        for item in view.items:
            if item in history_items:
                continue
            if item.share:
                gone = ", ".join(item.withheld_fields) or "nothing"
                lines.append(f"  ✓ {item.title}  (fields withheld: {gone})")
            else:
                lines.append(f"  ✗ {item.title}  — {'; '.join(item.reasons)}")
        with receiver.db.session() as s:
            got = s.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.origin == f"partner:{sender.settings.node_name}")
            )
        lines.append(f"  {name} now holds {got} record(s) from {sender.settings.node_name}")
    return lines


def call(
    node: DemoNode,
    method: str,
    path: str,
    body: Any = None,
    *,
    who: str = "duty",
    timeout: float = 10,
) -> Any:
    """One API call as the demo's duty officer (or admin); {} when it fails."""
    with httpx.Client(base_url=node.url, timeout=timeout) as c:
        r = c.request(
            method, path, json=body, headers={"Authorization": f"Bearer {node.tokens[who]}"}
        )
    return r.json() if r.status_code < 300 else {}


def wait(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy (the nodes work in real time)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise ConfigError(
                message(
                    "demo.timeout",
                    "demo: {what} did not happen within {seconds} s",
                    what=what,
                    seconds=Number(f"{timeout:g}"),
                )
            )
        time.sleep(0.05)
    return found


def crossing_closure(nodes: list[DemoNode]) -> list[str]:
    """Pakistan closes Gabd–Rimdan; Iran sees it beside its own view and gets the alert."""
    pk, ir = nodes
    for place in ("taftan-mirjaveh", "mand-pishin-market"):
        call(pk, "PUT", f"/api/v1/crossings/{place}/publication", {"published": True}, who="admin")
    call(pk, "PUT", "/api/v1/crossings/mand-pishin-market/hours",
         {"days": ["mon", "thu"], "opens": "09:00", "closes": "15:00"})  # fmt: skip

    def closure_alerts() -> dict[str, Any]:
        items = call(ir, "GET", "/api/v1/alerts").get("items", [])
        return {a["id"]: a for a in items if a["kind"] == "crossing_closure"}

    def pk_side() -> str | None:
        rows = call(pk, "GET", "/api/v1/crossings") or []
        row = next((r for r in rows if r["crossing"] == "gabd-rimdan"), {})
        return (row.get("ours") or {}).get("status")

    known = closure_alerts()
    if pk_side() == "closed":
        # A re-run: the gate is still closed from before, and declaring it closed again is no
        # change, so no alert is raised. Say so instead of showing the old alert as new.
        old = max(known.values(), key=lambda a: a["created_at"], default=None)
        lines = ["pk-node's side of Gabd–Rimdan is still closed from an earlier run: no new "
                 "declaration, so no new closure alert"]  # fmt: skip
        if old:
            lines.append(
                f"  (the closure alert ir-node received then: {old['id'][:8]}, "
                f"{old['created_at'][:19]} UTC)"
            )
        return lines
    t0 = time.monotonic()
    made = call(pk, "POST", "/api/v1/crossings/declarations", {
        "crossing": "gabd-rimdan", "status": "closed", "reason": "security_incident",
        "note": "Firing near the zero point; gate shut until the area is cleared",
    })  # fmt: skip
    call(ir, "POST", "/api/v1/crossings/declarations",
         {"crossing": "gabd-rimdan", "status": "open", "reason": "other"})  # fmt: skip

    def seen_on(node: DemoNode) -> Any:
        rows = call(node, "GET", "/api/v1/crossings")
        row = next((r for r in rows if r["crossing"] == "gabd-rimdan"), {}) if rows else {}
        return row if row.get("mismatch") else None

    ir_row = wait(lambda: seen_on(ir), "the closure's arrival in Iran")
    arrived_ms = (time.monotonic() - t0) * 1000
    pk_row = wait(lambda: seen_on(pk), "Iran's declaration's arrival in Pakistan")
    alert = wait(
        lambda: next((a for i, a in closure_alerts().items() if i not in known), None),
        "the new closure alert in Iran",
    )
    return [
        f"pk-node declared Gabd–Rimdan closed ({made['reason']}) {made['id'][:8]}; "
        f"on ir-node's board {arrived_ms:.0f} ms later (pushed with its alert, no sync)",
        f"  ir-node's board: PK side {ir_row['theirs']['status']}, IR side "
        f"{ir_row['ours']['status']} → flagged: {ir_row['mismatch']}",
        f"  pk-node's board flags it too: {pk_row['mismatch']}",
        f"  ir-node's liaison desk got a crossing_closure alert ({alert['priority']}, "
        f"acknowledge by {alert['ack_by'][11:19]} UTC)",
    ]


def alert_roundtrip(nodes: list[DemoNode]) -> list[str]:
    """Pakistan's desk raises an alert; Iran's acknowledges and answers; show each step."""
    pk, ir = nodes
    sent = call(
        pk,
        "POST",
        "/api/v1/alerts",
        {
            "priority": "immediate",
            "kind": "smuggling_movement",
            "text": "Fuel convoy of 12 pick-ups moving west towards the line south of Taftan",
            "location": {"lon": 61.45, "lat": 28.85},
        },
    )
    aid = sent["id"]
    wait(lambda: call(ir, "GET", f"/api/v1/alerts/{aid}"), "delivery to Iran")
    call(ir, "POST", f"/api/v1/alerts/{aid}/acknowledge")
    call(
        ir,
        "POST",
        f"/api/v1/alerts/{aid}/answer",
        {"answer": "information_provided", "text": "Our post at Mirjaveh has it in sight"},
    )
    final = wait(
        lambda: (a := call(pk, "GET", f"/api/v1/alerts/{aid}")).get("answer") and a,
        "the answer's return to Pakistan",
    )
    t0 = datetime.fromisoformat(final["created_at"])
    lines = [
        f"pk-node → ir-node alert {aid[:8]} ({final['priority']}, {final['kind']}, "
        f"{final['place']['sector']}, acknowledge by {final['ack_by'][11:19]} UTC):"
    ]
    # In the order they happened (the steps come grouped by side).
    for step in sorted(final["steps"], key=lambda x: datetime.fromisoformat(x["at"])):
        at = datetime.fromisoformat(step["at"])
        ms = (at - t0).total_seconds() * 1000
        lines.append(f"  {step['side']} {step['step']:<12} +{ms:8.0f} ms")
    return lines


def risk_levels(nodes: list[DemoNode]) -> list[str]:
    """Each node's sectors by impact level now, with the highest ones."""
    lines = []
    for n in nodes:
        report = call(n, "GET", "/api/v1/risk")
        items = report.get("items", [])
        counts = report.get("levels") or {}
        top = sorted(items, key=lambda r: -r["score"])[:3]
        lines.append(
            f"{n.settings.node_name}: "
            + ", ".join(f"{counts.get(level, 0)} {level}" for level in LEVELS)
            + " sectors; highest "
            + ", ".join(f"{r['sector_id']} {r['score']:.1f} ({r['level']})" for r in top)
        )
    return lines


def patrol_plans(nodes: list[DemoNode]) -> list[str]:
    """Today's coordinated plan on each side (made once a day; a re-run shows it again)."""
    today = utcnow().date().isoformat()

    def plan_for(n: DemoNode) -> tuple[Any, str]:
        made = call(n, "GET", f"/api/v1/patrols/plans?day={today}") or []
        if made:
            return made[0], "made on an earlier run"
        limit = n.settings.patrol_time_limit_s + 30
        # Past the node's time limit the planner returns its best coordinated plan so far
        # (and says so in the plan's notes); our side alone is the last resort only.
        for coordinated in (True, False):
            body = {"day": today, "coordinated": coordinated}
            plan = call(n, "POST", "/api/v1/patrols/plans", body, who="admin", timeout=limit)
            if plan:
                return plan, "" if coordinated else (
                    "the coordinated plan was not solved within the node's time limit: "
                    "this one is our side's alone"
                )
        return None, ""

    # Both sides plan at once: each solve runs in its node's own child process.
    with ThreadPoolExecutor(max_workers=2) as pool:
        plans = list(pool.map(plan_for, nodes))
    lines = []
    for n, (plan, note) in zip(nodes, plans, strict=True):
        if not plan:
            lines.append(f"{n.settings.node_name}: no patrol plan could be made for {today}")
            continue
        joint = sum(p["kind"] == "coordinated" for p in plan["patrols"])
        kind = "coordinated with the partner" if plan["coordinated"] else "our side only"
        lines.append(
            f"{n.settings.node_name}: plan {plan['id'][:8]} for {today} ({kind}): "
            f"{len(plan['patrols'])} patrols in {len(plan['summary'].get('shifts', []))} shifts,"
            f" {joint} of them joint  {n.url}/patrols/{plan['id']}"
        )
        shared = plan["summary"].get("joint_sectors") or []
        if plan["coordinated"] and shared:
            lines.append(
                f"  joint patrols where both sides rate the risk high: {', '.join(shared)}"
            )
        for text in [note, *plan["summary"].get("notes", [])]:
            if text:
                lines.append(f"  ({text})")
    return lines


def partner_access(nodes: list[DemoNode]) -> list[str]:
    """The token ir-node presents to pk-node, and the command that reads with it."""
    pk, ir = nodes
    with ir.db.session() as s:
        token = sharing.remote_token(s, sharing.get_partner(s, name=pk.settings.node_name))
    script = Path(__file__).resolve().parents[2] / "scripts" / "read-partner-collection.py"
    python = Path(sys.executable)
    return [
        f"partner token (what ir-node presents to pk-node's TAXII server): {token}",
        "read pk-node's collection for ir-node with it (taxii2-client):",
        f"  {python} {script} {pk.url}/taxii2/ {token}",
    ]


def describe(nodes: list[DemoNode], data_dir: Path) -> str:
    """What to look at, as printed and written to DATA_DIR/WHERE-TO-LOOK.txt."""
    lines = ["Sarhad demo: two federated nodes on SQLite", ""]
    for n, (side, name, country) in zip(nodes, NODES, strict=True):
        lines += [
            f"{country} node '{name}'  {n.url}   (API docs: {n.url}/docs)",
            f"  web console:        {n.url}/   sign in as {side.lower()}-duty-1 or "
            f"{side.lower()}-admin, password {DEMO_PASSWORD}",
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
        f"  {env} sync            # pull from and push to the Iran node (TAXII 2.1)",
        f"  {env} agreements show ir-node",
        f"  {env} federation status",
        f"  {env} alerts list            # liaison alerts, both directions",
        f"  {env} alerts watch           # live: new alerts and incidents as they happen",
        f"  {env} alerts stats           # time to acknowledge and answer, by month and side",
        f"  curl -N {auth} '{pk.url}/api/v1/feed?after=0'   # the live feed (SSE)",
        f"  {env} crossings status       # every crossing now, both sides' view, mismatches",
        f"  {env} crossings report --month {utcnow():%Y-%m}   # days closed, throughput, chart",
        f"  public status page (no account): {pk.url}/public/crossings?lang=ur",
        f"  TAXII 2.1 discovery: {pk.url}/taxii2/ (partner tokens only: see below)",
    ]
    return "\n".join(lines)


def _start(nodes: list[DemoNode]) -> list[tuple[uvicorn.Server, threading.Thread]]:
    running = []
    for n in nodes:
        server = NodeServer(  # ends open live feeds when it stops (core.serving)
            uvicorn.Config(
                create_app(n.settings, db=n.db),
                host=n.settings.host,
                port=n.settings.port,
                log_level="warning",
                lifespan="on",  # the courier and the escalation loop run with the server
                timeout_graceful_shutdown=n.settings.shutdown_grace_s,
                **server_options(n.settings),  # forwarded headers only from trusted proxies
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
    deadline = time.monotonic() + 30
    while not all(s.started for s, _ in running):
        if time.monotonic() > deadline or not all(t.is_alive() for _, t in running):
            raise ConfigError(
                message(
                    "demo.ports",
                    "the demo nodes could not start on ports {a} and {b}",
                    a=str(nodes[0].settings.port),
                    b=str(nodes[1].settings.port),
                ),
                hint=message("demo.ports.hint", "free those ports or pass --base-port"),
            )
        time.sleep(0.05)
    return running


def run_demo(*, base_port: int, data_dir: Path, serve: bool = True) -> list[DemoNode]:
    """Set up both nodes, federate them, sync, print what crossed, and serve until Ctrl-C."""
    nodes = setup_demo(base_port=base_port, data_dir=data_dir)
    running = _start(nodes)
    try:
        federate(nodes)
        written = [describe(nodes, data_dir)]
        out.print(written[0], highlight=False, soft_wrap=True)
        # Everything printed below goes to WHERE-TO-LOOK.txt as well, as it is printed.
        for heading, make in (
            ("What crossed the border:", lambda: exchange(nodes)),
            ("Sector risk now (impact levels):", lambda: risk_levels(nodes)),
            ("Today's patrol plans:", lambda: patrol_plans(nodes)),
            ("Reading the partner's collection:", lambda: partner_access(nodes)),
            ("A liaison alert across the border (pushed at once, no sync):",
             lambda: alert_roundtrip(nodes)),
            ("A crossing closure, seen from both sides:", lambda: crossing_closure(nodes)),
        ):  # fmt: skip
            section = "\n".join([f"\n{heading}", *make()])
            out.print(section, highlight=False, soft_wrap=True)
            written.append(section)
            (data_dir / "WHERE-TO-LOOK.txt").write_text("\n".join(written) + "\n", "utf-8")
        if serve:
            out.print("\nServing both nodes; press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while all(t.is_alive() for _, t in running):
                    time.sleep(0.5)
    finally:
        for server, thread in running:
            server.should_exit = True
            thread.join(timeout=10)
    return nodes
