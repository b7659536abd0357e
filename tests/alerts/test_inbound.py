"""Never trust the partner's bytes: alert objects are checked, bad ones quarantined with why."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from sarhad.alerts.models import Alert
from sarhad.core.auth import Role
from sarhad.core.db import get_node_id
from sarhad.federation.models import Quarantined
from sarhad.federation.publish import sign_all
from sarhad.federation.stix.core import validate_with_oasis
from sarhad.federation.types.alert import ALERT_EXTENSION_ID, step_stix_id
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import own_ring
from support import LiveNode

from .conftest import ALERT, Desks, wait_for

MEDIA = "application/taxii+json;version=2.1"


def _inbox(receiver: LiveNode, token: str) -> str:
    with receiver.client(None) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        c.headers["Accept"] = MEDIA
        cols = c.get("/taxii2/api/collections/").json()["collections"]
    return next(col["id"] for col in cols if col["can_write"])


def _post(receiver: LiveNode, token: str, objects: list[Any]) -> dict[str, Any]:
    with receiver.client(None) as c:
        r = c.post(
            f"/taxii2/api/collections/{_inbox(receiver, token)}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": MEDIA, "Accept": MEDIA},
        )
    assert r.status_code == 202, r.text
    return r.json()


def _sent_objects(desks: Desks) -> tuple[dict[str, Any], str]:
    """A real alert object as PK serves it to IR, and PK's token at IR."""
    with desks.pk.client(Role.DUTY_OFFICER) as c:
        alert = c.post("/api/v1/alerts", json=ALERT).json()
    wait_for(lambda: _alert_count(desks.ir) == 1, what="delivery")
    from sarhad.federation.models import CollectionObject

    with desks.pk.db.session() as s:
        payload = s.scalars(
            select(CollectionObject.payload).where(
                CollectionObject.stix_id == f"sarhad-alert--{alert['id']}"
            )
        ).one()
    from sarhad.sharing.models import Partner

    with desks.pk.db.session() as s:
        token = sharing.remote_token(s, s.scalars(select(Partner)).one())
    return json.loads(payload), token


def signed(node: LiveNode, objects: list[Any]) -> list[Any]:
    """``objects`` signed by ``node`` as its publisher signs what it originates."""
    with node.db.session() as s:
        node_id = get_node_id(s)
    return sign_all(objects, own_ring(node.settings.data_dir), node_id=node_id)


def _alert_count(node: LiveNode) -> int:
    with node.db.session() as s:
        return s.scalar(select(func.count()).select_from(Alert)) or 0


def test_our_alert_objects_pass_the_oasis_validator(desks: Desks) -> None:
    obj, _ = _sent_objects(desks)
    assert validate_with_oasis([obj]) == []
    assert obj["extensions"].keys() == {ALERT_EXTENSION_ID}
    entry = obj["extensions"][ALERT_EXTENSION_ID]
    assert entry["extension_type"] == "new-sdo" and entry["signature"]["alg"] == "Ed25519"
    assert "created_by" not in obj and "sources" not in obj  # no desk names leave the node


BAD: list[tuple[str, Any, str]] = [
    ("to_side", "PK", "addressed to PK"),
    ("priority", "urgent", "priority"),
    ("text", "", "text"),
    (
        "object_marking_refs",
        ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
        "alert record may not arrive",
    ),
    ("sector", "PKIR-999", "no sector"),
    ("acknowledge_by", "2000-01-01T00:00:00.000Z", "out of order"),
    ("created_by_ref", "identity--11111111-1111-4111-8111-111111111111", "not the partner"),
    ("incident_refs", ["not-an-id"], "incident"),
    ("x_extra", 1, "x_extra"),
    ("text", "nul\u0000text", "text: contains a NUL"),
    ("valid_until", "9999-12-31T00:00:00.000Z", "valid_until: 9999-12-31"),
    ("longitude", 2.35, "km from the border line"),
    ("sector", "PKIR-001\u0000", "sector: contains a NUL"),
]


@pytest.mark.parametrize(("field", "value", "reason"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_alert_is_quarantined_with_its_reason(
    desks: Desks, field: str, value: Any, reason: str
) -> None:
    good, token = _sent_objects(desks)
    bad = copy.deepcopy(good)
    bad["id"] = "sarhad-alert--6f1f7a4c-0b5e-4c1a-9b9e-2f0d1c3b4a59"
    bad[field] = value
    status = _post(desks.ir, token, signed(desks.pk, [bad]))  # PK signed the bad content
    assert status["failure_count"] == 1 and reason in status["failures"][0]["message"]
    assert _alert_count(desks.ir) == 1  # nothing half-written
    with desks.ir.db.session() as s:
        q = s.scalars(select(Quarantined).where(Quarantined.stix_id == bad["id"])).one()
        assert reason in q.reason and json.loads(q.payload)["id"] == bad["id"]


def test_steps_only_from_the_party_that_may_take_them(desks: Desks) -> None:
    good, token = _sent_objects(desks)
    alert_id = good["id"].removeprefix("sarhad-alert--")
    # PK pretends to acknowledge its own alert at IR (only IR acknowledges an inbound alert).
    step = {
        "type": "sarhad-alert-step",
        "spec_version": "2.1",
        "id": step_stix_id(alert_id, "acknowledged"),
        "created_by_ref": good["created_by_ref"],
        "created": good["created"],
        "modified": good["created"],
        "alert_ref": good["id"],
        "step": "acknowledged",
        "at": good["created"],
        "side": "PK",
        "object_marking_refs": good["object_marking_refs"],
        "extensions": good["extensions"],
    }
    status = _post(desks.ir, token, signed(desks.pk, [step]))
    assert status["failure_count"] == 1
    assert "may not send 'acknowledged'" in status["failures"][0]["message"]
    # A step with a made-up id, and one about an alert nobody raised.
    forged = {**step, "step": "withdrawn", "id": step_stix_id(alert_id, "received")}
    unknown_alert = "sarhad-alert--0b7a9c8e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"
    unknown = {
        **step,
        "step": "withdrawn",
        "alert_ref": unknown_alert,
        "id": step_stix_id(unknown_alert.removeprefix("sarhad-alert--"), "withdrawn"),
    }
    status = _post(desks.ir, token, signed(desks.pk, [forged, unknown]))
    messages = [f["message"] for f in status["failures"]]
    assert status["failure_count"] == 2
    assert "derived" in messages[0] and "no alert" in messages[1]
    # The genuine withdrawal, sent twice, is applied once.
    real = {**step, "step": "withdrawn", "id": step_stix_id(alert_id, "withdrawn"), "reason": "x"}
    [real] = signed(desks.pk, [real])
    assert _post(desks.ir, token, [real])["success_count"] == 1
    assert _post(desks.ir, token, [real])["success_count"] == 1  # "already have it"
    with desks.ir.client(Role.LIAISON) as c:
        steps = [s["step"] for s in c.get(f"/api/v1/alerts/{alert_id}").json()["steps"]]
    assert steps.count("withdrawn") == 1
