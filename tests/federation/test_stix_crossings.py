"""Crossing status, hours and throughput as STIX 2.1: valid, round-tripped, policed, checked."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sarhad.core.auth import CONSOLE
from sarhad.core.db import utcnow
from sarhad.core.markings import TLP
from sarhad.crossings import flows
from sarhad.crossings.declarations import declare as declare_status
from sarhad.crossings.declarations import end_declaration, withdraw_declaration
from sarhad.crossings.hours import get_hours
from sarhad.crossings.hours import set_hours as change_hours
from sarhad.crossings.models import Declaration, Hours, Throughput
from sarhad.crossings.schemas import DeclarationIn, HoursIn, ThroughputIn
from sarhad.crossings.taxonomy import WEEKDAYS, Commodity, Currency, Reason, Status, Unit
from sarhad.federation.models import CollectionObject, Quarantined
from sarhad.federation.publish import publish_partner
from sarhad.federation.service import local_node
from sarhad.federation.stix.core import validate_with_oasis
from sarhad.federation.store import ensure_collections
from sarhad.federation.types.crossing import (
    CROSSING_EXTENSION_ID,
    CROSSING_SCHEMA_PATH,
    CROSSING_TYPES,
    HOURS_TYPE,
    STATUS_TYPE,
    THROUGHPUT_TYPE,
)
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Partner
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode

from .conftest import Pair
from .helpers import PROFILE, record, resign, sync

MEDIA = "application/taxii+json;version=2.1"
TAFTAN = "taftan-mirjaveh"
YESTERDAY = (utcnow() - timedelta(days=1)).date()
GOODS = [
    {"commodity": "dates", "quantity": 12.5, "unit": "t", "value": 3100000.0, "currency": "PKR"},
    {"commodity": "livestock", "quantity": 40.0, "unit": "head"},
]


def declare(node: LiveNode, **over: Any) -> Declaration:
    data = {"crossing": TAFTAN, "status": "closed", "reason": "security_incident", **over}
    with node.db.session() as s:
        return declare_status(
            s,
            data=DeclarationIn.model_validate(data),
            side=node.settings.node_side,
            actor=CONSOLE,
            profile=PROFILE,
        )


def set_hours(node: LiveNode, **over: Any) -> None:
    data = {"days": ["mon", "tue", "wed", "thu", "fri", "sat"], "opens": "08:00", "closes": "17:00"}
    with node.db.session() as s:
        change_hours(
            s,
            crossing_id=TAFTAN,
            data=HoursIn.model_validate({**data, **over}),
            side=node.settings.node_side,
            actor=CONSOLE,
            profile=PROFILE,
        )


def record_day(node: LiveNode, **over: Any) -> None:
    data = {
        "crossing": TAFTAN,
        "day": YESTERDAY.isoformat(),
        "vehicles": 140,
        "trucks": 62,
        "pedestrians": 1900,
        "fuel_litres": 42000.0,
        "goods": GOODS,
        **over,
    }
    with node.db.session() as s:
        flows.record_throughput(
            s,
            data=ThroughputIn.model_validate(data),
            side=node.settings.node_side,
            actor=CONSOLE,
            profile=PROFILE,
        )


def agree(node: LiveNode, partner: str, **terms: Any) -> None:
    with node.db.session() as s:
        sharing.set_agreement(s, partner=partner, changes=AgreementIn(**terms), actor=CONSOLE)


def collection(node: LiveNode, partner: str) -> list[dict[str, Any]]:
    """Publish for ``partner`` and return its outbound collection, every version in order."""
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner)
        publish_partner(s, node=local_node(s, node.settings), partner=p)
        outbound, _ = ensure_collections(s, p)
        payloads = s.scalars(
            select(CollectionObject.payload)
            .where(CollectionObject.collection_id == outbound.id)
            .order_by(CollectionObject.seq)
        ).all()
    return [json.loads(p) for p in payloads]


def crossing_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] in CROSSING_TYPES]


# --- outbound ------------------------------------------------------------------------------


def test_objects_pass_the_oasis_validator_with_our_schema(pair: Pair) -> None:
    shared = record(pair.pk, tlp="amber")
    draft = record(pair.pk, status="draft")
    declare(
        pair.pk,
        note="IED found at the gate",
        ends_at=(utcnow() + timedelta(hours=6)).isoformat(),
        incident_ids=[shared.id, draft.id],
    )
    set_hours(pair.pk)
    record_day(pair.pk)
    agree(pair.pk, "ir-node", share_throughput=True)
    objects = collection(pair.pk, "ir-node")
    ours = crossing_objects(objects)
    assert sorted(o["type"] for o in ours) == sorted(CROSSING_TYPES)
    definition = next(o for o in objects if o["id"] == CROSSING_EXTENSION_ID)
    assert objects.index(definition) < min(objects.index(o) for o in ours)
    warnings: list[str] = []
    assert validate_with_oasis([definition, *ours], warnings_out=warnings) == []
    # uuid5 ids (derived from crossing, side, day) are the only thing the validator remarks on.
    assert warnings and all("{103}" in w for w in warnings)
    assert not any(w.startswith(STATUS_TYPE) for w in warnings)
    status = next(o for o in ours if o["type"] == STATUS_TYPE)
    # Only incidents the partner already holds are named; the draft is not even hinted at.
    assert status["incident_refs"] == [f"incident--{shared.id}"]
    assert "created_by" not in status  # no desk names leave the node


def test_the_validator_checks_the_crossing_properties(pair: Pair) -> None:
    record_day(pair.pk)
    agree(pair.pk, "ir-node", share_throughput=True)
    day = next(o for o in collection(pair.pk, "ir-node") if o["type"] == THROUGHPUT_TYPE)
    day["pedestrians"] = -3
    day["goods"][0]["currency"] = "USD"
    errors = validate_with_oasis([day])
    assert errors and any("-3" in e for e in errors) and any("USD" in e for e in errors)


def test_schema_enums_follow_the_taxonomy() -> None:
    branches = {
        b["properties"]["type"]["const"]: b["properties"]
        for b in json.loads(CROSSING_SCHEMA_PATH.read_text())["oneOf"]
    }
    assert set(branches) == CROSSING_TYPES
    assert branches[STATUS_TYPE]["status"]["enum"] == [s.value for s in Status]
    assert branches[STATUS_TYPE]["reason"]["enum"] == [r.value for r in Reason]
    assert branches[HOURS_TYPE]["days"]["items"]["enum"] == list(WEEKDAYS)
    goods = branches[THROUGHPUT_TYPE]["goods"]["items"]["properties"]
    assert goods["commodity"]["enum"] == [c.value for c in Commodity]
    assert goods["unit"]["enum"] == [u.value for u in Unit]
    assert goods["currency"]["enum"] == [c.value for c in Currency]


# --- round trip ----------------------------------------------------------------------------


def _declaration_values(row: Declaration) -> tuple[Any, ...]:
    return (
        row.id, row.crossing_id, row.side, row.status, row.reason, row.note, row.starts_at,
        row.ends_at, row.planned, row.tlp, row.withdrawn, row.version, row.created_at,
    )  # fmt: skip


def test_round_trip_gives_the_partner_the_same_values(pair: Pair) -> None:
    starts = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    planned = declare(
        pair.pk,
        status="restricted",
        reason="holiday",
        note="trucks only",
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=12)).isoformat(),
        tlp="clear",
    )
    set_hours(pair.pk, days=["sat", "sun"], opens="09:30", closes="24:00")
    record_day(pair.pk)
    agree(pair.pk, "ir-node", share_throughput=True)
    assert sync(pair.ir).error is None

    with pair.pk.db.session() as s, pair.ir.db.session() as r:
        mine, theirs = s.get(Declaration, planned.id), r.get(Declaration, planned.id)
        assert mine is not None and theirs is not None
        assert _declaration_values(theirs) == _declaration_values(mine)
        assert theirs.planned and theirs.origin == "partner:pk-node"
        hours = get_hours(r, crossing_id=TAFTAN, side="PK")
        assert hours is not None and hours.origin == "partner:pk-node"
        assert (hours.days, hours.opens, hours.closes) == ([5, 6], "09:30", "24:00")
        day = r.scalars(select(Throughput).where(Throughput.side == "PK")).one()
        assert (day.crossing_id, day.day, day.vehicles, day.trucks, day.pedestrians) == (
            TAFTAN, YESTERDAY, 140, 62, 1900,
        )  # fmt: skip
        assert day.fuel_litres == 42000.0 and day.goods == GOODS and day.tlp == "amber"

    # Later versions follow: ended, then withdrawn (sent revoked); corrected figures and hours.
    with pair.pk.db.session() as s:
        end_declaration(
            s, declaration_id=planned.id, at=starts + timedelta(hours=6), actor=CONSOLE,
            profile=PROFILE,
        )  # fmt: skip
    assert sync(pair.ir).error is None
    with pair.ir.db.session() as r:
        theirs = r.get(Declaration, planned.id)
        assert theirs is not None and theirs.version == 2 and not theirs.withdrawn
        assert theirs.ends_at == starts + timedelta(hours=6)
    with pair.pk.db.session() as s:
        withdraw_declaration(s, declaration_id=planned.id, actor=CONSOLE)
    record_day(pair.pk, vehicles=150, goods=[])
    set_hours(pair.pk, days=["sat"], opens="09:30", closes="24:00")
    assert sync(pair.ir).error is None
    with pair.ir.db.session() as r:
        theirs = r.get(Declaration, planned.id)
        assert theirs is not None
        assert theirs.version == 3 and theirs.withdrawn
        assert theirs.ends_at == starts + timedelta(hours=6)
        day = r.scalars(select(Throughput).where(Throughput.side == "PK")).one()
        assert (day.vehicles, day.goods) == (150, [])
        hours = get_hours(r, crossing_id=TAFTAN, side="PK")
        assert hours is not None and hours.days == [5]
    versions = [
        (o["version"], o["modified"], o.get("revoked", False))
        for o in collection(pair.pk, "ir-node")
        if o["id"] == f"{STATUS_TYPE}--{planned.id}"
    ]
    assert [(v, r) for v, _, r in versions] == [(1, False), (2, False), (3, True)]
    assert [m for _, m, _ in versions] == sorted({m for _, m, _ in versions})  # strictly later


def test_a_changed_agreement_sends_no_version_twice(pair: Pair) -> None:
    declare(pair.pk)
    set_hours(pair.pk)
    before = collection(pair.pk, "ir-node")
    agree(pair.pk, "ir-node", withheld_fields=["sources", "narrative"])  # re-reads the log
    assert collection(pair.pk, "ir-node") == before


# --- what the agreement lets go --------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ({}, {STATUS_TYPE, HOURS_TYPE}),
        ({"share_throughput": True}, {STATUS_TYPE, HOURS_TYPE, THROUGHPUT_TYPE}),
        ({"share_crossings": False, "share_throughput": True}, {THROUGHPUT_TYPE}),
        ({"share_crossings": False}, set()),
        ({"share_throughput": True, "max_tlp": "green"}, {STATUS_TYPE, HOURS_TYPE}),
        ({"share_throughput": True, "max_tlp": "clear"}, set()),
        ({"share_throughput": True, "expires_at": "2020-01-01T00:00:00Z"}, set()),
    ],
    ids=[
        "default",
        "throughput",
        "throughput-only",
        "nothing",
        "max-green",
        "max-clear",
        "expired",
    ],
)
def test_the_agreement_decides_what_goes(
    pair: Pair, terms: dict[str, Any], expected: set[str]
) -> None:
    declare(pair.pk)  # TLP:GREEN
    set_hours(pair.pk)  # TLP:GREEN
    record_day(pair.pk)  # TLP:AMBER
    if terms:
        agree(pair.pk, "ir-node", **terms)
    objects = collection(pair.pk, "ir-node")
    assert {o["type"] for o in crossing_objects(objects)} == expected
    assert any(o["id"] == CROSSING_EXTENSION_ID for o in objects) == bool(expected)


def test_red_never_goes_and_turning_throughput_on_sends_what_was_recorded(pair: Pair) -> None:
    declare(pair.pk, tlp="red")
    record_day(pair.pk, tlp="red")
    record_day(pair.pk, day=(YESTERDAY - timedelta(days=1)).isoformat())
    assert crossing_objects(collection(pair.pk, "ir-node")) == []
    agree(pair.pk, "ir-node", share_throughput=True, max_tlp="amber+strict")
    days = [o["day"] for o in crossing_objects(collection(pair.pk, "ir-node"))]
    assert days == [(YESTERDAY - timedelta(days=1)).isoformat()]


def test_partner_crossing_data_is_never_sent_back_nor_forwarded(pair: Pair) -> None:
    declare(pair.pk)
    set_hours(pair.pk)
    record_day(pair.pk)
    agree(pair.pk, "ir-node", share_throughput=True)
    assert sync(pair.ir).error is None
    with pair.ir.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Declaration)) == 1
        sharing.add_partner(
            s, name="af-node", country="AF", node_id=str(uuid.uuid4()), actor=CONSOLE
        )
    agree(pair.ir, "pk-node", share_throughput=True, forward_third_party=True)
    agree(pair.ir, "af-node", share_throughput=True, forward_third_party=True)
    assert crossing_objects(collection(pair.ir, "pk-node")) == []
    assert crossing_objects(collection(pair.ir, "af-node")) == []
    # Iran's own declaration does go to both.
    declare(pair.ir, status="open", reason="other")
    for partner in ("pk-node", "af-node"):
        sent = crossing_objects(collection(pair.ir, partner))
        assert [(o["type"], o["side"]) for o in sent] == [(STATUS_TYPE, "IR")]


# --- inbound -------------------------------------------------------------------------------


def _token(pair: Pair) -> str:
    """The token Pakistan presents at Iran's TAXII server."""
    with pair.pk.db.session() as s:
        return sharing.remote_token(s, s.scalars(select(Partner)).one()) or ""


