"""Links between our records and a partner's: scoring with each record's certainty, proposals
on every trigger, the one-twin rule, links by hand and undo, and counting each event once."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from sarhad.border import BorderProfile
from sarhad.core.auth import Principal, Role
from sarhad.core.db import Database, lock_writes
from sarhad.core.errors import Conflict, InvalidInput
from sarhad.incidents import links, service
from sarhad.incidents.links import Facts, score
from sarhad.incidents.models import Incident, IncidentLink
from sarhad.incidents.schemas import IncidentIn, IncidentPatch, Transition

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TAFTAN = (61.595, 28.96)
PARTNER = str(uuid.UUID(int=7))
LIAISON = Principal("liaison", Role.LIAISON)


def facts(**over: Any) -> Facts:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "category": "smuggling_narcotics",
        "occurred_at": T0,
        "date_precision": "exact",
        "lat": TAFTAN[1],
        "lon": TAFTAN[0],
        "location_precision": "exact",
        "seizures": (("hashish", 120.0, "kg"),),
    }
    base.update(over)
    return Facts(**base)


def test_a_date_only_record_spans_its_day() -> None:
    exact = facts(occurred_at=T0 + timedelta(hours=11))  # 21:00 on the 20th
    day = facts(occurred_at=datetime(2026, 11, 20, tzinfo=UTC), date_precision="day")
    two_days_on = facts(occurred_at=datetime(2026, 11, 23, tzinfo=UTC), date_precision="day")
    same_day = score(exact, day)
    assert same_day is not None and "times overlap at their precision" in same_day.reasons
    assert score(exact, two_days_on) is None  # beyond the reporting lag either way


def test_a_district_record_spans_its_district_and_an_exact_one_does_not() -> None:
    seat = facts(lat=TAFTAN[1] + 1.2, location_precision="district")  # ~133 km away
    exact_there = facts(lat=TAFTAN[1] + 1.2)
    got = score(facts(), seat)
    assert got is not None and "places overlap at their precision" in got.reasons
    assert score(facts(), exact_there) is None


def test_related_categories_match_with_a_penalty_and_unrelated_ones_never() -> None:
    attack = facts(category="armed_attack", seizures=())
    clash = facts(category="armed_clash", seizures=())
    same = score(attack, facts(category="armed_attack", seizures=()))
    related = score(attack, clash)
    assert same is not None and related is not None
    assert related.value < same.value
    assert any("violence" in r for r in related.reasons)
    assert score(attack, facts(category="illegal_crossing", seizures=())) is None


def test_seizures_compare_commodity_and_quantity_in_one_unit() -> None:
    ours = facts(seizures=(("hashish", 0.5, "t"),))
    same = score(ours, facts(seizures=(("hashish", 480.0, "kg"),)))
    smaller = score(ours, facts(seizures=(("hashish", 20.0, "kg"),)))
    other = score(ours, facts(seizures=(("diesel", 500.0, "l"),)))
    assert same is not None and smaller is not None and other is not None
    assert same.value > smaller.value > other.value


def test_two_seizures_at_one_crossing_on_one_day_rank_by_what_was_seized() -> None:
    theirs = facts(seizures=(("opium", 40.0, "kg"),), occurred_at=T0 + timedelta(hours=2))
    right = facts(seizures=(("opium", 38.0, "kg"),))
    wrong = facts(seizures=(("hashish", 900.0, "kg"),), occurred_at=T0 + timedelta(hours=3))
    a, b = score(theirs, right), score(theirs, wrong)
    assert a is not None and (b is None or a.value > b.value)


def test_disagreeing_casualty_counts_outweigh_a_few_hours() -> None:
    theirs = facts(
        category="armed_attack", seizures=(), killed=5, occurred_at=T0 + timedelta(hours=1)
    )
    right = facts(
        category="armed_attack", seizures=(), killed=5, occurred_at=T0 + timedelta(hours=4)
    )
    wrong = facts(
        category="armed_attack", seizures=(), killed=1, occurred_at=T0 + timedelta(hours=1)
    )
    a, b = score(theirs, right), score(theirs, wrong)
    assert a is not None and b is not None and a.value > b.value
    assert "killed 5 / 1: agree 0.20" in b.reasons  # the officer sees why


def test_a_seizure_eight_times_larger_weighs_more_than_six_hours() -> None:
    ours = facts(seizures=(("hashish", 100.0, "kg"),))
    larger = score(ours, facts(seizures=(("hashish", 800.0, "kg"),)))
    later = score(
        ours, facts(seizures=(("hashish", 110.0, "kg"),), occurred_at=T0 + timedelta(hours=6))
    )
    assert larger is not None and later is not None and later.value > larger.value
    assert "seizures agree 0.20" in larger.reasons and "seizures agree 1.00" in later.reasons


def test_best_candidates_are_the_best_one_to_one_assignment_not_the_greedy_one() -> None:
    # o1's highest pair is t2, but t2 is o2's only candidate: o1-t1 and o2-t2 score more.
    scores = {("o1", "t1"): 0.80, ("o1", "t2"): 0.85, ("o2", "t2"): 0.78, ("o3", "t3"): 0.62}
    assert links.assign(scores, reserve=0.65) == {("o1", "t1"), ("o2", "t2")}
    made = [
        IncidentLink(id=f"{a}{b}", local_id=a, remote_id=b, score=v, status="suggested")
        for (a, b), v in scores.items()
    ]
    assert links.best_links(made) == {"o1t1", "o2t2"}  # o3-t3 (0.62) only an alternative
    made[0].status = "rejected"  # the officer rejects o1-t1: o1-t2 is the best again
    assert links.best_links(made) == {"o1t2"}
    made[2].status = "confirmed"  # o2-t2 confirmed: t2 is no one else's candidate any more
    assert links.best_links(made) == {"o2t2"}
    shown = links.select_pairs(
        {(x.local_id, x.remote_id): x.score for x in made if x.status == "suggested"},
        confirmed=[made[2]],
    )
    assert shown == {("o3", "t3")}  # o1-t2 no longer shown; o3-t3 an alternative (≥ 0.65 - 0.1)


# -- stored records ---------------------------------------------------------------------------


def _data(**over: Any) -> IncidentIn:
    base: dict[str, Any] = {
        "title": "Hashish seized at Taftan",
        "category": "smuggling_narcotics",
        "occurred_at": T0.isoformat(),
        "location": {"lon": TAFTAN[0], "lat": TAFTAN[1], "precision": "exact"},
        "reporting_side": "PK",
        "seizures": [{"commodity": "hashish", "quantity": 120, "unit": "kg"}],
    }
    base.update(over)
    return IncidentIn.model_validate(base)


def ours(db: Database, profile: BorderProfile, duty: Principal, **over: Any) -> str:
    with db.session() as s:
        return service.create_incident(s, data=_data(**over), actor=duty, profile=profile).id


def theirs(db: Database, profile: BorderProfile, *, propose: bool = True, **over: Any) -> str:
    """A partner's record stored as the inbox stores it, then proposed like the inbox does."""
    record_id = str(uuid.uuid4())
    with db.session() as s:
        lock_writes(s)
        service.store_received(
            s,
            record_id=record_id,
            data=_data(reporting_side="IR", **over),
            version=1,
            status="validated",
            remote_modified=T0,
            origin_node_id=PARTNER,
            origin="partner:ir-node",
            withheld=[],
            revoked=False,
            profile=profile,
        )
        if propose:
            links.propose(s, incident_ids=[record_id])
    return record_id


