"""Incident pages over HTTP: the record with its history and steps, the form, errors by field."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

from sarhad.core.auth import Role
from web.helpers import csrf_of

FORM = {
    "title": "Fuel carriers stopped near Taftan",
    "category": "smuggling_fuel",
    "reporting_side": "PK",
    "occurred_at": "2026-11-02T09:30",
    "zone": "PK",  # PKT: 09:30 PKT is 04:30 UTC
    "date_precision": "exact",
    "lon": "61.57311",
    "lat": "28.98277",
    "place": "east of the gate",
    "location_precision": "exact",
    "casualties.civilians.injured": "2",
    "seizures.0.commodity": "diesel",
    "seizures.0.quantity": "1200",
    "seizures.0.unit": "l",
    "source_reliability": "B",
    "information_credibility": "2",
    "tlp": "amber",
    "narrative": "Two pickups with jerrycans.",
}


def post_form(client: Any, path: str, fields: dict[str, str], *, csrf: bool = True) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    data = dict(fields)
    if csrf:
        data["csrf_token"] = csrf_of(page.text)
    return client.post(path, data=data)


def created_id(response: Any) -> str:
    assert response.status_code == 303, response.text[:500]
    found = re.fullmatch(r"/incidents/([0-9a-f-]{36})\?saved=1", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def error_of(html: str, field: str) -> str:
    """The message shown next to the input named ``field`` (its id uses dashes)."""
    found = re.search(
        rf'<span class="field-error" id="{re.escape(field.replace(".", "-"))}-error">([^<]*)<', html
    )
    assert found, f"no error shown for {field}"
    return htmllib.unescape(found.group(1))


def test_a_duty_officer_creates_an_incident_with_the_form(browser):
    client = browser(Role.DUTY_OFFICER)
    listing = client.get("/incidents")
    assert 'href="/incidents/new"' in listing.text
    incident_id = created_id(post_form(client, "/incidents/new", FORM))
    page = client.get(f"/incidents/{incident_id}?saved=1")
    assert page.status_code == 200
    text = page.text
    assert "<h1><bdi>Fuel carriers stopped near Taftan</bdi></h1>" in text
    # The time was read in PKT and stored in UTC.
    assert 'datetime="2026-11-02T04:30:00+00:00"' in text
    # Placed on the border by locate when stored: Pakistani side, a sector, the crossing.
    assert 'data-side="PK"' in text and re.search(r"PKIR-\d{3}", text)
    assert "Taftan" in text
    assert "Diesel" in text and "1200" in text
    # Found in the list, linked to its page.
    assert (
        f'<a href="/incidents/{incident_id}"><bdi>Fuel carriers stopped near Taftan</bdi></a>'
        in (client.get("/incidents").text)
    )
    # And through the API with the same values.
    api = client.get(f"/api/v1/incidents/{incident_id}").json()
    assert api["casualties"]["civilians"]["injured"] == 2
    assert api["seizures"] == [{"commodity": "diesel", "quantity": 1200.0, "unit": "l"}]
    assert api["grading"] == {"source_reliability": "B", "information_credibility": "2"}
    assert api["location"]["place"] == "east of the gate"


def test_errors_are_shown_next_to_their_fields_and_the_values_kept(browser):
    client = browser(Role.DUTY_OFFICER)
    bad = {
        **FORM,
        "title": "ab",
        "lon": "east",
        "lat": "95",
        "occurred_at": "",
        "seizures.0.unit": "rounds",  # rounds of diesel: a typing error
        "casualties.assailants.killed": "-1",
    }
    r = post_form(client, "/incidents/new", bad)
    assert r.status_code == 422
    html = r.text
    assert error_of(html, "title") == "This is too short."
    assert error_of(html, "lon") == "Enter a number."
    assert error_of(html, "lat") == "The value is too large."
    assert error_of(html, "occurred_at") == "Enter the date and time."
    assert "does not fit diesel" in error_of(html, "seizures.0")
    assert error_of(html, "casualties.assailants.killed") == "The value is too small."
    assert 'id="lon" name="lon" type="text"' in html and 'value="east"' in html
    assert 'aria-invalid="true" aria-describedby="lon-error"' in html
    assert 'value="Two pickups with jerrycans.' not in html  # narrative is a textarea
    assert ">Two pickups with jerrycans.</textarea>" in html
    # Nothing was stored.
    assert client.get("/api/v1/incidents").json()["items"] == []
    # In Urdu the messages are translated too.
    client.get("/incidents?lang=ur")
    ur = post_form(client, "/incidents/new", bad)
    assert error_of(ur.text, "title") != "This is too short."


def test_an_unknown_reporting_side_is_refused_by_the_service_next_to_its_field(browser):
    client = browser(Role.DUTY_OFFICER)
    r = post_form(client, "/incidents/new", {**FORM, "reporting_side": "AF"})
    assert r.status_code == 422
    assert "not a side of this border" in error_of(r.text, "reporting_side")


def test_record_page_shows_the_history_and_only_the_steps_the_role_may_take(browser):
    duty = browser(Role.DUTY_OFFICER)
    incident_id = created_id(post_form(duty, "/incidents/new", FORM))
    edit = f"/incidents/{incident_id}/edit"
    form = duty.get(edit).text
    assert 'value="61.57311"' in form and 'name="expected_version" value="1"' in form
    assert 'value="2026-11-02T04:30"' in form  # shown in UTC on an edit
    changed = {**FORM, "zone": "UTC", "occurred_at": "2026-11-02T04:30", "title": "Fuel seized"}
    changed["expected_version"] = "1"
    assert post_form(duty, edit, changed).status_code == 303

    page = duty.get(f"/incidents/{incident_id}").text
    history = re.search(r'<table id="history">.*?</table>', page, re.S).group(0)
    assert history.count("<tr data-version=") == 2
    v2 = re.search(r'<tr data-version="2">.*?</tr>', history, re.S).group(0)
    assert '<li data-field="title">' in v2
    assert "<del>Fuel carriers stopped near Taftan</del> → <ins>Fuel seized</ins>" in v2
    assert 'data-field="occurred_at"' not in v2  # the same moment, given in another zone
    # A duty officer may submit a draft; not validate or close it.
    assert re.findall(r'data-step="(\w+)"', page) == ["submitted"]
    commander = browser(Role.COMMANDER)
    assert re.findall(r'data-step="(\w+)"', commander.get(f"/incidents/{incident_id}").text) == []

    # Submit as the duty officer; the commander then sees validate, and takes it.
    r = _step(duty, incident_id, "submitted", 2)
    assert r.status_code == 303
    page = commander.get(f"/incidents/{incident_id}").text
    assert re.findall(r'data-step="(\w+)"', page) == ["validated"]
    assert f'href="/incidents/{incident_id}/edit"' not in page  # no incidents:write
    assert _step(commander, incident_id, "validated", 3).status_code == 303
    page = commander.get(f"/incidents/{incident_id}").text
    assert "lifecycle-validated" in page and re.findall(r'data-step="(\w+)"', page) == ["closed"]
    v4 = re.search(r'<tr data-version="4">.*?</tr>', page, re.S).group(0)
    assert "<del>Submitted</del> → <ins>Validated</ins>" in v4

    # A page shown before someone else's step is stale: 409, nothing changes.
    stale = _step(commander, incident_id, "closed", 3)
    assert stale.status_code == 409
    assert "The record changed meanwhile" in stale.text
    # A step the role may not take, forged into the form, is refused.
    forged = _step(duty, incident_id, "closed", 4)
    assert forged.status_code == 403
    assert duty.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "validated"


def _step(client: Any, incident_id: str, to: str, version: int) -> Any:
    token = csrf_of(client.get(f"/incidents/{incident_id}").text)
    return client.post(
        f"/incidents/{incident_id}/status",
        data={"to": to, "expected_version": str(version), "csrf_token": token},
    )


def test_an_analyst_may_read_but_not_open_the_new_incident_form(browser):
    analyst = browser(Role.ANALYST)
    listing = analyst.get("/incidents")
    assert listing.status_code == 200 and 'href="/incidents/new"' not in listing.text
    r = analyst.get("/incidents/new")
    assert r.status_code == 403
    assert "Your role may not record or edit incidents." in r.text
    token = csrf_of(listing.text)
    assert analyst.post("/incidents/new", data={**FORM, "csrf_token": token}).status_code == 403
    assert analyst.get("/api/v1/incidents").json()["items"] == []


def test_a_form_without_the_csrf_token_is_refused(browser):
    client = browser(Role.DUTY_OFFICER)
    r = post_form(client, "/incidents/new", FORM, csrf=False)
    assert r.status_code == 403
    assert "The form was not sent from this console" in r.text
    assert client.get("/api/v1/incidents").json()["items"] == []
    incident_id = created_id(post_form(client, "/incidents/new", FORM))
    no_token = client.post(
        f"/incidents/{incident_id}/status", data={"to": "submitted", "expected_version": "1"}
    )
    assert no_token.status_code == 403
    assert client.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "draft"


def test_a_stale_edit_is_refused_and_an_unknown_record_is_a_404(browser):
    client = browser(Role.DUTY_OFFICER)
    incident_id = created_id(post_form(client, "/incidents/new", FORM))
    edit = f"/incidents/{incident_id}/edit"
    first = {**FORM, "title": "First edit", "expected_version": "1"}
    assert post_form(client, edit, first).status_code == 303
    late = post_form(client, edit, {**FORM, "title": "Late edit", "expected_version": "1"})
    assert late.status_code == 422
    assert "Someone saved this record meanwhile" in late.text
    assert client.get(f"/api/v1/incidents/{incident_id}").json()["title"] == "First edit"
    assert client.get("/incidents/00000000-0000-0000-0000-000000000000").status_code == 404


def _casualty_grid(html: str) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """The casualties table as (header text, class) per column and (value, class) per row."""
    from html.parser import HTMLParser

    class Grid(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.part, self.cell = False, "", None
            self.rows: list[list[list[str]]] = []
            self.heads: list[list[str]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "table" and a.get("id") == "casualties":
                self.inside = True
            elif self.inside and tag in ("thead", "tbody"):
                self.part = tag
            elif self.inside and tag == "tr" and self.part == "tbody":
                self.rows.append([])
            elif self.inside and tag in ("th", "td"):
                self.cell = ["", a.get("class") or ""]
                (self.heads if self.part == "thead" else self.rows[-1]).append(self.cell)

        def handle_endtag(self, tag: str) -> None:
            if tag == "table":
                self.inside = False
            elif tag in ("th", "td"):
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell[0] += data.strip()

    g = Grid()
    g.feed(html)
    heads = [(t, c) for t, c in g.heads]
    rows = {r[0][0]: [(t, c) for t, c in r] for r in g.rows}
    return heads, rows


def test_each_casualty_number_sits_under_its_own_header_in_english_and_urdu(browser):
    """Killed, injured and detained differ per party: each number under its header, aligned
    the same way as the header (a number pushed to the far edge of its column sat visually
    under the next header)."""
    client = browser(Role.DUTY_OFFICER)
    form = dict(FORM)
    del form["casualties.civilians.injured"]
    counts = {"security_forces": (1, 2, 3), "civilians": (4, 5, 6), "assailants": (7, 8, 9)}
    for group, numbers in counts.items():
        for kind, n in zip(("killed", "injured", "detained"), numbers, strict=True):
            form[f"casualties.{group}.{kind}"] = str(n)
    incident_id = created_id(post_form(client, "/incidents/new", form))
    names = {
        "en": ({"security_forces": "Security forces", "civilians": "Civilians",
                "assailants": "Assailants"}, ["Killed", "Injured", "Detained"]),
    }  # fmt: skip
    for lang in ("en", "ur"):
        heads, rows = _casualty_grid(client.get(f"/incidents/{incident_id}?lang={lang}").text)
        assert len(heads) == 4 and len(rows) == 3
        if lang in names:
            assert [h for h, _ in heads[1:]] == names[lang][1]
        labels = list(rows)
        for label, group in zip(labels, counts, strict=True):
            if lang in names:
                assert label == names[lang][0][group]
            cells = rows[label][1:]
            assert [v for v, _ in cells] == [str(n) for n in counts[group]], (lang, label)
            # The cell is aligned like its header (both to the end), so it reads under it.
            assert [c for _, c in cells] == [c for _, c in heads[1:]], (lang, label)
