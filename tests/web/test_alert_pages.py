"""The alerts page over HTTP: both boxes with deadlines, buttons by role, escalation, strings.

Two real nodes (``desks``): Pakistan raises an alert to Iran and Iran one to Pakistan, so
Iran's console has one row in each box. The browser side (live feed, clicks) is in
test_browser_alerts.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sarhad.alerts.deadlines import escalate_due
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
def test_buttons_and_the_raise_form_only_for_roles_that_may_use_them(iran, role):
    client = iran["console"](role)
    html = client.get("/alerts").text
    may = Permission.ALERTS_RESPOND in ROLE_PERMISSIONS[role]
    theirs, mine = row(html, iran["in"]["id"]), row(html, iran["out"]["id"])
    assert ('data-action="acknowledge"' in theirs) is may
    assert ('data-action="answer"' in theirs) is may
    assert ('id="answer-dialog"' in html) is may
    # Our own alerts are answered by the partner; we may only withdraw them.
    assert 'data-action="acknowledge"' not in mine and 'data-action="answer"' not in mine
    assert f'data-can-respond="{"true" if may else "false"}"' in html

    raises = Permission.ALERTS_RAISE in ROLE_PERMISSIONS[role]
    assert ('data-action="withdraw"' in mine) is raises
    assert 'data-action="withdraw"' not in theirs  # only Pakistan withdraws its alert
    assert ('id="withdraw-dialog"' in html) is raises
    assert ('href="/alerts/new"' in html) is raises
    assert client.get("/alerts/new").status_code == (200 if raises else 403)


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
    # The partner's own words, isolated from the page's direction.
    assert "Declined: <bdi>No patrol free before dawn</bdi>" in cell(theirs, "status")


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
    # (The duty officer may still withdraw the alerts it shows.)
    assert 'data-box="outbox" data-actions="true" data-paged="true"' in second
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


# --- raising an alert through the form, and withdrawing one -----------------------------


def form_token(html: str) -> str:
    """The CSRF token the raise form carries in its hidden field."""
    found = re.search(r'<form id="alert-form"[^>]*>\s*<input type="hidden" name="csrf_token" '
                      r'value="([^"]+)"', html)  # fmt: skip
    assert found, "the raise form has no csrf_token field"
    return found.group(1)


def outbox_ids(node: LiveNode) -> list[str]:
    with node.client(Role.LIAISON) as c:
        r = c.get("/api/v1/alerts", params={"direction": "outbound"})
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["items"]]


def error_of(html: str, name: str) -> str:
    """The message shown next to input ``name``, which must point to it (aria-describedby)."""
    control = re.search(rf'<(?:input|select|textarea) id="{name}"[^>]*>', html)
    assert control, f"no control {name}"
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    assert re.search(rf'aria-describedby="[^"]*\b{name}-error\b', control.group(0))
    found = re.search(rf'<span class="field-error" id="{name}-error">([^<]*)</span>', html)
    assert found, f"no error shown for {name}"
    return found.group(1)


FORM = {
    "partner": "pk-node",
    "priority": "immediate",
    "kind": "armed_group_movement",
    "text": "Twelve armed men on foot moving east towards the line near Mirjaveh",
    "sector": "",
    "lon": "61.45",
    "lat": "29.02",
    "valid_until": "",
    "zone": "UTC",
    "tlp": "green",
    "incident_ids": "",
}
INCIDENT = {
    "title": "Armed men seen crossing at night",
    "category": "illegal_crossing",
    "occurred_at": "2026-03-01T22:00:00Z",
    "location": {"lon": 61.45, "lat": 29.02, "precision": "near"},
    "reporting_side": "IR",
    "tlp": "amber",
}


def test_a_liaison_raises_an_alert_with_the_form_and_it_reaches_the_partner(iran):
    client = iran["console"](Role.LIAISON)
    form = client.get("/alerts/new")
    assert form.status_code == 200
    html = form.text
    # The one partner is chosen already; TLP:RED is not offered (it never leaves the node).
    assert '<option value="pk-node" selected>' in html
    assert '<option value="amber" selected>TLP:AMBER</option>' in html
    assert 'value="red"' not in html and "TLP:RED never leaves this node" in html
    assert '<option value="IR" selected>' in html  # the time is read on Iran's clock

    # Valid until 06:30 tomorrow, Iran's time (IRST, UTC+3:30).
    until_local = (utcnow() + timedelta(days=1, hours=3, minutes=30)).replace(
        hour=6, minute=30, second=0, microsecond=0, tzinfo=None
    )
    values = {
        **FORM,
        "valid_until": until_local.strftime("%Y-%m-%dT%H:%M"),
        "zone": "IR",
        "incident_ids": "",
        "csrf_token": form_token(html),
    }
    sent = client.post("/alerts/new", data=values)
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert location.startswith("/alerts?raised=")
    alert_id = location.removeprefix("/alerts?raised=")

    page = client.get(location).text
    assert "Alert raised. It is on its way to pk-node" in page
    mine = row(box(page, "outbox"), alert_id)
    assert FORM["text"] in mine and 'data-priority="immediate"' in mine
    assert 'data-action="withdraw"' in mine

    # Pushed at once: Pakistan's node holds it as an inbound alert, as the officer wrote it.
    there = wait_for(lambda: api_get(iran["pk"], alert_id), what="the alert at Pakistan")
    assert there["direction"] == "inbound" and there["text"] == FORM["text"]
    assert (there["priority"], there["kind"], there["tlp"]) == (
        "immediate",
        "armed_group_movement",
        "green",
    )
    assert there["place"]["lon"] == pytest.approx(61.45)
    assert iso(there["valid_until"]) == until_local.replace(tzinfo=UTC) - timedelta(
        hours=3, minutes=30
    )
    assert api_get(iran["node"], alert_id)["created_by"] == username(Role.LIAISON)


def test_an_alert_about_an_incident_is_linked_to_its_record(iran):
    node = iran["node"]
    with node.client(Role.DUTY_OFFICER) as c:
        r = c.post("/api/v1/incidents", json=INCIDENT)
    assert r.status_code == 201, r.text
    incident_id = r.json()["id"]
    client = iran["console"](Role.DUTY_OFFICER)
    record = client.get(f"/incidents/{incident_id}").text
    link = f'href="/alerts/new?incident={incident_id}"'
    assert link in record and "Alert the partner about this incident" in record
    # An analyst may read the record but not raise alerts: no link.
    assert link not in iran["console"](Role.ANALYST).get(f"/incidents/{incident_id}").text

    html = client.get(f"/alerts/new?incident={incident_id}").text
    prefilled = re.search(r'<input id="incident_ids"[^>]*value="([^"]*)"', html)
    assert prefilled and prefilled.group(1) == incident_id
    # A sector-wide alert this time (no point).
    values = {**FORM, "sector": "PKIR-014", "lon": "", "lat": "", "incident_ids": incident_id}
    sent = client.post("/alerts/new", data={**values, "csrf_token": form_token(html)})
    assert sent.status_code == 303, sent.text
    alert_id = sent.headers["location"].removeprefix("/alerts?raised=")
    mine = api_get(node, alert_id)
    assert mine["incident_ids"] == [incident_id] and mine["place"]["sector"] == "PKIR-014"


def test_errors_come_back_by_field_with_the_values_kept_and_nothing_is_sent(iran):
    client = iran["console"](Role.DUTY_OFFICER)
    token = form_token(client.get("/alerts/new").text)
    before = outbox_ids(iran["node"])

    # No text, and neither a sector nor a point.
    values = {**FORM, "text": "  ", "lon": "", "lat": "", "csrf_token": token}
    r = client.post("/alerts/new", data=values)
    assert r.status_code == 422
    assert error_of(r.text, "text") == "This field is required."
    assert error_of(r.text, "sector") == "Choose a sector or enter a location (or both)."
    assert "Some fields need attention" in r.text
    # What the officer chose is still chosen.
    assert '<option value="armed_group_movement" selected>' in r.text
    assert '<option value="immediate" selected>' in r.text
    assert '<option value="green" selected>TLP:GREEN</option>' in r.text

    # Half a point, a word for a number, no priority.
    values = {**FORM, "priority": "", "lon": "east", "lat": "", "csrf_token": token}
    r = client.post("/alerts/new", data=values)
    assert r.status_code == 422
    assert error_of(r.text, "lat") == "Enter both longitude and latitude, or neither."
    assert error_of(r.text, "priority") == "This field is required."
    assert 'value="east"' in r.text and FORM["text"] in r.text

    # A validity already over.
    values = {**FORM, "valid_until": "2020-01-01T00:00", "csrf_token": token}
    r = client.post("/alerts/new", data=values)
    assert r.status_code == 422
    assert error_of(r.text, "valid_until").startswith("This time has passed")

    # Refused by the alerts service itself: TLP:RED (sent by hand; the form does not offer
    # it) and an incident this node does not hold.
    values = {
        **FORM,
        "tlp": "red",
        "incident_ids": "0b5d7c8e-1111-4111-8111-111111111111",
        "csrf_token": token,
    }
    r = client.post("/alerts/new", data=values)
    assert r.status_code == 422
    assert "TLP:RED never leaves the node" in error_of(r.text, "tlp")
    assert "no such incident here" in error_of(r.text, "incident_ids")
    assert 'value="red"' not in r.text  # still not offered: AMBER is chosen instead
    assert '<option value="amber" selected>TLP:AMBER</option>' in r.text
    assert outbox_ids(iran["node"]) == before


def test_a_role_that_may_not_raise_alerts_is_refused(iran):
    client = iran["console"](Role.ANALYST)
    assert client.get("/alerts").status_code == 200  # the analyst reads alerts
    page = client.get("/alerts/new")
    assert page.status_code == 403 and "Your role may not raise or withdraw alerts." in page.text
    before = outbox_ids(iran["node"])
    token = csrf_of(client.get("/alerts").text)
    r = client.post("/alerts/new", data={**FORM, "csrf_token": token})
    assert r.status_code == 403
    assert outbox_ids(iran["node"]) == before


def test_a_form_without_the_sessions_csrf_token_is_refused(iran):
    client = iran["console"](Role.DUTY_OFFICER)
    client.get("/alerts/new")
    before = outbox_ids(iran["node"])
    for token in (None, "forged-token"):
        data = dict(FORM) if token is None else {**FORM, "csrf_token": token}
        r = client.post("/alerts/new", data=data)
        assert r.status_code == 403
        assert "The form was not sent from this console." in r.text
    assert outbox_ids(iran["node"]) == before


def test_withdrawing_with_the_session_and_csrf_header_updates_the_row_and_the_partner(iran):
    alert_id = iran["out"]["id"]
    client = iran["console"](Role.LIAISON)
    token = csrf_of(client.get("/alerts").text)
    url = f"/api/v1/alerts/{alert_id}/withdraw"
    reason = {"reason": "The group turned back north; no longer near the line"}
    assert client.post(url, json=reason).status_code == 403  # the cookie alone is not enough
    r = client.post(url, json=reason, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"

    mine = row(client.get("/alerts").text, alert_id)
    assert 'data-status="withdrawn"' in mine
    assert "Withdrawn" in cell(mine, "status") and reason["reason"] in cell(mine, "status")
    assert 'data-action="withdraw"' not in mine
    assert "data-deadline" not in mine  # nothing is awaited any more
    # A second withdrawal is refused; the partner learns of the first at once.
    again = client.post(url, json=reason, headers={"X-CSRF-Token": token})
    assert again.status_code == 409
    wait_for(
        lambda: api_get(iran["pk"], alert_id).get("status") == "withdrawn",
        what="the withdrawal at Pakistan",
    )
