"""Signatures of a large batch are checked on a thread pool: same verdicts, same order."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sarhad.core.signing import covers_of, new_ring, sign_object
from sarhad.federation.types.base import POOL_FROM, _Check, verify_all

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
    assert pooled == [c.run() for c in checks]  # the pool changes nothing but the time
    refused = {n: why for n, (why, _) in enumerate(pooled) if why is not None}
    assert sorted(refused) == [7, 20]
    assert refused[7].startswith("signature: bad signature: ")
    assert "changed after signing" in refused[20]
    assert all(key == ring.active.public.key_id for why, key in pooled if why is None)
