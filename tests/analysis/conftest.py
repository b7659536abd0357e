"""Fixtures that store incidents at a chosen km marker, in a chosen state."""

from __future__ import annotations

import uuid

import pytest

from analysis.helpers import AT, AddIncident, data
from sarhad.border import BorderProfile
from sarhad.core.auth import Principal
from sarhad.core.db import Database, lock_writes
from sarhad.incidents import service
from sarhad.incidents.schemas import Transition
from sarhad.incidents.taxonomy import Status


@pytest.fixture
def add_incident(db: Database, profile: BorderProfile, duty: Principal) -> AddIncident:
    """Store an incident of this node; ``status`` submitted (default), validated or draft."""

    def add(*, status: str = "submitted", **kw: object) -> str:
        with db.session() as s:
            row = service.create_incident(s, data=data(profile, **kw), actor=duty, profile=profile)
            if status != "draft":
                service.transition_incident(
                    s,
                    incident_id=row.id,
                    step=Transition(to=Status.SUBMITTED, expected_version=1),
                    actor=duty,
                )
            return row.id

    return add


@pytest.fixture
def receive_incident(db: Database, profile: BorderProfile) -> AddIncident:
    """Store a partner's record as the federation inbox would (``revoked`` if withdrawn)."""

    def receive(*, revoked: bool = False, status: str = "validated", **kw: object) -> str:
        record_id = str(uuid.uuid4())
        with db.session() as s:
            lock_writes(s)
            service.store_received(
                s,
                record_id=record_id,
                data=data(profile, **kw),
                version=1,
                status=status,
                remote_modified=AT,
                origin_node_id=str(uuid.UUID(int=7)),
                origin="partner:ir-node",
                withheld=[],
                revoked=revoked,
                profile=profile,
            )
        return record_id

    return receive
