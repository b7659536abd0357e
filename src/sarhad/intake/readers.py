"""Articles out of files and feeds: plain text, HTML (Beautiful Soup), RSS/Atom (feedparser)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import feedparser
from bs4 import BeautifulSoup

from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import message


@dataclass(frozen=True)
class Article:
    """An article before it is stored."""

    title: str
    outlet: str
    published: date
    text: str
    url: str | None = None


def html_text(html: str) -> tuple[str, str | None]:
    """The readable text of an HTML page (paragraphs kept apart) and its title."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    heading = soup.find("h1")
    if heading is not None:
        title = heading.get_text(" ", strip=True) or title
        heading.decompose()
    paragraphs = [p.get_text(" ", strip=True) for p in soup.find_all("p")]
    text = "\n\n".join(p for p in paragraphs if p) or soup.get_text(" ", strip=True)
    return " ".join(text.split(" ")), title


def _entry_date(entry: feedparser.FeedParserDict) -> date | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).date()


def feed_articles(data: bytes | str, *, outlet: str | None = None) -> list[Article]:
    """Every entry of an RSS or Atom document with a title and a text."""
    parsed = feedparser.parse(data)
    if parsed.bozo and not parsed.entries:
        raise InvalidInput(
            FieldError.of(
                "file",
                message("news.not_feed", "not an RSS/Atom feed: {why}", why=parsed.bozo_exception),
            )
        )
    name = outlet or parsed.feed.get("title") or "unknown outlet"
    out = []
    for entry in parsed.entries:
        body = entry.get("content", [{}])[0].get("value") if entry.get("content") else None
        body = body or entry.get("summary") or ""
        text, _ = html_text(body) if "<" in body else (body, None)
        title = entry.get("title", "").strip()
        if not title or len(text.strip()) < 20:
            continue
        out.append(
            Article(
                title=title,
                outlet=name[:120],
                published=_entry_date(entry) or datetime.now(UTC).date(),
                text=text,
                url=entry.get("link"),
            )
        )
    return out


def file_articles(
    path: Path, *, title: str | None, outlet: str | None, published: date | None, url: str | None
) -> list[Article]:
    """The articles in a file: a feed (``.xml``, ``.rss``, ``.atom`` or a feed's first bytes),
    an HTML page, or plain text (its first line the title unless one is given)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(
            FieldError.of(
                "file",
                message("news.unreadable", "cannot read {path}: {why}", path=path, why=e.strerror),
            )
        ) from None
    head = raw[:500].lstrip().lower()
    if (
        path.suffix.lower() in (".xml", ".rss", ".atom")
        or head.startswith(b"<?xml")
        or (b"<rss" in head or b"<feed" in head)
    ):
        return feed_articles(raw, outlet=outlet)
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            FieldError.of("file", message("news.not_utf8", "is not UTF-8 text"))
        ) from None
    if path.suffix.lower() in (".html", ".htm") or head.startswith((b"<!doctype html", b"<html")):
        text, found_title = html_text(content)
    else:
        first, _, rest = content.strip().partition("\n")
        text, found_title = (content.strip(), None) if title else (rest.strip(), first.strip())
    if published is None:
        raise InvalidInput(
            FieldError.of(
                "published", message("news.published", "give the publication date (--published)")
            )
        )
    return [
        Article(
            title=(title or found_title or path.stem)[:300],
            outlet=outlet or "unknown outlet",
            published=published,
            text=text,
            url=url,
        )
    ]
