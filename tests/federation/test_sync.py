"""Two real nodes on loopback share incidents over TAXII 2.1 under each side's agreement."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from sarhad.core.auth import CONSOLE
from sarhad.core.db import get_node_id
from sarhad.core.journal import AuditLog, verify_audit
from sarhad.federation.identity import LocalNode
from sarhad.federation.models import PublishCursor, SyncCursor
from sarhad.federation.publish import publish_partner
from sarhad.federation.types.incident import _sharable
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentPatch, Transition
from sarhad.sharing import service as sharing
from sarhad.sharing.policy import SharableRecord
from sarhad.sharing.schemas import AgreementIn
from support import LiveNode, introduce, wait_for

from .conftest import Pair
from .helpers import PROFILE, get, record, sync


def edit_and_revalidate(pair: Pair, incident_id: str, version: int, **changes: object) -> None:
    """Edit a validated record (which sends it back to submitted) and validate it again."""
    with pair.pk.db.session() as s:
        row = service.update_incident(
            s,
            incident_id=incident_id,
            actor=CONSOLE,
            profile=PROFILE,
            patch=IncidentPatch(expected_version=version, **changes),
        )
        service.transition_incident(
            s,
            incident_id=incident_id,
            actor=CONSOLE,
            step=Transition(to="validated", expected_version=row.version),
        )


def test_only_what_the_agreement_allows_crosses(pair: Pair) -> None:
    shared = record(pair.pk, tlp="amber")
    green = record(
        pair.pk,
        tlp="green",
        category="smuggling_fuel",
        seizures=[{"commodity": "diesel", "quantity": 900, "unit": "l"}],
    )
    draft = record(pair.pk, status="draft")
    red = record(pair.pk, tlp="red")
    report = sync(pair.ir)
    assert report.error is None, report.error
    assert {i for i, _ in report.pulled.accepted if i.startswith("incident--")} == {
        f"incident--{shared.id}",
        f"incident--{green.id}",
    }
    assert get(pair.ir, draft.id) is None and get(pair.ir, red.id) is None
    got = get(pair.ir, shared.id)
    assert got is not None
    assert got.origin == "partner:pk-node" and got.origin_node_id is not None
    assert got.sources == [] and got.withheld_fields == ["sources"]  # withheld, not blanked
    assert got.narrative == "Stopped at the checkpoint."
    assert got.civ_injured == 1 and got.side == "PK"


def test_sync_is_idempotent_and_follows_new_versions(pair: Pair) -> None:
    row = record(pair.pk)
    sync(pair.ir)
    again = sync(pair.ir)
    assert again.pulled.accepted == []
    edit_and_revalidate(pair, row.id, row.version, title="Hashish and opium seized")
    later = sync(pair.ir)
    assert [i for i, _ in later.pulled.accepted if i.startswith("incident--")] == [
        f"incident--{row.id}"
    ]
    got = get(pair.ir, row.id)
    assert got is not None and got.title == "Hashish and opium seized"
    with pair.ir.db.session() as s:
        versions = service.list_versions(s, incident_id=row.id)
    assert [v.op for v in versions] == ["received", "received"]


def test_received_records_are_read_only(pair: Pair) -> None:
    import pytest

    from sarhad.core.errors import Conflict

    row = record(pair.pk)
    sync(pair.ir)
    with pytest.raises(Conflict, match="read-only"), pair.ir.db.session() as s:
        service.update_incident(
            s,
            incident_id=row.id,
            actor=CONSOLE,
            profile=PROFILE,
            patch=IncidentPatch(expected_version=1, title="Changed here"),
        )


def test_raising_tlp_to_red_withdraws_the_record(pair: Pair) -> None:
    row = record(pair.pk)
    sync(pair.ir)
    edit_and_revalidate(pair, row.id, row.version, tlp="red")
    sync(pair.ir)
    got = get(pair.ir, row.id)
    assert got is not None and got.revoked is True
    with pair.ir.db.session() as s:
        ids = [r.id for r in service.list_incidents(s, filters=service.IncidentFilter())[0]]
    assert row.id not in ids


def test_a_partners_records_are_refused_back_to_it_and_decided_as_their_api_form(
    pair: Pair,
) -> None:
    """A publish pass decides every record on five columns read off the row: the same
    decision as on the record's API form, and a partner's own records never go back."""
    theirs = [record(pair.pk), record(pair.pk, tlp="green", status="closed")]
    far = record(
        pair.ir, reporting_side="IR", location={"lon": 66.0, "lat": 24.5}, far_from_line=True
    )
    ours = record(pair.ir, reporting_side="IR", location={"lon": 61.45, "lat": 29.01})
    sync(pair.ir)
    with pair.ir.db.session() as s:
        rows = [s.get(Incident, r.id) for r in (*theirs, far, ours)]
        assert all(rows)
        for row in rows:
            assert row is not None
            want = SharableRecord.from_incident(service.to_out(row), row.origin_node_id)
            assert _sharable(row) == want
        assert rows[-2] is not None and _sharable(rows[-2]).sector is None
        # Look at every record again, as a changed agreement makes publish do.
        s.execute(update(PublishCursor).values(change_seq=0))
        partner = sharing.get_partner(s, name="pk-node")
        node = LocalNode(node_id=get_node_id(s), name="ir-node", country="IR")
        report = publish_partner(s, node=node, partner=partner)
    for r in theirs:
        assert any("never sent back to its originator" in why for why in report.withheld[r.id])
    assert report.withdrawn == [] and report.shared == []


def test_push_delivers_our_records_to_the_partner(pair: Pair) -> None:
    ours = record(pair.ir, reporting_side="IR", location={"lon": 61.45, "lat": 29.01})
    report = sync(pair.ir)
    assert report.pushed >= 1 and report.push_failures == [] and report.waiting == 0
    got = get(pair.pk, ours.id)
    assert got is not None and got.origin == "partner:ir-node"
    with pair.ir.db.session() as s:
        pushes = s.scalars(select(AuditLog).where(AuditLog.action == "share.push")).all()
    pushed = [o for a in pushes for o in a.detail["objects"]]
    assert f"incident--{ours.id}" in {i for i, _ in pushed}
    assert all(a.detail["agreement_version"] >= 1 for a in pushes)


def test_every_share_and_receipt_is_audited(pair: Pair) -> None:
    row = record(pair.pk)
    sync(pair.ir)
    with pair.pk.db.session() as s:
        served = s.scalars(select(AuditLog).where(AuditLog.action == "share.serve")).all()
        published = s.scalars(select(AuditLog).where(AuditLog.action == "share.publish")).all()
        assert verify_audit(s).ok
    with pair.ir.db.session() as s:
        received = s.scalars(select(AuditLog).where(AuditLog.action == "share.receive")).all()
        assert verify_audit(s).ok
    assert any(f"incident--{row.id}" in str(a.detail) for a in served)
    assert any(row.id in a.detail["shared"] for a in published)
    assert any(f"incident--{row.id}" in str(a.detail["accepted"]) for a in received)


def test_partner_down_then_back_delivers_in_order(pair: Pair, spawn) -> None:
    record(pair.ir, reporting_side="IR")
    with pair.ir.db.session() as s:
        from sarhad.sharing.schemas import PartnerUpdate

        sharing.update_partner(
            s,
            name="pk-node",
            changes=PartnerUpdate(taxii_url="http://127.0.0.1:9/taxii2/api/"),
            actor=CONSOLE,
        )
    down = sync(pair.ir)
    assert down.error and "did not answer" in down.error and down.waiting > 0
    with pair.ir.db.session() as s:
        sharing.update_partner(
            s,
            name="pk-node",
            changes=PartnerUpdate(taxii_url=f"{pair.pk.url}/taxii2/api/"),
            actor=CONSOLE,
        )
    back = sync(pair.ir)
    assert back.error is None and back.waiting == 0 and back.pushed == down.waiting


def test_agreement_change_opens_more_categories(pair: Pair) -> None:
    kidnap = record(pair.pk, category="kidnapping", seizures=[])
    with pair.pk.db.session() as s:
        sharing.set_agreement(
            s, partner="ir-node", changes=AgreementIn(categories=["smuggling_fuel"]), actor=CONSOLE
        )
    sync(pair.ir)
    assert get(pair.ir, kidnap.id) is None
    with pair.pk.db.session() as s:
        sharing.set_agreement(
            s, partner="ir-node", changes=AgreementIn(categories=[]), actor=CONSOLE
        )
    sync(pair.ir)
    assert get(pair.ir, kidnap.id) is not None


def test_the_app_lifespan_alone_pulls_from_partners_on_its_interval(
    spawn: Callable[..., LiveNode],
) -> None:
    # No `sarhad serve` and no command: any ASGI server running the app runs the sync loop.
    pk = spawn("pk-node", "PK")
    ir = spawn("ir-node", "IR", workers=True, sync_interval_s=0.2, courier_poll_s=0)
    introduce(pk, ir)
    row = record(pk)  # pk's courier is not running: only ir's pull can bring it over
    wait_for(lambda: get(ir, row.id) is not None, timeout=30, what="the pull of ir's loop")
    with ir.db.session() as s:
        pulled = s.scalars(select(SyncCursor.pulled_until)).all()
    assert pulled and pulled[0] is not None  # its cursor moved: a pull, not a push from pk


def test_publish_in_bounded_steps_catches_up_without_loss(pair: Pair) -> None:
    from sarhad.core.db import get_node_id
    from sarhad.federation.identity import LocalNode
    from sarhad.federation.publish import publish_partner

    rows = [record(pair.pk, title=f"Seizure {i}") for i in range(4)]  # 3 changes each
    shared: list[str] = []
    with pair.pk.db.session() as s:
        node = LocalNode(node_id=get_node_id(s), name="pk-node", country="PK")
    for _ in range(6):
        with pair.pk.db.session() as s:
            partner = sharing.get_partner(s, name="ir-node")
            shared += publish_partner(s, node=node, partner=partner, max_changes=3).shared
    assert sorted(shared) == sorted(r.id for r in rows)  # each once, none lost


def test_new_alert_deadlines_alone_resend_nothing_but_new_sharing_terms_look_again(
    pair: Pair,
) -> None:
    from sarhad.core.db import get_node_id
    from sarhad.federation.identity import LocalNode
    from sarhad.federation.publish import publish_partner

    row = record(pair.pk)
    with pair.pk.db.session() as s:
        node = LocalNode(node_id=get_node_id(s), name="pk-node", country="PK")

    def publish() -> list[str]:
        with pair.pk.db.session() as s:
            partner = sharing.get_partner(s, name="ir-node")
            return publish_partner(s, node=node, partner=partner).shared

    def agree(**terms: object) -> None:
        with pair.pk.db.session() as s:
            sharing.set_agreement(s, partner="ir-node", changes=AgreementIn(**terms), actor=CONSOLE)

    assert publish() == [row.id]
    assert publish() == []  # nothing changed
    agree(alert_deadlines={"flash": {"acknowledge_minutes": 7, "answer_minutes": 45}})
    with pair.pk.db.session() as s:
        assert sharing.terms_for(s, partner="ir-node").version == 2  # a new version
    assert publish() == []  # deadlines decide nothing about shared incidents
    agree(withheld_fields=["narrative"])  # new terms: the record goes again, redacted anew
    assert publish() == [row.id]
