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
from sarhad.core.config import Settings
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
#: Days inside the planning window (SARHAD_PATROL_DAYS_BACK / _AHEAD) whenever the tests run.
PLAN_DAY = datetime.now(UTC).date() - timedelta(days=11)


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
    # A Persian-reading commander reads each warning in Persian, with Persian digits.
    persian = client.get(f"/patrols/{stored_plan}", params={"lang": "fa"}).text
    assert persian.count("با رابط شریک هماهنگ کنید") == len(plan["conflicts"])
    assert "coordinate with the partner's liaison" not in persian
    assert re.search("کیلومتر [۰-۹]+–[۰-۹]+", persian), "km in Persian digits"
    client.get("/patrols", params={"lang": "en"})  # back to English for what follows
    # Another day has no plan; a bad day is an error by the field.
    other = PLAN_DAY + timedelta(days=1)
    assert "No plan for this day." in client.get(f"/patrols?day={other}").text
    bad = client.get("/patrols?day=tomorrow").text
    assert "Enter a date as YYYY-MM-DD." in bad and 'aria-invalid="true"' in bad
    assert client.get("/patrols/no-such-plan").status_code == 404


# --- planning a day from the patrols page ------------------------------------------------

FORM_DAY = datetime.now(UTC).date() - timedelta(days=2)
#: A second base of ours beside BASES' Mashkel (km 350–450).
TWO_PK_BASES = """
[[bases]]
name = "Panjgur"
side = "PK"
first_km = 450
last_km = 550
teams = 2
"""


def plan_form(client: Any, **fields: str) -> Any:
    """Open the patrols page of FORM_DAY and post its plan form with ``fields`` (no redirects)."""
    page = client.get(f"/patrols?day={FORM_DAY.isoformat()}")
    assert page.status_code == 200
    return client.post(
        "/patrols/plan", data={"csrf_token": csrf_of(page.text), **fields}, follow_redirects=False
    )


def plans_of(client: Any, day: date = FORM_DAY) -> list[dict[str, Any]]:
    """The day's plans as the API lists them."""
    r = client.get("/api/v1/patrols/plans", params={"day": day.isoformat()})
    assert r.status_code == 200, r.text
    return r.json()


def control(html: str, element_id: str) -> str:
    """The opening tag of the input or select with ``element_id``."""
    found = re.search(rf'<(?:input|select)[^>]* id="{element_id}"[^>]*>', html)
    assert found, f"no control #{element_id}"
    return found.group(0)


def control_status(form: str) -> str:
    """The opening tag of the form's live status region."""
    found = re.search(r'<span id="plan-status"[^>]*>', form)
    assert found, "the form has no status region"
    return found.group(0)


def test_commander_plans_a_day_with_the_form(web, browser):
    commander = browser(Role.COMMANDER)
    page = commander.get(f"/patrols?day={FORM_DAY.isoformat()}").text
    # The form plans the day on show; the hint names the node's default (PK-line: 4 teams).
    form = page[page.index('id="plan-form"') : page.index("</form>", page.index('id="plan-form"'))]
    assert 'action="/patrols/plan"' in form and 'method="post"' in form
    assert 'name="csrf_token" value="' in form
    assert f'value="{FORM_DAY.isoformat()}"' in control(form, "plan-day")
    assert "this node's patrol bases: 4 teams per shift." in form
    # The node's bounds on the inputs: the planning window and at most 20 teams per shift.
    first, last = FORM_DAY - timedelta(days=364), FORM_DAY + timedelta(days=33)
    assert f'min="{first}" max="{last}"' in control(form, "plan-day")
    assert f"Plans can be made for days from {first} to {last}." in form
    assert 'min="1" max="20"' in control(form, "plan-teams")
    assert '<script src="/static/js/patrol-plan-form.js" defer>' in page
    assert 'aria-live="polite"' in control_status(form)

    r = plan_form(commander, day=FORM_DAY.isoformat(), teams="3")
    assert r.status_code == 303, r.text
    plan_id = r.headers["location"].removeprefix("/patrols/").removesuffix("?made=1")
    assert r.headers["location"] == f"/patrols/{plan_id}?made=1"
    # The plan is the day's plan the API lists, with the teams asked for, by the commander.
    [listed] = plans_of(commander)
    assert listed["id"] == plan_id and listed["created_by"] == "commander-1"
    assert sum(listed["teams"].values()) == 3 and listed["coordinated"] is False
    shown = commander.get(r.headers["location"])
    assert shown.status_code == 200
    assert f"Plan made: {len(listed['patrols'])} patrols" in shown.text
    assert shown.text.count('<tr data-patrol="') == len(listed["patrols"]) > 0
    assert f'data-plan-url="/api/v1/patrols/plans/{plan_id}?format=geojson"' in shown.text
    # Without ?made the page has no notice; the patrols page now shows this plan for the day.
    assert "Plan made" not in commander.get(f"/patrols/{plan_id}").text
    day_page = commander.get(f"/patrols?day={FORM_DAY.isoformat()}").text
    assert f'<a href="/patrols/{plan_id}">{FORM_DAY.isoformat()}</a></h2>' in day_page
    # In Urdu and Persian (last: ?lang= is remembered by the client's cookie).
    for lang, heading in (("ur", "اس دن کا منصوبہ بنائیں"), ("fa", "برنامه‌ریزی این روز")):
        assert heading in commander.get(f"/patrols?lang={lang}").text


