"""The public status feed and page: what travellers see, and that nothing else gets out."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.requests import Request

from sarhad.border import BorderProfile
from sarhad.core.auth import CONSOLE, Principal, Role, add_user, issue_token
from sarhad.core.clients import client_address
from sarhad.core.db import Database, get_node_id
from sarhad.crossings.declarations import declare
from sarhad.crossings.hours import set_hours
from sarhad.crossings.public import LANGS, public_places
from sarhad.crossings.publication import set_published
from sarhad.crossings.received import (
    InboundDeclaration,
    receive_declaration,
    receive_hours,
    receive_throughput,
)
from sarhad.crossings.schemas import DeclarationIn, HoursIn
from sarhad.sharing import service as sharing
from sarhad.web import i18n
from sarhad.web.public_pages import RateLimiter, words
from support import LiveNode

SUNDAY = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # 11:00 PKT, 09:30 IRST
MONDAY = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 11:00 PKT, 09:30 IRST
MON_SAT = ["mon", "tue", "wed", "thu", "fri", "sat"]
ADMIN = Principal("admin-desk", Role.ADMIN)

# Distinctive values that must never be reachable without a token.
NOTE = "NOTE-SECRET-123"
INCIDENT_TITLE = "Incident title SECRET-7731"
USERNAME = "zarghun-desk-secret"
NODE_NAME = "pk-node-secret-4410"
PARTNER = "ir-partner-secret-9"
PARTNER_NOTE = "PARTNER-NOTE-SECRET-456"
FIGURES = ("98765", "87654", "76543", "6543210", "55555", "4444444")
# Words of staff records: none may appear on a public route.
STAFF_WORDS = (
    "partner", "reason", "note", "protest", "security_incident", "incident", "declar",
    "throughput", "vehicle", "truck", "tlp", "origin", "since", "created_by", "username",
)  # fmt: skip


def _inbound(crossing: str, **kw: Any) -> InboundDeclaration:
    base: dict[str, Any] = {
        "id": "7d1c4f0e-0000-4000-8000-000000000001",
        "crossing_id": crossing,
        "side": "IR",
        "status": "closed",
        "reason": "protest",
        "note": PARTNER_NOTE,
        "starts_at": SUNDAY - timedelta(days=1),
        "ends_at": None,
        "planned": False,
        "incident_ids": (),
        "tlp": "amber",
        "withdrawn": False,
        "version": 1,
        "created_at": SUNDAY - timedelta(days=1),
        "modified": SUNDAY - timedelta(days=1),
    }
    return InboundDeclaration(**{**base, **kw})


def _partner_hours(db: Database, profile: BorderProfile, crossing: str) -> None:
    with db.session() as s:
        receive_hours(
            s, crossing_id=crossing, side="IR", days=[0, 1, 2, 3, 4, 5], opens="08:00",
            closes="16:00", partner_name=PARTNER, partner_side="IR", profile=profile,
            modified=SUNDAY - timedelta(days=2),
        )  # fmt: skip


def _declare(db: Database, profile: BorderProfile, duty: Principal, **kw: Any) -> str:
    body = {"crossing": "taftan-mirjaveh", "status": "closed", "reason": "weather", **kw}
    with db.session() as s:
        row = declare(
            s, data=DeclarationIn.model_validate(body), side="PK", actor=duty, profile=profile,
            now=SUNDAY - timedelta(days=3),
        )  # fmt: skip
        return row.id


def _status(db: Database, profile: BorderProfile, at: datetime) -> dict[str, dict[str, Any]]:
    with db.session() as s:
        return {p.id: p.model_dump() for p in public_places(s, profile=profile, at=at)}


# --- what the status says ------------------------------------------------------------------


def test_status_next_opening_and_closing_combine_both_sides(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    with db.session() as s:
        for crossing in ("taftan-mirjaveh", "gabd-rimdan", "mand-pishin"):
            set_published(s, crossing_id=crossing, published=True, actor=ADMIN, profile=profile)
            set_hours(
                s, crossing_id=crossing, data=HoursIn(days=MON_SAT, opens="08:00",
                closes="17:00"), side="PK", actor=duty, profile=profile,
            )  # fmt: skip
    # Our hours alone: shut on Sunday, open on Monday 08:00 PKT = 03:00Z.
    sunday = _status(db, profile, SUNDAY)
    assert set(sunday) == {"taftan-mirjaveh", "gabd-rimdan", "mand-pishin"}  # market unpublished
    taftan = sunday["taftan-mirjaveh"]
    assert (taftan["status"], taftan["next_opening"], taftan["closes_at"]) == (
        "closed", datetime(2026, 11, 30, 3, 0, tzinfo=UTC), None,
    )  # fmt: skip
    assert taftan["hours"] == [
        {"side": "PK", "days": MON_SAT, "opens": "08:00", "closes": "17:00",
         "time_zone": "PKT (UTC+05:00)"},
    ]  # fmt: skip
    assert taftan["names"]["ur"] == "تفتان–میرجاوہ"

    # With the partner's hours (08:00–16:00 IRST) the crossing is open only when both are:
    # from 04:30Z (08:00 IRST) to 12:00Z (17:00 PKT).
    _partner_hours(db, profile, "gabd-rimdan")
    gabd = _status(db, profile, SUNDAY)["gabd-rimdan"]
    assert gabd["next_opening"] == datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
    assert [h["side"] for h in gabd["hours"]] == ["PK", "IR"]
    assert gabd["hours"][1]["time_zone"] == "IRST (UTC+03:30)"
    monday = _status(db, profile, MONDAY)["gabd-rimdan"]
    assert (monday["status"], monday["next_opening"], monday["closes_at"]) == (
        "open", None, datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )  # fmt: skip

    # The partner closes its side on Monday: the next opening moves to Tuesday 04:30Z.
    with db.session() as s:
        receive_declaration(
            s, data=_inbound("gabd-rimdan", starts_at=SUNDAY, ends_at=datetime(2026, 12, 1, 0, 0,
            tzinfo=UTC)), partner_name=PARTNER, partner_node_id=None, partner_side="IR",
            profile=profile,
        )  # fmt: skip
    gabd = _status(db, profile, SUNDAY)["gabd-rimdan"]
    assert (gabd["status"], gabd["next_opening"]) == (
        "closed", datetime(2026, 12, 1, 4, 30, tzinfo=UTC),
    )  # fmt: skip

    # A closure until further notice has no next opening.
    _declare(db, profile, duty, crossing="mand-pishin", starts_at=SUNDAY - timedelta(days=2))
    mand = _status(db, profile, MONDAY)["mand-pishin"]
    assert (mand["status"], mand["next_opening"], mand["closes_at"]) == ("closed", None, None)

    # A TLP:RED declaration never leaves the node, so it drives nothing public.
    _declare(db, profile, duty, starts_at=MONDAY - timedelta(hours=1), tlp="red")
    taftan = _status(db, profile, MONDAY)["taftan-mirjaveh"]
    assert (taftan["status"], taftan["closes_at"]) == (
        "open", datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )  # fmt: skip


# --- publication, caching, languages (a real node) -----------------------------------------


def test_only_what_an_admin_published_is_public(live: LiveNode) -> None:
    with live.client(None) as anon:
        assert anon.get("/public/v1/crossings").json()["crossings"] == []
        unknown = anon.get("/public/v1/crossings/wagah")
        unpublished = anon.get("/public/v1/crossings/gabd-rimdan")
        assert unknown.status_code == unpublished.status_code == 404
        assert unknown.json() == unpublished.json()  # an unpublished id is not revealed
    with live.client(Role.DUTY_OFFICER) as c:
        r = c.put("/api/v1/crossings/gabd-rimdan/publication", json={"published": True})
        assert r.status_code == 403
    with live.client(Role.ADMIN) as c:
        r = c.put("/api/v1/crossings/gabd-rimdan/publication", json={"published": True})
        assert r.status_code == 200
    with live.client(None) as anon:
        feed = anon.get("/public/v1/crossings").json()
        assert [p["id"] for p in feed["crossings"]] == ["gabd-rimdan"]
        one = anon.get("/public/v1/crossings/gabd-rimdan")
        assert one.status_code == 200 and one.json() == feed["crossings"][0]
        assert one.json()["status"] == "open"  # no hours, no declaration: open all day
    with live.client(Role.ADMIN) as c:
        c.put("/api/v1/crossings/gabd-rimdan/publication", json={"published": False})
    with live.client(None) as anon:
        assert anon.get("/public/v1/crossings").json()["crossings"] == []
        assert anon.get("/public/v1/crossings/gabd-rimdan").status_code == 404


def test_feed_and_page_are_cacheable_until_the_status_changes(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        c.put("/api/v1/crossings/taftan-mirjaveh/publication", json={"published": True})
    with live.client(None) as anon:
        for path in ("/public/v1/crossings", "/public/crossings?lang=ur", "/public/style.css"):
            first = anon.get(path)
            assert first.status_code == 200
            assert first.headers["cache-control"] == "public, max-age=60"
            etag = first.headers["etag"]
            again = anon.get(path, headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.content == b""
            assert again.headers["etag"] == etag
        feed_tag = anon.get("/public/v1/crossings").headers["etag"]
        page_tag = anon.get("/public/crossings?lang=ur").headers["etag"]
        assert anon.get("/public/crossings?lang=fa").headers["etag"] != page_tag
    with live.client(Role.DUTY_OFFICER) as c:
        closure = {"crossing": "taftan-mirjaveh", "status": "closed", "reason": "weather"}
        assert c.post("/api/v1/crossings/declarations", json=closure).status_code == 201
    with live.client(None) as anon:
        changed = anon.get("/public/v1/crossings", headers={"If-None-Match": feed_tag})
        assert changed.status_code == 200 and changed.headers["etag"] != feed_tag
        place = changed.json()["crossings"][0]
        assert (place["status"], place["next_opening"]) == ("closed", None)  # further notice
        page = anon.get("/public/crossings?lang=ur", headers={"If-None-Match": page_tag})
        assert page.status_code == 200


def _attributes(page: str, name: str) -> list[str]:
    return re.findall(rf'\b{name}="([^"]*)"', page)


def test_page_in_english_urdu_and_persian(live: LiveNode) -> None:
    with live.client(Role.ADMIN) as c:
        for crossing in ("taftan-mirjaveh", "mand-pishin-market"):
            c.put(f"/api/v1/crossings/{crossing}/publication", json={"published": True})
    with live.client(Role.DUTY_OFFICER) as c:
        every_day = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "opens": "00:00",
                     "closes": "24:00"}  # fmt: skip
        r = c.put("/api/v1/crossings/mand-pishin-market/hours", json=every_day)
        assert r.status_code == 200
        closure = {"crossing": "taftan-mirjaveh", "status": "closed", "reason": "weather"}
        assert c.post("/api/v1/crossings/declarations", json=closure).status_code == 201
    expected = {
        "en": ("ltr", "Taftan–Mirjaveh", "Closed", "Closed until further notice",
               "Monday–Sunday", "00:00–24:00 PKT"),
        "ur": ("rtl", "تفتان–میرجاوہ", "بند", "تا حکمِ ثانی بند", "پیر–اتوار", "00:00–24:00 PKT"),
        "fa": ("rtl", "میرجاوه–تفتان", "بسته", "تا اطلاع ثانوی بسته", "دوشنبه–یکشنبه",
               "۰۰:۰۰–۲۴:۰۰ PKT"),
    }  # fmt: skip
    with live.client(None) as anon:
        for lang, (direction, name, closed, notice, days, span) in expected.items():
            r = anon.get("/public/crossings", params={"lang": lang})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            page = r.text
            assert f'<html lang="{lang}" dir="{direction}">' in page
            tr = i18n.translations(lang)
            for shown in (name, f"<strong>{closed}</strong>", notice, days, span,
                          tr.pgettext("public", "Border market")):  # fmt: skip
                assert shown in page, (lang, shown)
            # The market is open at all hours: open now.
            assert f"<strong>{tr.pgettext('public', 'Open')}</strong>" in page
            assert sorted(_attributes(page, "hreflang")) == ["en", "fa", "ur"]  # the switch
            # Nothing from elsewhere and no script: only relative links to this page and CSS.
            assert "<script" not in page.lower()
            assert set(_attributes(page, "href")) == {"style.css", "?lang=en", "?lang=ur",
                                                      "?lang=fa"}  # fmt: skip
            assert _attributes(page, "src") == []
            assert "default-src 'none'" in r.headers["content-security-policy"]
            assert "style-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
        css = anon.get("/public/style.css")
        assert css.headers["content-type"].startswith("text/css")
        # Only the page's own fonts, from this node (font-src 'self'): relative urls, no import.
        urls = re.findall(r"url\(([^)]*)\)", css.text)
        assert urls and all(re.fullmatch(r'"fonts/[a-z]+-\d00\.woff2"', u) for u in urls), urls
        assert "@import" not in css.text
        assert anon.get("/public/crossings", params={"lang": "de"}).text.startswith(
            '<!doctype html>\n<html lang="en" dir="ltr">'
        )
        short = anon.get("/public/", params={"lang": "fa"}, follow_redirects=True)
        assert str(short.url).endswith("/public/crossings?lang=fa")
        assert 'lang="fa"' in short.text


def test_the_pages_words_come_from_the_catalogue_in_each_language() -> None:
    """tests/web/test_i18n.py checks every string has its translation; here, that the page's
    own words are the travellers' ones and the formatting rules hold."""
    for lang in LANGS:
        w = words(lang)
        assert len(set(w.weekdays)) == 7 and all(w.weekdays), lang
        assert "{seconds}" in w.too_many and w.side("PK") != "PK", lang
    for key in ("Open", "Restricted", "Closed", "Next opening", "Closed until further notice"):
        shown = [i18n.translations(lang).pgettext("public", key) for lang in LANGS]
        assert shown[0] == key and key not in shown[1:] and all(shown), key
    assert words("en").days([0, 1, 2, 4]) == "Monday–Wednesday, Friday"
    assert words("fa").days([5, 6]) == "شنبه، یکشنبه"
    assert words("fa").digits("08:00–17:30") == "۰۸:۰۰–۱۷:۳۰"
    assert words("ur").digits("08:00") == "08:00"
    # The public page keeps its own wording where the console says it otherwise.
    assert i18n.translations("fa").pgettext("public", "Restricted") == "با محدودیت"
    assert i18n.translations("fa").gettext("Restricted") == "محدود"


