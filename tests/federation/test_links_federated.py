"""Both nodes agree on links: a decision on one side reaches the other as the partner's
decision, which an officer there accepts or contests; a confirmed pair counts once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from sarhad.analysis import service as analysis
from sarhad.core.auth import Role
from sarhad.core.journal import AuditLog
from sarhad.incidents.models import IncidentLink
from support import LiveNode

from .conftest import Pair
from .helpers import PROFILE, record, sync

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _counted(pair_node: object) -> set[str]:
    with pair_node.db.session() as s:  # type: ignore[attr-defined]
        return {p.id for p in analysis.load_points(s, profile=PROFILE, at=AT)}


def test_a_decision_travels_is_accepted_and_the_pair_counts_once(pair: Pair) -> None:
    ours = record(pair.pk)
    theirs = record(
        pair.ir,
        reporting_side="IR",
        occurred_at="2026-11-20T00:00:00Z",
        date_precision="day",  # IR knows the day only: its record spans it
        seizures=[{"commodity": "hashish", "quantity": 0.11, "unit": "t"}],
    )
    sync(pair.pk)
    sync(pair.ir)
    with pair.pk.client(Role.LIAISON) as pk:
        mine = pk.get(f"/api/v1/incidents/{ours.id}/links").json()
        assert mine["best"]["remote_id"] == theirs.id and mine["alternatives"] == []
        done = pk.post(f"/api/v1/links/{mine['best']['id']}/confirm").json()
        assert done["status"] == "confirmed"
    assert _counted(pair.pk) == {ours.id}  # on PK the pair counts once
    sync(pair.ir)
    with pair.ir.client(Role.LIAISON) as ir:
        (link,) = ir.get("/api/v1/links", params={"incident": theirs.id}).json()
        assert (link["local_id"], link["remote_id"]) == (theirs.id, ours.id)
        assert (link["status"], link["partner_status"]) == ("suggested", "confirmed")
        assert _counted(pair.ir) == {ours.id, theirs.id}  # not ours to count once yet
        accepted = ir.post(f"/api/v1/links/{link['id']}/accept").json()
        assert (accepted["status"], accepted["agreement"]) == ("confirmed", "accepted")
    assert _counted(pair.ir) == {theirs.id}
    sync(pair.pk)
    with pair.pk.db.session() as s:
        row = s.scalars(select(IncidentLink)).one()
        assert (row.status, row.partner_status, row.agreement) == (
            "confirmed",
            "confirmed",
            "accepted",
        )
        steps = s.scalars(select(AuditLog.action).where(AuditLog.entity == "incident_link")).all()
        assert {"incident_link.partner_confirmed", "incident_link.confirmed"} <= set(steps)
    # PK takes its decision back; IR then contests nothing but sees it withdrawn.
    with pair.pk.client(Role.LIAISON) as pk:
        assert pk.post(f"/api/v1/links/{row.id}/undo").json()["status"] == "suggested"
    sync(pair.ir)
    with pair.ir.client(Role.LIAISON) as ir:
        (link,) = ir.get("/api/v1/links", params={"incident": theirs.id}).json()
        assert (link["status"], link["partner_status"]) == ("confirmed", None)
        assert ir.post(f"/api/v1/links/{link['id']}/contest").status_code == 409


def test_links_api_refuses_bad_input_naming_the_field(live: LiveNode) -> None:
    ours = record(live)
    other = record(live, occurred_at="2026-11-21T10:00:00Z")
    with live.client(Role.LIAISON) as pk:
        bad = pk.post("/api/v1/links", json={"local_id": ours.id, "remote_id": other.id})
        assert bad.status_code == 422 and "remote_id" in bad.text
        missing = pk.post("/api/v1/links", json={"local_id": ours.id})
        assert missing.status_code == 422 and "remote_id" in missing.text
        unknown = pk.post("/api/v1/links", json={"local_id": ours.id, "remote_id": "nope"})
        assert unknown.status_code == 404 and "remote_id" in unknown.text  # no such record
        assert pk.post(f"/api/v1/links/{uuid.uuid4()}/confirm").status_code == 404
        assert pk.post(f"/api/v1/links/{uuid.uuid4()}/maybe").status_code == 422
        assert pk.post(f"/api/v1/incidents/{ours.id}/links").status_code == 405  # read-only
        bad = pk.post("/api/v1/links/nope/confirm")  # a link id is a UUID: named in the answer
        assert bad.status_code == 422 and "link_id" in bad.text
    with live.client(Role.DUTY_OFFICER) as duty:
        forbidden = duty.post("/api/v1/links", json={"local_id": ours.id, "remote_id": other.id})
        assert forbidden.status_code == 403
