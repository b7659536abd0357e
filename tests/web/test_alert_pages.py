"""The alerts page over HTTP: both boxes with deadlines, buttons by role, escalation, strings.

Two real nodes (``desks``): Pakistan raises an alert to Iran and Iran one to Pakistan, so
Iran's console has one row in each box. The browser side (live feed, clicks) is in
test_browser_alerts.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from sarhad.alerts.service import escalate_due
from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, ROLE_PERMISSIONS, Permission, Role, set_password
from sarhad.core.db import utcnow
from support import Desks, LiveNode, wait_for
from web.helpers import PASSWORD, csrf_of, sign_in, username

STAFF = [r for r in Role if r is not Role.PARTNER]
ALERT = {
    "priority": "immediate",
    "kind": "smuggling_movement",
    "text": "Convoy of six pickups heading south towards the line near Taftan",
    "location": {"lon": 61.6, "lat": 28.95},
}


def with_passwords(node: LiveNode) -> LiveNode:
    """Give every staff account of ``node`` the console password."""
    with node.db.session() as s:
        for role in node.tokens:
            set_password(s, username=username(role), password=PASSWORD, actor=CONSOLE.username)
    return node


def raise_alert(node: LiveNode, **over: Any) -> dict[str, Any]:
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/alerts", json={**ALERT, **over})
    assert r.status_code == 201, r.text
    return r.json()


def api_get(node: LiveNode, alert_id: str) -> dict[str, Any]:
    with node.client(Role.LIAISON) as c:
        r = c.get(f"/api/v1/alerts/{alert_id}")
    return r.json() if r.status_code == 200 else {}


@pytest.fixture
def iran(desks: Desks) -> Iterator[dict[str, Any]]:
    """Iran's node with one inbound alert (from Pakistan) and one outbound (to Pakistan)."""
    with_passwords(desks.ir)
    inbound = raise_alert(desks.pk)
    wait_for(lambda: api_get(desks.ir, inbound["id"]), what="the alert at IR")
    outbound = raise_alert(
        desks.ir, priority="flash", text="Armed group seen west of Mirjaveh", sector=None
    )
    clients: list[httpx.Client] = []

    def console(role: Role) -> httpx.Client:
        client = httpx.Client(base_url=desks.ir.url, timeout=30)
        clients.append(client)
        assert sign_in(client, username(role)).status_code == 303
        return client

    yield {"node": desks.ir, "in": inbound, "out": outbound, "console": console, "pk": desks.pk}
    for c in clients:
        c.close()


