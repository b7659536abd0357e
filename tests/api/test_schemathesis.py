"""The API keeps its contract: schemathesis over every operation of the OpenAPI document.

A real node on loopback, its document as it serves it (/openapi.json), and the schemathesis
command with every check it has: no server error, only documented status codes, content
types and headers, response bodies that match their schemas, invalid requests refused, valid
ones accepted, ``Allow`` on OPTIONS and 405, ... over all its phases (examples, coverage,
fuzzing, stateful), with a fixed seed, derandomized, a bounded number of cases per operation.

It runs as three callers: an admin (who may do everything), an analyst (who may read, and
whom every write refuses with a documented 403), and a partner node's account over the
operations it may reach (TAXII, and the public feed; the rest of the API refuses it with the
same 403 the analyst run checks). Before it, the node gets a partner and an incident, so
alerts have somewhere to go and records to cite. The few rules the document
cannot state are taught to the generator in schemathesis_hooks.py (read it: each says why).

Left out, one operation: GET /api/v1/feed. It is a stream of server-sent events that lasts
until the client leaves; a request-response tool waits for its end forever. Its contract
(status, media type, documented errors) is tested in test_contract.py.

SQLite only: this tests the API's contract, not the database (the rest of the suite runs on
PostgreSQL too).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Role
from sarhad.incidents import service as incidents
from sarhad.incidents.schemas import IncidentIn
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import rotate_own
from support import LiveNode

HERE = Path(__file__).resolve().parent
BACKEND = os.environ.get("SARHAD_TEST_DB", "sqlite")

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite",
    reason="the API contract is the same on every database: schemathesis runs once, on SQLite",
)

#: Cases per operation and phase: enough to reach every parameter, small enough for minutes.
MAX_EXAMPLES = 20
SEED = 20261121
STREAMS = ["/api/v1/feed"]


def _seed(live: LiveNode, profile: BorderProfile) -> tuple[dict[str, str], str]:
    """A partner for alerts to go to and an incident for them to cite; the partner's token."""
    with live.db.session() as s:
        _, token = sharing.add_partner(s, name="ir-node", country="IR", actor=CONSOLE)
        row = incidents.create_incident(
            s,
            data=IncidentIn.model_validate(
                {
                    "title": "Fuel convoy intercepted",
                    "category": "smuggling_fuel",
                    "occurred_at": "2026-11-21T02:00:00Z",
                    "location": {"lon": 61.75403, "lat": 26.07937},
                    "reporting_side": "PK",
                }
            ),
            actor=CONSOLE,
            profile=profile,
        )
        # a rotated signing key, so that the node has a key announcement to serve
        rotate_own(s, data_dir=live.settings.data_dir, actor=CONSOLE)
        return {"partner": "ir-node", "incident": row.id}, token


def run_schemathesis(
    live: LiveNode, token: str, tmp_path: Path, known: dict[str, str], *only: str
) -> str:
    """The schemathesis command against ``live`` with ``token`` (``only`` these paths, as
    regular expressions); its report, and it must pass."""
    config = tmp_path / "schemathesis.toml"
    config.write_text("[cache]\nenabled = false  # nothing learnt in one run steers the next\n")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
        "run", f"{live.url}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-deterministic",
        "--workers", "1",
        "--request-timeout", "60",
        "--no-color",
        *(arg for path in STREAMS for arg in ("--exclude-path", path)),
        *(arg for path in only for arg in ("--include-path-regex", path)),
    ]  # fmt: skip
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
        "SARHAD_CONTRACT": json.dumps(known),
        "NO_PROXY": "*",  # loopback only, never through a proxy
    }
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    return report


def _operations(live: LiveNode, pattern: str = "") -> int:
    with live.client(role=None) as c:
        paths = c.get("/openapi.json").json()["paths"]
    return sum(
        len(ops) for path, ops in paths.items() if path not in STREAMS and re.search(pattern, path)
    )


# Each role's run is minutes of generated requests: the admin's (every operation allowed)
# runs on PostgreSQL, the production store, and the analyst's (many 403s, read paths) on
# SQLite, so both stores and both roles are covered once each.
@pytest.mark.parametrize(
    "role",
    [
        pytest.param(Role.ADMIN, marks=pytest.mark.once_on("postgresql")),
        pytest.param(Role.ANALYST, marks=pytest.mark.once_on("sqlite")),
    ],
    ids=lambda r: r.value,
)
def test_every_operation_keeps_the_documented_contract(
    live: LiveNode, role: Role, tmp_path: Path, profile: BorderProfile
) -> None:
    known, _ = _seed(live, profile)
    report = run_schemathesis(live, live.tokens[role], tmp_path, known)
    # every operation of the document was tested, none skipped or left out by a filter
    assert f"Tested: {_operations(live)}" in report, report


def test_the_partner_facing_operations_keep_their_contract(
    live: LiveNode, tmp_path: Path, profile: BorderProfile
) -> None:
    known, token = _seed(live, profile)
    reachable = "^/(taxii2|public)/"
    report = run_schemathesis(live, token, tmp_path, known, reachable)
    assert f"Tested: {_operations(live, reachable)}" in report, report
