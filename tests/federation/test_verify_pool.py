"""Signatures of a large batch are checked on helper processes: same verdicts, same order."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sarhad.core.signing import covers_of, new_ring, sign_object
from sarhad.federation.store import canonical
from sarhad.federation.types.base import POOL_FROM, Verifying, _Check, _Early, verify_all

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
EXT = "extension-definition--0b6b9a44-1f4e-4e85-8c1e-2f2b6b6c7e1a"
AT = ("extensions", EXT, "signature")


def _record(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    uid = f"{n:08x}-3c8e-4c7b-9d2a-1e1f2a3b4c5d"
    part = {
        "type": "location",
        "spec_version": "2.1",
        "id": f"location--{uid}",
        "created": "2026-11-01T02:00:00.000Z",
        "modified": "2026-11-01T02:00:00.000Z",
        "latitude": 28.95,
        "longitude": 61.6 + n / 1000,
    }
    obj = {
        "type": "incident",
        "spec_version": "2.1",
        "id": f"incident--{uid}",
        "created": "2026-11-01T02:00:00.000Z",
        "modified": "2026-11-01T02:00:00.000Z",
        "name": f"Fuel convoy {n} intercepted near Taftan",
        "extensions": {EXT: {"extension_type": "property-extension", "casualties": n}},
    }
    return obj, part


def test_a_large_batch_gets_the_verdicts_one_by_one_would_give_in_order() -> None:
    ring = new_ring(now=T0)
    keys = ring.by_id()
    checks = []
    for n in range(POOL_FROM * 2):
        obj, part = _record(n)
        signed = sign_object(
            obj, ring, at=AT, now=T0 + timedelta(minutes=1), covers=covers_of([part])
        )
        if n == 7:
            signed = copy.deepcopy(signed)
            signed["name"] = "Changed on the way"
        if n == 20:
            part = dict(part, latitude=29.0)
        checks.append(_Check(signed, [part], keys, AT, T0 + timedelta(hours=1), "pk-node"))
    pooled = verify_all(checks)
    assert pooled == [c.run() for c in checks]  # the helpers change nothing but the time
    refused = {n: why for n, (why, _) in enumerate(pooled) if why is not None}
    assert sorted(refused) == [7, 20]
    assert refused[7].startswith("signature: bad signature: ")
    assert "changed after signing" in refused[20]
    assert all(key == ring.active.public.key_id for why, key in pooled if why is None)


class _Planner:
    """What ``Inbound`` plans with (``_Signatures.plan``), without a session: every record
    is checked against one ring's keys."""

    def __init__(self, keys: dict[str, Any], now: datetime) -> None:
        self.keys, self.now = keys, now

    def plan(self, obj: Any, parts: Any, origin: str, at: Any, texts: Any) -> _Check:
        return _Check(obj, parts, self.keys, at, self.now, origin, texts)


def test_checks_started_early_are_used_only_for_the_very_same_check() -> None:
    ring = new_ring(now=T0)
    planner = _Planner(ring.by_id(), T0 + timedelta(hours=1))
    early, records = _Early(), []
    for n in range(POOL_FROM + 4):
        obj, part = _record(n)
        signed = sign_object(
            obj, ring, at=AT, now=T0 + timedelta(minutes=1), covers=covers_of([part])
        )
        texts = (canonical(signed), canonical(part))
        early.plan(signed, [part], "pk-node", AT, texts, planner)  # type: ignore[arg-type]
        records.append((signed, [part], texts))
    # Record 3 changed after it was planned (its text too), record 4's origin is another:
    # neither is the check planned early, so both are planned and checked again.
    records[3][0]["name"] = "Changed after it was expected"
    records[3] = (records[3][0], records[3][1], (canonical(records[3][0]), records[3][2][1]))
    checks = []
    for n, (signed, parts, texts) in enumerate(records):
        origin = "ir-node" if n == 4 else "pk-node"
        found, step = early.step(signed, parts, origin, AT, texts)
        assert found is (n not in (3, 4))
        if not found:
            step = planner.plan(signed, parts, origin, AT, texts)
        assert isinstance(step, _Check)
        assert (early.started(step) is not None) is found
        checks.append(step)
    got = Verifying(checks, early=early).results()
    assert got == [c.run() for c in checks]
    assert got[3][0] is not None and got[3][0].startswith("signature: bad signature: ")
    assert all(why is None for n, (why, _) in enumerate(got) if n != 3)


def test_a_record_without_canonical_form_is_refused_with_the_reason_in_this_thread() -> None:
    ring = new_ring(now=T0)
    checks = []
    for n in range(POOL_FROM):
        obj, part = _record(n)
        signed = sign_object(obj, ring, at=AT, now=T0, covers=covers_of([part]))
        if n == 2:
            signed = copy.deepcopy(signed)
            signed["extensions"][EXT]["casualties"] = float("nan")  # no RFC 8785 spelling
        checks.append(_Check(signed, [part], ring.by_id(), AT, T0, "pk-node"))
    got = verify_all(checks)  # on the helpers
    assert got == [c.run() for c in checks]
    assert got[2][0] is not None
    assert got[2][0].startswith("signature: malformed signature: the content has no canonical")
    assert "(" in got[2][0].split("canonical form", 1)[1]  # the reference says what is wrong
