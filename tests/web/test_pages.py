"""The console's pages: what each role sees, security headers, and no inline code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sarhad.core.auth import ROLE_PERMISSIONS, Permission, Role
from sarhad.web.pages import NAV
from support import introduce
from web.helpers import csrf_of, partner_says_open

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "sarhad" / "web" / "templates"
STAFF = [r for r in Role if r is not Role.PARTNER]


def nav_links(html: str) -> set[str]:
    block = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert block, "no main navigation"
    return set(re.findall(r'href="([^"]+)"', block.group(1)))


@pytest.mark.parametrize("role", STAFF)
def test_each_role_sees_the_pages_its_permissions_allow(browser, role):
    client = browser(role)
    allowed = {item.path for item in NAV if item.permission in ROLE_PERMISSIONS[role]}
    home = client.get("/")
    assert home.status_code == 200
    assert nav_links(home.text) == allowed
    for item in NAV:
        r = client.get(item.path)
        if item.path in allowed:
            assert r.status_code == 200, (role, item.path, r.text[:300])
            assert "<main" in r.text
        else:
            assert r.status_code == 403, (role, item.path)
            assert "Your role may not open this page" in r.text


def test_duty_officer_may_not_open_sharing_but_liaison_may(browser):
    assert Permission.SHARING_READ not in ROLE_PERMISSIONS[Role.DUTY_OFFICER]
    assert browser(Role.DUTY_OFFICER).get("/sharing").status_code == 403
    assert browser(Role.LIAISON).get("/sharing").status_code == 200


def test_pages_carry_the_csp_and_security_headers_and_the_api_does_not(browser):
    client = browser(Role.ADMIN)
    for path in ("/", "/signin", "/incidents", "/alerts", "/crossings"):
        r = client.get(path, follow_redirects=True)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in client.get("/api/v1/incidents").headers


def test_public_status_page_keeps_its_own_stricter_policy(browser):
    r = browser().get("/public/crossings")
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_no_template_has_inline_script_or_style():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                assert 'type="application/json"' in tag, (path.name, tag)
        assert not re.search(r"<script\b[^>]*\bsrc=[^>]*>\s*[^<\s]", text), path.name
        assert not re.search(r"\sstyle\s*=", text), path.name
        assert "<style" not in text, path.name
        assert not re.search(r"\son[a-z]+\s*=", text), path.name  # no onclick= handlers


def test_map_page_follows_the_contract(browser):
    html = browser(Role.DUTY_OFFICER).get("/").text
    assert 'id="map"' in html and 'data-side="PK"' in html
    assert 'data-incidents-url="/api/v1/incidents?format=map&amp;limit=5000"' in html
    assert 'data-border-url="/api/v1/border?lang=en&amp;countries=true"' in html
    assert 'data-crossings-url="/api/v1/crossings.geojson?lang=en"' in html
    form = re.search(r'<form id="map-filters".*?</form>', html, re.S).group(0)
    for name in ("since", "until", "category", "side", "status"):
        assert f'name="{name}"' in form
    assert 'id="map-summary" aria-live="polite"' in html
    assert re.search(r'<script type="application/json" id="i18n">\{.*"loading"', html)
    assert '<script src="/static/js/map.js" defer>' in html
    assert 'href="#main"' in html and '<main id="main"' in html


def test_incident_list_filters_and_pages(web, browser):
    client = browser(Role.DUTY_OFFICER)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    base = datetime(2026, 11, 1, 6, tzinfo=UTC)
    for i in range(53):
        body = {
            "title": f"Incident {i:02d}",
            "category": "smuggling_fuel" if i % 2 else "illegal_crossing",
            "occurred_at": (base + timedelta(hours=i)).isoformat(),
            "location": {"lon": 61.59, "lat": 29.0},
            "reporting_side": "PK",
        }
        r = client.post("/api/v1/incidents", json=body, headers={"X-CSRF-Token": token})
        assert r.status_code == 201
    first = client.get("/incidents")
    assert first.text.count('<tr class="local"') == 50
    assert "Incident 52" in first.text and "Incident 02" not in first.text
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = client.get(nxt)
    assert second.text.count('<tr class="local"') == 3 and "Incident 00" in second.text
    fuel = client.get("/incidents?category=smuggling_fuel")
    assert fuel.text.count('<tr class="local"') == 26
    assert "Smuggling: fuel" in fuel.text
    bad = client.get("/incidents?since=yesterday&status=lost")
    assert bad.status_code == 200
    assert (
        "Enter a date as YYYY-MM-DD." in bad.text and "Choose a status from the list." in bad.text
    )
    assert 'aria-invalid="true"' in bad.text


def test_alerts_page_has_deadlines_for_the_countdown(web, spawn, browser):
    introduce(web, spawn("ir-node", "IR"))
    client = browser(Role.DUTY_OFFICER)
    token = csrf_of(client.get("/").text)
    raised = client.post(
        "/api/v1/alerts",
        json={
            "partner": "ir-node",
            "priority": "flash",
            "kind": "smuggling_movement",
            "text": "Two pickups heading for the line",
            "location": {"lon": 61.59, "lat": 29.0},
        },
        headers={"X-CSRF-Token": token},
    )
    assert raised.status_code == 201, raised.text
    alert = raised.json()
    html = client.get("/alerts").text
    outbox = html[html.index('id="outbox"') :]
    row = re.search(rf'<tr [^>]*data-id="{alert["id"]}"[^>]*>.*?</tr>', outbox, re.S).group(0)
    assert 'data-priority="flash"' in row
    assert "Two pickups heading for the line" in row
    deadline = re.search(r'data-deadline="([^"]+)"', row).group(1)
    assert datetime.fromisoformat(deadline) == datetime.fromisoformat(
        alert["ack_by"].replace("Z", "+00:00")
    )
    inbox = html[html.index('id="inbox"') : html.index('id="outbox"')]
    assert "No alerts." in inbox


def test_crossing_board_flags_when_the_sides_disagree(web, browser):
    client = browser(Role.LIAISON)
    token = csrf_of(client.get("/").text)
    closed = client.post(
        "/api/v1/crossings/declarations",
        json={"crossing": "taftan-mirjaveh", "status": "closed", "reason": "security_incident"},
        headers={"X-CSRF-Token": token},
    )
    assert closed.status_code == 201, closed.text
    partner_says_open(web, declaration_id="7d0c3d0e-0000-4000-8000-000000000001", hours_ago=1)
    html = client.get("/crossings").text
    row = re.search(r'<tr [^>]*data-crossing="taftan-mirjaveh"[^>]*>.*?</tr>', html, re.S)
    assert row and "mismatch" in row.group(0).split(">")[0]
    assert "Sides disagree" in row.group(0) and "Security incident" in row.group(0)
    other = re.search(r'<tr [^>]*data-crossing="gabd-rimdan"[^>]*>', html).group(0)
    assert "mismatch" not in other


def test_patrols_and_sharing_show_real_data(web, spawn, browser):
    introduce(web, spawn("ir-node", "IR"))
    html = browser(Role.LIAISON).get("/sharing").text
    assert '<th scope="row">ir-node</th>' in html
    assert "No patrol plans yet." in browser(Role.COMMANDER).get("/patrols").text
