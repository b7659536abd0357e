"""A process runs requests on few threads; a wait on a partner holds none of them."""

from __future__ import annotations

import os
import socketserver
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sarhad.core.auth import Role
from sarhad.core.threads import request_threads
from support import LiveNode, introduce

from .test_federation_cli import run


def test_request_threads_default_to_one_more_than_the_cores() -> None:
    assert request_threads(None) == (os.cpu_count() or 1) + 1
    assert request_threads(3) == 3


class _SlowPartner(socketserver.ThreadingTCPServer):
    """A partner over a dead link: it takes each request and answers nothing until
    ``released`` (then 503, as a partner that came back busy)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.reached, self.released = threading.Event(), threading.Event()
        super().__init__(("127.0.0.1", 0), _Silent)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/taxii2/api/"


class _Silent(socketserver.StreamRequestHandler):
    server: _SlowPartner

    def handle(self) -> None:
        self.rfile.readline()  # the request line: the caller now waits for an answer
        self.server.reached.set()
        self.server.released.wait(120)
        self.wfile.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n")
        self.wfile.write(b"Connection: close\r\n\r\n")


def test_a_sync_waiting_on_a_silent_partner_holds_no_request_thread(
    spawn: Callable[..., LiveNode],
) -> None:
    # workers: the lifespan runs, which sets the threads (and starts the loops).
    ir = spawn("ir-node", "IR", workers=True, request_threads=1)  # one thread for requests
    pk = spawn("pk-node", "PK")
    introduce(pk, ir)
    partner = _SlowPartner()
    threading.Thread(target=partner.serve_forever, daemon=True).start()
    assert run(ir, "partners", "set", "pk-node", "--url", partner.url).exit_code == 0
    try:
        with (
            ir.client(Role.LIAISON) as liaison,
            ir.client(Role.ANALYST) as analyst,
            ThreadPoolExecutor(1) as pool,
        ):
            syncing = pool.submit(
                liaison.post, "/api/v1/federation/sync", params={"partner": "pk-node"}, timeout=300
            )
            assert partner.reached.wait(60), "the sync never reached the partner"
            listed = analyst.get("/api/v1/incidents", timeout=60)
            assert listed.status_code == 200
            assert not syncing.done()  # answered while the sync still waited
            partner.released.set()
            answer = syncing.result(timeout=120)
    finally:
        partner.released.set()
        partner.shutdown()
        partner.server_close()
    assert answer.status_code == 200
    assert answer.json()[0]["error_code"] is not None  # the partner's 503, reported