def _post(receiver: LiveNode, token: str, objects: list[Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": MEDIA}
    with receiver.client(None) as c:
        c.headers.update(headers)
        cols = c.get("/taxii2/api/collections/").json()["collections"]
        inbox = next(col["id"] for col in cols if col["can_write"])
        r = c.post(
            f"/taxii2/api/collections/{inbox}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Content-Type": MEDIA},
        )
    assert r.status_code == 202, r.text
    return r.json()


def _stored(node: LiveNode) -> int:
    with node.db.session() as s:
        return sum(
            s.scalar(select(func.count()).select_from(table).where(table.side == "PK")) or 0
            for table in (Declaration, Hours, Throughput)
        )


@pytest.fixture
def sent(pair: Pair) -> dict[str, dict[str, Any]]:
    """Pakistan's real objects for Iran, by type (not yet delivered)."""
    declare(pair.pk, ends_at=(utcnow() + timedelta(hours=3)).isoformat())
    set_hours(pair.pk)
    record_day(pair.pk)
    agree(pair.pk, "ir-node", share_throughput=True)
    return {o["type"]: o for o in crossing_objects(collection(pair.pk, "ir-node"))}


RED = TLP.RED.stix_id
DATES = {"commodity": "dates", "quantity": 5, "unit": "t"}
BAD: list[tuple[str, str, Any, str]] = [
    (STATUS_TYPE, "crossing", "no-such-gate", "crossing: no crossing or market"),
    (STATUS_TYPE, "side", "IR", "side: IR declared by a partner that speaks for PK"),
    (STATUS_TYPE, "ends_at", "2000-01-01T00:00:00.000Z", "ends_at: must be after starts_at"),
    (STATUS_TYPE, "object_marking_refs", [RED], "object_marking_refs: TLP:RED never leaves its"),
    (STATUS_TYPE, "created_by_ref", f"identity--{uuid.uuid4()}", "created_by_ref:"),
    (STATUS_TYPE, "status", "half-open", "status:"),
    (STATUS_TYPE, "version", "2", "version:"),
    (STATUS_TYPE, "note", "nul\u0000note", "note: contains a NUL"),
    (STATUS_TYPE, "ends_at", "9999-12-31T00:00:00.000Z", "ends_at: 9999-12-31"),
    (STATUS_TYPE, "starts_at", "0001-01-01T00:00:00.000Z", "starts_at: 0001-01-01"),
    (HOURS_TYPE, "time_zone", "PKT\u001b", "time_zone: contains a control character"),
    (HOURS_TYPE, "x_opening_note", "closed on Fridays", "x_opening_note: Extra inputs"),
    (HOURS_TYPE, "closes", "07:00", "closes: must be after opens"),
    (THROUGHPUT_TYPE, "vehicles", -1, "vehicles: Input should be greater than or equal to 0"),
    (THROUGHPUT_TYPE, "trucks", "62", "trucks: Input should be a valid integer"),
    (THROUGHPUT_TYPE, "goods", [DATES | {"unit": "head"}], "goods.0.unit: head does not fit"),
    (THROUGHPUT_TYPE, "goods", [DATES | {"value": 9.0}], "goods.0.currency: a declared value"),
    (THROUGHPUT_TYPE, "day", "2026-13-45", "day: '2026-13-45' is not a date"),
    (THROUGHPUT_TYPE, "day", "2026-01-01", "id: not the one derived from (crossing, side, day)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("type_", "field", "value", "reason"), BAD, ids=[f"{b[0][16:]}-{b[1]}" for b in BAD]
)
def test_a_bad_crossing_object_is_quarantined_naming_the_property(
    pair: Pair, sent: dict[str, dict[str, Any]], type_: str, field: str, value: Any, reason: str
) -> None:
    bad = copy.deepcopy(sent[type_])
    bad[field] = value
    status = _post(pair.ir, _token(pair), resign(pair.pk, [bad]))  # pk signs what it sends
    assert status["failure_count"] == 1 and status["success_count"] == 0
    assert reason in status["failures"][0]["message"]
    assert _stored(pair.ir) == 0  # nothing half-written
    with pair.ir.db.session() as s:
        q = s.scalars(select(Quarantined).where(Quarantined.stix_id == bad["id"])).one()
        assert reason in q.reason and json.loads(q.payload)[field] == value


def test_one_bad_object_never_stops_the_good_ones(
    pair: Pair, sent: dict[str, dict[str, Any]]
) -> None:
    bad = copy.deepcopy(sent[THROUGHPUT_TYPE]) | {"fuel_litres": -5.0}
    status = _post(pair.ir, _token(pair), [bad, sent[STATUS_TYPE], sent[HOURS_TYPE]])
    assert (status["success_count"], status["failure_count"]) == (2, 1)
    assert _stored(pair.ir) == 2
    # The same versions again are duplicates (successes), and change nothing.
    again = _post(pair.ir, _token(pair), [sent[STATUS_TYPE], sent[HOURS_TYPE]])
    assert (again["success_count"], again["failure_count"]) == (2, 0)
    assert _stored(pair.ir) == 2


def test_an_older_version_arriving_late_changes_nothing(
    pair: Pair, sent: dict[str, dict[str, Any]]
) -> None:
    newer = copy.deepcopy(sent[HOURS_TYPE])
    newer |= {"days": ["sun"], "version": 2, "modified": "2099-01-01T00:00:00.000Z"}
    assert (
        _post(pair.ir, _token(pair), resign(pair.pk, [newer, sent[HOURS_TYPE]]))["failure_count"]
        == 0
    )
    with pair.ir.db.session() as s:
        hours = get_hours(s, crossing_id=TAFTAN, side="PK")
        assert hours is not None and hours.days == [6]
        assert hours.updated_at == datetime(2099, 1, 1, tzinfo=UTC)


def test_a_partner_cannot_rewrite_our_own_declaration(
    pair: Pair, sent: dict[str, dict[str, Any]]
) -> None:
    ours = declare(pair.ir, status="open", reason="other")
    forged = copy.deepcopy(sent[STATUS_TYPE]) | {"id": f"{STATUS_TYPE}--{ours.id}"}
    status = _post(pair.ir, _token(pair), resign(pair.pk, [forged]))
    assert status["failure_count"] == 1 and "did not make" in status["failures"][0]["message"]
    with pair.ir.db.session() as s:
        row = s.get(Declaration, ours.id)
        assert row is not None and (row.status, row.side, row.origin) == ("open", "IR", "local")
