"""A coded message stored as JSON and shown later keeps its numbers and words localised.

``Text.as_json`` stores numbers as JSON numbers (a ``Number`` whose text says more, such as
``4,311.5``, with its text beside) and a ``Word`` (a code put into a sentence: a side, a
status, a shift) with its label; ``from_json`` makes each what it was, so the message is
worded in its reader's digits and words when it is read back, not in English.
"""

from __future__ import annotations

import json

from sarhad.core.auth import Role
from sarhad.core.i18n import Number, Text, Word, from_json, message, pseudo_wrap
from sarhad.core.labels import word
from sarhad.patrols.service import plan_notes
from support import LiveNode


def _stored(text: Text) -> Text:
    """``text`` through a JSON column and back."""
    back = from_json(json.loads(json.dumps(text.as_json())))
    assert back is not None
    return back


def test_a_number_survives_json_in_the_readers_digits() -> None:
    far = message("border.swap.far", "is {km} km from the line", km=Number("4,311.5"))
    assert far.as_json()["params"] == {"km": {"number": 4311.5, "text": "4,311.5"}}
    again = _stored(far)
    assert str(again) == "is 4,311.5 km from the line"
    assert again.in_("fa") == far.in_("fa") and "۴٬۳۱۱٫۵" in again.in_("fa")
    near = Text("border.swap.far", {"km": Number("30")})
    assert near.as_json()["params"] == {"km": 30}  # a plain JSON number when it is one
    assert _stored(near).in_("fa") == near.in_("fa")


def test_a_stored_plan_note_keeps_persian_digits() -> None:
    note = message(
        "patrols.died",
        "the planner stopped without an answer ({why}); each plan may use "
        "{memory} MB and {seconds} s",
        why=message("patrols.died.cpu", "it used up its CPU time"),
        memory=512,
        seconds=Number("2.5"),
    )
    summary = json.loads(json.dumps({"note_codes": [note.as_json()]}))
    (shown,) = plan_notes(summary, "fa")
    assert "۲٫۵" in shown and "۵۱۲" in shown and "2.5" not in shown


def test_a_word_is_the_code_in_english_and_its_label_in_other_languages() -> None:
    side = word("side", "PK")
    assert isinstance(side, Word) and side == "PK" and side.label == "Pakistan"
    text = message(
        "patrols.note.uncovered", "{count} sectors lie outside every base of {side}", count=3,
        side=side,
    )  # fmt: skip
    assert str(text) == "3 sectors lie outside every base of PK"  # English as it always was
    assert "پاکستان" in text.in_("ur") and "PK" not in text.in_("ur")
    assert "پاکستان" in text.in_("fa") and "PK" not in text.in_("fa")
    again = _stored(text)
    assert again.in_("ur") == text.in_("ur") and str(again) == str(text)
    assert word("side", "XX").in_("ur") == "XX"  # a code without a label is shown as it is


def test_the_pseudo_locale_leaves_placeholders_outside_the_marks() -> None:
    assert pseudo_wrap("no incident {id}") == "⟦no incident ⟧{id}"
    assert pseudo_wrap("{text}") == "{text}"
    assert pseudo_wrap("Sent in the last %(days)s days") == "⟦Sent in the last ⟧%(days)s⟦ days⟧"


def test_a_refusal_and_a_lifecycle_conflict_name_roles_and_statuses_in_the_readers_words(
    live: LiveNode,
) -> None:
    with live.client(Role.DUTY_OFFICER) as duty:
        refused = duty.get("/api/v1/federation/status", headers={"Accept-Language": "fa"})
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert "افسر کشیک" in error["message"] and "duty_officer" not in error["message"]
        assert error["params"]["role"] == {"word": "duty_officer", "label": "Duty officer"}
        made = duty.post(
            "/api/v1/incidents",
            json={
                "title": "Fuel smugglers seen near the line",
                "category": "smuggling_fuel",
                "occurred_at": "2026-11-20T10:00:00Z",
                "location": {"lon": 61.45, "lat": 29.02, "precision": "near"},
                "reporting_side": "PK",
            },
        )
        assert made.status_code == 201, made.text
    with live.client(Role.ADMIN) as admin:  # may close, but not a draft
        step = admin.post(
            f"/api/v1/incidents/{made.json()['id']}/transitions",
            json={"to": "closed", "expected_version": 1},
            headers={"Accept-Language": "ur"},
        )
    assert step.status_code == 409, step.text
    said = step.json()["error"]["message"]
    assert "مسودہ" in said and "draft" not in said and "closed" not in said, said
