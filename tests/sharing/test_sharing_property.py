"""Properties of decide + redact over random incidents and random agreements.

Withheld text is drawn as unique markers, so "the value appears nowhere in the output" is a
meaningful check and not a coincidence of short strings.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from sarhad.core.markings import TLP
from sarhad.incidents.schemas import IncidentOut
from sarhad.incidents.taxonomy import UNITS_FOR, Category, Commodity, Status
from sarhad.sharing.policy import WITHHOLDABLE, SharableRecord, Terms, decide, redact

NODES = ("aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002")
SECTORS = tuple(f"PKIR-{i:03d}" for i in range(1, 7))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=60 * 24 * 30).map(lambda m: T0 + timedelta(minutes=m))
marker = st.integers(min_value=0, max_value=10**9)

seizure = st.sampled_from(list(Commodity)).flatmap(
    lambda c: st.builds(
        lambda unit, q: {"commodity": c.value, "quantity": q, "unit": unit.value},
        st.sampled_from(sorted(UNITS_FOR[c])),
        st.floats(min_value=0.5, max_value=1e6, allow_nan=False),
    )
)


@st.composite
def incidents(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    """A random incident as IncidentOut JSON, and the node it came from (None = ours)."""
    n = draw(marker)
    sources = [f"xSRC{n}q{i}x" for i in range(draw(st.integers(0, 3)))]
    out = IncidentOut.model_validate(
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "version": 1,
            "status": draw(st.sampled_from(list(Status))),
            "title": "Incident on the line",
            "category": draw(st.sampled_from(list(Category))),
            "occurred_at": draw(moments),
            "date_precision": "exact",
            "location": {
                "lon": 61.5,
                "lat": 28.9,
                "precision": "near",
                "place": draw(st.one_of(st.none(), st.just(f"xPLACE{n}x"))),
            },
            "reporting_side": "PK",
            "casualties": {"civilians": {"killed": draw(st.integers(0, 5))}},
            "seizures": draw(st.lists(seizure, max_size=3)),
            "grading": {
                "source_reliability": draw(st.sampled_from("ABCDEF")),
                "information_credibility": draw(st.sampled_from("123456")),
            },
            "tlp": draw(st.sampled_from(list(TLP))),
            "narrative": draw(st.sampled_from(["", f"xNARR{n}x"])),
            "sources": sources,
            "enrichment": {
                "profile": "pk-ir",
                "side": "PK",
                "distance_m": 10.0,
                "sector": draw(st.sampled_from(SECTORS)),
                "km": 1.0,
                "nearest_crossing": {"id": "taftan-mirjaveh", "distance_m": 10.0},
            },
            "origin": "local",
            "external_ref": None,
            "created_at": T0,
            "updated_at": T0,
        }
    )
    origin = draw(st.one_of(st.none(), st.none(), st.sampled_from(NODES)))
    return out.model_dump(mode="json"), origin


def subsets(values: Any, *, often: frozenset[str]) -> st.SearchStrategy[frozenset[str]]:
    """Any subset, but ``often`` half the time, so that enough records pass every rule."""
    return st.one_of(st.just(often), st.frozensets(st.sampled_from([str(v) for v in values])))


terms_strategy = st.builds(
    Terms,
    partner=st.just("ir-node"),
    partner_node_id=st.one_of(st.none(), st.sampled_from(NODES)),
    version=st.integers(1, 50),
    categories=subsets(Category, often=frozenset()),
    sectors=subsets(SECTORS, often=frozenset()),
    statuses=subsets(Status, often=frozenset(Status)),
    max_tlp=st.sampled_from([TLP.AMBER_STRICT, TLP.AMBER_STRICT, TLP.CLEAR, TLP.GREEN, TLP.AMBER]),
    withheld_fields=subsets(WITHHOLDABLE, often=frozenset(WITHHOLDABLE)),
    release_delay_hours=st.sampled_from([0.0, 0.0, 1.0, 6.0, 48.0, 24 * 40.0]),
    expires_at=st.one_of(st.none(), st.none(), moments),
    forward_third_party=st.booleans(),
)


def keys(value: Any) -> set[str]:
    """Every dict key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def oracle(rec: SharableRecord, terms: Terms, now: datetime) -> tuple[bool, bool]:
    """(would every rule but the delay pass, does the delay pass) written independently."""
    ready = now >= rec.occurred_at + timedelta(hours=terms.release_delay_hours)
    rules = (
        (terms.expires_at is None or now < terms.expires_at)
        and rec.tlp != TLP.RED
        and list(TLP).index(rec.tlp) <= list(TLP).index(terms.max_tlp)
        and (not terms.categories or rec.category in terms.categories)
        and (not terms.sectors or rec.sector in terms.sectors)
        and rec.status in terms.statuses
        and (
            rec.origin_node_id is None
            or (
                terms.forward_third_party
                and rec.tlp in (TLP.CLEAR, TLP.GREEN)
                and rec.origin_node_id != terms.partner_node_id
            )
        )
    )
    return rules, ready


@settings(max_examples=300, deadline=None)
@given(incident=incidents(), terms=terms_strategy, now=moments)
def test_withheld_never_leaks_red_never_goes_and_shared_means_allowed(
    incident: tuple[dict[str, Any], str | None], terms: Terms, now: datetime
) -> None:
    record_json, origin = incident
    before = copy.deepcopy(record_json)
    rec = SharableRecord.from_incident(IncidentOut.model_validate(record_json), origin)
    decision = decide(rec, terms, now=now)
    event("shared" if decision.share else "held" if decision.release_at else "refused")
    shown = redact(record_json, decision)

    assert record_json == before  # redact never mutates its input
    assert decision.withheld_fields == tuple(sorted(terms.withheld_fields))
    found = keys(shown)
    text = json.dumps(shown, ensure_ascii=False)
    for name in terms.withheld_fields:
        assert name not in found, name
    secrets = {
        "sources": record_json["sources"],
        "narrative": [record_json["narrative"]] if record_json["narrative"] else [],
        "place": [p] if (p := record_json["location"]["place"]) else [],
    }
    for name, values in secrets.items():
        if name in terms.withheld_fields:
            for value in values:
                assert value not in text, (name, value)
    assert shown["casualties"] == record_json["casualties"]  # civilian harm is always reported

    if rec.tlp is TLP.RED:
        assert not decision.share and "TLP:RED never leaves the node" in decision.reasons
    rules, ready = oracle(rec, terms, now)
    assert decision.share == (rules and ready)
    assert (decision.release_at is not None) == (rules and not ready)
    assert decision.share == (not decision.reasons)
    if decision.share:
        assert rec.tlp.rank <= terms.max_tlp.rank and rec.tlp is not TLP.RED
        assert not terms.categories or rec.category in terms.categories
        assert not terms.sectors or rec.sector in terms.sectors
        assert rec.status in terms.statuses
        assert terms.expires_at is None or now < terms.expires_at
        assert now >= rec.occurred_at + timedelta(hours=terms.release_delay_hours)
        if rec.origin_node_id is not None:
            assert terms.forward_third_party and rec.tlp in (TLP.CLEAR, TLP.GREEN)
            assert rec.origin_node_id != terms.partner_node_id
