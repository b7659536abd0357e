"""Helpers for tests: a real uvicorn server on loopback, and a node handle with tokens."""

from __future__ import annotations

import random
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from sarhad.core.auth import CONSOLE, Role
from sarhad.core.clients import server_options
from sarhad.core.config import Settings
from sarhad.core.db import Database, get_node_id
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring
from sarhad.sharing.schemas import AgreementIn, PartnerUpdate

#: Below Linux's ephemeral range (32768-60999): a port the kernel hands to an outgoing
#: connection between our check and the server's bind would make the server fail to start.
_PORTS = (20000, 32000)


def free_port(count: int = 1) -> int:
    """A free loopback port, the first of ``count`` consecutive free ones."""
    pick = random.SystemRandom()
    for _ in range(500):
        base = pick.randrange(_PORTS[0], _PORTS[1] - count)
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free loopback port found")


@dataclass
class LiveNode:
    """A real node served by uvicorn on loopback, with a token per role."""

    url: str
    db: Database
    settings: Settings
    tokens: dict[Role, str]

    server: object = None  # the running uvicorn.Server
    thread: threading.Thread | None = None
    workers: bool = False

    def stop(self) -> None:
        """Stop serving (the database stays): the partner is "down"."""
        self.server.should_exit = True  # type: ignore[attr-defined]
        if self.thread is not None:
            self.thread.join(timeout=15)
        self.server = self.thread = None

    def start(self) -> None:
        """Serve again on the same port with the same database, as after a restart."""
        from sarhad.app import create_app

        port = int(self.url.rsplit(":", 1)[1])
        self.server, self.thread, _ = start_server(
            create_app(self.settings, db=self.db), port=port, workers=self.workers
        )

    def client(self, role: Role | None = Role.ADMIN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(
    app: object, *, port: int = 0, workers: bool = False
) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn for ``app`` on loopback and wait until it accepts requests.

    ``workers`` runs the app's lifespan: the courier and the escalation loop start with it.
    ``port`` 0 picks a free port; a given port lets a stopped node come back where it was.
    """
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets made so, and without
    # it every response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    # The proxy options `sarhad serve` uses: forwarded headers only from trusted proxies
    # (a stand-in partner server, not a Sarhad node, gets uvicorn's defaults).
    node = getattr(getattr(app, "state", None), "node", None)
    options = server_options(node.settings) if node is not None else {}
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on" if workers else "off", **options)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


def introduce(
    a: LiveNode, b: LiveNode, *, terms_a: dict | None = None, terms_b: dict | None = None
) -> None:
    """Make a and b partners of each other, as two liaison offices would: exchanging tokens
    and public signing keys (so each takes the other's records as signed)."""
    a_name, b_name = a.settings.node_name, b.settings.node_name
    a_key = own_ring(a.settings.data_dir).active.public.pem
    b_key = own_ring(b.settings.data_dir).active.public.pem
    with a.db.session() as s:
        a_id = get_node_id(s)
    with b.db.session() as s:
        b_id = get_node_id(s)
    with a.db.session() as s:
        _, token_for_b = sharing.add_partner(
            s,
            name=b_name,
            country=b.settings.node_side,
            taxii_url=f"{b.url}/taxii2/api/",
            node_id=b_id,
            public_key_pem=b_key,
            actor=CONSOLE,
        )
        if terms_a:
            sharing.set_agreement(s, partner=b_name, changes=AgreementIn(**terms_a), actor=CONSOLE)
    with b.db.session() as s:
        _, token_for_a = sharing.add_partner(
            s,
            name=a_name,
            country=a.settings.node_side,
            taxii_url=f"{a.url}/taxii2/api/",
            remote_token=token_for_b,
            node_id=a_id,
            public_key_pem=a_key,
            actor=CONSOLE,
        )
        if terms_b:
            sharing.set_agreement(s, partner=a_name, changes=AgreementIn(**terms_b), actor=CONSOLE)
    with a.db.session() as s:
        sharing.update_partner(
            s, name=b_name, changes=PartnerUpdate(remote_token=token_for_a), actor=CONSOLE
        )


#: Settings for nodes whose courier and escalation loops should react at once.
FAST = {"courier_poll_s": 0.2, "escalation_check_s": 0.2}


@dataclass
class Desks:
    """Pakistan's and Iran's nodes, partners of each other (the ``desks`` fixture)."""

    pk: LiveNode
    ir: LiveNode


def wait_for(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (real nodes take real time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def wait_healthy(
    url: str, proc: subprocess.Popen[Any], output: Callable[[], object], within: float = 60
) -> None:
    """Wait until a ``sarhad serve`` process at ``url`` answers /healthz; fail with its
    ``output()`` if it exits first, or after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, output()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)
