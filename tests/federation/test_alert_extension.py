"""Version 2.0 of the alert extension: a step's time is ``taken_at`` (STIX 2.1 property names
have 3 characters at least); ``at`` from 1.0 partners is still read."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from sarhad.alerts.models import Alert, AlertStep
from sarhad.core.auth import Role
from sarhad.core.db import lock_writes
from sarhad.federation.models import CollectionObject, Quarantined
from sarhad.federation.stix.core import validate_with_oasis
from sarhad.federation.stix.new_sdo import extension_definition
from sarhad.federation.store import Appender, ensure_collections
from sarhad.federation.types.alert import (
    ALERT_EXTENSION_CREATED,
    ALERT_EXTENSION_ID,
    ALERT_SCHEMA_URL,
    BadAlertObject,
    alert_extension_definition,
    parse_step,
    step_to_stix,
)
from sarhad.sharing import service as sharing
from support import Desks, wait_for

AUTHOR = "identity--0b6c1a52-5f0e-4f59-9a8e-3f6f2a1c7d10"
NODE = f"identity--{uuid.uuid4()}"
AT = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)


def our_step() -> dict[str, Any]:
    alert = Alert(id=str(uuid.uuid4()), tlp="green")
    step = AlertStep(step="withdrawn", at=AT, side="PK", detail={"reason": "resolved"})
    return step_to_stix(step, alert, identity_id=NODE)


def test_a_step_carries_taken_at_and_passes_the_validator() -> None:
    obj = our_step()
    assert "at" not in obj and obj["taken_at"] == "2026-11-20T10:05:00.000Z"
    assert validate_with_oasis([obj]) == []
    definition = alert_extension_definition(created_by_ref=AUTHOR)
    assert definition["version"] == "2.1"  # 2.0 renamed at; 2.1 added the signature
    assert definition["created"] == ALERT_EXTENSION_CREATED < definition["modified"]
    assert validate_with_oasis([definition]) == []


def test_a_step_from_a_1_0_partner_is_still_read() -> None:
    new = our_step()
    old = {k: v for k, v in new.items() if k != "taken_at"} | {"at": new["taken_at"]}
    assert parse_step(old, author=NODE) == parse_step(new, author=NODE)
    assert parse_step(new, author=NODE)["at"] == AT


@pytest.mark.parametrize("times", [{}, {"at": "x", "taken_at": "y"}], ids=["none", "both"])
def test_a_step_needs_one_time(times: dict[str, str]) -> None:
    obj = {k: v for k, v in our_step().items() if k != "taken_at"} | times
    with pytest.raises(BadAlertObject, match="taken_at"):
        parse_step(obj, author=NODE)


def test_a_partner_holding_1_0_gets_2_0_with_the_next_alert(desks: Desks) -> None:
    pk, ir = desks.pk, desks.ir
    old = extension_definition(
        id_=ALERT_EXTENSION_ID,
        created=ALERT_EXTENSION_CREATED,
        name="sarhad-liaison-alert",
        description="1.0",
        schema=ALERT_SCHEMA_URL,
        created_by_ref=AUTHOR,
    )
    with pk.db.session() as s:  # what a node published before this version
        lock_writes(s)
        outbound, _ = ensure_collections(s, sharing.get_partner(s, name="ir-node"))
        Appender(s, outbound.id).append(old)
    with pk.client(Role.DUTY_OFFICER) as c:
        alert = c.post(
            "/api/v1/alerts",
            json={"priority": "routine", "kind": "other", "text": "Radio check",
                  "location": {"lon": 61.6, "lat": 28.95}},
        ).json()  # fmt: skip

    def versions() -> list[str]:
        with pk.db.session() as s:
            return [
                json.loads(p)["version"]
                for p in s.scalars(
                    select(CollectionObject.payload)
                    .where(
                        CollectionObject.collection_id == outbound.id,
                        CollectionObject.stix_id == ALERT_EXTENSION_ID,
                    )
                    .order_by(CollectionObject.seq)
                )
            ]

    wait_for(lambda: len(versions()) == 2, what="the newest definition")
    assert versions() == ["1.0", "2.1"]
    with ir.client(Role.LIAISON) as c:  # IR takes the new definition and the alert
        wait_for(lambda: c.get(f"/api/v1/alerts/{alert['id']}").status_code == 200, what="alert")
    with ir.db.session() as s:
        assert s.scalars(select(Quarantined.reason)).all() == []
