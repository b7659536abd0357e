"""Sign-in throttling that nobody escapes by forging a header and nobody turns into a lockout.

Loopback has all of 127/8, so each test client picks its own source address.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from sarhad.core.auth import CONSOLE, Role, set_password
from sarhad.core.config import Settings
from sarhad.core.db import open_database
from sarhad.core.journal import AuditLog
from support import LiveNode, free_port, wait_healthy
from web.helpers import PASSWORD, sign_in, username

SARHAD = [sys.executable, "-m", "sarhad"]
WRONG = "not the password at all"


def _from(url: str, address: str, **headers: str) -> httpx.Client:
    """A browser at ``address`` (a loopback address other than 127.0.0.1 is another machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, headers=headers, timeout=30)


def _attempt(url: str, address: str, name: str, password: str, **headers: str) -> int:
    with _from(url, address, **headers) as client:
        return sign_in(client, name, password).status_code


def _signin_addresses(settings: Settings, action: str) -> list[str]:
    db = open_database(settings)
    try:
        with db.session() as s:
            rows = s.scalars(select(AuditLog.detail).where(AuditLog.action == action)).all()
    finally:
        db.dispose()
    return [r["address"] for r in rows]


@contextmanager
def _serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """``sarhad serve`` as a real process (with the options it gives uvicorn)."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*SARHAD, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc, lambda: log.read_text())
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_serve_throttles_a_forged_forwarded_address_and_lets_the_user_in(
    settings: Settings, tmp_path: Path
) -> None:
    sqlite = settings.effective_database_url.startswith("sqlite")
    data = tmp_path / "node"
    env = {
        **os.environ,
        "SARHAD_DATA_DIR": str(data),
        # SQLite: the default file in the data folder, to see its -wal and -shm files
        "SARHAD_DATABASE_URL": "" if sqlite else settings.database_url or "",
        "SARHAD_SYNC_INTERVAL_S": "0",
        "SARHAD_COURIER_POLL_S": "0",
        "SARHAD_ESCALATION_CHECK_S": "0",
    }
    env.pop("SARHAD_TRUSTED_PROXIES", None)
    for args, stdin in (
        (["init"], None),
        (["users", "add", "desk-1", "--role", "duty_officer", "--password-stdin"], PASSWORD),
    ):
        done = subprocess.run(
            [*SARHAD, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    with _serve(env, tmp_path / "serve.log") as url:
        # One local client guessing names, with a new X-Forwarded-For each time: uvicorn
        # alone would believe it (it trusts 127.0.0.1), count each try at another address
        # and so never throttle.
        codes = [
            _attempt(url, "127.0.0.1", f"guess-{i}", WRONG, **{"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(1, 7)
        ]
        assert codes == [401, 401, 401, 401, 429, 429]
        forged = {"X-Forwarded-For": "198.51.100.77"}
        assert _attempt(url, "127.0.0.1", "desk-1", PASSWORD, **forged) == 429
        # The real user, at another machine, signs in at once.
        assert _attempt(url, "127.0.0.2", "desk-1", PASSWORD) == 303
        if sqlite:  # the files SQLite makes while serving are private too
            for name in ("sarhad.db", "sarhad.db-wal", "sarhad.db-shm"):
                assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    node = Settings(data_dir=data, database_url=env["SARHAD_DATABASE_URL"] or None)
    assert set(_signin_addresses(node, "web.signin.failed")) == {"127.0.0.1"}
    assert _signin_addresses(node, "web.signin") == ["127.0.0.2"]


def test_failures_from_many_addresses_do_not_lock_the_real_user_out(web: LiveNode) -> None:
    name = username(Role.COMMANDER)
    # Someone guesses from five machines, once each: at the fifth failure of the account,
    # the machine that failed is told to wait.
    codes = [_attempt(web.url, f"127.0.0.{last}", name, WRONG) for last in range(3, 8)]
    assert codes == [401, 401, 401, 401, 429]
    # Those machines are slowed down now, even with the right password...
    assert _attempt(web.url, "127.0.0.3", name, PASSWORD) == 429
    # ...but the user at a machine that never failed signs in.
    assert _attempt(web.url, "127.0.0.2", name, PASSWORD) == 303
    # and their success does not clear what the guessing machines earned
    assert _attempt(web.url, "127.0.0.4", name, WRONG) == 429


def test_one_address_guessing_many_names_is_throttled(web: LiveNode) -> None:
    names = [username(r) for r in Role if r is not Role.PARTNER]
    codes = [_attempt(web.url, "127.0.0.9", n, WRONG) for n in names[:5]]
    assert codes == [401, 401, 401, 401, 429]
    assert _attempt(web.url, "127.0.0.9", names[0], PASSWORD) == 429
    assert _attempt(web.url, "127.0.0.2", names[0], PASSWORD) == 303


def test_a_trusted_proxy_is_believed(spawn: Callable[..., LiveNode]) -> None:
    node = spawn("pk-proxied", "PK", trusted_proxies=["127.0.0.0/30"])
    name = username(Role.DUTY_OFFICER)
    with node.db.session() as s:
        set_password(s, username=name, password=PASSWORD, actor=CONSOLE.username)
    # The proxy (127.0.0.1) forwards four different travellers' failures, and the fifth's:
    # each counts at its own address; only the account rule meets the fifth.
    codes = [
        _attempt(node.url, "127.0.0.1", name, WRONG, **{"X-Forwarded-For": f"203.0.113.{i}"})
        for i in range(1, 6)
    ]
    assert codes == [401, 401, 401, 401, 429]
    # the account rule still slows the addresses that failed...
    failed_before = {"X-Forwarded-For": "203.0.113.1"}
    assert _attempt(node.url, "127.0.0.1", name, PASSWORD, **failed_before) == 429
    # ...and lets the user, behind the same proxy, in from theirs
    user = {"X-Forwarded-For": "198.51.100.7"}
    assert _attempt(node.url, "127.0.0.1", name, PASSWORD, **user) == 303
    assert _signin_addresses(node.settings, "web.signin") == ["198.51.100.7"]
    # a peer outside the trusted network cannot forward anything
    outside = {"X-Forwarded-For": "10.9.9.9"}
    assert _attempt(node.url, "127.0.0.5", name, PASSWORD, **outside) == 303
    assert _signin_addresses(node.settings, "web.signin")[-1] == "127.0.0.5"


def test_the_public_page_limit_reads_the_same_address(spawn: Callable[..., LiveNode]) -> None:
    direct = spawn("pk-public", "PK", public_rate_per_minute=2)
    codes = []
    for i in range(1, 4):
        with _from(direct.url, "127.0.0.1", **{"X-Forwarded-For": f"203.0.113.{i}"}) as c:
            codes.append(c.get("/public/v1/crossings").status_code)
    assert codes == [200, 200, 429]  # forging the header gains nothing
    proxied = spawn("pk-proxied", "PK", public_rate_per_minute=2, trusted_proxies=["127.0.0.1"])
    codes = []
    for i in range(1, 4):
        with _from(proxied.url, "127.0.0.1", **{"X-Forwarded-For": f"203.0.113.{i}"}) as c:
            codes.append(c.get("/public/v1/crossings").status_code)
    assert codes == [200, 200, 200]  # behind a trusted proxy, each traveller counts alone
