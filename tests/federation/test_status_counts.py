"""The status of a TAXII POST adds up: total = success + failure + pending, one verdict per
object, and the parts of a refused incident are failures with the reason, never successes."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarhad.core.db import get_node_id
from sarhad.federation.stix.core import parse_stix_timestamp
from sarhad.federation.types.alert import STEP_TYPE, step_stix_id
from sarhad.federation.types.incident import EXTENSION_ID, incident_to_stix

from .conftest import Pair
from .fixtures.stix_records import make_record
from .helpers import get, unkeyed
from .test_taxii_server import MEDIA, inbox_id, partner_client

Objects = list[Any]


def post(c: httpx.Client, objects: Objects) -> dict[str, Any]:
    r = c.post(
        f"/api/collections/{inbox_id(c)}/objects/",
        content=json.dumps({"objects": objects}),
        headers={"Content-Type": MEDIA},
    )
    assert r.status_code == 202, r.text
    return r.json()


def check_counts(status: dict[str, Any], objects: Objects) -> None:
    """The TAXII 2.1 rule, and every object accounted for once."""
    lists = {k: status[k] for k in ("successes", "failures", "pendings")}
    assert status["total_count"] == len(objects)
    assert status["total_count"] == (
        status["success_count"] + status["failure_count"] + status["pending_count"]
    )
    assert [len(lists[k]) for k in lists] == [
        status[f"{k}_count"] for k in ("success", "failure", "pending")
    ]
    where: dict[str, set[str]] = {}
    for name, entries in lists.items():
        for entry in entries:
            if entry["id"]:
                where.setdefault(entry["id"], set()).add(name)
    assert all(len(found) == 1 for found in where.values()), where
    sent = {o["id"] for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str)}
    assert set(where) == sent


@pytest.fixture
def ir_node(pair: Pair) -> str:
    # These tests post hand-made objects as ir-node to count verdicts, not to test
    # signatures: pk holds no key of ir, so they are taken unsigned (test_signatures.py).
    unkeyed(pair.pk, "ir-node")
    with pair.ir.db.session() as s:
        return get_node_id(s)


def incident(n: int, node_id: str, rid: uuid.UUID) -> Objects:
    """[incident, location, located-at] of a record of ir-node (the sender)."""
    record = make_record(n, id=str(rid), tlp="green", reporting_side="IR")
    return incident_to_stix(record, identity_id=f"identity--{node_id}", origin_node_id=node_id)


def test_an_incident_whose_relationship_misses_its_location(pair: Pair, ir_node: str) -> None:
    # The batch of issue 14: an incident, its location, and a relationship to a location
    # that is not there. It used to give total 3, success 3, failure 1.
    inc, loc, rel = incident(1, ir_node, uuid.uuid4())
    rel["target_ref"] = f"location--{uuid.uuid4()}"
    with partner_client(pair.pk, "ir-node") as c:
        status = post(c, [inc, loc, rel])
    check_counts(status, [inc, loc, rel])
    failures = {f["id"]: f["message"] for f in status["failures"]}
    assert "no located-at location in this batch" in failures[inc["id"]]
    assert f"part of {inc['id']}, which was refused" in failures[rel["id"]]
    # The location no located-at points to is an object of its own, taken once.
    assert [s["id"] for s in status["successes"]] == [loc["id"]]


def test_parts_of_a_refused_incident_are_failures(pair: Pair, ir_node: str) -> None:
    inc, loc, rel = incident(2, ir_node, uuid.uuid4())
    inc["extensions"][EXTENSION_ID]["category"] = "piracy"
    with partner_client(pair.pk, "ir-node") as c:
        status = post(c, [inc, loc, rel])
        check_counts(status, [inc, loc, rel])
        assert status["success_count"] == 0 and status["failure_count"] == 3
        # Sent again, corrected: all three are taken (nothing was receipted for the parts).
        inc["extensions"][EXTENSION_ID]["category"] = "armed_clash"
        status = post(c, [inc, loc, rel])
    check_counts(status, [inc, loc, rel])
    assert status["success_count"] == 3


def test_two_versions_of_one_record_in_one_post(pair: Pair, ir_node: str) -> None:
    rid = uuid.uuid4()
    old = incident(3, ir_node, rid)
    new = copy.deepcopy(old)
    for obj in new:
        obj["modified"] = "2024-05-03T00:00:00.000Z"
    new[0]["name"] = "Firing near Taftan, corrected"
    with partner_client(pair.pk, "ir-node") as c:
        status = post(c, [*new, *old])
    check_counts(status, [*new, *old])
    versions = {(s["id"], parse_stix_timestamp(s["version"])) for s in status["successes"]}
    for version in (new[0], old[0]):  # the older one superseded within the same POST
        assert (version["id"], parse_stix_timestamp(version["modified"])) in versions
    assert status["failure_count"] == 0
    landed = get(pair.pk, str(rid))
    assert landed is not None and landed.title == "Firing near Taftan, corrected"


# --- property: any batch adds up ------------------------------------------------------------


def alert(node_id: str, rid: uuid.UUID, *, to_side: str) -> dict[str, Any]:
    return {
        "type": "sarhad-alert",
        "spec_version": "2.1",
        "id": f"sarhad-alert--{rid}",
        "created_by_ref": f"identity--{node_id}",
        "created": "2026-11-20T10:00:00.000Z",
        "modified": "2026-11-20T10:00:00.000Z",
        "priority": "routine",
        "kind": "request_for_information",
        "text": "Please confirm the convoy seen near Taftan",
        "from_side": "IR",
        "to_side": to_side,
        "valid_from": "2026-11-20T10:00:00.000Z",
        "valid_until": "2099-11-21T10:00:00.000Z",
        "acknowledge_by": "2099-11-20T11:00:00.000Z",
        "answer_by": "2099-11-20T12:00:00.000Z",
        "longitude": 61.6,
        "latitude": 28.95,
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        "extensions": {
            "extension-definition--5b0f3a8e-2d6c-4f1e-9a57-6c1d2b7e8f40": {
                "extension_type": "new-sdo"
            }
        },
    }


def step_for(obj: dict[str, Any]) -> dict[str, Any]:
    """A 'withdrawn' step of ``obj`` (a sarhad-alert), as its sender would send it."""
    alert_id = obj["id"].removeprefix("sarhad-alert--")
    return {
        **{k: obj[k] for k in ("spec_version", "created_by_ref", "object_marking_refs")},
        "type": STEP_TYPE,
        "id": step_stix_id(alert_id, "withdrawn"),
        "created": "2026-11-20T10:05:00.000Z",
        "modified": "2026-11-20T10:05:00.000Z",
        "alert_ref": obj["id"],
        "step": "withdrawn",
        "taken_at": "2026-11-20T10:05:00.000Z",
        "side": "IR",
        "reason": "resolved",
        "extensions": obj["extensions"],
    }


KINDS = [
    "good",
    "no location",
    "missing location",
    "bad category",
    "orphan location",
    "orphan relationship",
    "plain",
    "alert",
    "alert to the wrong side",
    "alert and step",
    "not an object",
    "no id",
]


def piece(kind: str, n: int, node_id: str, rid: uuid.UUID) -> Objects:
    inc, loc, rel = incident(n, node_id, rid)
    if kind == "good":
        return [inc, loc, rel]
    if kind == "no location":
        return [inc, rel]
    if kind == "missing location":
        rel["target_ref"] = f"location--{uuid.uuid5(rid, 'elsewhere')}"
        return [inc, loc, rel]
    if kind == "bad category":
        inc["extensions"][EXTENSION_ID]["category"] = "piracy"
        return [inc, loc, rel]
    if kind == "orphan location":
        return [loc]
    if kind == "orphan relationship":
        return [rel]
    if kind == "plain":
        del inc["extensions"]
        return [inc, loc, rel]
    if kind == "alert":
        return [alert(node_id, rid, to_side="PK")]
    if kind == "alert to the wrong side":
        return [alert(node_id, rid, to_side="IR")]
    if kind == "alert and step":
        a = alert(node_id, rid, to_side="PK")
        return [a, step_for(a)]
    if kind == "not an object":
        return [f"not an object {n}"]
    return [{"type": "note", "spec_version": "2.1", "content": "no id"}]


batches = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 30), st.uuids(version=4)),
    min_size=1,
    max_size=8,
    unique_by=lambda piece: piece[2],  # one id, one object (copies are drawn below)
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches, repeat=st.booleans(), data=st.data())
def test_any_batch_adds_up(
    pair: Pair, ir_node: str, batch: list[tuple[str, int, uuid.UUID]], repeat: bool, data: Any
) -> None:
    objects = [o for kind, n, rid in batch for o in piece(kind, n, ir_node, rid)]
    if repeat:  # a client resending part of the batch in the same POST
        objects += data.draw(st.lists(st.sampled_from(objects), max_size=3))
    objects = data.draw(st.permutations(objects))
    with partner_client(pair.pk, "ir-node") as c:
        status = post(c, objects)
        check_counts(status, objects)
        # Re-posting the same batch: still one verdict per object.
        check_counts(post(c, objects), objects)