def test_coordinated_plan_from_the_form_uses_the_partners_teams(web, browser):
    # The partner's side is planned from the incidents it shared (none here): no partner node
    # is needed, so one node is enough. Default bases: one per side for the whole line.
    commander = browser(Role.COMMANDER)
    r = plan_form(
        commander, day=FORM_DAY.isoformat(), teams="2", coordinated="1", partner_teams="3"
    )
    assert r.status_code == 303, r.text
    [listed] = plans_of(commander)
    assert listed["coordinated"] is True and listed["partner_side"] == "IR"
    assert (listed["teams"], listed["partner_teams"]) == ({"PK-line": 2}, {"IR-line": 3})
    # No sector is rated high by both sides (no incidents): the plan says so, in the reader's
    # language on its page, and in English to the API as before.
    assert listed["summary"]["notes"] == [
        "no sector is rated high by both sides: no coordinated patrols proposed"
    ]
    persian = commander.get(f"/patrols/{listed['id']}", params={"lang": "fa"}).text
    assert "یادداشت‌های این برنامه" in persian
    assert "هیچ بخشی را هر دو طرف پرخطر ارزیابی نکرده‌اند" in persian
    assert "no coordinated patrols proposed" not in persian


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"day": FORM_DAY.isoformat(), "teams": "0"}, "teams", "Enter a whole number from 1"),
        ({"day": "03/12/2026"}, "day", "Enter a date as YYYY-MM-DD."),
        ({"day": ""}, "day", "This field is required."),
        ({"day": FORM_DAY.isoformat(), "teams": "two"}, "teams", "Enter a whole number."),
        (
            {"day": FORM_DAY.isoformat(), "coordinated": "1", "partner_teams": "1001"},
            "partner_teams",
            "Enter a whole number from 1 to 20,",
        ),
        # Beyond this node's bounds (SARHAD_PATROL_MAX_TEAMS 20, the planning window).
        (
            {"day": FORM_DAY.isoformat(), "teams": "21"},
            "teams",
            "Enter a whole number from 1 to 20,",
        ),
        (
            {"day": FORM_DAY.isoformat(), "coordinated": "1", "partner_teams": "59"},
            "partner_teams",
            "Enter a whole number from 1 to 20,",
        ),
        ({"day": "9999-12-31", "teams": "1"}, "day", "Choose a day from "),
        ({"day": "2020-01-01"}, "day", "Choose a day from "),
    ],
)
def test_bad_plan_input_comes_back_by_field_and_stores_nothing(web, browser, fields, field, text):
    commander = browser(Role.COMMANDER)
    r = plan_form(commander, **fields)
    assert r.status_code == 422
    html = r.text
    element = f"plan-{field.replace('_', '-')}"
    assert f'<span class="field-error" id="{element}-error">{text}' in html
    own = control(html, element)
    assert 'aria-invalid="true"' in own and f"{element}-error" in own
    assert "Some fields need attention" in html
    # The officer's values are kept.
    for name, value in fields.items():
        if name != "coordinated" and value:
            assert f'value="{value}"' in control(html, f"plan-{name.replace('_', '-')}")
    if fields.get("coordinated"):
        assert " checked" in control(html, "plan-coordinated")
    assert plans_of(commander) == []


def test_the_nodes_patrol_settings_explain_a_plan_that_cannot_be_made(web, browser):
    commander = browser(Role.COMMANDER)
    config = web.settings.data_dir / "patrols.toml"  # read by the node at each plan
    # Two bases of ours: one team per shift cannot man both.
    config.write_text(BASES + TWO_PK_BASES)
    r = plan_form(commander, day=FORM_DAY.isoformat(), teams="1")
    assert r.status_code == 422
    assert "every patrol base needs at least one team per shift" in r.text
    assert 'aria-invalid="true"' in control(r.text, "plan-teams")
    # A broken file is the node's set-up, not the form: a page-level error with the detail.
    config.write_text("bases = [")
    r = plan_form(commander, day=FORM_DAY.isoformat())
    assert r.status_code == 422
    error = r.text[r.text.index('id="plan-form-error"') : r.text.index('id="plan-form"')]
    assert "Ask the administrator to check the patrol configuration" in error
    assert "not valid TOML" in error
    assert plans_of(commander) == []


