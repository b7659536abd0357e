"""Benchmark: incident reads at scale, one client and under load, SQLite and PostgreSQL.

    .venv/bin/python bench/api.py [--sizes 100000] [--db sqlite|postgresql|both]
                                  [--baseline-commit 565005e] [--duration 10] [--clients 20]

Data: 48 real records made through the incident service (``bench/taxii.py``'s templates) give
every column the product fills; N incidents are cloned from them with fresh ids, titles, times
(spread over two years), statuses, and points spread along the line whose enrichment (side,
sector, km, nearest crossing) is the product's own bulk ``locate_many``. They are written with
plain Core inserts (``COPY`` on PostgreSQL), with their seizures. One ``sarhad serve`` process
(or two on PostgreSQL) serves the node; a bearer token of an analyst reads.

Measured, each against the same database in the same run:

* one client (httpx, sequential, keep-alive): a filtered incident list (``format=json``,
  category + side + status, 100 a page) and a 100-feature GeoJSON page (``format=geojson``,
  the newest 100, and the page after it through ``next_cursor``): p50 and p99; goal p99 < 50 ms.
* 20 concurrent connections from a separate load process (``--load-worker``: asyncio + httpx,
  one connection each) on the GeoJSON page for ``--duration`` seconds: requests/s, p50, p99;
  goal ≥ 300 requests/s on one server process (the issue: 33/s, p50 567 ms, p99 1.18 s on
  30,000 incidents); on PostgreSQL the same against two server processes (the load process
  spreads its connections over both); goal ≥ 1.5× one process.
* the baseline: the same measures against the code of ``--baseline-commit`` (its ``src`` tree
  extracted with ``git archive`` and put first on ``PYTHONPATH`` of the server process), on
  the same data and the schema that code knows (the database is taken down to its head and
  back up afterwards).
* where the time goes: the server process run under cProfile for a sample of GeoJSON pages
  (``--profile``), and per stage (query, building the records, JSON encoding) in this process.

Exit code 1 if a check fails (a page that is not 200 or not 100 features), 2 if only a goal
is missed, 0 if all pass.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get(
    "SARHAD_BENCH_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
GOAL_P99_MS = 50.0
GOAL_RPS = 300.0
GOAL_TWO = 1.5
ISSUE_BASELINE = "issue 16: 33 requests/s, p50 567 ms, p99 1,180 ms (30,000 incidents)"
STATUSES = ["validated"] * 6 + ["submitted"] * 2 + ["draft", "closed"]


# --- the load process (kept free of sarhad imports: it is only a client) ----------------------


async def _one_connection(
    host: str,
    port: int,
    paths: list[str],
    token: str,
    until: float,
    out: list[float],
    errs: list[str],
) -> None:
    """One keep-alive HTTP/1.1 connection asking ``paths`` in turn until ``until``."""
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            start = time.perf_counter()
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}"
                "\r\nAccept: application/json\r\n\r\n".encode()
            )
            status = await reader.readline()
            length, chunked = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding" and "chunked" in value:
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await reader.readexactly(length)
            out.append(time.perf_counter() - start)
            if b" 200 " not in status:
                errs.append(status.decode("latin-1").strip())
    finally:
        writer.close()


async def _load(
    urls: list[str], paths: list[str], token: str, clients: int, seconds: float
) -> dict[str, Any]:
    warm = time.perf_counter() + 1.0
    await asyncio.gather(
        *(
            _one_connection(
                *_hostport(urls[c % len(urls)]), paths[c:] + paths[:c], token, warm, [], []
            )
            for c in range(clients)
        )
    )
    lat: list[list[float]] = [[] for _ in range(clients)]
    errs: list[str] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(
            _one_connection(
                *_hostport(urls[c % len(urls)]), paths[c:] + paths[:c], token, until, lat[c], errs
            )
            for c in range(clients)
        )
    )
    elapsed = time.perf_counter() - start
    flat = [x for c in lat for x in c]
    return {
        "requests": len(flat),
        "seconds": elapsed,
        "latencies": flat,
        "errors": errs[:5],
        "n_errors": len(errs),
    }


def _hostport(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 80


def load_worker(args: argparse.Namespace) -> int:
    """``--load-worker``: the separate load process; prints its result as JSON."""
    job = json.loads(sys.stdin.read())
    res = asyncio.run(
        _load(job["urls"], job["paths"], job["token"], job["clients"], job["seconds"])
    )
    print(json.dumps(res))
    return 0


# --- where the time goes: the app in this process, every handler inline, under cProfile -------

#: Layers of the stack, by where a function's code lives (first match wins).
LAYERS = [
    (
        "database driver (sqlite3 / psycopg)",
        ("sqlite3", "psycopg", "{method 'execute'", "{method 'fetch"),
    ),
    ("SQLAlchemy (query, ORM rows)", ("sqlalchemy",)),
    ("pydantic (records, dumps)", ("pydantic",)),
    (
        "JSON encoding",
        ("json/", "orjson", "{built-in method orjson", "JSONEncoder", "encode_basestring"),
    ),
    ("sarhad code", ("sarhad",)),
    ("FastAPI / Starlette / anyio", ("fastapi", "starlette", "anyio", "httpx", "h11")),
]


def _layer(filename: str, name: str) -> str:
    where = f"{filename} {name}"
    for label, needles in LAYERS:
        if any(n in where for n in needles):
            return label
    return "other (Python builtins, asyncio)"


def profile_worker(args: argparse.Namespace) -> int:
    """``--profile-worker``: serve ``requests`` GETs through the app in this thread, profiled.

    Handlers of sync routes run inline (not in the thread pool) so that cProfile, which sees
    one thread, sees them; the lifespan (background loops) is not started.
    """
    import fastapi.dependencies.utils as fdu
    import fastapi.routing as fr
    import httpx

    async def inline(func: Any, *a: Any, **kw: Any) -> Any:
        return func(*a, **kw)

    fr.run_in_threadpool = inline  # type: ignore[assignment]
    fdu.run_in_threadpool = inline  # type: ignore[assignment]
    job = json.loads(sys.stdin.read())
    from sarhad.app import create_app
    from sarhad.core.config import Settings

    settings = Settings(
        data_dir=Path(job["data_dir"]), database_url=job["url"], node_name="pk-node", node_side="PK"
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {job['token']}"}

    async def run(paths: list[str]) -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            start = time.perf_counter()
            for path in paths:
                r = await client.get(path, headers=headers)
                assert r.status_code == 200, r.text[:200]
            return time.perf_counter() - start

    # Distinct pages, none asked before: the memo never answers, every page is computed.
    paths: list[str] = job["paths"]
    job["requests"] = min(job["requests"], len(paths) - 10)
    asyncio.run(run(paths[-10:]))  # warm: imports, caches, first connections
    prof = cProfile.Profile()
    prof.enable()
    seconds = asyncio.run(run(paths[: job["requests"]]))
    prof.disable()
    stats = pstats.Stats(prof)
    layers: dict[str, float] = {}
    top = []
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        layer = _layer(filename, name)
        layers[layer] = layers.get(layer, 0.0) + tt
        top.append((tt, f"{Path(filename).name}:{name}"))
    top.sort(reverse=True)
    print(
        json.dumps(
            {
                "ms_per_request": 1000 * seconds / job["requests"],
                "layers_ms": {k: 1000 * v / job["requests"] for k, v in layers.items()},
                "top": [(f"{1000 * t / job['requests']:.2f} ms", n) for t, n in top[:8]],
            }
        )
    )
    return 0


# --- data -----------------------------------------------------------------------------------


@dataclass
class Dataset:
    """A loaded node: its settings' pieces, an analyst's token, paths to read."""

    backend: str
    size: int
    url: str
    data_dir: Path
    token: str
    load_s: float
    list_paths: list[str] = field(default_factory=list)
    geo_paths: list[str] = field(default_factory=list)
    geo_hot: list[str] = field(default_factory=list)


def pg_url(name: str) -> str:
    u = urlsplit(PG_ADMIN)
    return u._replace(path=f"/{name}").geturl()


def fresh_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_rows(
    templates: list[dict[str, Any]], seizures: dict[str, list[dict[str, Any]]], n: int, seed: int
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Incident rows (and their seizure rows) in chunks: template records with fresh ids,
    titles, times and statuses, at points along the line placed by ``locate_many``."""
    import numpy as np

    from sarhad.border import load_profile

    profile = load_profile()
    rng = np.random.default_rng(seed)
    coords = np.array(profile.line.coords)
    now = datetime.now(UTC).replace(microsecond=0)
    span = 2 * 365 * 24 * 60  # two years of minutes
    chunk = 50_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        idx = rng.integers(0, len(coords), m)
        lon = coords[idx, 0] + rng.normal(0, 0.08, m)
        lat = coords[idx, 1] + rng.normal(0, 0.08, m)
        loc = profile.locate_many(lon, lat)
        minutes = rng.integers(0, span, m)
        rows, seized = [], []
        for j in range(m):
            k = start + j
            t = templates[k % len(templates)]
            at = now - timedelta(minutes=int(minutes[j]))
            iid = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | k, version=4))
            row = dict(t)
            row.update(
                id=iid,
                title=f"{t['title']} #{k}",
                status=STATUSES[k % len(STATUSES)],
                occurred_at=at,
                created_at=at + timedelta(hours=2),
                updated_at=at + timedelta(hours=3),
                lon=float(lon[j]),
                lat=float(lat[j]),
                side=str(loc.side[j]),
                distance_m=float(loc.distance_m[j]),
                sector_id=profile.sectors[int(loc.sector_index[j])].id,
                km=float(loc.km[j]),
                nearest_crossing_id=profile.crossings[int(loc.nearest_crossing_index[j])].id,
                nearest_crossing_distance_m=float(loc.nearest_crossing_distance_m[j]),
                external_ref=None,
            )
            rows.append(row)
            for s in seizures.get(t["id"], []):
                seized.append({**s, "incident_id": iid})
        yield rows, seized


