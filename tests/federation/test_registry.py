"""The registry of object types: one module and one entry make a new shareable type.

Here a type of plain STIX ``opinion`` objects (a standard type no registered type reads),
written as docs/architecture.md says and registered in the test, travels between two real
nodes: published from the change log, pushed, checked and stored by the receiving node's
inbox, delivered; publish, inbox and sync are not touched. (The joint report's ``report``
type, ``types/report.py``, was added the same way.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.db import lock_writes, utcnow
from sarhad.core.journal import AuditLog, record
from sarhad.core.markings import TLP
from sarhad.federation.identity import EXTENSION_AUTHOR
from sarhad.federation.models import CollectionObject, Receipt
from sarhad.federation.stix.core import StixObject, stix_timestamp, validate_with_oasis
from sarhad.federation.stix.envelope import check_all
from sarhad.federation.store import collection_id
from sarhad.federation.types import REGISTRY, Registry
from sarhad.federation.types.base import (
    Arrival,
    Changed,
    Inbound,
    ObjectType,
    Outbound,
    payload_of,
    stamp,
)
from sarhad.federation.types.crossing import CrossingType
from sarhad.federation.types.incident import IncidentType
from sarhad.sharing import service as sharing

from .conftest import Pair
from .helpers import sync

ENTITY = "test_opinion"
DEFINITION_ID = "extension-definition--3e0a4f52-8d0c-4c7e-9d0f-6a1b2c3d4e5f"


class OpinionType(ObjectType[StixObject]):
    """Opinions as plain STIX ``opinion`` objects (a type added for the test)."""

    name = "opinion"
    entities = frozenset({ENTITY})
    stix_types = frozenset({"opinion"})

    def __init__(self) -> None:
        self.stored: list[tuple[str, StixObject]] = []  # (partner, report)
        self.delivered_ids: list[str] = []

    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject:
        return {
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": DEFINITION_ID,
            "created_by_ref": author,
            "created": "2026-12-01T00:00:00.000Z",
            "modified": "2026-12-01T00:00:00.000Z",
            "name": "test-opinion",
            "schema": "https://example.org/opinion.json",
            "version": "1.0",
            "extension_types": ["property-extension"],
        }

    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        at = stix_timestamp(out.now)
        return [
            {
                "type": "opinion",
                "spec_version": "2.1",
                "id": f"opinion--{c.entity_id}",
                "created_by_ref": out.identity_id,
                "created": at,
                "modified": at,
                "opinion": "agree",
                "object_refs": [out.identity_id],
                "object_marking_refs": [TLP.GREEN.stix_id],
            }
            for c in changes
        ]

    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[StixObject]]:
        checked, rejected = check_all(
            objects, accepted=self.stix_types, positions=[inn.position(o) for o in objects]
        )
        for bad in rejected:
            inn.refuse(bad.stix_id, bad.reason, payload_of(objects, bad.stix_id))
        keys = [(c.id, stamp(c.modified)) for c in checked]
        seen = inn.seen(keys)
        arrivals = []
        for c, key in zip(checked, keys, strict=True):
            if key in seen:
                inn.duplicate(key)
            else:
                arrivals.append(Arrival(key, c.obj, c.obj))
        return arrivals

    def store(self, inn: Inbound, arrivals: list[Arrival[StixObject]]) -> None:
        for a in arrivals:
            self.stored.append((inn.partner.name, a.value))
            inn.accept(a.key)

    def delivered(self, session: Session, objects: Sequence[StixObject], at: datetime) -> None:
        self.delivered_ids += [o["id"] for o in objects]


def test_a_fourth_type_travels_by_registering_it(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = OpinionType()
    monkeypatch.setattr(REGISTRY, "types", (*REGISTRY.types, reports))  # registering it
    report_id = str(uuid.uuid4())
    with pair.pk.db.session() as s:
        lock_writes(s)
        record(s, actor="console", op="created", entity=ENTITY, entity_id=report_id, version=1)

    result = sync(pair.pk)  # publish for ir, push to ir's inbox (ir's TAXII route ingests)
    assert result.error is None and result.push_failures == []

    assert [(p, r["id"]) for p, r in reports.stored] == [("pk-node", f"opinion--{report_id}")]
    assert reports.delivered_ids == [f"opinion--{report_id}"]
    with pair.pk.db.session() as s:
        ir = sharing.get_partner(s, name="ir-node")
        sent = [
            json.loads(p)
            for p in s.scalars(
                select(CollectionObject.payload)
                .where(CollectionObject.collection_id == collection_id(ir.id, "outbound"))
                .order_by(CollectionObject.seq)
            )
        ]
        published = s.scalars(
            select(AuditLog.detail).where(AuditLog.action == "share.publish")
        ).all()
    ids = [o["id"] for o in sent]
    # Its definition goes just before its first object; its count is in the audit.
    assert ids[-2:] == [DEFINITION_ID, f"opinion--{report_id}"]
    assert validate_with_oasis(sent[-2:]) == []
    assert any(d.get("opinion_objects") == 1 for d in published)
    with pair.ir.db.session() as s:
        receipts = s.scalars(select(Receipt.stix_id)).all()
    assert f"opinion--{report_id}" in receipts

    again = sync(pair.pk)  # nothing new: nothing published, pushed or stored twice
    assert again.pushed == 0 and len(reports.stored) == 1


def test_types_run_in_the_documented_order_and_each_stix_type_has_one_reader() -> None:
    assert [t.name for t in REGISTRY] == ["incident", "link", "crossing", "alert", "joint_report"]
    assert REGISTRY.claims()["incident"].name == "incident"
    assert REGISTRY.claims()["sarhad-alert-step"].name == "alert"
    assert set(REGISTRY.entities()) == {
        "incident",
        "incident_link",
        "alert",
        "crossing_declaration",
        "crossing_hours",
        "crossing_throughput",
        "joint_report",
    }
    with pytest.raises(RuntimeError, match="location is read by incident and crossing"):
        Registry([IncidentType(), _Greedy()])


class _Greedy(CrossingType):
    """A type that would also read locations: two readers of one STIX type."""

    stix_types = frozenset({"location"})


def test_every_definition_passes_the_oasis_validator() -> None:
    definitions: list[dict[str, Any]] = [
        d for t in REGISTRY if (d := t.definition(EXTENSION_AUTHOR)) is not None
    ]
    assert len(definitions) == 5 and validate_with_oasis(definitions) == []
    assert len({d["id"] for d in definitions}) == 5
    assert all(d["created"] <= d["modified"] <= stix_timestamp(utcnow()) for d in definitions)
