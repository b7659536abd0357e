"""The public status page and feed for traders and travellers (no token, rate-limited).

What they show is the crossings room's (``sarhad.crossings.public``: the published places,
their status, next opening or closing and hours). Here are the routes, the rate limit per
client address, the caching and the page itself: rendered by Jinja
(``templates/public/crossings.html``) from the console's message catalogue, its strings under
the context ``public`` (they speak to travellers, not staff), in English, Urdu and Persian.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from sarhad import __version__
from sarhad.border import BorderProfile
from sarhad.border.api import node
from sarhad.core.api import error_body, responses
from sarhad.core.clients import client_address
from sarhad.core.db import utcnow
from sarhad.crossings.public import PublicFeed, PublicPlace, public_places
from sarhad.crossings.taxonomy import WEEKDAYS
from sarhad.web import i18n, public_fonts

#: How long browsers and proxies may reuse a response without asking again.
CACHE_CONTROL = "public, max-age=60"
#: The page loads only its own stylesheet and fonts: no script, no image, no other origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; font-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: The same answer for an unknown id and an unpublished one: unpublished ones stay unseen.
NOT_PUBLISHED = "no published crossing or market with this id"
TEMPLATE = "public/crossings.html"
STYLESHEET = i18n.TEMPLATES / "public" / "style.css"


# --- words of the page (the catalogue, context "public") ------------------------------------


@dataclass(frozen=True)
class Words:
    """What the page says in one language outside its template: days, sides, messages."""

    lang: str
    weekdays: tuple[str, ...]  # Monday first, the order of ``taxonomy.WEEKDAYS``
    sides: dict[str, str]
    list_sep: str
    too_many: str  # with ``{seconds}``

    def digits(self, value: str) -> str:
        """``value`` with the digits of the language."""
        return i18n.digits(value, self.lang)

    def side(self, code: str) -> str:
        """``Pakistan side``; the bare code for a side the page has no words for."""
        return self.sides.get(code, code)

    def days(self, numbers: Sequence[int]) -> str:
        """``Monday–Saturday`` for runs of three or more days, else the days listed."""
        runs: list[list[int]] = []
        for d in sorted(numbers):
            if runs and d == runs[-1][-1] + 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        names = self.weekdays
        return self.list_sep.join(
            f"{names[r[0]]}–{names[r[-1]]}"
            if len(r) >= 3
            else self.list_sep.join(names[d] for d in r)
            for r in runs
        )


@functools.cache
def words(lang: str) -> Words:
    """The page's words in ``lang`` from the catalogue (English: the source strings)."""
    t = i18n.translations(lang)
    # Each string written out in a pgettext call of its own: that is what Babel extracts.
    return Words(
        lang=lang,
        weekdays=(
            t.pgettext("public", "Monday"),
            t.pgettext("public", "Tuesday"),
            t.pgettext("public", "Wednesday"),
            t.pgettext("public", "Thursday"),
            t.pgettext("public", "Friday"),
            t.pgettext("public", "Saturday"),
            t.pgettext("public", "Sunday"),
        ),
        sides={
            "PK": t.pgettext("public", "Pakistan side"),
            "IR": t.pgettext("public", "Iran side"),
        },
        list_sep=t.pgettext("public", ", "),  # between the items of a list: "Monday, Friday"
        too_many=t.pgettext(
            "public", "Too many requests from your address: try again in {seconds} seconds."
        ),
    )


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
    found: RateLimiter | None = getattr(request.app.state, "public_limiter", None)
    if found is None:
        found = RateLimiter(node(request).settings.public_rate_per_minute)
        request.app.state.public_limiter = found
    return found