def build_dataset(backend: str, size: int, root: Path, seed: int, console: Any) -> Dataset:
    """A migrated node holding ``size`` incidents (48 made through the service, the rest
    cloned from them), an analyst with a token, and the paths the bench reads."""
    from sqlalchemy import insert, select, text

    from sarhad.border import load_profile
    from sarhad.core.auth import Role, add_user, issue_token
    from sarhad.core.config import Settings
    from sarhad.core.db import get_node_id
    from sarhad.incidents.models import Incident, SeizureRow
    from sarhad.node import init_node
    from taxii import Node, make_templates

    name = f"sarhad_bench_api_{size}"
    data_dir = root / f"{backend}-{size}"
    url = (
        fresh_pg_database(name)
        if backend == "postgresql"
        else f"sqlite:///{data_dir / 'sarhad.db'}"
    )
    settings = Settings(data_dir=data_dir, database_url=url, node_name="pk-node", node_side="PK")
    db = init_node(settings)
    with db.session() as s:
        node = Node(settings=settings, db=db, node_id=get_node_id(s))
    profile = load_profile()
    t0 = time.perf_counter()
    make_templates(node, profile)
    with db.session() as s:
        templates = [dict(r._mapping) for r in s.execute(select(Incident.__table__))]
        seizures: dict[str, list[dict[str, Any]]] = {}
        for r in s.execute(select(SeizureRow.__table__).order_by(SeizureRow.position)):
            d = dict(r._mapping)
            seizures.setdefault(d.pop("incident_id"), []).append(
                {k: v for k, v in d.items() if k != "id"}
            )
        add_user(s, username="bench-analyst", role=Role.ANALYST, actor="bench")
        token = issue_token(s, username="bench-analyst", actor="bench")
    n = max(0, size - len(templates))
    done = 0
    for rows, seized in clone_rows(templates, seizures, n, seed):
        if backend == "postgresql":
            _copy(db, rows, seized)
        else:
            with db.session() as s:
                s.execute(insert(Incident.__table__), rows)
                if seized:
                    s.execute(insert(SeizureRow.__table__), seized)
        done += len(rows)
        console.print(f"  {backend}: {done + len(templates):,} of {size:,} incidents …", end="\r")
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE incidents"))
            conn.execute(text("VACUUM ANALYZE incident_seizures"))
    load_s = time.perf_counter() - t0
    console.print(f"  {backend}: {size:,} incidents in {load_s:.1f} s" + " " * 20)
    db.dispose()
    return Dataset(backend, size, url, data_dir, token, load_s)


