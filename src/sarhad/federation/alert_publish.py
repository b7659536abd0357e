"""Turn alert changes of the change log into STIX objects for the one partner concerned."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.alerts.models import Alert, AlertStep
from sarhad.alerts.taxonomy import SHARED_STEPS, Direction, Step
from sarhad.federation.models import CollectionObject
from sarhad.federation.stix_alerts import (
    alert_extension_definition,
    alert_to_stix,
    step_to_stix,
)
from sarhad.federation.store import Appender


def _shared_incident_refs(appender: Appender, incident_ids: Sequence[str]) -> list[str]:
    """Only incidents this partner already has (and still may have) are referenced.

    Why: even a bare id tells the partner that a record exists; an alert must not say more
    than the agreement lets the collection say.
    """
    refs = []
    for iid in incident_ids:
        row: CollectionObject | None = appender.latest(f"incident--{iid}")
        if row is not None and not json.loads(row.payload).get("revoked"):
            refs.append(f"incident--{iid}")
    return refs


def alert_objects(
    session: Session,
    *,
    appender: Appender,
    partner_id: str,
    identity_id: str,
    extension_author: str,
    changes: Sequence[tuple[str, str]],
) -> list[dict[str, Any]]:
    """The objects for ``changes`` ((alert id, op) in order) that go to this partner."""
    if not changes:
        return []
    ids = list(dict.fromkeys(a for a, _ in changes))
    alerts = {
        a.id: a
        for a in session.scalars(
            select(Alert).where(Alert.id.in_(ids), Alert.partner_id == partner_id)
        )
    }
    if not alerts:
        return []
    steps = {
        (s.alert_id, s.step): s
        for s in session.scalars(
            select(AlertStep).where(
                AlertStep.alert_id.in_(list(alerts)),
                AlertStep.source == "local",
                AlertStep.step.in_([s.value for s in SHARED_STEPS]),
            )
        )
    }
    objects: list[dict[str, Any]] = []
    for alert_id, op in changes:
        alert = alerts.get(alert_id)
        if alert is None:
            continue
        if op == Step.RAISED and alert.direction == Direction.OUTBOUND:
            refs = _shared_incident_refs(appender, alert.incident_ids or [])
            objects.append(alert_to_stix(alert, identity_id=identity_id, incident_refs=refs))
        elif (alert_id, op) in steps:
            objects.append(step_to_stix(steps[(alert_id, op)], alert, identity_id=identity_id))
    definition = alert_extension_definition(created_by_ref=extension_author)
    held = appender.latest(definition["id"])
    if objects and (held is None or held.modified != definition["modified"]):
        # Partners introduced before alerts existed have not seen the definition yet, and
        # those that have seen an older version of it get the new one with the new objects.
        objects.insert(0, definition)
    return objects
