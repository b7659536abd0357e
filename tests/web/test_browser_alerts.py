"""Alerts in a real browser (Debian's Chromium) between two real nodes on loopback.

Iran's liaison officer keeps the alerts page open; Pakistan raises an alert through its API;
the row appears on Iran's page by the live feed, without a reload, and is acknowledged and
answered with the page's buttons; the step travels back to Pakistan, whose open page shows
it, again without a reload. Iran's officer also raises an alert with the console's form and
withdraws it from the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sarhad.core.auth import Role
from support import Desks, LiveNode, wait_for

from .conftest import screenshot
from .helpers import PASSWORD, username
from .test_alert_pages import api_get, raise_alert, with_passwords

# The browser reads pages, not the database: run once, on the embedded default.
pytestmark = pytest.mark.once_on("sqlite")

TIMEOUT_MS = 15000


def open_alerts(new_page: Callable[..., Any], node: LiveNode, role: Role, lang: str = "en") -> Any:
    """Sign in as ``role`` and open the alerts page, its live feed connected."""
    page = new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.problems = problems
    page.goto(f"{node.url}/signin?next=/alerts%3Flang%3D{lang}")
    page.fill("#username", username(role))
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{node.url}/alerts?lang={lang}")
    page.wait_for_selector('#live-status[data-state="open"]', timeout=TIMEOUT_MS)
    # A marker that a reload would wipe: the rows must come without one.
    page.evaluate("() => { window.keptSinceLoad = 'yes'; }")
    return page


def not_reloaded(page: Any) -> bool:
    return page.evaluate("() => window.keptSinceLoad") == "yes"


def test_a_flash_alert_from_the_partner_appears_live_with_its_cues_and_is_acknowledged(
    desks: Desks, new_page: Callable[..., Any]
) -> None:
    pk, ir = desks.pk, with_passwords(desks.ir)
    page = open_alerts(new_page, ir, Role.LIAISON)
    assert page.locator("#inbox p.empty").is_visible()
    page.click("h1")  # the officer has touched the page, so the browser lets it beep

    sent = raise_alert(pk, priority="flash", text="Armed group of twenty crossing at km 40")
    row = page.locator(f"#alert-{sent['id']}")
    row.wait_for(timeout=TIMEOUT_MS)
    assert not_reloaded(page)
    assert page.locator("#inbox p.empty").is_hidden()
    assert row.get_attribute("data-direction") == "inbound"
    assert "priority-flash" in row.get_attribute("class")
    assert "arrived" in row.get_attribute("class")  # the row flashes

    # The visible cue: a banner read out at once (role=alert) naming the partner and text.
    banner = page.locator("#alert-banner")
    banner.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert banner.get_attribute("role") == "alert"
    assert "pk-node" in banner.inner_text() and sent["text"] in banner.inner_text()
    assert banner.get_attribute("data-sound") == "played"  # the audible one
    screenshot(page, "en/alerts-flash-arrived")

    # The deadline counts down, second by second. (A redraw between two ticks may repeat one
    # value once, so three readings a second apart must show at least two.)
    clock = row.locator('[data-col="ack_by"] time[data-deadline]')
    readings = [clock.inner_text()]
    for _ in range(2):
        page.wait_for_timeout(1100)
        readings.append(clock.inner_text())
    assert len(set(readings)) >= 2, readings
    assert all(r.endswith(" left") and " min " in r for r in readings), readings
    assert "countdown" in clock.get_attribute("class")

    row.get_by_role("button", name="Acknowledge").click()
    page.locator(f'#alert-{sent["id"]}[data-status="acknowledged"]').wait_for(timeout=TIMEOUT_MS)
    assert row.locator('[data-col="ack_by"] time[data-deadline]').count() == 0  # clock stopped
    assert row.get_by_role("button", name="Acknowledge").count() == 0
    assert row.get_by_role("button", name="Answer").count() == 1
    assert api_get(ir, sent["id"])["acknowledged_at"] is not None
    wait_for(
        lambda: api_get(pk, sent["id"]).get("status") == "acknowledged",
        what="the acknowledgement back at Pakistan",
    )
    assert not_reloaded(page)
    assert page.problems == []


def test_an_answer_given_in_the_dialog_reaches_the_senders_open_page_live(
    desks: Desks, new_page: Callable[..., Any]
) -> None:
    pk, ir = with_passwords(desks.pk), with_passwords(desks.ir)
    sent = raise_alert(pk, text="Request: any movement seen near Gabd last night?")
    wait_for(lambda: api_get(ir, sent["id"]), what="the alert at Iran")
    sender = open_alerts(new_page, pk, Role.DUTY_OFFICER)
    theirs = sender.locator(f"#alert-{sent['id']}")
    assert theirs.get_attribute("data-direction") == "outbound"
    # Pakistan cannot acknowledge or answer its own alert (only withdraw it).
    assert theirs.locator('[data-action="acknowledge"], [data-action="answer"]').count() == 0

    receiver = open_alerts(new_page, ir, Role.LIAISON)
    mine = receiver.locator(f"#alert-{sent['id']}")
    mine.get_by_role("button", name="Answer").click()
    dialog = receiver.locator("#answer-dialog")
    assert dialog.is_visible()
    receiver.get_by_label("Declined").check()
    receiver.get_by_role("button", name="Send answer").click()
    assert dialog.is_visible()  # a reason is required to decline: the browser asks for it
    receiver.fill("#answer-text", "No patrol free in that sector before dawn")
    receiver.get_by_role("button", name="Send answer").click()
    dialog.wait_for(state="hidden", timeout=TIMEOUT_MS)
    receiver.locator(f'#alert-{sent["id"]}[data-status="answered"]').wait_for(timeout=TIMEOUT_MS)
    assert api_get(ir, sent["id"])["answer"] == "declined"

    # Pakistan's page, open all along, shows the answer when it arrives.
    sender.locator(f'#alert-{sent["id"]}[data-status="answered"]').wait_for(timeout=TIMEOUT_MS)
    status = theirs.locator('[data-col="status"]').inner_text()
    assert "Declined: No patrol free in that sector before dawn" in status
    assert not_reloaded(sender) and not_reloaded(receiver)
    assert sender.problems == [] and receiver.problems == []


@pytest.mark.parametrize(
    ("lang", "live", "acknowledge"),
    [
        ("en", "Live: new alerts", "Acknowledge"),
        ("ur", "براہ راست", "تسلیم کریں"),
        ("fa", "زنده", "تأیید دریافت"),
    ],
)
def test_the_alerts_page_in_each_language_with_a_screenshot(
    desks: Desks, new_page: Callable[..., Any], lang: str, live: str, acknowledge: str
) -> None:
    pk, ir = desks.pk, with_passwords(desks.ir)
    earlier = raise_alert(pk, priority="immediate")
    wait_for(lambda: api_get(ir, earlier["id"]), what="the alert at Iran")
    raise_alert(ir, priority="routine", text="Closure of Mirjaveh gate tomorrow for works")
    page = open_alerts(new_page, ir, Role.LIAISON, lang)
    assert page.locator("html").get_attribute("dir") == ("ltr" if lang == "en" else "rtl")
    assert live in page.locator("#live-status").inner_text()
    sent = raise_alert(pk, priority="flash", text="Flash: armed group near the line")
    row = page.locator(f"#alert-{sent['id']}")
    row.wait_for(timeout=TIMEOUT_MS)
    assert row.get_by_role("button", name=acknowledge).count() == 1  # drawn live, translated
    page.locator("#alert-banner").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_timeout(3200)  # let the arrival flash finish before the picture
    screenshot(page, f"{lang}/alerts-live")
    assert page.problems == []


def test_an_officer_raises_an_alert_with_the_form_and_withdraws_it_from_the_outbox(
    desks: Desks, new_page: Callable[..., Any]
) -> None:
    pk, ir = desks.pk, with_passwords(desks.ir)
    page = open_alerts(new_page, ir, Role.LIAISON)
    page.get_by_role("link", name="Raise an alert").click()
    page.wait_for_url(f"{ir.url}/alerts/new")
    assert page.locator("#partner").input_value() == "pk-node"  # the only partner
    page.get_by_label("Priority").select_option(label="Immediate")
    page.get_by_label("Kind").select_option(label="Smuggling movement")
    text = "Three fuel tankers waiting at the line south of Jalq"
    page.get_by_label("Text").fill(text)
    page.get_by_label("Sector").select_option("PKIR-030")
    page.get_by_label("TLP (who may see it)").select_option(label="TLP:GREEN")
    screenshot(page, "en/alerts-raise-form")
    page.get_by_role("button", name="Send the alert").click()

    page.wait_for_url(f"{ir.url}/alerts?raised=*")
    notice = page.locator("#raised-notice")
    assert "on its way to pk-node" in notice.inner_text()
    alert_id = page.url.rsplit("raised=", 1)[1]
    row = page.locator(f"#outbox #alert-{alert_id}")
    assert text in row.inner_text()
    page.wait_for_selector('#live-status[data-state="open"]', timeout=TIMEOUT_MS)
    wait_for(lambda: api_get(pk, alert_id), what="the alert at Pakistan")
    page.evaluate("() => { window.keptSinceLoad = 'yes'; }")

    row.get_by_role("button", name="Withdraw").click()
    dialog = page.locator("#withdraw-dialog")
    assert dialog.is_visible()
    assert text in dialog.locator("#withdraw-alert").inner_text()  # which alert it is
    dialog.get_by_role("button", name="Withdraw the alert").click()
    assert dialog.is_visible()  # a reason is required: the browser asks for it
    reason = "The tankers turned back; nothing to intercept"
    dialog.get_by_label("Reason", exact=True).fill(reason)
    dialog.get_by_role("button", name="Withdraw the alert").click()
    dialog.wait_for(state="hidden", timeout=TIMEOUT_MS)

    page.locator(f'#alert-{alert_id}[data-status="withdrawn"]').wait_for(timeout=TIMEOUT_MS)
    status = row.locator('[data-col="status"]').inner_text()
    assert "Withdrawn" in status and reason in status
    assert row.get_by_role("button", name="Withdraw").count() == 0
    assert row.locator("time[data-deadline]").count() == 0  # no clock runs any more
    assert not_reloaded(page)
    wait_for(
        lambda: api_get(pk, alert_id).get("status") == "withdrawn",
        what="the withdrawal at Pakistan",
    )
    assert api_get(ir, alert_id)["withdraw_reason"] == reason
    assert page.problems == []


def test_a_closure_alert_drawn_live_comes_in_the_pages_language(
    desks: Desks, new_page: Callable[..., Any]
) -> None:
    """The closure alert Pakistan's node writes reaches Iran's open Urdu page by the feed worded
    in Urdu, as a reload would show it, and keeps its wording when acknowledged."""
    pk, ir = desks.pk, with_passwords(desks.ir)
    page = open_alerts(new_page, ir, Role.LIAISON, "ur")
    with pk.client(Role.DUTY_OFFICER) as c:
        r = c.post(
            "/api/v1/crossings/declarations",
            json={"crossing": "taftan-mirjaveh", "status": "closed", "reason": "security_incident"},
        )
    assert r.status_code == 201, r.text

    def closure() -> dict[str, Any] | None:
        with ir.client(Role.LIAISON) as c:
            items = c.get("/api/v1/alerts", params={"direction": "inbound"}).json()["items"]
        return next((a for a in items if a["kind"] == "crossing_closure"), None)

    alert = wait_for(closure, what="the closure alert at Iran")
    cell = page.locator(f"#alert-{alert['id']} [data-col='text']")
    cell.wait_for(timeout=TIMEOUT_MS)
    assert not_reloaded(page)
    live = cell.inner_text()
    assert "Reason" in alert["text"]  # the text on the wire stays English for any partner
    assert "سیکیورٹی واقعہ" in live and "Reason" not in live, live
    page.locator(f"#alert-{alert['id']}").get_by_role("button", name="تسلیم کریں").click()
    page.locator(f'#alert-{alert["id"]}[data-status="acknowledged"]').wait_for(timeout=TIMEOUT_MS)
    assert cell.inner_text() == live  # redrawn from the API's answer, still in Urdu
    page.reload()
    assert page.locator(f"#alert-{alert['id']} [data-col='text']").inner_text() == live
    assert page.problems == []