def _copy(db: Any, rows: list[dict[str, Any]], seized: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY of incident rows (JSON columns as text) and their seizures."""
    cols = list(rows[0])
    scols = ["incident_id", "position", "commodity", "quantity", "unit"]
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY incidents ({', '.join(cols)}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(
                    [
                        json.dumps(r[c]) if c in ("sources", "withheld_fields") else r[c]
                        for c in cols
                    ]
                )
        if seized:
            with cur.copy(f"COPY incident_seizures ({', '.join(scols)}) FROM STDIN") as cp:
                for s in seized:
                    cp.write_row([s[c] for c in scols])
        raw.commit()
    finally:
        raw.close()


def choose_paths(ds: Dataset, base_url: str, pages: int) -> None:
    """The pages the bench reads: 4 filtered lists and 4 GeoJSON lists, each followed for
    ``pages`` pages by its cursors (all distinct: more than the server's memo holds), and the
    4 first GeoJSON pages (the same few pages everyone reads)."""
    import httpx

    from sarhad.border import load_profile

    profile = load_profile()
    sector = profile.sectors[len(profile.sectors) // 2].id
    now = datetime.now(UTC).replace(microsecond=0)
    year_ago = (now - timedelta(days=365)).isoformat().replace("+00:00", "Z")
    month_later = (now - timedelta(days=335)).isoformat().replace("+00:00", "Z")
    p = profile.line.interpolate(0.3, normalized=True)
    bbox = f"{p.x - 0.05:.4f},{p.y - 0.05:.4f},{p.x + 0.05:.4f},{p.y + 0.05:.4f}"
    base = "/api/v1/incidents?limit=100"
    ds.list_paths = [
        f"{base}&category=smuggling_fuel&side=PK&status=validated",
        f"{base}&status=draft&sector={sector}",
        f"{base}&category=illegal_crossing&since={year_ago}&until={month_later}",
        f"{base}&bbox={bbox}&status=validated",
    ]
    geo = f"{base}&format=geojson"
    ds.geo_hot = [geo, f"{geo}&side=IR", f"{geo}&since={year_ago}", f"{geo}&category=armed_clash"]
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {ds.token}"}, timeout=60
    ) as c:
        ds.list_paths = walk(c, ds.list_paths, pages)
        ds.geo_paths = walk(c, ds.geo_hot, pages)


def walk(client: Any, firsts: list[str], pages: int) -> list[str]:
    """Each first page and up to ``pages - 1`` pages after it (by ``next_cursor``)."""
    out = []
    for first in firsts:
        path = first
        for _ in range(pages):
            out.append(path)
            r = client.get(path)
            r.raise_for_status()
            cursor = r.json().get("next_cursor")
            if not cursor:
                break
            path = f"{first}&cursor={cursor}"
    return out


@contextmanager
def servers(
    ds: Dataset, count: int, root: Path, pythonpath: str | None, tag: str
) -> Iterator[list[str]]:
    """``count`` ``sarhad serve`` processes on the dataset; yields their URLs."""
    from taxii import answers, free_port, process

    env = dict(
        os.environ,
        SARHAD_DATA_DIR=str(ds.data_dir),
        SARHAD_DATABASE_URL=ds.url,
        SARHAD_NODE_NAME="pk-node",
        SARHAD_NODE_SIDE="PK",
        SARHAD_SYNC_INTERVAL_S="0",
    )
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with ExitStack() as stack:
        urls = []
        for i in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = [
                sys.executable,
                "-m",
                "sarhad",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            log = root / f"serve-{ds.backend}-{ds.size}-{tag}-{i}.log"
            stack.enter_context(
                process(
                    cmd, log=log, env=env, cwd=root, ready=lambda u=url: answers(f"{u}/healthz")
                )
            )
            urls.append(url)
        yield urls


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in ms."""
    s = sorted(values)
    return 1000 * s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))] if s else float("nan")


