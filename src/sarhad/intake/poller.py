"""The feed poller: the node reads its configured feed URLs every ``news_poll_s`` seconds.

Each round fetches every feed (a failure of one is logged and the others go on) and adds each
entry as an article; an entry read before is recognised by its text and kept once, so a round
repeated after a crash adds nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from sarhad.core.auth import Principal, Role
from sarhad.core.db import Database
from sarhad.core.errors import SarhadError
from sarhad.intake import service
from sarhad.intake.models import InventedNumber
from sarhad.intake.readers import feed_articles

log = logging.getLogger("sarhad.intake")

#: Who the poller acts as in the audit log.
POLLER = Principal("news-poller", Role.ANALYST)
#: The largest feed document read (bytes): a feed is a list of recent items, not an archive.
MAX_FEED_BYTES = 5_000_000


@dataclass
class Round:
    """What one polling round did."""

    articles: int = 0
    duplicates: int = 0
    candidates: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def _fetch(client: httpx.Client, url: str) -> bytes:
    with client.stream("GET", url) as resp:
        resp.raise_for_status()
        body = b""
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) > MAX_FEED_BYTES:
                raise ValueError(f"feed larger than {MAX_FEED_BYTES} bytes")
        return body


def poll(db: Database, urls: list[str], *, timeout_s: float = 20.0) -> Round:
    """Read every feed in ``urls`` once; store its new articles and their candidates."""
    result = Round()
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for url in urls:
            try:
                articles = feed_articles(_fetch(client, url))
            except (httpx.HTTPError, ValueError, SarhadError) as e:
                log.warning("news feed %s: %s", url, e)
                result.failed[url] = str(e)
                continue
            for a in articles:
                try:
                    with db.session() as session:
                        added = service.add_article(
                            session,
                            title=a.title,
                            outlet=a.outlet,
                            published=a.published,
                            text=a.text,
                            url=a.url if a.url and a.url.startswith("http") else None,
                            via="feed",
                            actor=POLLER,
                        )
                except (SarhadError, InventedNumber) as e:
                    log.warning("news feed %s: entry %r refused: %s", url, a.title, e)
                    continue
                if added.duplicate:
                    result.duplicates += 1
                else:
                    result.articles += 1
                    result.candidates += len(added.created)
    return result