def pairs(db: Database, status: str | None = None) -> set[tuple[str, str]]:
    with db.session() as s:
        return {(x.local_id, x.remote_id) for x in links.list_links(s, status=status)}


def test_our_record_created_after_the_partners_is_proposed(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    remote = theirs(db, profile, propose=False)  # it came first: nothing to compare it with
    assert pairs(db) == set()
    local = ours(db, profile, duty)
    assert pairs(db, "suggested") == {(local, remote)}


def test_an_edit_rescores_and_drops_a_pair_that_no_longer_fits(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    local = ours(db, profile, duty)
    remote = theirs(db, profile)
    assert pairs(db) == {(local, remote)}
    with db.session() as s:
        service.update_incident(
            s,
            incident_id=local,
            patch=IncidentPatch(expected_version=1, occurred_at=T0 - timedelta(days=5)),
            actor=duty,
            profile=profile,
        )
    assert pairs(db) == set()
    with db.session() as s:
        service.update_incident(
            s,
            incident_id=local,
            patch=IncidentPatch(expected_version=2, occurred_at=T0),
            actor=duty,
            profile=profile,
        )
        service.transition_incident(
            s,
            incident_id=local,
            step=Transition(to="submitted", expected_version=3),
            actor=duty,
        )
    assert pairs(db) == {(local, remote)}


def test_one_confirmed_twin_per_record_and_partner(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    local = ours(db, profile, duty)
    first = theirs(db, profile)
    second = theirs(db, profile, occurred_at=(T0 + timedelta(hours=1)).isoformat())
    with db.session() as s:
        by_remote = {x.remote_id: x.id for x in links.list_links(s)}
        links.decide_link(s, link_id=by_remote[first], confirm=True, actor=LIAISON)
    with db.session() as s, pytest.raises(Conflict, match=by_remote[first]):
        links.decide_link(s, link_id=by_remote[second], confirm=True, actor=LIAISON)
    # The database holds the rule too, whoever writes.
    with db.session() as s, pytest.raises(Exception, match=r"(?i)unique"):
        s.execute(
            update(IncidentLink)
            .where(IncidentLink.id == by_remote[second])
            .values(status="confirmed")
        )
        s.flush()
    with db.session() as s:
        found = links.candidates_of(s, incident_id=local)
        assert [x.remote_id for x in found.confirmed] == [first] and found.best is None


def test_link_by_hand_and_undo(db: Database, profile: BorderProfile, duty: Principal) -> None:
    local = ours(db, profile, duty)
    far = theirs(db, profile, occurred_at=(T0 - timedelta(days=20)).isoformat())
    assert pairs(db) == set()  # twenty days apart: never proposed
    with db.session() as s:
        made = links.link_by_hand(s, local_id=far, remote_id=local, actor=LIAISON)  # any order
        assert (made.local_id, made.remote_id, made.status) == (local, far, "confirmed")
        assert made.manual and made.reasons[0] == {"code": "links.reason.by_hand", "params": {}}
        assert made.reasons_in("en")[0] == "linked by hand"
        assert made.reasons_in("ur")[0] == "دستی طور پر جوڑا گیا"
    with db.session() as s, pytest.raises(Conflict):
        links.link_by_hand(s, local_id=local, remote_id=far, actor=LIAISON)
    with db.session() as s:
        assert links.undo_decision(s, link_id=made.id, actor=LIAISON).status == "suggested"
    with db.session() as s, pytest.raises(Conflict, match="nothing to undo"):
        links.undo_decision(s, link_id=made.id, actor=LIAISON)
    with db.session() as s, pytest.raises(InvalidInput) as bad:
        links.link_by_hand(s, local_id=local, remote_id=local, actor=LIAISON)
    assert "remote_id" in str(bad.value.errors[0])


def test_count_once_counts_a_confirmed_pair_as_one_event(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    local = ours(db, profile, duty)
    remote = theirs(db, profile)
    theirs(db, profile, category="illegal_crossing", seizures=[])
    with db.session() as s:
        assert links.count_once(s) == links.CountOnce(3, 3, 0, 1)
        (link,) = links.list_links(s)
        links.decide_link(s, link_id=link.id, confirm=True, actor=LIAISON)
    with db.session() as s:
        # our record is a draft: it does not stand for the pair yet
        assert links.count_once(s).events == 3
        s.execute(update(Incident).where(Incident.id == local).values(status="validated"))
        assert links.count_once(s) == links.CountOnce(3, 2, 1, 0)
        assert links.count_once(s, [Incident.id != remote]).events == 2


@pytest.mark.parametrize("partner_first", [False, True])
def test_two_seizures_at_one_crossing_the_partner_reporting_one(
    db: Database, profile: BorderProfile, duty: Principal, partner_first: bool
) -> None:
    """Two seizures at Taftan on one day, the partner's report of the second only: it is the
    second's best candidate and not a candidate of the first at all, whichever came first."""
    report = {"occurred_at": (T0 + timedelta(hours=5)).isoformat()}
    report["seizures"] = [{"commodity": "hashish", "quantity": 880, "unit": "kg"}]  # type: ignore[assignment]
    remote = theirs(db, profile, **report) if partner_first else None
    small = ours(db, profile, duty)  # 120 kg at 10:00
    large = ours(
        db,
        profile,
        duty,
        occurred_at=(T0 + timedelta(hours=4)).isoformat(),
        seizures=[{"commodity": "hashish", "quantity": 900, "unit": "kg"}],
    )
    remote = remote or theirs(db, profile, **report)
    assert pairs(db) == {(large, remote)}
    with db.session() as s:
        assert links.candidates_of(s, incident_id=large).best is not None
        lone = links.candidates_of(s, incident_id=small)
        assert lone.best is None and lone.alternatives == []


LATIN = re.compile("[A-Za-z]")


def test_the_reasons_are_stored_coded_and_read_in_the_readers_language(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    local = ours(db, profile, duty)
    later = (T0 + timedelta(hours=3)).isoformat()
    remote = theirs(db, profile, occurred_at=later, category="smuggling_goods")
    with db.session() as s:
        (link,) = links.list_links(s)
        assert (link.local_id, link.remote_id) == (local, remote)
        # Stored as coded messages: a code and params, the figures as numbers.
        assert all(r["code"].startswith("links.reason.") for r in link.reasons)
        assert link.reasons[1] == {"code": "links.reason.hours_apart", "params": {"hours": 3.0}}
        # In English as the reasons always read (the record that triggered the scoring first).
        assert link.reasons_in("en")[:2] == [
            "related categories smuggling_goods / smuggling_narcotics (smuggling)",
            "3.0 h apart",
        ]
        # In Persian and Urdu: no English word, the categories by their names, Persian digits.
        persian, urdu = link.reasons_in("fa"), link.reasons_in("ur")
        assert not [r for r in persian + urdu if LATIN.search(r)], (persian, urdu)
        assert persian[:2] == [
            "دسته‌های مرتبط قاچاق: کالا / قاچاق: مواد مخدر (قاچاق)",
            "۳٫۰ ساعت فاصله",
        ]
        assert "توافق توقیف‌ها ۱٫۰۰" in persian and "ضبطیوں کی مطابقت 1.00" in urdu
        assert link.reason_codes() == link.reasons
        # A link stored before the reasons were coded keeps its English strings, as written.
        link.reasons = ["same category armed_clash", "3.5 h apart"]
    with db.session() as s:
        old = s.get(IncidentLink, link.id)
        assert old is not None
        assert old.reasons_in("fa") == ["same category armed_clash", "3.5 h apart"]
        assert old.reason_codes()[0] == {
            "code": "error.plain",
            "params": {"text": "same category armed_clash"},
        }


def test_a_pair_made_by_the_partners_decision_says_who_linked_it(
    db: Database, profile: BorderProfile, duty: Principal
) -> None:
    local = ours(db, profile, duty)
    far = theirs(db, profile, occurred_at=(T0 - timedelta(days=20)).isoformat())
    with db.session() as s:
        lock_writes(s)
        assert links.receive_decision(
            s,
            partner_node_id=PARTNER,
            partner_name="ir-node",
            ours_id=local,
            theirs_id=far,
            decision="confirmed",
            decided_at=T0,
        )
    with db.session() as s:
        (link,) = links.list_links(s)
        assert link.reasons_in("en") == ["linked by ir-node"]
        assert link.reasons_in("fa") == ["پیوند از سوی ir-node"]
