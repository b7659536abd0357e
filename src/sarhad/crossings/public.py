"""The public status page and feed for traders and travellers (no token, rate-limited).

Per *published* crossing or market (an admin switches each on with
``PUT /api/v1/crossings/{id}/publication``) it gives the status a traveller meets (both sides
combined), the next opening or the next scheduled closing, and each side's regular hours.
Nothing else: no reason, note, declaration, incident, throughput figure, account or node
name. The output is built from an allow-list (``PublicPlace``), never by trimming a staff
schema, so a field added to the staff API cannot leak here.

A declaration marked TLP:RED drives nothing on this page: RED never leaves the node.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from sarhad import __version__
from sarhad.border import BorderProfile
from sarhad.core.api import error_body, node, responses
from sarhad.core.clients import client_address
from sarhad.core.db import utcnow
from sarhad.core.markings import TLP, may_leave
from sarhad.crossings import public_text as words
from sarhad.crossings import service
from sarhad.crossings.taxonomy import WEEKDAYS, Status
from sarhad.crossings.timeline import HORIZON, Period, Segment, combine, timeline

#: How long browsers and proxies may reuse a response without asking again.
CACHE_CONTROL = "public, max-age=60"
#: The page loads only its own stylesheet: no script, no font, no image, no other origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: The same answer for an unknown id and an unpublished one: unpublished ones stay unseen.
NOT_PUBLISHED = "no published crossing or market with this id"


# --- rate limit ----------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled evenly over the minute.

    Kept in memory on purpose: a node serves from one process, and a public status page
    needs no shared store (Redis) to be fair; a restart forgets the counts, which is harmless.
    """

    #: Clients remembered at most; the least recently seen is forgotten first (it then
    #: starts again with a full bucket, which costs nothing but a few extra requests).
    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request of ``key``: 0 when allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.MAX_CLIENTS:
                self._buckets.popitem(last=False)
            return 0.0 if allowed else (1.0 - tokens) / self.rate


def limiter(request: Request) -> RateLimiter:
    """This app's limiter, made on first use (each app, and so each test, has its own).

    Called from the event loop only (the route wrapper is async), so two requests can never
    make two limiters.
    """
    found = getattr(request.app.state, "public_limiter", None)
    if found is None:
        found = RateLimiter(node(request).settings.public_rate_per_minute)
        request.app.state.public_limiter = found
    return found


