"""A partner's record is stored alike by the set-based page path and the single-record path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sarhad.border import BorderProfile
from sarhad.core.db import Database, lock_writes
from sarhad.incidents import service
from sarhad.incidents.models import Incident, IncidentVersion
from sarhad.incidents.received import store_received_many
from sarhad.incidents.schemas import IncidentIn
from sarhad.incidents.service import Received

ORIGIN = str(uuid.UUID(int=7))


def _received(record_id: str, *, status: str, far: bool = False) -> Received:
    lon, lat = (66.5, 24.0) if far else (61.6, 28.95)  # far: out at sea, south of Karachi
    data = IncidentIn.model_validate(
        {
            "title": "Fuel carriers stopped",
            "category": "smuggling_fuel",
            "occurred_at": "2026-11-20T10:00:00Z",
            "location": {"lon": lon, "lat": lat, "precision": "near", "place": "Taftan"},
            "reporting_side": "IR",
            "seizures": [{"commodity": "diesel", "quantity": 900, "unit": "l"}],
            "tlp": "green",
            "far_from_line": far,
        }
    )
    return Received(
        record_id=record_id,
        data=data,
        version=3,
        status=status,
        remote_modified=datetime(2026, 11, 21, tzinfo=UTC),
        origin_node_id=ORIGIN,
        origin="partner:ir-node",
        withheld=["sources", "narrative"],
    )


def _stored(db: Database, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with db.session() as s:
        row = s.get(Incident, record_id)
        assert row is not None
        out = service.to_out(row).model_dump(mode="json")
        version = s.get(IncidentVersion, (record_id, row.version))
        assert version is not None
        columns = {c.name: getattr(row, c.name) for c in Incident.__table__.columns}
        snapshot = dict(version.snapshot)
    for shown in (out, snapshot):
        for key in ("id", "created_at", "updated_at"):
            shown.pop(key)
    for key in ("id", "created_at", "updated_at"):
        columns.pop(key)
    return {"out": out, "columns": columns}, snapshot


def test_both_paths_build_the_same_row_and_version(db: Database, profile: BorderProfile) -> None:
    # An unknown status is read as validated, withheld fields sorted, the place rule applied
    # (a point far out with far_from_line gets no sector): the same on both paths.
    for status, far in (("validated", False), ("no-such-status", False), ("closed", True)):
        one, many = str(uuid.uuid4()), str(uuid.uuid4())
        with db.session() as s:
            lock_writes(s)
            item = _received(one, status=status, far=far)
            assert (
                service.store_received(
                    s,
                    record_id=one,
                    data=item.data,
                    version=item.version,
                    status=item.status,
                    remote_modified=item.remote_modified,
                    origin_node_id=item.origin_node_id,
                    origin=item.origin,
                    withheld=item.withheld,
                    revoked=False,
                    profile=profile,
                )
                == "created"
            )
            outcome = store_received_many(
                s, items=[_received(many, status=status, far=far)], profile=profile
            )
            assert outcome == {many: "created"}
        assert _stored(db, one) == _stored(db, many)
        row, _snapshot = _stored(db, many)
        assert row["columns"]["status"] == ("validated" if status != "closed" else "closed")
        assert row["columns"]["withheld_fields"] == ["narrative", "sources"]
        assert (row["columns"]["sector_id"] is None) is far