@dataclass
class Latency:
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int = 0
    note: str = ""


def one_client(url: str, token: str, paths: list[str], n: int, budget_s: float) -> Latency:
    """``n`` sequential GETs over one keep-alive connection, cycling over ``paths`` (fewer
    if ``budget_s`` runs out: the baseline takes up to a second a page at 1,000,000)."""
    import httpx

    lat, errors = [], 0
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=120) as c:
        for path in paths[:4]:  # warm
            c.get(path)
        start = time.perf_counter()
        for i in range(n):
            if i >= 20 and time.perf_counter() - start > budget_s:
                n = i
                break
            t = time.perf_counter()
            r = c.get(paths[i % len(paths)])
            lat.append(time.perf_counter() - t)
            body = r.json() if r.status_code == 200 else {}
            items = body.get("features", body.get("items"))
            if r.status_code != 200 or items is None:
                errors += 1
        seconds = time.perf_counter() - start
    return Latency(n, pct(lat, 50), pct(lat, 99), n / seconds, errors)


def under_load(
    urls: list[str], token: str, paths: list[str], clients: int, seconds: float
) -> Latency:
    """The separate load process: ``clients`` connections spread over ``urls``."""
    job = {"urls": urls, "paths": paths, "token": token, "clients": clients, "seconds": seconds}
    out = subprocess.run(
        [sys.executable, __file__, "--load-worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    res = json.loads(out.stdout)
    return Latency(
        res["requests"],
        pct(res["latencies"], 50),
        pct(res["latencies"], 99),
        res["requests"] / res["seconds"],
        res["n_errors"],
        "; ".join(res["errors"]),
    )


def where_time_goes(ds: Dataset, pythonpath: str | None, n: int) -> dict[str, Any]:
    """The profile worker on the dataset, with the code on ``pythonpath`` (or ours)."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    job = {
        "url": ds.url,
        "data_dir": str(ds.data_dir),
        "token": ds.token,
        "paths": ds.geo_paths,
        "requests": n,
    }
    out = subprocess.run(
        [sys.executable, __file__, "--profile-worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT / "bench",
        timeout=600,
    )
    if out.returncode != 0:
        return {"error": out.stderr[-600:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------


def extract_baseline(commit: str, root: Path) -> tuple[str, str]:
    """``src`` of ``commit`` in the work dir (for PYTHONPATH) and that code's schema head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    dest = root / f"baseline-{commit}"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(dest / "src/sarhad/migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return str(dest / "src"), head


def migrate(ds: Dataset, revision: str, down: bool) -> float:
    """Take the dataset's schema down to (or up to) ``revision``; seconds it took."""
    from alembic import command

    from sarhad.core.db import make_engine
    from sarhad.migrations import alembic_config

    engine = make_engine(ds.url)
    t0 = time.perf_counter()
    try:
        cfg = alembic_config(engine)
        (command.downgrade if down else command.upgrade)(cfg, revision)
    finally:
        engine.dispose()
    return time.perf_counter() - t0


@dataclass
class Measured:
    """Every figure of one dataset with one version of the code."""

    code: str
    list_one: Latency
    geo_one: Latency
    geo_load: Latency
    hot_load: Latency
    geo_load_two: Latency | None = None
    hot_load_two: Latency | None = None
    profile: dict[str, Any] = field(default_factory=dict)


def measure(
    ds: Dataset,
    args: argparse.Namespace,
    root: Path,
    pythonpath: str | None,
    code: str,
    console: Any,
) -> Measured:
    console.print(f"  {ds.backend} {ds.size:,}: {code} …")
    if not ds.geo_paths:
        # In a server of its own: the pages it reads now must not be in the memo of the
        # server measured (each list is more pages than the memo holds: all distinct).
        with servers(ds, 1, root, pythonpath, "walk") as urls:
            choose_paths(ds, urls[0], args.pages)
    with servers(ds, 1, root, pythonpath, code.split()[0]) as urls:
        list_one = one_client(urls[0], ds.token, ds.list_paths, args.samples, args.budget)
        geo_one = one_client(urls[0], ds.token, ds.geo_paths, args.samples, args.budget)
        geo_load = under_load(urls, ds.token, ds.geo_paths, args.clients, args.duration)
        hot_load = under_load(urls, ds.token, ds.geo_hot, args.clients, args.duration)
    two = hot_two = None
    if ds.backend == "postgresql":
        with servers(ds, 2, root, pythonpath, code.split()[0] + "-two") as urls:
            two = under_load(urls, ds.token, ds.geo_paths, args.clients, args.duration)
            hot_two = under_load(urls, ds.token, ds.geo_hot, args.clients, args.duration)
    prof = where_time_goes(ds, pythonpath, args.profile_requests) if args.profile_requests else {}
    return Measured(code, list_one, geo_one, geo_load, hot_load, two, hot_two, prof)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes",
        default="100000",
        help="incident counts, comma-separated (1000000 for the issue's size)",
    )
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--baseline-commit", default="565005e", help="code measured as the baseline ('' for none)"
    )
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of each load run")
    ap.add_argument("--samples", type=int, default=400, help="requests of each one-client measure")
    ap.add_argument("--budget", type=float, default=30.0, help="most seconds a 1-client measure")
    ap.add_argument("--pages", type=int, default=25, help="pages followed of each list read")
    ap.add_argument(
        "--profile-requests", type=int, default=100, help="GeoJSON pages profiled (0: none)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the work dir and databases")
    ap.add_argument("--load-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load_worker:
        return load_worker(args)
    if args.profile_worker:
        return profile_worker(args)

    from rich.console import Console

    from benchkit import cpu_model

    console = Console(width=240)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    root = Path(tempfile.mkdtemp(prefix="sarhad-bench-api-"))
    head_now = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    console.print(
        f"Work dir {root}; {os.cpu_count()} cores, {cpu_model()}; code {head_now}"
        + (" (with uncommitted changes)" if _dirty() else "")
    )
    results: list[tuple[Dataset, list[Measured]]] = []
    try:
        base = extract_baseline(args.baseline_commit, root) if args.baseline_commit else None
        for backend in backends:
            for size in sizes:
                ds = build_dataset(backend, size, root, args.seed, console)
                # This code first: it walks the pages the bench reads (the baseline would
                # take minutes to at 1,000,000); then the baseline, on the schema it knows.
                runs = [measure(ds, args, root, None, f"this code {head_now}", console)]
                if base is not None:
                    from sarhad.migrations import head

                    if base[1] != head():
                        console.print(
                            f"  schema down to {base[1]} for the baseline: "
                            f"{migrate(ds, base[1], True):.1f} s"
                        )
                    code = f"baseline {args.baseline_commit}"
                    runs.insert(0, measure(ds, args, root, base[0], code, console))
                    if base[1] != head():
                        migrate(ds, "head", False)
                results.append((ds, runs))
                if backend == "postgresql" and not args.keep:
                    drop_pg_database(f"sarhad_bench_api_{size}")
        return report(results, args, console)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _dirty() -> bool:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True
    )
    return bool(out.stdout.strip())


