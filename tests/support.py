"""Helpers for tests: a real uvicorn server on loopback, and a node handle with tokens."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import httpx
import uvicorn

from sarhad.core.auth import Role
from sarhad.core.config import Settings
from sarhad.core.db import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveNode:
    """A real node served by uvicorn on loopback, with a token per role."""

    url: str
    db: Database
    settings: Settings
    tokens: dict[Role, str]

    def client(self, role: Role | None = Role.ADMIN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn for ``app`` on a free loopback port and wait until it accepts requests."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"
