"""What an ingest spares itself changes nothing it stores (issue 15: validated ingest speed).

A page's new rows go to link suggestions as stored instead of being read back; a signed record
kept as received is joined from the JSON the envelope wrote, byte for byte what encoding it
again gives; the cyclic collector is held off while a batch is stored, and back afterwards.
"""

from __future__ import annotations

import gc
import json
import sys

from sqlalchemy import delete, select

from sarhad.federation import inbox
from sarhad.federation.models import Receipt
from sarhad.federation.store import canonical
from sarhad.incidents import links
from sarhad.incidents.models import IncidentLink

from .conftest import Pair
from .helpers import record, sync
from .test_signatures import outbound, record_objects


def _links(node: object) -> list[tuple[str, str, str | None, float, list[str]]]:
    with node.db.session() as s:
        return sorted(
            (x.local_id, x.remote_id, x.remote_node_id, x.score, list(x.reasons))
            for x in s.scalars(select(IncidentLink))
        )


def test_links_proposed_from_the_stored_rows_equal_those_read_back(pair: Pair) -> None:
    ours = [
        record(pair.pk, occurred_at="2026-11-20T09:00:00Z"),
        record(
            pair.pk,
            occurred_at="2026-11-20T23:00:00Z",
            category="smuggling_fuel",
            seizures=[{"commodity": "diesel", "quantity": 900, "unit": "l"}],
        ),
    ]
    theirs = [
        # Known to the day only, in another unit: its span and amount are compared.
        record(
            pair.ir,
            reporting_side="IR",
            tlp="green",
            occurred_at="2026-11-20T00:00:00Z",
            date_precision="day",
            seizures=[{"commodity": "hashish", "quantity": 0.11, "unit": "t"}],
        ),
        record(
            pair.ir,
            reporting_side="IR",
            tlp="green",
            occurred_at="2026-11-21T02:00:00Z",
            category="smuggling_fuel",
            location={"lon": 61.7, "lat": 28.9, "precision": "exact"},
            seizures=[{"commodity": "diesel", "quantity": 1000, "unit": "l"}],
        ),
    ]
    assert sync(pair.pk).error is None  # the inbox hands propose the rows it stored
    handed = _links(pair.pk)
    assert {(a, b) for a, b, *_ in handed} >= {(ours[0].id, theirs[0].id)}
    with pair.pk.db.session() as s:
        s.execute(delete(IncidentLink))
        links.propose(s, incident_ids=[t.id for t in theirs])  # the same, read back
    assert _links(pair.pk) == handed


def test_a_kept_original_is_the_objects_as_received_in_canonical_json(pair: Pair) -> None:
    # Persian and Urdu text: the envelope's JSON keeps it unescaped, as canonical() writes it.
    made = record(
        pair.pk,
        tlp="green",
        title="قاچاق سوخت در میرجاوه",
        location={"lon": 61.6, "lat": 28.95, "precision": "near", "place": "تفتان"},
    )
    sent = record_objects(outbound(pair.pk, "ir-node"), made.id)
    assert sync(pair.ir).error is None
    with pair.ir.db.session() as s:
        kept = s.scalar(select(Receipt.original).where(Receipt.stix_id == f"incident--{made.id}"))
    assert kept == canonical(sent)
    assert json.loads(kept) == sent


def test_the_collector_is_held_off_while_a_page_is_stored_and_back_afterwards(
    pair: Pair,
) -> None:
    for n in range(30):
        record(pair.ir, reporting_side="IR", tlp="green", title=f"Fuel convoy {n} stopped")
    inside: list[str] = []
    started: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase != "start":
            return
        started.append(info["generation"])
        frame = sys._getframe(1)
        while frame is not None:  # a collection started from within a page being stored?
            if frame.f_code is inbox.ingest.__wrapped__.__code__:
                inside.append(frame.f_code.co_name)
            frame = frame.f_back

    gc.callbacks.append(watch)
    try:
        assert sync(pair.pk).error is None  # 90 objects: thousands of allocations
    finally:
        gc.callbacks.remove(watch)
    assert inside == []
    assert gc.isenabled() and started  # the collector ran, outside the pages
