"""Deeply nested JSON from a partner's server or in a bundle file is refused with a reason,
never a crash: the same depth check as for requests (sarhad.core.json_depth)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sarhad.core.auth import CONSOLE
from sarhad.core.errors import InvalidInput
from sarhad.federation.service import import_bundle_file
from sarhad.sharing import service as sharing
from support import LiveNode, start_server

from .helpers import PROFILE, sync

DEEP = b"[" * 200_000
MEDIA = "application/taxii+json;version=2.1"


@pytest.fixture
def hostile() -> Iterator[str]:
    """A TAXII server that answers every request with JSON nested 200,000 deep."""

    def deep(status: int) -> Callable[[Request], Response]:
        return lambda _request: Response(DEEP, status_code=status, media_type=MEDIA)

    app = Starlette(
        routes=[
            Route("/api/collections/", deep(200)),
            Route("/api/broken/collections/", deep(500)),
        ]
    )
    server, thread, url = start_server(app)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(("root", "said"), [("api", "nested 200000"), ("api/broken", "500")])
def test_a_partner_answering_deep_json_is_a_sync_error(
    live: LiveNode, hostile: str, root: str, said: str
) -> None:
    with live.db.session() as s:
        sharing.add_partner(
            s, name="deep-node", country="IR", taxii_url=f"{hostile}/{root}/", actor=CONSOLE
        )
    report = sync(live, "deep-node")
    assert report.error is not None and said in report.error


def test_a_deep_bundle_file_is_an_input_error(live: LiveNode, tmp_path: Path) -> None:
    with live.db.session() as s:
        sharing.add_partner(s, name="pk-air", country="PK", actor=CONSOLE)
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"header": ' + DEEP)
    with pytest.raises(InvalidInput, match="nested 200001 levels deep"):
        import_bundle_file(
            live.db, settings=live.settings, profile=PROFILE, partner="pk-air", path=path
        )