class TestPlanTooBigForTheNode:
    """A plan the solver cannot finish within the node's time limit (here 1 s)."""

    @pytest.fixture
    def settings(self, db_url: str, tmp_path: Path) -> Settings:
        return Settings(
            data_dir=tmp_path,
            database_url=db_url,
            node_name="test-pk",
            node_side="PK",
            patrol_time_limit_s=1.0,
        )

    def test_the_form_says_what_to_try_and_keeps_the_values(self, web, browser):
        commander = browser(Role.COMMANDER)
        fields = {"teams": "20", "coordinated": "1", "partner_teams": "20"}
        r = plan_form(commander, day=FORM_DAY.isoformat(), **fields)
        assert r.status_code == 503
        error = r.text[r.text.index('id="plan-form-error"') : r.text.index('id="plan-form"')]
        assert "could not be solved within the time and memory this node allows" in error
        assert "time limit of 1 s" in error and "fewer teams" in error
        assert 'value="20"' in control(r.text, "plan-teams")
        assert " checked" in control(r.text, "plan-coordinated")
        assert plans_of(commander) == []


@pytest.mark.parametrize("role", [Role.DUTY_OFFICER, Role.ANALYST, Role.LIAISON])
def test_roles_that_may_not_plan_see_no_form_and_are_refused(web, browser, role):
    client = browser(role)
    page = client.get(f"/patrols?day={FORM_DAY.isoformat()}")
    assert page.status_code == 200
    assert 'id="plan-form"' not in page.text and "patrol-plan-form.js" not in page.text
    r = plan_form(client, day=FORM_DAY.isoformat())
    assert r.status_code == 403 and "Your role may not plan patrols." in r.text
    assert plans_of(client) == []


def test_a_plan_form_without_the_csrf_token_is_refused(web, browser):
    commander = browser(Role.COMMANDER)
    r = commander.post("/patrols/plan", data={"day": FORM_DAY.isoformat()}, follow_redirects=False)
    assert r.status_code == 403 and "The form was not sent from this console" in r.text
    forged = commander.post(
        "/patrols/plan",
        data={"day": FORM_DAY.isoformat(), "csrf_token": "not-the-token"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert plans_of(commander) == []


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
        assert sent.objects["crossing"] > 0
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
    assert f'<dd class="num">{sent.objects["crossing"]}</dd>' in section
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


def test_sharing_page_shows_our_fingerprints_and_each_partners(web, browser, partner_exchange):
    from sarhad.core.signing import new_ring
    from sarhad.sharing import keys

    theirs = new_ring(now=datetime.now(UTC)).active.public
    third = new_ring(now=datetime.now(UTC)).active.public
    with web.db.session() as s:
        partner = sharing.get_partner(s, name=PARTNER)
        keys.trust_key(s, public_key_pem=theirs.pem, partner=partner, actor=CONSOLE)
        keys.trust_key(
            s,
            public_key_pem=third.pem,
            node_id="3f1e0b7a-2c4d-4e5f-8a9b-0c1d2e3f4a5b",
            label="af-node",
            actor=CONSOLE,
        )
    ours = keys.own_ring(web.settings.data_dir).active.public
    for lang, heading, partner_heading in (
        ("en", "This node's signing keys", "Signing keys of this partner"),
        ("ur", "اس نوڈ کی دستخطی کلیدیں", "اس شراکت دار کی دستخطی کلیدیں"),
        ("fa", "کلیدهای امضای این گره", "کلیدهای امضای این طرف مقابل"),
    ):
        html = browser(Role.LIAISON).get(f"/sharing?lang={lang}").text
        own = html[html.index('id="own-keys"') :]
        assert heading in own
        row = row_of(own, "data-key", ours.key_id)
        assert 'class="active-key"' in row
        assert f'<code class="ltr mono fingerprint" dir="ltr">{ours.fingerprint}</code>' in row
        section = html[html.index(f'data-partner="{PARTNER}"') : html.index('id="own-keys"')]
        assert partner_heading in section
        assert theirs.fingerprint in row_of(section, "data-key", theirs.key_id)
        assert third.fingerprint in html[html.index("third-keys") :]