# --- rate limit ----------------------------------------------------------------------------


def test_rate_limit_per_client_address(spawn: Any) -> None:
    node = spawn("pk-rate", "PK", public_rate_per_minute=5)
    with node.client(None) as anon:
        anon.headers.update(VISITOR)
        for _ in range(5):
            assert anon.get("/public/v1/crossings").status_code == 200
        over = anon.get("/public/crossings")
        assert over.status_code == 429
        assert int(over.headers["retry-after"]) >= 1
        assert over.headers["content-type"].startswith("text/plain")
        seconds = over.headers["retry-after"]
        assert f"try again in {seconds} seconds" in over.text  # and in Urdu and Persian
        assert "سیکنڈ" in over.text and "ثانیه" in over.text
        assert over.headers["x-content-type-options"] == "nosniff"
        # Staff routes are not counted against the public limit.
        assert anon.get("/api/v1/crossings").status_code == 401
    # Another address (loopback has all of 127/8) has its own allowance.
    other = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=node.url, transport=other) as neighbour:
        assert neighbour.get("/public/v1/crossings").status_code == 200


def test_limiter_refills_over_the_minute_and_forgets_idle_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(6, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
    assert limiter.take("a") == pytest.approx(10.0)  # one request per 10 s refills
    assert limiter.take("b") == 0.0
    now[0] = 10.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    limiter.MAX_CLIENTS = 2
    limiter.take("b")
    limiter.take("c")  # "a" was seen least recently: forgotten, it starts full again
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6


def _request(host: str) -> Request:
    return Request({"type": "http", "client": (host, 4000), "headers": [], "method": "GET"})


def test_clients_are_told_apart_by_address_and_ipv6_by_their_64() -> None:
    assert client_address(_request("203.0.113.9")) == "203.0.113.9"
    assert client_address(_request("2001:db8:1:2::5")) == client_address(
        _request("2001:db8:1:2:ff::1")
    )
    assert client_address(_request("2001:db8:1:2::5")) != client_address(
        _request("2001:db8:1:3::5")
    )
    assert client_address(_request("::ffff:203.0.113.9")) == "203.0.113.9"


# --- no leaks: every route of the app, without a token -------------------------------------

INCIDENT = {
    "title": INCIDENT_TITLE,
    "category": "smuggling_fuel",
    "occurred_at": "2026-11-21T02:00:00Z",
    "location": {"lon": 61.52311, "lat": 28.98277, "precision": "near"},
    "reporting_side": "PK",
    "tlp": "green",
}
THROUGHPUT = {
    "crossing": "taftan-mirjaveh", "day": "2026-11-20", "vehicles": 98765, "trucks": 87654,
    "pedestrians": 76543, "fuel_litres": 6543210,
    "goods": [{"commodity": "food_staples", "quantity": 55555, "unit": "kg", "value": 4444444,
               "currency": "PKR"}],
}  # fmt: skip
PUBLIC_PATHS = {
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/healthz",
    "/readyz",  # says only whether the node is ready, for load balancers
}
#: Metrics name partners: open only to the node's own machine, never to a relayed visitor.
TOKEN_ONLY = {"/metrics"}
#: What a visitor from outside sends through the node's reverse proxy.
VISITOR = {"X-Forwarded-For": "203.0.113.9"}
#: The web console's sign-in page: open to anyone, and it must say nothing about the node.
CONSOLE_OPEN = {"/signin"}


def _secrets_of(node: LiveNode) -> dict[str, Any]:
    """Fill the node with staff-only data; return the values that must stay inside."""
    with node.db.session() as s:
        add_user(s, username=USERNAME, role=Role.DUTY_OFFICER, actor=CONSOLE.username)
        token = issue_token(s, username=USERNAME, actor=CONSOLE.username)
        sharing.add_partner(s, name=PARTNER, country="IR", actor=CONSOLE)
        node_id = get_node_id(s)
    desk = httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {token}"})
    with desk, node.client(Role.ADMIN) as admin:
        incident = desk.post("/api/v1/incidents", json=INCIDENT).json()["id"]
        closure = {
            "crossing": "taftan-mirjaveh", "status": "closed", "reason": "security_incident",
            "note": NOTE, "incident_ids": [incident],
        }  # fmt: skip
        r = desk.post("/api/v1/crossings/declarations", json=closure)
        assert r.status_code == 201, r.text
        declaration = r.json()["id"]
        hours = {"days": MON_SAT, "opens": "08:00", "closes": "17:00"}
        assert desk.put("/api/v1/crossings/mand-pishin/hours", json=hours).status_code == 200
        assert desk.post("/api/v1/crossings/throughput", json=THROUGHPUT).status_code == 201
        for crossing in ("taftan-mirjaveh", "mand-pishin"):
            body = {"published": True}
            assert admin.put(f"/api/v1/crossings/{crossing}/publication", json=body).is_success
    profile = node.server.config.app.state.node.profile  # type: ignore[attr-defined]
    partner_declaration = "7d1c4f0e-0000-4000-8000-0000000000aa"
    with node.db.session() as s:
        now = datetime.now(UTC)
        receive_declaration(
            s, data=_inbound("mand-pishin", id=partner_declaration, starts_at=now - timedelta(
            hours=1), created_at=now, modified=now), partner_name=PARTNER,
            partner_node_id="0b5d7c8e-1111-4111-8111-111111111111", partner_side="IR",
            profile=profile,
        )  # fmt: skip
        receive_throughput(
            s, crossing_id="mand-pishin", side="IR", day=date(2026, 11, 20),
            values={"vehicles": 98765, "trucks": 87654, "pedestrians": 76543,
                    "fuel_litres": 6543210.0, "goods": [], "tlp": "amber"},
            partner_name=PARTNER, partner_node_id=None, partner_side="IR", profile=profile,
            modified=now,
        )  # fmt: skip
    return {
        "strings": [NOTE, PARTNER_NOTE, INCIDENT_TITLE, USERNAME, NODE_NAME, PARTNER, *FIGURES,
                    "0b5d7c8e-1111-4111-8111-111111111111"],
        "ids": [incident, declaration, partner_declaration, node_id, token],
    }  # fmt: skip


def _paths(template: str, values: list[str]) -> list[str]:
    names = re.findall(r"{(\w+)(?::\w+)?}", template)
    if not names:
        return [template]
    return [re.sub(r"{\w+(?::\w+)?}", value, template) for value in values]


def test_walking_every_route_without_a_token_reveals_nothing(spawn: Any) -> None:
    node = spawn(NODE_NAME, "PK", public_rate_per_minute=100_000)
    secrets = _secrets_of(node)
    forbidden = secrets["strings"] + secrets["ids"]
    app = node.server.config.app
    routes = [r for r in iter_route_contexts(app.routes) if r.path]
    assert {r.path for r in routes} >= {"/public/v1/crossings", "/public/crossings",
                                        "/api/v1/crossings/{crossing}/publication"}  # fmt: skip
    values = ["taftan-mirjaveh", "gabd-rimdan", "wagah", *secrets["ids"][:3], PARTNER]
    reachable: set[str] = set()
    with node.client(None) as anon:
        anon.headers.update(VISITOR)
        for route in routes:
            for path, method in itertools.product(
                _paths(route.path, values), ("GET", "POST", "PUT", "PATCH", "DELETE")
            ):
                r = anon.request(method, path, json={} if method != "GET" else None)
                # A console page sends the visitor to sign in, naming the page asked for.
                to_signin = r.status_code == 303 and r.headers.get("location", "").startswith(
                    "/signin?"
                )
                headers = [v for k, v in r.headers.items() if not (to_signin and k == "location")]
                seen = (r.text + " ".join(headers)).lower()
                leaked = [s for s in forbidden if s.lower() in seen]
                assert not leaked, (method, path, leaked)
                public = route.path.startswith("/public/")
                if public:
                    words = [w for w in STAFF_WORDS if w in r.text.lower()]
                    assert not words, (method, path, words)
                elif route.path.startswith(("/api/", "/taxii2")) or route.path in TOKEN_ONLY:
                    expected = {401} if method in (route.methods or ()) else {401, 404, 405}
                    assert r.status_code in expected, (method, path, r.status_code)
                elif route.path not in PUBLIC_PATHS | CONSOLE_OPEN:
                    # Console pages: to the sign-in page, or refused (no CSRF token, no page);
                    # 307 is the static mount adding its slash.
                    assert r.status_code in {303, 307, 403, 404, 405}, (method, path, r.status_code)
                if r.status_code < 300 or (public and r.status_code < 400):
                    reachable.add(route.path)
        # The page in every language says nothing more than the feed.
        for lang in LANGS:
            page = anon.get("/public/crossings", params={"lang": lang}).text.lower()
            assert not [s for s in [*forbidden, *STAFF_WORDS] if s.lower() in page], lang
        feed = anon.get("/public/v1/crossings").json()
    assert reachable == PUBLIC_PATHS | CONSOLE_OPEN | {
        "/public/v1/crossings", "/public/v1/crossings/{crossing_id}", "/public/crossings",
        "/public/", "/public/style.css",
    }  # fmt: skip
    assert {p["id"]: p["status"] for p in feed["crossings"]} == {
        "taftan-mirjaveh": "closed",  # our closure
        "mand-pishin": "closed",  # the partner's closure, combined with our open hours
    }
    assert set(feed["crossings"][0]) == {
        "id", "kind", "names", "status", "next_opening", "closes_at", "hours",
    }  # fmt: skip