def box(html: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert found, f"no {name} section"
    return found.group(0)


def row(html: str, alert_id: str) -> str:
    found = re.search(rf'<tr id="alert-{alert_id}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"no row for {alert_id}"
    return found.group(0)


def cell(row_html: str, col: str) -> str:
    found = re.search(rf'<td data-col="{col}"[^>]*>(.*?)</td>', row_html, re.S)
    assert found, col
    return found.group(1)


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_page_lists_inbox_and_outbox_with_deadlines_and_the_feed_position(iran):
    html = iran["console"](Role.LIAISON).get("/alerts").text
    inbox, outbox = box(html, "inbox"), box(html, "outbox")
    mine, theirs = row(outbox, iran["out"]["id"]), row(inbox, iran["in"]["id"])
    assert iran["in"]["id"] not in outbox and iran["out"]["id"] not in inbox
    assert html.count('<p class="empty" hidden>') == 2  # both boxes have rows

    for r, alert in ((theirs, iran["in"]), (mine, iran["out"])):
        deadlines = re.findall(r'data-deadline="([^"]+)"', r)
        assert [iso(d) for d in deadlines] == [iso(alert["ack_by"]), iso(alert["answer_by"])]
        assert alert["text"] in r
        assert "Not escalated" in cell(r, "escalation")
    assert 'data-priority="flash"' in mine and 'data-direction="outbound"' in mine
    assert "Taftan" in cell(theirs, "place")  # the nearest crossing by name

    # The feed starts where the page was read, so nothing between the two is lost.
    feed = re.search(r'data-feed-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert re.fullmatch(r"/api/v1/feed\?entities=alert&after=\d+", feed)
    assert '<script src="/static/js/alerts.js" defer></script>' in html


@pytest.mark.parametrize("role", STAFF)
def test_acknowledge_and_answer_buttons_only_for_roles_that_may_respond(iran, role):
    html = iran["console"](role).get("/alerts").text
    may = Permission.ALERTS_RESPOND in ROLE_PERMISSIONS[role]
    theirs, mine = row(html, iran["in"]["id"]), row(html, iran["out"]["id"])
    assert ('data-action="acknowledge"' in theirs) is may
    assert ('data-action="answer"' in theirs) is may
    assert ('id="answer-dialog"' in html) is may
    assert "data-action" not in mine  # our own alerts are answered by the partner
    assert f'data-can-respond="{"true" if may else "false"}"' in html


def test_after_acknowledging_the_ack_clock_stops_and_only_answer_remains(iran):
    client = iran["console"](Role.DUTY_OFFICER)
    token = csrf_of(client.get("/alerts").text)
    r = client.post(
        f"/api/v1/alerts/{iran['in']['id']}/acknowledge", headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    theirs = row(client.get("/alerts").text, iran["in"]["id"])
    assert 'data-status="acknowledged"' in theirs
    assert "data-deadline" not in cell(theirs, "ack_by")  # met: no countdown
    assert "data-deadline" in cell(theirs, "answer_by")
    assert 'data-action="acknowledge"' not in theirs and 'data-action="answer"' in theirs

    r = client.post(
        f"/api/v1/alerts/{iran['in']['id']}/answer",
        json={"answer": "declined", "text": "No patrol free before dawn"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    theirs = row(client.get("/alerts").text, iran["in"]["id"])
    assert "data-deadline" not in theirs and "data-action" not in theirs
    assert "Declined: No patrol free before dawn" in cell(theirs, "status")


def test_escalation_level_and_next_escalation_are_shown(iran):
    node = iran["node"]
    # The escalation worker would do this when the deadline passes; ask it for a later now.
    later = iso(iran["in"]["ack_by"]) + timedelta(seconds=1)
    with node.db.session() as s:
        escalated = {a.id for a in escalate_due(s, now=later)}
    assert iran["in"]["id"] in escalated  # (our flash alert to Pakistan, due sooner, too)
    theirs = row(iran["console"](Role.COMMANDER).get("/alerts?lang=en").text, iran["in"]["id"])
    escalation = cell(theirs, "escalation")
    assert 'data-level="1"' in theirs and "Level 1" in escalation
    nxt = re.search(r'data-deadline="([^"]+)"', escalation).group(1)
    assert iso(nxt) > later > utcnow()


def test_strings_for_the_script_come_in_the_page_language(iran):
    html = iran["console"](Role.LIAISON).get("/alerts?lang=ur").text
    block = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    strings = json.loads(block.group(1))
    assert strings["acknowledge"] == "تسلیم کریں"
    assert strings["priority_flash"] == "فوری ترین"
    assert strings["unit_min"] == "منٹ"
    assert strings["place_taftan-mirjaveh"] == load_profile().crossings[0].name("ur")
    assert 'data-action="acknowledge"' in html and ">تسلیم کریں</button>" in html


def ids_in(html: str, name: str) -> list[str]:
    return re.findall(r'<tr id="alert-([^"]+)"', box(html, name))


def test_boxes_page_by_older_links_each_box_keeping_its_own_place(iran, monkeypatch):
    import sarhad.web.alert_pages as alert_pages

    # Two to a page instead of fifty, so three outbound alerts need a second page.
    monkeypatch.setattr(alert_pages, "PAGE_SIZE", 2)
    second_out = raise_alert(iran["node"], text="Fuel carriers at Jalq", sector=None)
    third_out = raise_alert(iran["node"], text="Pickups west of Kuhak", sector=None)
    client = iran["console"](Role.DUTY_OFFICER)
    first = client.get("/alerts").text
    assert ids_in(first, "outbox") == [third_out["id"], second_out["id"]]  # newest first
    assert ids_in(first, "inbox") == [iran["in"]["id"]]
    older = re.search(r'<a rel="next" href="([^"]+)">Older alerts</a>', box(first, "outbox"))
    assert older and "Older alerts" not in box(first, "inbox")

    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert ids_in(second, "outbox") == [iran["out"]["id"]]
    assert ids_in(second, "inbox") == [iran["in"]["id"]]  # the other box stays as it was
    # An older page takes no newcomers from the live feed; its way back is a link.
    assert 'data-box="outbox" data-actions="false" data-paged="true"' in second
    assert 'href="/alerts?">Newest alerts</a>' in box(second, "outbox")

    # A cursor the node never issued shows the newest page, not an error.
    assert ids_in(client.get("/alerts?outbox=bogus").text, "outbox") == ids_in(first, "outbox")


def test_only_alerts_not_yet_acknowledged_when_asked(iran):
    client = iran["console"](Role.DUTY_OFFICER)
    page = client.get("/alerts?open=1").text
    assert ids_in(page, "inbox") == [iran["in"]["id"]]
    assert 'name="open" value="1" checked' in page
    token = csrf_of(page)
    r = client.post(
        f"/api/v1/alerts/{iran['in']['id']}/acknowledge", headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    assert ids_in(client.get("/alerts?open=1").text, "inbox") == []
    assert ids_in(client.get("/alerts").text, "inbox") == [iran["in"]["id"]]
