"""The node reads its configured feeds: an RSS feed served on loopback by a real HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.intake.models import NewsArticle, NewsCandidate
from sarhad.intake.poller import poll
from sarhad.intake.readers import feed_articles
from support import LiveNode, wait_for

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Balochistan Desk</title>
<item><title>Two Levies men martyred in Washuk</title>
<link>https://example.invalid/a1</link>
<pubDate>Tue, 17 Mar 2026 08:00:00 +0500</pubDate>
<description>&lt;p&gt;Two Levies personnel were martyred when gunmen ambushed a checkpost in
Washuk district late on Sunday, officials said.&lt;/p&gt;</description></item>
<item><title>Diesel seized near Jiwani</title>
<link>https://example.invalid/a2</link>
<pubDate>Tue, 17 Mar 2026 09:00:00 +0500</pubDate>
<description>Coast guards seized 4,000 litres of smuggled diesel near Jiwani on Monday.
</description>
</item></channel></rss>"""


class _Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/feed.xml":
            self.send_error(404)
            return
        body = RSS.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_round_reads_every_entry_once_and_a_broken_feed_does_not_stop_the_others(
    db: Database, feed_server: str
) -> None:
    urls = [f"{feed_server}/missing.xml", f"{feed_server}/feed.xml"]
    first = poll(db, urls)
    assert (first.articles, first.candidates) == (2, 2)
    assert list(first.failed) == [f"{feed_server}/missing.xml"]
    again = poll(db, urls)  # the same feed read again: nothing twice
    assert (again.articles, again.duplicates) == (0, 2)
    with db.session() as s:
        outlets = set(s.scalars(select(NewsArticle.outlet)))
        cats = sorted(s.scalars(select(NewsCandidate.category)))
    assert outlets == {"Balochistan Desk"}
    assert cats == ["armed_attack", "smuggling_fuel"]


def test_the_node_polls_its_configured_feeds_and_runs_without_any(spawn, feed_server: str) -> None:
    with_feed: LiveNode = spawn(
        "news-node", "PK", workers=True, news_feeds=f"{feed_server}/feed.xml", news_poll_s=0.2
    )

    def stored() -> int:
        with with_feed.db.session() as s:
            return s.scalar(select(func.count()).select_from(NewsCandidate)) or 0

    wait_for(lambda: stored() == 2, what="the node to read its feed")
    with with_feed.client(role=None) as c:
        loops = {x["name"] for x in c.get("/readyz").json()["loops"]}
    assert "news" in loops
    assert Settings(news_feeds="").news_feeds == []
    with pytest.raises(ValueError, match="http"):
        Settings(news_feeds="file:///etc/passwd")


def test_feed_entries_without_text_are_skipped() -> None:
    empty = (
        "<rss><channel><title>x</title><item><title>Headline only</title></item></channel></rss>"
    )
    assert feed_articles(empty) == []
    assert [a.published.isoformat() for a in feed_articles(RSS)] == ["2026-03-17"] * 2