def report(
    results: list[tuple[Dataset, list[Measured]]], args: argparse.Namespace, console: Any
) -> int:
    """One table: each measure with the baseline's figure beside it, goals judged on ours."""
    from rich.table import Table

    table = Table(
        title=f"Incident reads: one client, then {args.clients} connections from a load process"
    )
    for col in (
        "db",
        "incidents",
        "code",
        "measure",
        "requests",
        "p50 ms",
        "p99 ms",
        "req/s",
        "× baseline",
        "goal",
        "result",
    ):
        table.add_column(
            col,
            justify="right"
            if col in ("incidents", "requests", "p50 ms", "p99 ms", "req/s", "× baseline")
            else "left",
        )
    goals: list[tuple[str, bool, str]] = []
    checks: list[tuple[str, bool]] = []
    for ds, runs in results:
        base = runs[0] if len(runs) > 1 else None
        for m in runs:
            ours = m is runs[-1]
            rows: list[tuple[str, Latency, Latency | None, str, bool]] = [
                (
                    "filtered list (json, 100), distinct pages, 1 client",
                    m.list_one,
                    base.list_one if base else None,
                    f"p99 < {GOAL_P99_MS:.0f} ms",
                    m.list_one.p99_ms < GOAL_P99_MS,
                ),
                (
                    "GeoJSON page (100), distinct pages, 1 client",
                    m.geo_one,
                    base.geo_one if base else None,
                    f"p99 < {GOAL_P99_MS:.0f} ms",
                    m.geo_one.p99_ms < GOAL_P99_MS,
                ),
            ]
            for label, one, two, b1, b2 in (
                (
                    "distinct pages",
                    m.geo_load,
                    m.geo_load_two,
                    base.geo_load if base else None,
                    base.geo_load_two if base else None,
                ),
                (
                    "the same 4 first pages",
                    m.hot_load,
                    m.hot_load_two,
                    base.hot_load if base else None,
                    base.hot_load_two if base else None,
                ),
            ):
                rows.append(
                    (
                        f"GeoJSON, {label}, {args.clients} conns, 1 process",
                        one,
                        b1,
                        f"≥ {GOAL_RPS:.0f} req/s",
                        one.rps >= GOAL_RPS,
                    )
                )
                if two is not None:
                    ratio = two.rps / one.rps
                    rows.append(
                        (
                            f"GeoJSON, {label}, {args.clients} conns, 2 processes",
                            two,
                            b2,
                            f"≥ {GOAL_TWO}× 1 process ({ratio:.2f}×)",
                            ratio >= GOAL_TWO,
                        )
                    )
            for name, lat, b, goal, ok in rows:
                checks.append(
                    (
                        f"{ds.backend} {ds.size:,} {m.code}: {name}: "
                        "every answer 200 with its page",
                        lat.errors == 0,
                    )
                )
                times = f"{lat.rps / b.rps:.1f}" if (ours and b is not None and b.rps) else ""
                table.add_row(
                    ds.backend,
                    f"{ds.size:,}",
                    m.code,
                    name,
                    f"{lat.requests:,}",
                    f"{lat.p50_ms:.1f}",
                    f"{lat.p99_ms:.1f}",
                    f"{lat.rps:,.0f}",
                    times,
                    goal if ours else "",
                    ("[green]PASS[/green]" if ok else "[red]FAIL[/red]") if ours else "",
                )
                if ours:
                    goals.append(
                        (
                            f"{ds.backend} {ds.size:,}: {name} {goal}",
                            bool(ok),
                            f"p50 {lat.p50_ms:.1f} ms, p99 {lat.p99_ms:.1f} ms, "
                            f"{lat.rps:,.0f} req/s",
                        )
                    )
    console.print(table)
    console.print(
        f"Issue's figure: {ISSUE_BASELINE}. Data load (not timed in the goals): "
        + ", ".join(f"{ds.backend} {ds.size:,} in {ds.load_s:.0f} s" for ds, _ in results)
    )
    for ds, runs in results:
        for m in runs:
            if not m.profile:
                continue
            if "error" in m.profile:
                console.print(
                    f"profile {ds.backend} {ds.size:,} {m.code}: failed: {m.profile['error']}"
                )
                continue
            layers = sorted(m.profile["layers_ms"].items(), key=lambda kv: -kv[1])
            console.print(
                f"Where the time goes, {ds.backend} {ds.size:,}, {m.code}: GeoJSON page "
                f"{m.profile['ms_per_request']:.1f} ms in one thread under cProfile: "
                + ", ".join(f"{k} {v:.1f} ms" for k, v in layers)
            )
            console.print(
                "  top functions (own time per page): "
                + ", ".join(f"{n} {t}" for t, n in m.profile["top"])
            )
    for name, ok in checks:
        if not ok:
            console.print(f"check {name}: [red]FAIL[/red]")
    for name, ok, detail in goals:
        console.print(
            f"goal {name}: {'[green]PASS[/green]' if ok else '[red]FAIL[/red]'} ({detail})"
        )
    if not all(ok for _, ok in checks):
        return 1
    return 0 if all(ok for _, ok, _ in goals) else 2


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
