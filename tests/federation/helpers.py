"""Shared helpers for federation tests: record incidents on a node, run a sync."""

from __future__ import annotations

from typing import Any

from sarhad.border import load_profile
from sarhad.core.auth import CONSOLE
from sarhad.federation.service import sync_all
from sarhad.federation.sync import SyncReport
from sarhad.incidents import service
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentIn, Transition
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