def _too_many(wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    lines = [w.digits(w.too_many.format(seconds=seconds)) for w in map(words, i18n.LANGUAGES)]
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
        """The route's handler behind the rate limit, with the security headers added."""
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            wait = limiter(request).take(client_address(request))
            response = _too_many(wait) if wait > 0 else await handle(request)
            response.headers.update(SECURITY_HEADERS)
            return response

        return guarded


# --- the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A time as the page shows it: UTC for ``<time datetime>``, and local text."""

    stamp: str
    text: str


@dataclass(frozen=True)
class HoursLine:
    """One side's regular hours as shown (``days`` empty: the side has set none)."""

    side: str
    days: str
    span: str


@dataclass(frozen=True)
class PlaceView:
    """One published place as the page shows it."""

    name: str
    kind: str
    status: str
    opening: Moment | None
    closing: Moment | None
    hours: list[HoursLine]


def moment(at: datetime, *, w: Words, profile: BorderProfile, sides: Sequence[str]) -> Moment:
    """``Monday 2026-11-23 08:00 PKT (06:30 IRST)``: each side's local time."""
    shown = []
    day = None
    for side in sides:
        t = at.astimezone(profile.local_time(side))
        clock = f"{t:%H:%M} {t.tzname()}"
        if t.date() != day:
            clock = f"{w.weekdays[t.weekday()]} {t:%Y-%m-%d} {clock}"
        day = t.date()
        shown.append(clock)
    first, *rest = shown
    text = first + (f" ({' / '.join(rest)})" if rest else "")
    return Moment(at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), w.digits(text))


def place_view(
    p: PublicPlace, *, w: Words, profile: BorderProfile, sides: Sequence[str]
) -> PlaceView:
    """What the page shows of one place in the language of ``w``."""

    def at(t: datetime) -> Moment:
        return moment(t, w=w, profile=profile, sides=sides)

    by_side = {h.side: h for h in p.hours}
    hours = []
    for side in sides:
        h = by_side.get(side)
        if h is None:
            hours.append(HoursLine(w.side(side), "", ""))
        else:
            days = w.days([WEEKDAYS.index(d) for d in h.days])
            hours.append(
                HoursLine(w.side(side), days, w.digits(f"{h.opens}–{h.closes} {h.time_zone}"))
            )
    return PlaceView(
        name=p.names.get(w.lang) or p.names["en"],
        kind=p.kind,
        status=p.status,
        opening=None if p.next_opening is None else at(p.next_opening),
        closing=None if p.closes_at is None else at(p.closes_at),
        hours=hours,
    )


def render_page(feed: PublicFeed, *, lang: str, profile: BorderProfile, first_side: str) -> str:
    """The whole page in ``lang``: plain HTML, no script, only its own stylesheet."""
    sides = sorted(profile.sides, key=lambda s: s != first_side)  # ours first
    w = words(lang)
    return (
        i18n.environments()[lang]
        .get_template(TEMPLATE)
        .render(
            lang=lang,
            dir=i18n.direction(lang),
            languages=i18n.LANGUAGES,
            places=[place_view(p, w=w, profile=profile, sides=sides) for p in feed.crossings],
            updated=moment(feed.generated_at, w=w, profile=profile, sides=sides[:1]),
        )
    )


@functools.cache
def stylesheet() -> str:
    """The page's stylesheet (read once), after the ``@font-face`` rules of its own fonts."""
    return public_fonts.font_faces() + STYLESHEET.read_text(encoding="utf-8")


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
    request: Request, at: datetime, crossing_ids: Sequence[str] | None = None
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
    # qps: the pseudo-locale of the language tests (every catalogued string marked).
    lang = lang if lang in i18n.LANGUAGES or lang == i18n.PSEUDO else i18n.DEFAULT
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
    target = "crossings" + (f"?lang={lang}" if lang in i18n.LANGUAGES else "")
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": CACHE_CONTROL})


@router.get("/public/fonts/{name}.woff2", include_in_schema=False)
def public_font(request: Request, name: str) -> Response:
    """A font of the page, cut to its glyphs (sarhad.web.public_fonts); cached for a day."""
    data = public_fonts.font(name)
    if data is None:
        return Response(status_code=404, headers={"Cache-Control": CACHE_CONTROL})
    return _cached(
        request,
        _etag("font", name, hashlib.sha256(data).hexdigest()),
        lambda: Response(data, media_type="font/woff2"),
    )


@router.get("/public/style.css", include_in_schema=False)
def public_style(request: Request) -> Response:
    """The page's stylesheet (served here: the page loads nothing from elsewhere)."""
    css = stylesheet()
    return _cached(request, _etag("css", css), lambda: Response(css, media_type="text/css"))
