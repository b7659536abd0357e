"""Shared helpers for federation tests: record incidents on a node, run a sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE
from sarhad.core.db import get_node_id
from sarhad.federation.publish import sign_all
from sarhad.federation.service import sync_all
from sarhad.federation.sync import SyncReport
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn, Transition
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring, trust_key
from sarhad.sharing.models import KnownKey
from support import LiveNode

PROFILE = load_profile()


def record(node: LiveNode, *, status: str = "validated", **over: Any) -> Incident:
    """Record an incident on ``node`` and move it to ``status``."""
    data: dict[str, Any] = {
        "title": "Hashish seized near Taftan",
        "category": "smuggling_narcotics",
        "occurred_at": "2026-11-20T10:00:00Z",
        "location": {"lon": 61.6, "lat": 28.95, "precision": "near", "place": "Taftan bazaar"},
        "reporting_side": node.settings.node_side,
        "casualties": {"civilians": {"injured": 1}},
        "seizures": [{"commodity": "hashish", "quantity": 120, "unit": "kg"}],
        "grading": {"source_reliability": "B", "information_credibility": "2"},
        "tlp": "amber",
        "narrative": "Stopped at the checkpoint.",
        "sources": ["informant report 17 (confidential)"],
    }
    data.update(over)
    with node.db.session() as s:
        row = service.create_incident(
            s, data=IncidentIn.model_validate(data), actor=CONSOLE, profile=PROFILE
        )
    for step in {
        "draft": [],
        "submitted": ["submitted"],
        "validated": ["submitted", "validated"],
        "closed": ["submitted", "validated", "closed"],
    }[status]:
        with node.db.session() as s:
            row = service.transition_incident(
                s,
                incident_id=row.id,
                actor=CONSOLE,
                step=Transition(to=step, expected_version=row.version),
            )
    return row


def sync(node: LiveNode, partner: str | None = None) -> SyncReport:
    """Run one sync of ``node`` with ``partner`` (or its only partner)."""
    reports = sync_all(node.db, settings=node.settings, profile=PROFILE, partner=partner)
    assert len(reports) == 1
    return reports[0]


def get(node: LiveNode, incident_id: str) -> Incident | None:
    with node.db.session() as s:
        return s.get(Incident, incident_id)


def unkeyed(node: LiveNode, partner: str) -> None:
    """``node`` forgets the signing keys of ``partner``: as between nodes that made their
    agreement without exchanging keys, what ``partner`` sends unsigned is taken as unsigned.

    For tests that hand-craft a partner's objects to test something other than signatures.
    """
    with node.db.session() as s:
        p = sharing.get_partner(s, name=partner)
        s.execute(delete(KnownKey).where(KnownKey.partner_id == p.id))
        if p.node_id:
            s.execute(delete(KnownKey).where(KnownKey.node_id == p.node_id))


def resign(node: LiveNode, objects: list[Any]) -> list[Any]:
    """``objects`` signed again by ``node`` as its publisher signs what it originates: for
    tests of what a partner's checks say about content the sender itself signed."""
    with node.db.session() as s:
        node_id = get_node_id(s)
    return sign_all(objects, own_ring(node.settings.data_dir), node_id=node_id)


def trust_node(node: LiveNode, originator: LiveNode) -> None:
    """``node`` trusts ``originator``'s active signing key as a third node's (what
    ``sarhad keys trust --node`` does once the fingerprint is confirmed)."""
    with originator.db.session() as s:
        node_id = get_node_id(s)
    pem = own_ring(originator.settings.data_dir).active.public.pem
    with node.db.session() as s:
        trust_key(s, public_key_pem=pem, node_id=node_id, actor=CONSOLE)
