"""The pure sharing policy: every rule alone, their combinations, and redaction."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sarhad.core.markings import TLP
from sarhad.incidents.schemas import IncidentOut
from sarhad.sharing.policy import (
    WITHHOLDABLE,
    Decision,
    SharableRecord,
    Terms,
    decide,
    redact,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PARTNER_NODE = "5b0e7d5a-0000-4000-8000-00000000000a"
THIRD_NODE = "5b0e7d5a-0000-4000-8000-00000000000b"

OK_RECORD = SharableRecord(
    id="r1",
    category="smuggling_fuel",
    sector="PKIR-003",
    status="validated",
    tlp=TLP.GREEN,
    occurred_at=NOW - timedelta(days=2),
    origin_node_id=None,
)
OK_TERMS = Terms(partner="ir-node", partner_node_id=PARTNER_NODE, version=3)


def reasons(record: SharableRecord = OK_RECORD, terms: Terms = OK_TERMS) -> tuple[str, ...]:
    decision = decide(record, terms, now=NOW)
    assert decision.share == (not decision.reasons)
    return decision.reasons


def test_a_plain_validated_green_record_goes_without_its_sources() -> None:
    decision = decide(OK_RECORD, OK_TERMS, now=NOW)
    assert decision == Decision(share=True, reasons=(), withheld_fields=("sources",))


def test_tlp_red_never_leaves_whatever_else_is_allowed() -> None:
    assert reasons(replace(OK_RECORD, tlp=TLP.RED)) == ("TLP:RED never leaves the node",)


@pytest.mark.parametrize(
    ("tlp", "limit", "goes"),
    [
        (TLP.CLEAR, TLP.CLEAR, True),
        (TLP.GREEN, TLP.CLEAR, False),
        (TLP.AMBER, TLP.AMBER, True),
        (TLP.AMBER_STRICT, TLP.AMBER, False),
        (TLP.AMBER_STRICT, TLP.AMBER_STRICT, True),
    ],
)
def test_tlp_above_the_agreement_limit_stays(tlp: TLP, limit: TLP, goes: bool) -> None:
    got = reasons(replace(OK_RECORD, tlp=tlp), replace(OK_TERMS, max_tlp=limit))
    assert (got == ()) is goes
    if not goes:
        assert got == (f"{tlp.label} is above the agreement's limit {limit.label}",)


def test_terms_refuse_red_as_a_limit_and_unknown_or_casualty_fields() -> None:
    with pytest.raises(ValueError, match="TLP:RED never leaves"):
        replace(OK_TERMS, max_tlp=TLP.RED)
    with pytest.raises(ValueError, match="casualties"):
        replace(OK_TERMS, withheld_fields=frozenset({"casualties"}))
    with pytest.raises(ValueError, match="negative"):
        replace(OK_TERMS, release_delay_hours=-1)


def test_category_sector_and_status_filters() -> None:
    terms = replace(
        OK_TERMS, categories=frozenset({"smuggling_fuel"}), sectors=frozenset({"PKIR-003"})
    )
    assert reasons(OK_RECORD, terms) == ()
    assert reasons(replace(OK_RECORD, category="kidnapping"), terms) == (
        "category kidnapping is not in the agreement",
    )
    assert reasons(replace(OK_RECORD, sector="PKIR-009"), terms) == (
        "sector PKIR-009 is not in the agreement",
    )
    assert reasons(replace(OK_RECORD, status="draft")) == ("status draft is not shared",)
    assert reasons(replace(OK_RECORD, status="closed")) == ()
    # Empty category and sector lists mean "all"; empty statuses mean "none" (fail closed).
    assert reasons(replace(OK_RECORD, category="kidnapping", sector="PKIR-044")) == ()
    assert reasons(terms=replace(OK_TERMS, statuses=frozenset())) == (
        "status validated is not shared",
    )


def test_expired_agreement_shares_nothing() -> None:
    expired = replace(OK_TERMS, expires_at=datetime(2026, 11, 1, tzinfo=UTC))
    assert reasons(terms=expired) == ("agreement expired on 2026-11-01T00:00Z",)
    # Expiry is exclusive of the instant itself: at expires_at nothing goes.
    assert reasons(terms=replace(OK_TERMS, expires_at=NOW)) != ()
    assert reasons(terms=replace(OK_TERMS, expires_at=NOW + timedelta(seconds=1))) == ()


def test_release_delay_holds_a_record_and_says_until_when() -> None:
    fresh = replace(OK_RECORD, occurred_at=datetime(2026, 11, 24, 4, 0, tzinfo=UTC))
    terms = replace(OK_TERMS, release_delay_hours=6)
    decision = decide(fresh, terms, now=NOW - timedelta(hours=4))
    assert decision.share is False
    assert decision.reasons == ("held until 2026-11-24T10:00Z by the 6 h release delay",)
    assert decision.release_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert decide(fresh, terms, now=decision.release_at).share is True
    assert decide(fresh, replace(terms, release_delay_hours=1.5), now=NOW).share is True


def test_release_at_is_only_promised_when_nothing_else_stands_in_the_way() -> None:
    fresh = replace(OK_RECORD, occurred_at=NOW - timedelta(hours=1), status="draft")
    decision = decide(fresh, replace(OK_TERMS, release_delay_hours=6), now=NOW)
    assert decision.release_at is None
    assert decision.reasons == (
        "status draft is not shared",
        "held until 2026-11-24T17:00Z by the 6 h release delay",
    )


def test_received_records_need_forwarding_allowed() -> None:
    received = replace(OK_RECORD, origin_node_id=THIRD_NODE)
    assert reasons(received) == (
        "received from another node and the agreement does not allow forwarding",
    )
    forwarding = replace(OK_TERMS, forward_third_party=True)
    assert reasons(received, forwarding) == ()
    assert reasons(replace(received, tlp=TLP.CLEAR), forwarding) == ()


@pytest.mark.parametrize("tlp", [TLP.AMBER, TLP.AMBER_STRICT])
def test_tlp_2_amber_may_not_be_passed_on(tlp: TLP) -> None:
    received = replace(OK_RECORD, origin_node_id=THIRD_NODE, tlp=tlp)
    terms = replace(OK_TERMS, forward_third_party=True, max_tlp=TLP.AMBER_STRICT)
    assert reasons(received, terms) == (
        f"received from another node and {tlp.label} forbids forwarding",
    )
    # The same marking on our own record is fine.
    assert reasons(replace(received, origin_node_id=None), terms) == ()


def test_a_record_is_never_echoed_back_to_its_originator() -> None:
    echo = replace(OK_RECORD, origin_node_id=PARTNER_NODE)
    assert reasons(echo, replace(OK_TERMS, forward_third_party=True)) == (
        "received from ir-node: never sent back to its originator",
    )


def test_every_failing_rule_is_reported_in_order() -> None:
    record = SharableRecord(
        id="r9",
        category="kidnapping",
        sector="PKIR-020",
        status="draft",
        tlp=TLP.AMBER_STRICT,
        occurred_at=NOW - timedelta(minutes=30),
        origin_node_id=PARTNER_NODE,
    )
    terms = Terms(
        partner="ir-node",
        partner_node_id=PARTNER_NODE,
        version=1,
        categories=frozenset({"smuggling_fuel"}),
        sectors=frozenset({"PKIR-001"}),
        max_tlp=TLP.GREEN,
        release_delay_hours=6,
        expires_at=NOW - timedelta(days=1),
    )
    decision = decide(record, terms, now=NOW)
    assert decision.share is False and decision.release_at is None
    assert decision.reasons == (
        "agreement expired on 2026-11-23T12:00Z",
        "TLP:AMBER+STRICT is above the agreement's limit TLP:GREEN",
        "category kidnapping is not in the agreement",
        "sector PKIR-020 is not in the agreement",
        "status draft is not shared",
        "received from another node and the agreement does not allow forwarding",
        "received from another node and TLP:AMBER+STRICT forbids forwarding",
        "received from ir-node: never sent back to its originator",
        "held until 2026-11-24T17:30Z by the 6 h release delay",
    )


def test_red_received_record_gets_one_tlp_reason_not_three() -> None:
    red = replace(OK_RECORD, tlp=TLP.RED, origin_node_id=THIRD_NODE)
    assert reasons(red, replace(OK_TERMS, forward_third_party=True)) == (
        "TLP:RED never leaves the node",
    )


def _incident_json() -> dict:
    out = IncidentOut.model_validate(
        {
            "id": "11111111-2222-4333-8444-555555555555",
            "version": 2,
            "status": "validated",
            "title": "Diesel convoy stopped",
            "category": "smuggling_fuel",
            "occurred_at": "2026-11-20T02:00:00Z",
            "date_precision": "exact",
            "location": {"lon": 61.6, "lat": 28.9, "precision": "near", "place": "near Taftan"},
            "reporting_side": "PK",
            "casualties": {"civilians": {"injured": 1}},
            "seizures": [{"commodity": "diesel", "quantity": 6000, "unit": "l"}],
            "grading": {"source_reliability": "B", "information_credibility": "2"},
            "tlp": "green",
            "narrative": "Informant reported the convoy",
            "sources": ["FC report 12/2026"],
            "enrichment": {
                "profile": "pk-ir",
                "side": "PK",
                "distance_m": 1200.0,
                "sector": "PKIR-003",
                "km": 25.1,
                "nearest_crossing": {"id": "taftan-mirjaveh", "distance_m": 5000.0},
            },
            "origin": "local",
            "external_ref": None,
            "created_at": "2026-11-20T03:00:00Z",
            "updated_at": "2026-11-20T04:00:00Z",
        }
    )
    return out.model_dump(mode="json")


def test_redact_removes_withheld_fields_and_leaves_the_input_alone() -> None:
    record = _incident_json()
    before = copy.deepcopy(record)
    decision = Decision(share=True, withheld_fields=tuple(sorted(WITHHOLDABLE)))
    shown = redact(record, decision)
    assert record == before
    for key in ("sources", "narrative", "grading", "seizures"):
        assert key not in shown
    assert "place" not in shown["location"] and shown["location"]["lon"] == 61.6
    assert shown["casualties"]["civilians"]["injured"] == 1  # civilian harm always goes
    shown["location"]["lat"] = 0.0
    assert record["location"]["lat"] == 28.9  # the copy is deep


def test_redact_with_nothing_withheld_is_an_equal_copy() -> None:
    record = _incident_json()
    shown = redact(record, Decision(share=True))
    assert shown == record and shown is not record


def test_from_incident_takes_what_decide_needs() -> None:
    out = IncidentOut.model_validate(_incident_json())
    rec = SharableRecord.from_incident(out, THIRD_NODE)
    assert rec == SharableRecord(
        id=out.id,
        category="smuggling_fuel",
        sector="PKIR-003",
        status="validated",
        tlp=TLP.GREEN,
        occurred_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        origin_node_id=THIRD_NODE,
    )
