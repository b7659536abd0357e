"""The desk pages with real data: crossings board and month, a crossing's page, the day's patrol
plan, and what is exchanged with a partner (sent, received, withheld, quarantined)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE, Principal, Role
from sarhad.federation.inbox import ingest
from sarhad.federation.publish import publish_partner
from sarhad.federation.service import local_node
from sarhad.node import patrol_ports
from sarhad.patrols import service as patrols
from sarhad.patrols.planner import Notice
from sarhad.patrols.ports import RiskView
from sarhad.sharing import service as sharing
from support import LiveNode
from web.helpers import csrf_of, partner_says_open

PARTNER = "ir-node"
PLAN_DAY = date(2026, 11, 24)


def row_of(html: str, attr: str, value: str) -> str:
    found = re.search(rf'<tr [^>]*{attr}="{re.escape(value)}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"no row with {attr}={value}"
    return found.group(0)


def declare_closure_against_partner_open(web: LiveNode, client: Any) -> None:
    """We close Taftan for a security incident; the partner's declaration says open."""
    token = csrf_of(client.get("/").text)
    r = client.post(
        "/api/v1/crossings/declarations",
        json={"crossing": "taftan-mirjaveh", "status": "closed", "reason": "security_incident"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 201, r.text
    partner_says_open(web, declaration_id="7d0c3d0e-0000-4000-8000-000000000002", hours_ago=2)


#: Two small bases (as tests/patrols use), so that solving the day takes a moment.
BASES = """
max_stretch = 3
[[bases]]
name = "Mashkel"
side = "PK"
first_km = 350
last_km = 450
teams = 4
[[bases]]
name = "Saravan"
side = "IR"
first_km = 300
last_km = 500
teams = 3
"""


@pytest.fixture
def stored_plan(web: LiveNode, tmp_path: Path) -> str:
    """A coordinated plan for PLAN_DAY; the partner announced an operation on km 390–400."""
    config = tmp_path / "patrols.toml"
    config.write_text(BASES)
    settings = web.settings.model_copy(update={"patrol_config": config, "patrol_buffer_km": 20})
    start = datetime.combine(PLAN_DAY, datetime.min.time(), UTC) - timedelta(days=1)
    notice = Notice("alert-op-1", 390.0, 400.0, start, start + timedelta(days=3), "Operation")
    profile = load_profile()
    real = patrol_ports(settings, profile)
    hot = {x.id for x in profile.sectors if 370 <= x.start_km < 430}

    def risk(session: Any, at: datetime, origin: str | None) -> RiskView:
        # Both sides rate the sectors near km 400 high: the planner proposes joint patrols.
        view = real.risk(session, at, origin)
        levels = {k: "high" if k in hot else v for k, v in view.levels.items()}
        return RiskView(scores={k: v + (1.0 if k in hot else 0.0) for k, v in view.scores.items()},
                        levels=levels)  # fmt: skip

    ports = dataclasses.replace(real, risk=risk, notices=lambda *_: [notice])
    with web.db.session() as s:
        plan = patrols.make_plan(
            s,
            profile=load_profile(),
            settings=settings,
            ports=ports,
            day=PLAN_DAY,
            actor=Principal("commander-1", Role.COMMANDER),
            coordinated=True,
        )
        assert plan.conflicts, "the notice should warn some patrols"
        return plan.id


@pytest.fixture
def partner_exchange(web: LiveNode) -> dict[str, Any]:
    """A partner we have sent to, received from, and whose bad object is in quarantine."""
    with web.db.session() as s:
        sharing.add_partner(
            s,
            name=PARTNER,
            country="IR",
            taxii_url="http://127.0.0.1:9/taxii2/api/",
            node_id=None,
            actor=CONSOLE,
        )
    return {}


def test_crossing_board_flags_the_mismatch_and_shows_the_month(web, browser):
    client = browser(Role.LIAISON)
    declare_closure_against_partner_open(web, client)
    html = client.get("/crossings").text
    row = row_of(html, "data-crossing", "taftan-mirjaveh")
    assert "mismatch" in row.split(">")[0] and "Sides disagree" in row
    assert 'href="/crossings/taftan-mirjaveh"' in row
    # The month's table and the chart hooks, for this month.
    month = f"{datetime.now(UTC):%Y-%m}"
    assert f'data-report-url="/api/v1/crossings/report?month={month}"' in html
    assert '<canvas id="chart-closed"' in html and '<canvas id="chart-throughput"' in html
    assert '<script src="/static/vendor/chart.js/chart.umd.js" defer>' in html
    ours = row_of(html, "data-side", "PK")  # first PK row of the month table
    assert "taftan-mirjaveh" in ours
    # Another month, and a month that is not one.
    other = client.get("/crossings?month=2026-01").text
    assert 'value="2026-01"' in other and "report?month=2026-01" in other
    bad = client.get("/crossings?month=January")
    assert bad.status_code == 200 and "Enter a month as YYYY-MM." in bad.text
    assert 'aria-invalid="true"' in bad.text


def test_crossing_page_shows_both_sides_hours_and_declarations(web, browser):
    client = browser(Role.DUTY_OFFICER)
    declare_closure_against_partner_open(web, client)
    token = csrf_of(client.get("/").text)
    r = client.put(
        "/api/v1/crossings/taftan-mirjaveh/hours",
        json={"days": ["mon", "tue", "wed"], "opens": "08:00", "closes": "17:00"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    html = client.get("/crossings/taftan-mirjaveh").text
    assert "<h1>Taftan" in html
    assert "Sides disagree" in html
    sides = html[html.index('id="now-heading"') : html.index('id="hours-heading"')]
    assert "Closed" in row_of(sides, "data-side", "PK") and "Security incident" in sides
    assert "Open" in row_of(sides, "data-side", "IR")
    hours_table = html[html.index('id="hours-heading"') : html.index('id="declarations-heading"')]
    assert "Monday, Tuesday, Wednesday" in hours_table and "08:00" in hours_table
    recent = html[html.index('id="declarations-heading"') :]
    assert recent.count("<tr data-id=") == 2
    assert "origin-partner" in row_of(recent, "data-id", "7d0c3d0e-0000-4000-8000-000000000002")
    urdu = client.get("/crossings/taftan-mirjaveh?lang=ur").text
    assert 'dir="rtl"' in urdu and load_profile().crossings[0].names["ur"] in urdu
    missing = client.get("/crossings/nowhere?lang=en")
    assert missing.status_code == 404 and "No crossing or market has that name." in missing.text


def test_patrols_page_shows_the_days_plan_with_coverage_risk_and_warnings(
    web, browser, stored_plan
):
    client = browser(Role.DUTY_OFFICER)
    with web.db.session() as s:
        plan = patrols.plan_dict(patrols.get_plan(s, plan_id=stored_plan))
    html = client.get(f"/patrols?day={PLAN_DAY.isoformat()}").text
    assert f'data-plan-url="/api/v1/patrols/plans/{stored_plan}?format=geojson"' in html
    assert '<script src="/static/js/patrol-map.js" defer>' in html
    # Coverage beside risk for every sector, as planned.
    sectors = html[html.index('id="sectors-heading"') : html.index('id="patrols-heading"')]
    assert sectors.count("<tr data-sector=") == len(plan["sectors"])
    first = plan["sectors"][0]
    row = row_of(sectors, "data-sector", first["sector_id"])
    assert f"{first['risk']:.3f}" in row and f"{sum(first['coverage']):.2f}" in row
    # Every patrol, coordinated ones marked, warned ones flagged; the warnings listed.
    table = html[html.index('id="patrols-heading"') :]
    assert table.count('<tr data-patrol="') == len(plan["patrols"])
    coordinated = [p for p in plan["patrols"] if p["kind"] == "coordinated"]
    assert coordinated and table.count('data-kind="coordinated" class="coordinated') == len(
        coordinated
    )
    warnings = html[html.index('id="warnings-heading"') : html.index('id="plan-map-heading"')]
    assert warnings.count("<li data-patrol=") == len(plan["conflicts"])
    warned = {c["patrol"] + 1 for c in plan["conflicts"]}
    for number in warned:
        assert "Deconfliction warning" in row_of(table, "data-patrol", str(number))
    # The list links to the plan's own page, which shows the same plan.
    assert f'href="/patrols/{stored_plan}"' in html
    page = client.get(f"/patrols/{stored_plan}")
    assert page.status_code == 200 and page.text.count('<tr data-patrol="') == len(plan["patrols"])
    # Another day has no plan; a bad day is an error by the field.
    assert "No plan for this day." in client.get("/patrols?day=2026-11-25").text
    bad = client.get("/patrols?day=tomorrow").text
    assert "Enter a date as YYYY-MM-DD." in bad and 'aria-invalid="true"' in bad
    assert client.get("/patrols/no-such-plan").status_code == 404


def test_sharing_page_shows_sent_received_withheld_and_quarantine(web, browser, partner_exchange):
    duty = browser(Role.DUTY_OFFICER)
    token = csrf_of(duty.get("/").text)
    declare_closure_against_partner_open(web, duty)
    for title, tlp in (("Fuel convoy at km 40", "green"), ("Informant report", "red")):
        r = duty.post(
            "/api/v1/incidents",
            json={
                "title": title,
                "category": "smuggling_fuel",
                "occurred_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
                "location": {"lon": 61.59, "lat": 29.0},
                "reporting_side": "PK",
                "tlp": tlp,
            },
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 201, r.text
    with web.db.session() as s:
        partner = sharing.get_partner(s, name=PARTNER)
        node = local_node(s, web.settings)
        sent = publish_partner(s, node=node, partner=partner)
        assert sent.crossings > 0
        # The partner sends one good-looking and one broken incident.
        report = ingest(
            s,
            partner=partner,
            objects=[{"type": "incident", "id": "incident--not-a-uuid", "spec_version": "2.1"}],
            via="taxii",
            node=node,
            profile=load_profile(),
        )
        assert report.rejected
    html = browser(Role.LIAISON).get("/sharing").text
    assert '<th scope="row">ir-node</th>' in html
    section = html[html.index('data-partner="ir-node"') :]
    sent_count = re.search(r'data-count="sent-incidents">(\d+)<', section).group(1)
    assert int(sent_count) == len(sent.shared)
    assert f'<dd class="num">{sent.crossings}</dd>' in section
    assert re.search(r'data-count="received-rejected"><strong class="flag">1<', section)
    # Withheld, and why: the red incident never leaves the node.
    red = re.search(r'<tr data-incident="[^"]+">.*?Informant report.*?</tr>', section, re.S)
    assert red and "TLP:RED never leaves the node" in red.group(0)
    # The quarantine lists the refused object with its reason.
    quarantine = section[section.index('class="quarantine"') :]
    assert "incident--not-a-uuid" in quarantine and quarantine.count("<tr data-quarantine=") == 1
    # Analysts read it too; a duty officer may not open the page.
    assert browser(Role.ANALYST).get("/sharing").status_code == 200
    refused = duty.get("/sharing")
    assert refused.status_code == 403 and "incident--not-a-uuid" not in refused.text
