"""The node's HTTP server: uvicorn, told to end open streams as soon as it begins to stop.

Why: on SIGTERM or Ctrl-C uvicorn gives running requests ``shutdown_grace_s`` to finish and
then cancels them, logging each as "Exception in ASGI application" with a traceback. A live
feed (server-sent events) never finishes by itself, so every open feed ended that way. The
server now sets the app's closing event first (``feed.closing_event``); the feed's loop sees
it within one poll and ends its response, so the server stops quietly and in time.
"""

from __future__ import annotations

import contextlib
import socket
import sys

import uvicorn

from sarhad.core.feed import closing_event

#: uvicorn's exit code when the server could not start (e.g. the port is taken).
STARTUP_FAILURE = 3


class NodeServer(uvicorn.Server):
    """``uvicorn.Server`` that tells the app it is stopping before waiting for requests."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        closing_event(self.config.app).set()
        await super().shutdown(sockets=sockets)


def serve(config: uvicorn.Config) -> None:
    """Run one server in this process until it is stopped (``uvicorn.run`` for one worker)."""
    config.load()
    server = NodeServer(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is meant to stop
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