def _too_many(wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    lines = [
        words.digits(lang, words.text(lang, "too_many").format(seconds=seconds))
        for lang in words.LANGS
    ]
    return PlainTextResponse(
        "\n".join(lines) + "\n",
        status_code=429,
        headers={"Retry-After": str(seconds), "Cache-Control": "no-store"},
    )


class PublicRoute(APIRoute):
    """A public route: rate-limited per client address, every answer with security headers.

    The address is ``core.clients.client_address``: the socket's peer, or what a trusted
    proxy forwards (``SARHAD_TRUSTED_PROXIES``), the same rule as the sign-in throttle.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            wait = limiter(request).take(client_address(request))
            response = _too_many(wait) if wait > 0 else await handle(request)
            response.headers.update(SECURITY_HEADERS)
            return response

        return guarded


# --- what the public sees ------------------------------------------------------------------


class PublicHours(BaseModel):
    """One side's regular hours, in that side's local time."""

    side: str
    days: list[str] = Field(description="mon … sun")
    opens: str = Field(description="HH:MM local time of the side")
    closes: str = Field(description="HH:MM local time of the side; 24:00 is midnight")
    time_zone: str = Field(description="e.g. PKT (UTC+05:00)")


class PublicPlace(BaseModel):
    """A published crossing or market now: status, next opening or closing, hours."""

    id: str
    kind: str = Field(description="crossing or market")
    names: dict[str, str] = Field(description="The name in en, ur and fa")
    status: str = Field(description="open, restricted or closed, as a traveller meets it")
    next_opening: datetime | None = Field(
        description="When closed: the next time both sides are open (UTC); null when closed "
        "until further notice. Null when open now."
    )
    closes_at: datetime | None = Field(
        description="When open: the next scheduled closing (UTC); null when none is scheduled"
    )
    hours: list[PublicHours] = Field(description="Regular hours of each side that has set them")


class PublicFeed(BaseModel):
    """Every published crossing and market."""

    generated_at: datetime
    crossings: list[PublicPlace]


@dataclass(frozen=True)
class Span:
    """A stretch of time with one combined status."""

    start: datetime
    end: datetime
    status: str


def combined(sides: Sequence[Sequence[Segment]], start: datetime, end: datetime) -> list[Span]:
    """The status a traveller meets from ``start`` to ``end``: both sides' timelines combined.

    A side we know nothing of is open all day in its timeline, so it changes nothing.
    """
    cuts = {start, end} | {
        t for segments in sides for s in segments for t in (s.start, s.end) if start < t < end
    }
    out: list[Span] = []
    for a, b in itertools.pairwise(sorted(cuts)):
        status = combine(next(s.status for s in segs if s.start <= a < s.end) for segs in sides)
        if out and out[-1].status == status:
            out[-1] = Span(out[-1].start, b, status)
        else:
            out.append(Span(a, b, status))
    return out


def outlook(spans: Sequence[Span]) -> tuple[str, datetime | None, datetime | None]:
    """(status now, next opening if closed now, next closing if open now)."""
    status = spans[0].status
    if status == Status.CLOSED:
        return status, next((s.start for s in spans if s.status != Status.CLOSED), None), None
    return status, None, next((s.start for s in spans if s.status == Status.CLOSED), None)


def _side_timeline(
    session: Session, *, profile: BorderProfile, crossing_id: str, side: str, at: datetime
) -> list[Segment]:
    rows = service.declarations_of(session, crossing_id=crossing_id, side=side)
    periods = [
        Period(r.id, r.status, r.reason, r.starts_at, r.ends_at)
        for r in rows
        if may_leave(TLP(r.tlp)).ok
    ]
    return timeline(
        periods, service.schedule(session, profile, crossing_id, side), at, at + HORIZON
    )


def public_places(
    session: Session,
    *,
    profile: BorderProfile,
    at: datetime,
    crossing_ids: Iterable[str] | None = None,
) -> list[PublicPlace]:
    """The published crossings and markets at ``at``, as the public sees them."""
    shown = service.published_ids(session)
    wanted = set(crossing_ids) if crossing_ids is not None else None
    out = []
    for p in service.places(profile):
        if p.id not in shown or (wanted is not None and p.id not in wanted):
            continue
        sides = [
            _side_timeline(session, profile=profile, crossing_id=p.id, side=side, at=at)
            for side in profile.sides
        ]
        status, opening, closing = outlook(combined(sides, at, at + HORIZON))
        hours = [
            PublicHours(
                side=side,
                days=[WEEKDAYS[d] for d in sorted(h.days)],
                opens=h.opens,
                closes=h.closes,
                time_zone=service.zone_label(profile, side),
            )
            for side in profile.sides
            if (h := service.get_hours(session, crossing_id=p.id, side=side)) is not None
        ]
        out.append(
            PublicPlace(
                id=p.id,
                kind=p.kind,
                names={lang: p.name(lang) for lang in words.LANGS},
                status=status,
                next_opening=opening,
                closes_at=closing,
                hours=hours,
            )
        )
    return out


# --- the page ------------------------------------------------------------------------------

CSS = """\
body { font-family: system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; margin: 0 auto;
  max-width: 46rem; padding: 1rem; line-height: 1.5; color: #1a1a1a; background: #fff; }
:lang(ur) { font-family: "Noto Nastaliq Urdu", "Jameel Noori Nastaleeq", "Urdu Typesetting",
  serif; line-height: 2.2; }
:lang(fa) { font-family: Vazirmatn, "Noto Sans Arabic", Tahoma, sans-serif; }
:lang(en) { font-family: system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
nav ul { list-style: none; padding: 0; margin: 0; display: flex; gap: 1.5rem; }
nav a[aria-current] { font-weight: bold; text-decoration: none; color: inherit; }
.place { border: 1px solid #bbb; border-radius: .4rem; padding: .25rem 1rem; margin: 1rem 0; }
.kind { color: #555; margin-top: 0; }
.status strong { padding: .1rem .6rem; border-radius: .3rem; }
.open .status strong { background: #d3f2dc; color: #12472a; }
.restricted .status strong { background: #fff0b3; color: #4d3a00; }
.closed .status strong { background: #ffd9d9; color: #6e0000; }
dt { font-weight: bold; }
dd { margin-inline-start: 1rem; }
footer { color: #555; font-size: .9rem; }
"""


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _t(lang: str, key: str) -> str:
    return _e(words.text(lang, key))


def _moment(at: datetime, *, lang: str, profile: BorderProfile, sides: Sequence[str]) -> str:
    """``Monday 2026-11-23 08:00 PKT (06:30 IRST)``: each side's local time, escaped."""
    shown = []
    day = None
    for side in sides:
        t = at.astimezone(profile.local_time(side))
        clock = f"{t:%H:%M} {t.tzname()}"
        if t.date() != day:
            clock = f"{words.WEEKDAY_NAMES[lang][t.weekday()]} {t:%Y-%m-%d} {clock}"
        day = t.date()
        shown.append(clock)
    first, *rest = shown
    text = first + (f" ({' / '.join(rest)})" if rest else "")
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{stamp}">{_e(words.digits(lang, text))}</time>'


def _place_html(
    p: PublicPlace, *, lang: str, profile: BorderProfile, sides: Sequence[str]
) -> list[str]:
    out = [
        f'<section class="place {_e(p.status)}">',
        f"<h2>{_e(p.names.get(lang) or p.names['en'])}</h2>",
        f'<p class="kind">{_t(lang, p.kind)}</p>',
        f'<p class="status"><strong>{_t(lang, p.status)}</strong></p>',
    ]
    if p.next_opening is not None:
        when = _moment(p.next_opening, lang=lang, profile=profile, sides=sides)
        out.append(f"<p>{_t(lang, 'next_opening')}: {when}</p>")
    elif p.status == Status.CLOSED:
        out.append(f"<p>{_t(lang, 'until_further_notice')}</p>")
    elif p.closes_at is not None:
        when = _moment(p.closes_at, lang=lang, profile=profile, sides=sides)
        out.append(f"<p>{_t(lang, 'closes_at')}: {when}</p>")
    out += [f"<h3>{_t(lang, 'hours')}</h3>", "<dl>"]
    by_side = {h.side: h for h in p.hours}
    for side in sides:
        h = by_side.get(side)
        out.append(f"<dt>{_e(words.side(lang, side))}</dt>")
        if h is None:
            out.append(f"<dd>{_t(lang, 'no_hours')}</dd>")
            continue
        days = words.days(lang, [WEEKDAYS.index(d) for d in h.days])
        span = words.digits(lang, f"{h.opens}–{h.closes} {h.time_zone}")
        out.append(f'<dd>{_e(days)}: <bdi dir="ltr">{_e(span)}</bdi></dd>')
    out += ["</dl>", "</section>"]
    return out


def render_page(feed: PublicFeed, *, lang: str, profile: BorderProfile, first_side: str) -> str:
    """The whole page in ``lang``: plain HTML, no script, only its own stylesheet."""
    sides = sorted(profile.sides, key=lambda s: s != first_side)  # ours first
    links = [
        f'<li><a href="?lang={code}" hreflang="{code}" lang="{code}"'
        + (' aria-current="page"' if code == lang else "")
        + f">{_e(words.LANGUAGE_NAMES[code])}</a></li>"
        for code in words.LANGS
    ]
    body: list[str] = []
    for p in feed.crossings:
        body += _place_html(p, lang=lang, profile=profile, sides=sides)
    if not feed.crossings:
        body.append(f"<p>{_t(lang, 'none_published')}</p>")
    updated = _moment(feed.generated_at, lang=lang, profile=profile, sides=sides[:1])
    return "\n".join(
        [
            "<!doctype html>",
            f'<html lang="{lang}" dir="{"rtl" if lang in words.RTL else "ltr"}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_t(lang, 'title')}</title>",
            '<link rel="stylesheet" href="style.css">',
            "</head>",
            "<body>",
            "<header>",
            f'<nav aria-label="{_t(lang, "language")}"><ul>{"".join(links)}</ul></nav>',
            f"<h1>{_t(lang, 'title')}</h1>",
            f"<p>{_t(lang, 'intro')}</p>",
            "</header>",
            "<main>",
            *body,
            "</main>",
            f"<footer><p>{_t(lang, 'updated_at')}: {updated}</p></footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


# --- routes --------------------------------------------------------------------------------

router = APIRouter(
    tags=["public"],
    route_class=PublicRoute,
    responses={
        304: {"description": "Unchanged since the ETag sent in If-None-Match"},
        429: {
            "description": "Too many requests from this address; Retry-After says when to retry",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
)


def _etag(*parts: object) -> str:
    """A weak validator of what is shown: the same status, hours and code give the same tag.

    Weak, because the time of generation in the body changes while the content does not.
    """
    blob = json.dumps([__version__, *parts], sort_keys=True, default=str, ensure_ascii=False)
    return f'W/"{hashlib.sha256(blob.encode()).hexdigest()[:32]}"'


def _fresh(request: Request, etag: str) -> bool:
    """Whether the client's If-None-Match already holds ``etag`` (weak comparison)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _cached(request: Request, etag: str, make: Callable[[], Response]) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _fresh(request, etag):
        return Response(status_code=304, headers=headers)
    response = make()
    response.headers.update(headers)
    return response


def _places(
    request: Request, at: datetime, crossing_ids: Iterable[str] | None = None
) -> list[PublicPlace]:
    n = node(request)
    with n.db.session() as session:
        return public_places(session, profile=n.profile, at=at, crossing_ids=crossing_ids)


def _json(request: Request, content: BaseModel, shown: object) -> Response:
    # Anyone may read the feed from any site: it is public and carries no credentials.
    return _cached(
        request,
        _etag("json", shown),
        lambda: JSONResponse(
            content.model_dump(mode="json"), headers={"Access-Control-Allow-Origin": "*"}
        ),
    )


@router.get("/public/v1/crossings", response_model=PublicFeed)
def public_feed(request: Request) -> Response:
    """Every published crossing and market now; no token needed (rate-limited, cacheable)."""
    at = utcnow()
    items = _places(request, at)
    shown = [i.model_dump(mode="json") for i in items]
    return _json(
        request, PublicFeed(generated_at=at.replace(microsecond=0), crossings=items), shown
    )


@router.get(
    "/public/v1/crossings/{crossing_id}",
    response_model=PublicPlace,
    responses={404: {**responses(404)[404], "description": "Unknown, or not published"}},
)
def public_crossing(request: Request, crossing_id: str) -> Response:
    """One published crossing or market now; 404 alike for unknown and unpublished ids."""
    items = _places(request, utcnow(), [crossing_id])
    if not items:
        return JSONResponse(
            error_body("NotFound", NOT_PUBLISHED),
            status_code=404,
            headers={"Cache-Control": CACHE_CONTROL},
        )
    return _json(request, items[0], items[0].model_dump(mode="json"))


@router.get("/public/crossings", response_class=HTMLResponse)
def public_page(request: Request, lang: str = "en") -> Response:
    """The status page in English, Urdu or Persian (``lang`` en, ur, fa; others: English)."""
    lang = lang if lang in words.LANGS else "en"
    n = node(request)
    at = utcnow()
    feed = PublicFeed(generated_at=at.replace(microsecond=0), crossings=_places(request, at))
    side = n.settings.node_side
    shown = [lang, side, [i.model_dump(mode="json") for i in feed.crossings]]
    return _cached(
        request,
        _etag("page", shown),
        lambda: HTMLResponse(render_page(feed, lang=lang, profile=n.profile, first_side=side)),
    )


@router.get("/public/", include_in_schema=False)
def public_index(lang: str | None = None) -> Response:
    """The page's short address: sends the browser on to the page."""
    target = "crossings" + (f"?lang={lang}" if lang in words.LANGS else "")
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": CACHE_CONTROL})


@router.get("/public/style.css", include_in_schema=False)
def public_style(request: Request) -> Response:
    """The page's stylesheet (served here: the page loads nothing from elsewhere)."""
    return _cached(request, _etag("css", CSS), lambda: Response(CSS, media_type="text/css"))
