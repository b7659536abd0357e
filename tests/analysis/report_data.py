"""A month of incidents with a known answer for the monthly report's tests (December 2024)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.helpers import AT, on_line
from sarhad.border import BorderProfile
from sarhad.core.auth import Principal
from sarhad.core.db import Database, lock_writes
from sarhad.incidents import service
from sarhad.incidents.models import IncidentLink
from sarhad.incidents.schemas import IncidentIn, Transition
from sarhad.incidents.taxonomy import Status

MONTH = "2024-12"
PARTNER_NODE = str(uuid.UUID(int=7))


def incident(
    profile: BorderProfile, *, km: float, at: datetime, category: str = "armed_attack",
    sf_killed: int = 0, civ_injured: int = 0, asl_detained: int = 0,
    seizures: list[dict[str, Any]] | None = None,
) -> IncidentIn:  # fmt: skip
    lon, lat = on_line(profile, km)
    return IncidentIn.model_validate(
        {
            "title": f"{category} at km {km}",
            "category": category,
            "occurred_at": at.isoformat(),
            "location": {"lon": lon, "lat": lat, "precision": "exact"},
            "reporting_side": "PK",
            "casualties": {
                "security_forces": {"killed": sf_killed},
                "civilians": {"injured": civ_injured},
                "assailants": {"detained": asl_detained},
            },
            "seizures": seizures or [],
        }
    )


def add_ours(db: Database, profile: BorderProfile, duty: Principal, data: IncidentIn) -> str:
    """Store one of ours, submitted (drafts are not in the report)."""
    with db.session() as s:
        row = service.create_incident(s, data=data, actor=duty, profile=profile)
        service.transition_incident(
            s, incident_id=row.id, step=Transition(to=Status.SUBMITTED, expected_version=1),
            actor=duty,
        )  # fmt: skip
        return row.id


def add_theirs(db: Database, profile: BorderProfile, data: IncidentIn) -> str:
    record_id = str(uuid.uuid4())
    with db.session() as s:
        lock_writes(s)
        service.store_received(
            s, record_id=record_id, data=data, version=1, status="validated",
            remote_modified=AT, origin_node_id=PARTNER_NODE, origin="partner:ir-node",
            withheld=[], revoked=False, profile=profile,
        )  # fmt: skip
    return record_id


def confirm_link(db: Database, local_id: str, remote_id: str) -> None:
    with db.session() as s:
        s.add(
            IncidentLink(
                id=str(uuid.uuid4()), local_id=local_id, remote_id=remote_id, score=0.9,
                reasons=["test"], status="confirmed", created_at=AT,
            )
        )  # fmt: skip
        s.commit()


def december(db: Database, profile: BorderProfile, duty: Principal) -> dict[str, Any]:
    """Ours: 8 in Dec (a cluster of 5 at km 400-420), 2 in Nov, 1 in Dec 2023; partner: 3 in
    Dec, one of them the same event as one of ours (confirmed link)."""
    dec = datetime(2024, 12, 1, tzinfo=UTC)
    ids: dict[str, Any] = {"ours": [], "theirs": []}
    for i in range(5):
        ids["ours"].append(add_ours(db, profile, duty, incident(
            profile, km=400 + 4 * i, at=dec + timedelta(days=20 + i % 3), sf_killed=1,
            civ_injured=i,
        )))  # fmt: skip
    ids["ours"].append(add_ours(db, profile, duty, incident(
        profile, km=150, at=dec + timedelta(days=3), category="smuggling_narcotics",
        asl_detained=2, seizures=[{"commodity": "hashish", "quantity": 1500, "unit": "g"},
                                  {"commodity": "hashish", "quantity": 2, "unit": "kg"}],
    )))  # fmt: skip
    ids["ours"].append(add_ours(db, profile, duty, incident(
        profile, km=700, at=dec + timedelta(days=9), category="smuggling_fuel",
        seizures=[{"commodity": "diesel", "quantity": 1.5, "unit": "m3"}],
    )))  # fmt: skip
    ids["ours"].append(add_ours(db, profile, duty, incident(
        profile, km=800, at=dec + timedelta(days=12), category="armed_clash", sf_killed=2,
    )))  # fmt: skip
    for d in (5, 15):
        add_ours(db, profile, duty, incident(profile, km=300, at=datetime(2024, 11, d, tzinfo=UTC)))
    add_ours(db, profile, duty, incident(profile, km=300, at=datetime(2023, 12, 5, tzinfo=UTC)))
    # The partner's: one is the same event as our armed clash at km 800.
    twin = add_theirs(db, profile, incident(
        profile, km=801, at=dec + timedelta(days=12, hours=1), category="armed_clash",
        sf_killed=3,
    ))  # fmt: skip
    confirm_link(db, ids["ours"][-1], twin)
    ids["twin"] = twin
    ids["theirs"] = [twin] + [
        add_theirs(db, profile, incident(profile, km=km, at=dec + timedelta(days=d)))
        for km, d in ((250, 7), (600, 25))
    ]
    return ids
