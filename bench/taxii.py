"""Benchmark: TAXII 2.1 serving, validated ingest and a full two-node sync, with baselines.

    .venv/bin/python bench/taxii.py [--sizes 1000,10000,100000] [--medallion-max 4000]

Objects come from our STIX mapping (``incident_to_stix``) of generated records: a few dozen
real records made through the incident service (so their border enrichment is real) are
cloned with fresh ids, titles and times. Every incident is [incident, location, located-at];
each collection starts with the fixed objects the first ``publish`` writes (identities, the
five TLP 2.0 markings, our extension-definition).

* Serving: a real ``sarhad serve`` subprocess (uvicorn, SQLite in a temp dir) whose outbound
  collection for a partner is filled by the store's ``Appender`` in one transaction (load time
  reported apart), paged with ``limit=1000`` via httpx following ``next`` (after one warm-up
  GET; the best of ``--repeat`` reads). Baseline: medallion
  3.0.0 (memory backend, subprocess) holding the same objects (without the extension-definition,
  which makes its GET objects fail), paged the same way once, at 1,000 objects and doubling up
  to ``--medallion-max`` while the next size is expected to fit ``--medallion-budget`` seconds
  (its first GET grows with the square of the collection).
* Validated ingest: ``federation.inbox.ingest`` on fresh nodes, batches of ≤ 1,000 cut
  between incidents, one transaction each, as a pull does; signed and unsigned batches in
  turn, so that both see the same load. Baselines: stix2-validator
  ``validate_instance`` (validate only, on a sample) and medallion's POST (stores without
  validating) from the serving runs.
* Full sync: a fresh node B runs ``sync_partner`` against the served node A over loopback
  (real HTTP pull, product page size) and then pushes its own few objects. The locate index
  is built before any timing (a node builds it once per process).

Signatures (issue 15): A's records are signed as its publisher signs them (one signature a
record, its location and relationship bound by digest; the time is reported under loading).
Ingest and sync run twice on fresh nodes: signed objects verified against A's key (C, B hold
it), and the same objects unsigned to nodes that hold no key (C0, B0): the table prints both
and the cost of signatures in %.

Goals (issue): ≥ 20,000 objects/s served, ≥ 5,000 objects/s validated ingest, a full
two-node sync of 100,000 objects in < 30 s, all with signatures on; verification costing
< 20 % of validated ingest throughput. Exit code 1 if a correctness check fails, 2 if
only a goal is missed, 0 if all pass. ``--profile`` prints where the time of ingest and sync
goes (cProfile, this process; the serving node is another process).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import io
import json
import os
import platform
import pstats
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from benchkit import cpu_model
from sarhad.border import BorderProfile, load_profile
from sarhad.core.auth import CONSOLE
from sarhad.core.config import Settings
from sarhad.core.db import Database, get_node_id
from sarhad.federation.client import TaxiiClient
from sarhad.federation.identity import LocalNode
from sarhad.federation.inbox import IngestReport, ingest
from sarhad.federation.models import CollectionObject, Receipt
from sarhad.federation.publish import publish_partner, sign_all
from sarhad.federation.stix.core import validate_with_oasis
from sarhad.federation.store import Appender, ensure_collections
from sarhad.federation.sync import sync_partner
from sarhad.federation.types.incident import incident_to_stix
from sarhad.incidents import service as incidents
from sarhad.incidents.models import Incident, IncidentVersion
from sarhad.incidents.schemas import IncidentIn, Transition
from sarhad.node import init_node
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring
from sarhad.sharing.schemas import PartnerUpdate

MEDIA = "application/taxii+json;version=2.1"
PAGE = 1000
INGEST_BATCH = 1000
GOAL_SERVE = 20_000.0
GOAL_INGEST = 5_000.0
GOAL_SYNC_S = 30.0
GOAL_VERIFY_COST = 20.0  # % of validated ingest throughput that signatures may cost
GOAL_SIZE = 100_000  # the goals are stated for this many objects
MEDALLION_USER, MEDALLION_PASSWORD = "bench", "bench-secret"
VENV_BIN = Path(sys.executable).parent
StixObject = dict[str, Any]

# Categories with a seizure that fits them (None: no seizure), cycled over the templates.
KINDS: list[tuple[str, dict[str, Any] | None]] = [
    ("smuggling_narcotics", {"commodity": "hashish", "quantity": 120, "unit": "kg"}),
    ("smuggling_fuel", {"commodity": "diesel", "quantity": 4000, "unit": "l"}),
    ("smuggling_weapons", {"commodity": "firearms", "quantity": 6, "unit": "items"}),
    ("illegal_crossing", None),
    ("cross_border_fire", None),
    ("armed_clash", None),
    ("kidnapping", None),
    ("smuggling_goods", {"commodity": "livestock", "quantity": 40, "unit": "head"}),
]


# --- nodes, servers, data -------------------------------------------------------------------


@dataclass
class Node:
    """A node in the temp dir: settings, database and id."""

    settings: Settings
    db: Database
    node_id: str

    @property
    def local(self) -> LocalNode:
        return LocalNode(
            node_id=self.node_id, name=self.settings.node_name, country=self.settings.node_side
        )


def make_node(root: Path, name: str, side: str) -> Node:
    """A fresh, migrated SQLite node."""
    settings = Settings(
        data_dir=root / name,
        database_url=f"sqlite:///{root / name / 'sarhad.db'}",
        node_name=name,
        node_side=side,
    )
    db = init_node(settings)
    with db.session() as s:
        node_id = get_node_id(s)
    return Node(settings=settings, db=db, node_id=node_id)


def introduce(a: Node, b: Node, a_url: str | None, *, keys: bool = False) -> None:
    """b becomes a partner of a (with a token) and a of b (with a's URL and that token);
    with ``keys``, b holds a's public signing key (and verifies what a signed)."""
    with a.db.session() as s:
        _, token = sharing.add_partner(
            s,
            name=b.settings.node_name,
            country=b.settings.node_side,
            node_id=b.node_id,
            actor=CONSOLE,
        )
    with b.db.session() as s:
        sharing.add_partner(
            s,
            name=a.settings.node_name,
            country=a.settings.node_side,
            node_id=a.node_id,
            taxii_url=f"{a_url}/taxii2/api/" if a_url else None,
            remote_token=token,
            public_key_pem=own_ring(a.settings.data_dir).active.public.pem if keys else None,
            actor=CONSOLE,
        )


def partner_token(a: Node, b: Node) -> str:
    """The token a issued for b, as b stored it."""
    with b.db.session() as s:  # stored sealed: opened with b's node key
        token = sharing.remote_token(s, sharing.get_partner(s, name=a.settings.node_name))
    assert token
    return token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(
    cmd: list[str],
    *,
    log: Path,
    ready: Callable[[], bool],
    env: dict | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` until the block ends; its output goes to ``log`` (a pipe could fill up)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd
        )
        try:
            deadline = time.monotonic() + 60
            while not ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[0]} did not start; see {log}")
                time.sleep(0.05)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def answers(url: str, **kw: Any) -> bool:
    try:
        return httpx.get(url, timeout=2, **kw).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serve_node(node: Node, log: Path) -> Iterator[str]:
    """``sarhad serve`` for ``node`` in its own process (as in production); yields its URL."""
    port = free_port()
    env = dict(
        os.environ,
        SARHAD_DATA_DIR=str(node.settings.data_dir),
        SARHAD_DATABASE_URL=node.settings.effective_database_url,
        SARHAD_NODE_NAME=node.settings.node_name,
        SARHAD_NODE_SIDE=node.settings.node_side,
    )
    url = f"http://127.0.0.1:{port}"
    cmd = [str(VENV_BIN / "sarhad"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with process(cmd, log=log, env=env, ready=lambda: answers(f"{url}/healthz")):
        yield url


def make_templates(node: Node, profile: BorderProfile, count: int = 48) -> list[dict[str, Any]]:
    """Real records (IncidentOut JSON) along the line, made through the incident service."""
    out = []
    for i in range(count):
        point = profile.line.interpolate((i + 0.5) / count, normalized=True)
        side = "PK" if i % 2 == 0 else "IR"
        category, seizure = KINDS[i % len(KINDS)]
        data = IncidentIn.model_validate(
            {
                "title": f"{category.replace('_', ' ').capitalize()} at border point {i}",
                "category": category,
                "occurred_at": "2026-01-01T00:00:00Z",
                "location": {
                    "lon": point.x + (0.03 if side == "PK" else -0.03),
                    "lat": point.y,
                    "precision": "near",
                    "place": f"border point {i}",
                },
                "reporting_side": side,
                "casualties": {"civilians": {"injured": i % 3}},
                "seizures": [seizure] if seizure else [],
                "grading": {"source_reliability": "B", "information_credibility": "2"},
                "tlp": "green" if i % 3 else "amber",
                "narrative": "Patrol report, summarised for the partner.",
                "sources": ["patrol log"],
            }
        )
        with node.db.session() as s:
            row = incidents.create_incident(s, data=data, actor=CONSOLE, profile=profile)
            out.append(incidents.to_out(row).model_dump(mode="json"))
    return out


def clone_objects(
    templates: list[dict[str, Any]], origin: str, n_incidents: int, seed: int = 0
) -> list[StixObject]:
    """[incident, location, located-at] × n by our mapping, from cloned template records.

    ``sources`` is withheld, as the default agreement does.
    """
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    identity = f"identity--{origin}"
    out: list[StixObject] = []
    for i in range(n_incidents):
        t = templates[i % len(templates)]
        body = {k: v for k, v in t.items() if k != "sources"}
        occurred = base + timedelta(minutes=15 * i)
        body.update(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            title=f"{t['title']} #{i}",
            occurred_at=occurred.isoformat(),
            created_at=(occurred + timedelta(hours=2)).isoformat(),
            updated_at=(occurred + timedelta(hours=3)).isoformat(),
            status="validated",
            version=3,
        )
        out += incident_to_stix(
            body, identity_id=identity, withheld=["sources"], origin_node_id=origin
        )
    return out


def start_collection(node: Node, partner: str) -> list[StixObject]:
    """The first publish for ``partner`` (cursor and fixed objects); returns those objects."""
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner)
        publish_partner(s, node=node.local, partner=p)
        outbound, _ = ensure_collections(s, p)
        return [
            json.loads(x)
            for x in s.scalars(
                select(CollectionObject.payload)
                .where(CollectionObject.collection_id == outbound.id)
                .order_by(CollectionObject.seq)
            )
        ]


def append_outbound(node: Node, partner: str, objects: list[StixObject]) -> int:
    """Append ``objects`` with the store's Appender in one transaction; returns the total held."""
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner)
        outbound, _ = ensure_collections(s, p)
        appender = Appender(s, outbound.id)
        for obj in objects:
            appender.append(obj)
        return int(
            s.scalar(
                select(func.count())
                .select_from(CollectionObject)
                .where(CollectionObject.collection_id == outbound.id)
            )
            or 0
        )


def batches(objects: list[StixObject], size: int) -> Iterator[list[StixObject]]:
    """Batches of at most ``size`` that end before an incident (never inside its group)."""
    i = 0
    while i < len(objects):
        j = min(i + size, len(objects))
        while i < j < len(objects) and objects[j].get("type") != "incident":
            j -= 1
        j = j if j > i else min(i + size, len(objects))
        yield objects[i:j]
        i = j


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Paged:
    """One paged read of a whole collection."""

    seconds: float
    objects: int
    pages: int
    unique: int
    first_page_s: float


def page_all(client: httpx.Client, url: str, limit: int = PAGE) -> Paged:
    """GET objects with ``limit`` following ``next`` until ``more`` is false."""
    seen: set[tuple[str, str]] = set()
    count = pages = 0
    nxt: str | None = None
    start = time.perf_counter()
    first = 0.0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if nxt:
            params["next"] = nxt
        r = client.get(url, params=params)
        r.raise_for_status()
        body = r.json()
        pages += 1
        if pages == 1:
            first = time.perf_counter() - start
        for o in body.get("objects", []):
            seen.add((o["id"], o.get("modified") or o.get("created")))
            count += 1
        nxt = body.get("next")
        if not body.get("more"):
            break
    return Paged(time.perf_counter() - start, count, pages, len(seen), first)


def serve_ours(url: str, token: str, repeat: int) -> Paged:
    """Page through the partner's outbound collection as that partner; the best of ``repeat``.

    One GET of one object first: a fresh server process pays its first-request costs there.
    """
    headers = {"Authorization": f"Bearer {token}", "Accept": MEDIA}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as c:
        cols = c.get("/taxii2/api/collections/").json()["collections"]
        [readable] = [col["id"] for col in cols if col["can_read"]]
        path = f"/taxii2/api/collections/{readable}/objects/"
        c.get(path, params={"limit": 1}).raise_for_status()
        return min((page_all(c, path) for _ in range(repeat)), key=lambda p: p.seconds)


@dataclass
class MedallionRun:
    """medallion at one size: POST load, then a paged read."""

    size: int
    load_s: float
    paged: Paged | None
    note: str = ""


def medallion_run(
    root: Path, objects: list[StixObject], post_size: int, timeout: float
) -> MedallionRun:
    """Start medallion, POST ``objects`` ``post_size`` at a time, page them with limit=1000."""
    port = free_port()
    where = root / f"medallion-{len(objects)}"
    where.mkdir()
    api_root = f"http://127.0.0.1:{port}/bench/"
    collection = str(uuid.uuid4())
    data = {
        "/discovery": {
            "title": "medallion",
            "description": "baseline",
            "default": api_root,
            "api_roots": [api_root],
        },
        "bench": {
            "information": {
                "title": "bench",
                "description": "bench",
                "versions": [MEDIA],
                "max_content_length": 50 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": collection,
                    "title": "bench",
                    "description": "bench",
                    "can_read": True,
                    "can_write": True,
                    "media_types": [MEDIA],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (where / "data.json").write_text(json.dumps(data))
    (where / "config.json").write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(where / "data.json"),
                    # `next` tokens must outlive a slow first page (the default is 30 s).
                    "session_timeout": 3600,
                },
                "users": {MEDALLION_USER: MEDALLION_PASSWORD},
                "taxii": {"max_page_size": PAGE},
            }
        )
    )
    auth = (MEDALLION_USER, MEDALLION_PASSWORD)
    headers = {"Accept": MEDIA, "Content-Type": MEDIA}
    cmd = [
        sys.executable,
        "-m",
        "medallion.scripts.run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        str(where / "config.json"),
    ]

    def ready() -> bool:
        return answers(f"http://127.0.0.1:{port}/taxii2/", auth=auth, headers={"Accept": MEDIA})

    with (
        process(cmd, log=where / "medallion.log", ready=ready, cwd=where),
        httpx.Client(auth=auth, headers=headers, timeout=timeout) as c,
    ):
        url = f"{api_root}collections/{collection}/objects/"
        start = time.perf_counter()
        for i in range(0, len(objects), post_size):
            r = c.post(url, content=json.dumps({"objects": objects[i : i + post_size]}))
            r.raise_for_status()
            if r.json().get("failure_count"):
                raise RuntimeError(f"medallion refused objects: {r.text[:300]}")
        load_s = time.perf_counter() - start
        try:
            paged = page_all(c, url)
        except httpx.TimeoutException:
            return MedallionRun(len(objects), load_s, None, f"no answer within {timeout:.0f} s")
    return MedallionRun(len(objects), load_s, paged)


def ingest_both(
    plain: Node,
    plain_objects: list[StixObject],
    signed: Node,
    signed_objects: list[StixObject],
    profile: BorderProfile,
) -> tuple[tuple[float, IngestReport], tuple[float, IngestReport]]:
    """``ingest`` of the unsigned objects on ``plain`` and of the signed ones on ``signed``,
    in batches of ≤ 1,000 cut between incidents, one transaction each (as a pull commits
    pages), the two nodes' batches in turn: both see the same load of a shared machine (two
    runs one after the other measured the neighbours as much as the signatures)."""
    runs = []
    for node, objects in ((plain, plain_objects), (signed, signed_objects)):
        with node.db.session() as s:
            p = sharing.get_partner(s, name="pk-node")
            s.expunge(p)
        runs.append((node, p, list(batches(objects, INGEST_BATCH))))
    seconds, reports = [0.0, 0.0], [IngestReport(), IngestReport()]
    for i in range(max(len(r[2]) for r in runs)):
        for k, (node, p, parts) in enumerate(runs):
            if i >= len(parts):
                continue
            start, cpu = time.perf_counter(), time.process_time()
            with node.db.session() as s:
                reports[k].merge(
                    ingest(
                        s,
                        partner=s.merge(p),
                        objects=parts[i],
                        via="pull",
                        node=node.local,
                        profile=profile,
                    )
                )
            seconds[k] += time.perf_counter() - start
            INGEST_CPU[k] += time.process_time() - cpu
    return (seconds[0], reports[0]), (seconds[1], reports[1])


#: CPU seconds of this process (the verification pool's threads included) in ``ingest_both``,
#: unsigned and signed: on a shared machine wall time also counts other processes' turns.
INGEST_CPU = [0.0, 0.0]


def validator_rate(objects: list[StixObject]) -> tuple[float, list[str]]:
    """stix2-validator over ``objects``: (seconds, errors)."""
    start = time.perf_counter()
    errors = validate_with_oasis(objects)
    return time.perf_counter() - start, errors


def service_rates(root: Path, profile: BorderProfile, n: int) -> tuple[float, float, int]:
    """Creating ``n`` incidents through the service (with submit and validate) and publishing
    them for one partner: (incidents/s, objects/s published, objects published)."""
    node, other = make_node(root, "service-pk", "PK"), make_node(root, "service-ir", "IR")
    introduce(node, other, None)
    t0 = time.perf_counter()
    for i in range(n):
        point = profile.line.interpolate((i + 0.5) / n, normalized=True)
        data = IncidentIn.model_validate(
            {
                "title": f"Diesel seized at point {i}",
                "category": "smuggling_fuel",
                "occurred_at": (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)).isoformat(),
                "location": {"lon": point.x + 0.03, "lat": point.y, "precision": "near"},
                "reporting_side": "PK",
                "seizures": [{"commodity": "diesel", "quantity": 900, "unit": "l"}],
                "tlp": "green",
            }
        )
        with node.db.session() as s:
            row = incidents.create_incident(s, data=data, actor=CONSOLE, profile=profile)
            for step in ("submitted", "validated"):
                row = incidents.transition_incident(
                    s,
                    incident_id=row.id,
                    actor=CONSOLE,
                    step=Transition(to=step, expected_version=row.version),
                )
    create_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with node.db.session() as s:
        p = sharing.get_partner(s, name="service-ir")
        publish_partner(s, node=node.local, partner=p)
        published = int(s.scalar(select(func.count()).select_from(CollectionObject)) or 0)
    publish_s = time.perf_counter() - t0
    node.db.dispose()
    other.db.dispose()
    return n / create_s, published / publish_s, published


def count(db: Database, model: Any, *where: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@contextmanager
def profiled(enabled: bool, title: str, console: Console) -> Iterator[None]:
    """cProfile the block and print the top functions by own time and by cumulative time."""
    if not enabled:
        yield
        return
    # CPU time of this process, not wall time: on a shared machine the wall clock also
    # counts the slices other processes took, spread over whatever was running then.
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(18)
            text = buf.getvalue()
            console.print(f"[bold]profile: {title} (by {key})[/bold]")
            console.print(text[text.find("ncalls") :], markup=False, highlight=False)


# --- report ------------------------------------------------------------------------------------


@dataclass
class Results:
    rows: list[list[str]] = field(default_factory=list)
    loads: list[list[str]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    goals: list[tuple[str, bool | None, str]] = field(default_factory=list)  # None: not judged
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, ok, detail))
        return ok


def rate(n: int, s: float) -> float:
    return n / s if s > 0 else float("inf")


def versions() -> str:
    names = (
        "fastapi",
        "uvicorn",
        "sqlalchemy",
        "httpx",
        "stix2",
        "stix2-validator",
        "medallion",
        "taxii2-client",
    )
    return " · ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="collection sizes (objects) served; the largest is also ingested and synced",
    )
    parser.add_argument(
        "--medallion-max",
        type=int,
        default=4000,
        help="largest medallion size tried (1000, then doubling)",
    )
    parser.add_argument(
        "--medallion-budget",
        type=float,
        default=240.0,
        help="seconds one medallion size may take (load + paging)",
    )
    parser.add_argument(
        "--medallion-post", type=int, default=100, help="objects per POST when loading medallion"
    )
    parser.add_argument(
        "--validator-sample",
        type=int,
        default=3000,
        help="objects given to stix2-validator (its cost is per object)",
    )
    parser.add_argument(
        "--service-sample",
        type=int,
        default=300,
        help="incidents created through the service to time that path",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print cProfile tables of ingest and sync (slows them down)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="our paged reads per size (the best is reported)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()
    console = Console(width=150)
    sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    largest = sizes[-1]
    res = Results()

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    console.print(
        f"CPU: {cpu_model()} × {cpus} · Python {platform.python_version()} · {versions()}"
    )
    root = Path(tempfile.mkdtemp(prefix="sarhad-bench-taxii-"))
    console.print(f"Work dir: {root} (SQLite, WAL)")
    profile = load_profile()
    t0 = time.perf_counter()
    profile.prepare_bulk()  # a node builds it once per process; keep it out of the timings
    console.print(f"One-off locate index build: {time.perf_counter() - t0:.1f} s")
    try:
        return run(args, sizes, largest, root, profile, res, console)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def run(
    args: argparse.Namespace,
    sizes: list[int],
    largest: int,
    root: Path,
    profile: BorderProfile,
    res: Results,
    console: Console,
) -> int:
    """The measurements, in order: data, medallion, our serving and sync, ingest; the report."""
    # Data: real template records, cloned by our mapping for node A (its collection for B).
    t0 = time.perf_counter()
    templates = make_templates(make_node(root, "templates", "PK"), profile)
    node_a, node_b = make_node(root, "pk-node", "PK"), make_node(root, "ir-node", "IR")
    # B holds A's key and gets A's records signed; B0 ("ir-plain") holds none and gets them
    # unsigned: the same sync with signatures on and off.
    node_b0 = make_node(root, "ir-plain", "IR")
    introduce(node_a, node_b, None, keys=True)  # A's URL is given to B once A is served
    introduce(node_a, node_b0, None)
    fixed = start_collection(node_a, "ir-node")
    start_collection(node_a, "ir-plain")
    n_inc = max(0, (largest - len(fixed)) // 3)
    clones = clone_objects(templates, node_a.node_id, n_inc)
    feed = fixed + clones  # what a pull of A's collection delivers, in order
    console.print(
        f"{len(feed):,} objects ({n_inc:,} incidents, {len(fixed)} fixed objects) by "
        f"our mapping in {time.perf_counter() - t0:.1f} s"
    )
    ring = own_ring(node_a.settings.data_dir)
    t0 = time.perf_counter()
    signed_clones = sign_all(clones, ring, node_id=node_a.node_id)  # as publish signs
    sign_s = time.perf_counter() - t0
    signed_feed = fixed + signed_clones
    res.loads.append(
        [
            "signing as the publisher does (one signature a record, parts by digest)",
            f"{len(clones):,} objects",
            f"{rate(len(clones), sign_s):,.0f} objects/s",
            f"{sign_s:.1f} s",
        ]
    )
    t0 = time.perf_counter()
    held = append_outbound(node_a, "ir-node", signed_clones)
    load_s = time.perf_counter() - t0
    append_outbound(node_a, "ir-plain", clones)
    res.loads.append(
        [
            "our collection: store Appender, one transaction",
            f"{held:,} objects",
            f"{rate(len(clones), load_s):,.0f} objects/s",
            f"{load_s:.1f} s",
        ]
    )
    res.check("A holds every object", held == len(feed), f"{held:,} of {len(feed):,}")

    inc_s, pub_s, published = service_rates(root, profile, args.service_sample)
    res.loads.append(
        [
            "records through the service (create, submit, validate)",
            f"{args.service_sample:,} incidents",
            f"{inc_s:,.0f} incidents/s",
            f"≈{n_inc / inc_s:,.0f} s for {n_inc:,}",
        ]
    )
    res.loads.append(
        [
            "publish for one partner (change log → objects)",
            f"{published:,} objects",
            f"{pub_s:,.0f} objects/s",
            f"≈{len(feed) / pub_s:,.0f} s for {len(feed):,}",
        ]
    )

    # medallion: the same objects but its nemesis, the extension-definition; 1,000, doubling.
    med_fixed = [o for o in fixed if o["type"] != "extension-definition"]
    med_runs: list[MedallionRun] = []
    size = 1000
    while size <= args.medallion_max:
        objs = med_fixed + clones[: 3 * ((size - len(med_fixed)) // 3)]
        console.print(f"medallion: {len(objs):,} objects …")
        run_ = medallion_run(root, objs, args.medallion_post, timeout=args.medallion_budget)
        med_runs.append(run_)
        if run_.paged is None:
            res.notes.append(f"medallion stopped at {len(objs):,} objects: {run_.note}.")
            break
        res.check(
            f"medallion pages every object once ({run_.size:,})",
            run_.paged.objects == run_.paged.unique == run_.size,
            f"{run_.paged.objects:,} served, {run_.paged.unique:,} distinct",
        )
        spent = run_.load_s + run_.paged.seconds
        if size * 2 <= args.medallion_max and spent * 4 > args.medallion_budget:
            # Its GET cost grows with the square of the collection (manifest × objects).
            res.notes.append(
                f"medallion stopped at {len(objs):,} objects: {spent:.0f} s there, "
                f"≈{spent * 4:.0f} s expected at {size * 2:,} (budget "
                f"{args.medallion_budget:.0f} s per size)."
            )
            break
        size *= 2
    med_ok = [r for r in med_runs if r.paged is not None]
    if med_ok and med_ok[-1].size >= args.medallion_max // 2:
        res.notes.append(
            f"medallion measured up to {med_ok[-1].size:,} objects "
            f"(--medallion-max {args.medallion_max:,})."
        )

    # Ours: the same sizes, plus medallion's largest for a like-for-like ratio.
    serve_sizes = sorted(set(sizes) | ({med_ok[-1].size} if med_ok else set()))
    ours: dict[int, Paged] = {}
    sync = plain_sync = SyncTiming()
    for size in serve_sizes:
        if size == largest:
            node, peer, count_held = node_a, node_b, held
        else:
            node = make_node(root, f"serve-{size}", "PK")
            peer = make_node(root, f"peer-{size}", "IR")
            introduce(node, peer, None)
            first = start_collection(node, peer.settings.node_name)
            more = clone_objects(templates, node.node_id, max(0, (size - len(first)) // 3))
            count_held = append_outbound(node, peer.settings.node_name, more)
        with serve_node(node, root / f"serve-{size}.log") as url:
            console.print(f"ours: serving {count_held:,} objects …")
            paged = serve_ours(url, partner_token(node, peer), args.repeat)
            ours[size] = paged
            res.check(
                f"ours pages every object once ({count_held:,})",
                paged.objects == paged.unique == count_held,
                f"{paged.objects:,} served, {paged.unique:,} distinct",
            )
            if node is node_a:
                for b in (node_b, node_b0):
                    with b.db.session() as s:
                        sharing.update_partner(
                            s,
                            name="pk-node",
                            changes=PartnerUpdate(taxii_url=f"{url}/taxii2/api/"),
                            actor=CONSOLE,
                        )
                sync = run_sync(node_a, node_b, held, n_inc, profile, res, console, args.profile)
                plain_sync = run_sync(
                    node_a, node_b0, held, n_inc, profile, res, console, False, signed=False
                )
        if node is not node_a:
            node.db.dispose()
            peer.db.dispose()

    # Validated ingest on fresh nodes: signed objects verified (C holds A's key), and the same
    # objects unsigned (C0 holds none); the validate-only baseline.
    node_c = make_node(root, "ingest-ir", "IR")
    introduce(node_a, node_c, None, keys=True)
    node_c0 = make_node(root, "ingest-plain", "IR")
    introduce(node_a, node_c0, None)
    console.print(f"ingest: {len(feed):,} objects, unsigned and signed in turn …")
    with profiled(args.profile, "validated ingest (unsigned and signed)", console):
        (plain_s, plain_report), (ingest_s, report) = ingest_both(
            node_c0, feed, node_c, signed_feed, profile
        )
    res.check(
        "ingest unsigned: nothing refused", not plain_report.rejected, _refusals(plain_report)
    )
    res.check("ingest: nothing refused", not report.rejected, _refusals(report))
    verified = count(node_c.db, Receipt, Receipt.signed_key_id.is_not(None))
    res.check(
        "ingest: every record verified as A's", verified == n_inc, f"{verified:,} of {n_inc:,}"
    )
    got, versions_ = count(node_c.db, Incident), count(node_c.db, IncidentVersion)
    res.check(
        "ingest: every incident stored once",
        got == versions_ == n_inc,
        f"{got:,} incidents, {versions_:,} versions, of {n_inc:,}",
    )
    receipts = count(node_c.db, Receipt)
    res.check(
        "ingest: every object receipted", receipts == len(feed), f"{receipts:,} of {len(feed):,}"
    )
    sample = feed[: args.validator_sample]
    val_s, val_errors = validator_rate(sample)
    res.check(
        "stix2-validator: no errors on our objects",
        not val_errors,
        f"{len(val_errors)} errors on {len(sample):,}"
        + (f", e.g. {val_errors[0][:120]}" if val_errors else ""),
    )

    report_tables(
        args,
        res,
        console,
        ours,
        serve_sizes,
        largest,
        med_ok,
        med_runs,
        (len(feed), ingest_s),
        (len(sample), val_s),
        sync,
        (len(feed), plain_s),
        plain_sync,
    )
    for n in (node_a, node_b, node_b0, node_c, node_c0):
        n.db.dispose()
    if not all(ok for _, ok, _ in res.checks):
        return 1
    return 0 if all(ok is not False for _, ok, _ in res.goals) else 2


def _refusals(report: IngestReport) -> str:
    first = f", e.g. {report.rejected[0][1][:110]}" if report.rejected else ""
    return f"{len(report.rejected):,} refused{first}"


def report_tables(
    args: argparse.Namespace,
    res: Results,
    console: Console,
    ours: dict[int, Paged],
    serve_sizes: list[int],
    largest: int,
    med_ok: list[MedallionRun],
    med_runs: list[MedallionRun],
    ingest: tuple[int, float],
    validator: tuple[int, float],
    sync: SyncTiming,
    plain_ingest: tuple[int, float],
    plain_sync: SyncTiming,
) -> None:
    """The results table (each figure beside its same-run baseline), loads, checks, goals."""
    table = Table(title="TAXII: serving, validated ingest, two-node sync")
    for col in (
        "measure",
        "objects",
        "seconds",
        "objects/s",
        "baseline (same run)",
        "× baseline",
        "goal",
        "result",
    ):
        table.add_column(
            col, justify="left" if col in ("measure", "baseline (same run)", "goal") else "right"
        )
    med_largest = med_ok[-1] if med_ok else None
    for size in serve_sizes:
        p = ours[size]
        r = rate(p.objects, p.seconds)
        base = ratio = ""
        if med_largest is not None and med_largest.paged is not None:
            mr = rate(med_largest.size, med_largest.paged.seconds)
            base = f"medallion {mr:,.0f}/s at {med_largest.size:,}"
            if size == med_largest.size:
                ratio = f"{r / mr:,.1f}"
        goal = size == largest
        ok = r >= GOAL_SERVE
        table.add_row(
            f"serve: paged GET, limit {PAGE}, best of {args.repeat}",
            f"{p.objects:,}",
            f"{p.seconds:.2f}",
            f"{r:,.0f}",
            base,
            ratio,
            f"≥ {GOAL_SERVE:,.0f}/s" if goal else "",
            _verdict(ok) if goal else "",
        )
        if goal:
            res.goals.append(
                (
                    f"serve ≥ {GOAL_SERVE:,.0f} objects/s at {p.objects:,}",
                    ok if largest >= GOAL_SIZE else None,
                    f"{r:,.0f} objects/s",
                )
            )
    for m in med_ok:
        assert m.paged is not None
        table.add_row(
            f"  medallion paged GET, limit {PAGE} (1st page {m.paged.first_page_s:.1f} s)",
            f"{m.size:,}",
            f"{m.paged.seconds:.2f}",
            f"{rate(m.size, m.paged.seconds):,.0f}",
            "(baseline)",
            "",
            "",
            "",
        )
    n, seconds = ingest
    vn, vs = validator
    r, vr = rate(n, seconds), rate(vn, vs)
    pn, ps = plain_ingest
    pr = rate(pn, ps)
    table.add_row(
        f"  ingest: validated, signatures off (unsigned, no keys), batches ≤ {INGEST_BATCH:,}",
        f"{pn:,}",
        f"{ps:.1f}",
        f"{pr:,.0f}",
        "(baseline of signatures on)",
        "",
        "",
        "",
    )
    ok = r >= GOAL_INGEST
    cost = 100.0 * (1 - r / pr) if pr else float("nan")
    cost_ok = cost < GOAL_VERIFY_COST
    table.add_row(
        f"ingest: validated + signatures verified, batches ≤ {INGEST_BATCH:,}",
        f"{n:,}",
        f"{seconds:.1f}",
        f"{r:,.0f}",
        f"signatures off {pr:,.0f}/s: cost {cost:.1f} %",
        f"{r / pr:,.2f}" if pr else "",
        f"cost < {GOAL_VERIFY_COST:.0f} %",
        _verdict(cost_ok),
    )
    res.goals.append(
        (
            f"verification costs < {GOAL_VERIFY_COST:.0f} % of ingest throughput at {n:,}",
            cost_ok if n >= GOAL_SIZE - 10 else None,
            f"{cost:.1f} % ({r:,.0f} vs {pr:,.0f} objects/s)",
        )
    )
    table.add_row(
        f"ingest: validated + verified (vs stix2-validator), batches ≤ {INGEST_BATCH:,}",
        f"{n:,}",
        f"{seconds:.1f}",
        f"{r:,.0f}",
        f"stix2-validator alone {vr:,.0f}/s (on {vn:,})",
        f"{r / vr:,.1f}",
        f"≥ {GOAL_INGEST:,.0f}/s",
        _verdict(ok),
    )
    res.goals.append(
        (
            f"validated ingest ≥ {GOAL_INGEST:,.0f} objects/s at {n:,}",
            ok if n >= GOAL_SIZE - 10 else None,
            f"{r:,.0f} objects/s",
        )
    )
    for m in med_ok:
        table.add_row(
            f"  medallion POST ({args.medallion_post}/request, no validation)",
            f"{m.size:,}",
            f"{m.load_s:.2f}",
            f"{rate(m.size, m.load_s):,.0f}",
            "(baseline)",
            "",
            "",
            "",
        )
    table.add_row(
        f"  sync, signatures off ({plain_sync.pages} pages; {plain_sync.waited:.1f} s in GET)",
        f"{plain_sync.objects:,}",
        f"{plain_sync.seconds:.1f}",
        f"{rate(plain_sync.objects, plain_sync.seconds):,.0f}",
        "(baseline of signatures on)",
        "",
        "",
        "",
    )
    ok = sync.seconds < GOAL_SYNC_S
    sync_cost = 100.0 * (sync.seconds / plain_sync.seconds - 1) if plain_sync.seconds else 0.0
    table.add_row(
        f"sync: B pulls all of A over HTTP, signed + verified ({sync.pages} pages; "
        f"{sync.waited:.1f} s in GET)",
        f"{sync.objects:,}",
        f"{sync.seconds:.1f}",
        f"{rate(sync.objects, sync.seconds):,.0f}",
        f"signatures off {plain_sync.seconds:.1f} s: +{sync_cost:.1f} % time",
        f"{plain_sync.seconds / sync.seconds:,.2f}" if sync.seconds else "",
        f"< {GOAL_SYNC_S:.0f} s",
        _verdict(ok),
    )
    res.goals.append(
        (
            f"full two-node sync of {sync.objects:,} objects < {GOAL_SYNC_S:.0f} s",
            ok if sync.objects >= GOAL_SIZE - 10 else None,
            f"{sync.seconds:.1f} s",
        )
    )
    console.print(table)
    console.print(
        "CPU time of this process (time.process_time; the serving node is another process): "
        f"ingest unsigned {INGEST_CPU[0]:.1f} s ({rate(pn, INGEST_CPU[0]):,.0f} objects per "
        f"CPU-second), signed {INGEST_CPU[1]:.1f} s ({rate(n, INGEST_CPU[1]):,.0f}); sync "
        f"unsigned {plain_sync.cpu:.1f} s, signed {sync.cpu:.1f} s. GET time overlaps the "
        "ingest of the page before (one page is fetched ahead)."
    )

    loads = Table(title="Loading (measured, not part of the goals)")
    for col in ("path", "amount", "rate", "time"):
        loads.add_column(col, justify="left" if col == "path" else "right")
    for row in res.loads:
        loads.add_row(*row)
    for m in med_runs:
        loads.add_row(
            f"medallion: POSTs of {args.medallion_post}",
            f"{m.size:,} objects",
            f"{rate(m.size, m.load_s):,.0f} objects/s",
            f"{m.load_s:.1f} s",
        )
    console.print(loads)
    for note in res.notes:
        console.print(note)
    for name, ok, detail in res.checks:
        console.print(f"check {name}: {_verdict(ok)} {detail}")
    for name, ok, detail in res.goals:
        verdict = _verdict(ok) if ok is not None else f"not judged (goals are for {GOAL_SIZE:,})"
        console.print(f"goal {name}: {verdict} ({detail})")


def _verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


@dataclass
class SyncTiming:
    """One full sync: total seconds, seconds spent in GET objects (HTTP + JSON), objects."""

    seconds: float = float("nan")
    waited: float = float("nan")
    objects: int = 0
    pages: int = 0
    cpu: float = float("nan")  # CPU seconds of this (the pulling) process


class TimedClient(TaxiiClient):
    """Our TAXII client, timing its GET objects calls (the rest of a pull is ingest)."""

    waited = 0.0

    def get_objects(self, *args: Any, **kw: Any) -> tuple[list[Any], bool, str | None, str | None]:
        start = time.perf_counter()
        try:
            return super().get_objects(*args, **kw)
        finally:
            self.waited += time.perf_counter() - start


def run_sync(
    a: Node,
    b: Node,
    held: int,
    n_inc: int,
    profile: BorderProfile,
    res: Results,
    console: Console,
    prof: bool,
    *,
    signed: bool = True,
) -> SyncTiming:
    """B pulls everything A holds for it (real HTTP, sync_partner), then pushes its own;
    ``signed``: A's records arrive signed and B verifies each (B holds A's key)."""
    console.print(f"sync: B pulls {held:,} objects from A …")
    clients: list[TimedClient] = []

    token = partner_token(a, b)

    def factory(p: Any) -> TaxiiClient:
        clients.append(TimedClient(p.taxii_url or "", token))
        return clients[-1]

    with profiled(prof, "two-node sync (client side: B)", console):
        t0, cpu = time.perf_counter(), time.process_time()
        report = sync_partner(
            b.db,
            partner_name=a.settings.node_name,
            node=b.local,
            profile=profile,
            client_factory=factory,
        )
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu
    how = "sync (signed)" if signed else "sync (unsigned)"
    res.check(f"{how}: no error", report.error is None, report.error or "")
    res.check(f"{how}: nothing refused", not report.pulled.rejected, _refusals(report.pulled))
    verified = count(b.db, Receipt, Receipt.signed_key_id.is_not(None))
    res.check(
        f"{how}: records verified as A's",
        verified == (n_inc if signed else 0),
        f"{verified:,} of {n_inc if signed else 0:,}",
    )
    got, versions_ = count(b.db, Incident), count(b.db, IncidentVersion)
    res.check(
        f"{how}: every incident arrived exactly once",
        got == versions_ == n_inc,
        f"{got:,} incidents, {versions_:,} versions, of {n_inc:,}",
    )
    receipts = count(b.db, Receipt)
    res.check(
        f"{how}: every object receipted once",
        receipts == held,
        f"{receipts:,} of {held:,}; {report.pages} pages; pushed {report.pushed}",
    )
    return SyncTiming(seconds, sum(c.waited for c in clients), held, report.pages, cpu)


if __name__ == "__main__":
    sys.exit(main())
