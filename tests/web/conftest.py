"""Web console fixtures: a live node with passwords, cookie clients, and a real Chromium.

No test tool downloads a browser: Playwright drives Debian's ``/usr/bin/chromium``
(``scripts/ensure-chromium.sh`` installs it). Every page a browser test opens has its requests
watched: a request to any host other than the node fails the test, and is aborted so that
nothing ever leaves the machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sarhad.core.auth import CONSOLE, Role, set_password
from support import LiveNode
from web.helpers import PASSWORD, sign_in, username


@pytest.fixture
def web(live: LiveNode) -> LiveNode:
    """The live node with a console password on every staff account."""
    with live.db.session() as s:
        for role in live.tokens:
            set_password(s, username=username(role), password=PASSWORD, actor=CONSOLE.username)
    return live


@pytest.fixture
def browser(web: LiveNode) -> Iterator[Callable[..., httpx.Client]]:
    """Clients with a cookie jar; browser(Role.X) comes back signed in as that role."""
    made: list[httpx.Client] = []

    def make(role: Role | None = None) -> httpx.Client:
        client = httpx.Client(base_url=web.url, timeout=30)
        made.append(client)
        if role is not None:
            r = sign_in(client, username(role))
            assert r.status_code == 303, r.text
        return client

    yield make
    for c in made:
        c.close()


#: Flags that keep Chromium quiet on a closed network (notes/web.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Where screenshots go (kept by CI as artefacts; ignored by git).
ARTIFACTS = Path(os.environ.get("SARHAD_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium for the whole run."""
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed: run scripts/ensure-chromium.sh")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Guard:
    """Records requests that would leave the node, and aborts them."""

    def __init__(self) -> None:
        self.foreign: list[str] = []

    def route(self, route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(width=1366, height=768)``: a fresh browser context and page, host-guarded."""
    contexts: list[Any] = []
    guards: list[Guard] = []

    def make(*, width: int = 1366, height: int = 768) -> Any:
        context = chromium.new_context(viewport={"width": width, "height": height})
        guard = Guard()
        context.route("**/*", guard.route)
        contexts.append(context)
        guards.append(guard)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    foreign = [url for g in guards for url in g.foreign]
    assert not foreign, f"the browser tried to reach other hosts: {foreign}"


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as an artefact: artifacts/screenshots/NAME.png."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
