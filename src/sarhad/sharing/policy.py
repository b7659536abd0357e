"""The pure sharing policy: may this record go to this partner, and without which fields?

No database, no clock, no I/O: ``decide`` is given the record, the agreement's terms and the
time, so the same inputs always give the same answer and every rule can be tested alone.

>>> from datetime import UTC, datetime
>>> from sarhad.core.markings import TLP
>>> terms = Terms(partner="ir-node", partner_node_id=None, version=1)
>>> rec = SharableRecord(id="x", category="smuggling_fuel", sector="PKIR-001",
...     status="draft", tlp=TLP.RED, occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
...     origin_node_id=None)
>>> decide(rec, terms, now=datetime(2026, 2, 1, tzinfo=UTC)).reasons
('TLP:RED never leaves the node', 'status draft is not shared')
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sarhad.core.i18n import Number, message
from sarhad.core.labels import word
from sarhad.core.markings import TLP, may_be_limit, may_forward, may_go, may_leave

if TYPE_CHECKING:
    from sarhad.incidents.schemas import IncidentOut

#: Fields an agreement may withhold. Casualties are not among them: civilian harm is always
#: reported, whatever the agreement says.
WITHHOLDABLE: tuple[str, ...] = ("sources", "narrative", "grading", "place", "seizures")

#: Statuses shared when an agreement does not say otherwise: only checked records go.
DEFAULT_STATUSES: frozenset[str] = frozenset({"validated", "closed"})


def when(value: datetime) -> str:
    """A time as a liaison officer reads it: ``2026-11-24T10:00Z`` (UTC, to the minute)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def hours(value: float) -> str:
    """``6`` → ``6 h``, ``1.5`` → ``1.5 h``."""
    return f"{value:g} h"


@dataclass(frozen=True)
class Terms:
    """The plain data of one agreement (built from the stored row by the service)."""

    partner: str
    partner_node_id: str | None
    version: int
    categories: frozenset[str] = frozenset()  # empty = every category
    sectors: frozenset[str] = frozenset()  # empty = every sector
    statuses: frozenset[str] = DEFAULT_STATUSES  # empty = nothing (fail closed)
    max_tlp: TLP = TLP.AMBER
    withheld_fields: frozenset[str] = frozenset({"sources"})
    release_delay_hours: float = 0.0
    expires_at: datetime | None = None
    forward_third_party: bool = False
    share_crossings: bool = True
    share_throughput: bool = False

    def __post_init__(self) -> None:
        # Second line of defence: the schemas refuse these before they are ever stored.
        limit = may_be_limit(self.max_tlp)
        if not limit.ok:
            raise ValueError(limit.text)
        unknown = set(self.withheld_fields) - set(WITHHOLDABLE)
        if unknown:
            raise ValueError(f"fields that cannot be withheld: {', '.join(sorted(unknown))}")
        if self.release_delay_hours < 0:
            raise ValueError("release_delay_hours must not be negative")


@dataclass(frozen=True)
class SharableRecord:
    """What ``decide`` needs to know about one record."""

    id: str
    category: str
    sector: str | None  # None: marked far from the line, beyond the node's limit
    status: str
    tlp: TLP
    occurred_at: datetime
    # None for our own records; the originator's node UUID for records received from a partner.
    origin_node_id: str | None = None

    @classmethod
    def from_incident(cls, out: IncidentOut, origin_node_id: str | None) -> SharableRecord:
        """The sharable view of an incident (``origin_node_id`` None when it is our own)."""
        return cls(
            id=out.id,
            category=str(out.category),
            sector=out.enrichment.sector,
            status=str(out.status),
            tlp=TLP(out.tlp),
            occurred_at=out.occurred_at,
            origin_node_id=origin_node_id,
        )


@dataclass(frozen=True)
class Decision:
    """The answer for one record and one partner."""

    share: bool
    reasons: tuple[str, ...] = ()  # why not shared, in plain words (empty when shared)
    withheld_fields: tuple[str, ...] = ()  # sorted; removed by ``redact`` before anything leaves
    release_at: datetime | None = None  # set when only the release delay holds the record back


def _received_reasons(record: SharableRecord, terms: Terms) -> list[str]:
    """Rules for records another node sent us: we pass them on only if all three allow it."""
    reasons: list[str] = []
    if not terms.forward_third_party:
        reasons.append(
            message(
                "sharing.received_no_forwarding",
                "received from another node and the agreement does not allow forwarding",
            )
        )
    # RED has its own reason already; AMBER and AMBER+STRICT stay inside the recipient.
    forward = may_forward(record.tlp)
    if may_leave(record.tlp).ok and not forward.ok:
        reasons.append(
            message(
                "sharing.received_and",
                "received from another node and {why}",
                why=forward.text,
            )
        )
    if terms.partner_node_id is not None and record.origin_node_id == terms.partner_node_id:
        reasons.append(
            message(
                "sharing.originator",
                "received from {partner}: never sent back to its originator",
                partner=terms.partner,
            )
        )
    return reasons


def decide(record: SharableRecord, terms: Terms, *, now: datetime) -> Decision:
    """Apply every rule of the agreement to ``record`` at time ``now``; collect every failure.

    Order of the reasons: expiry, TLP, category, sector, status, forwarding, release delay.
    """
    reasons: list[str] = []
    if terms.expires_at is not None and now >= terms.expires_at:
        reasons.append(
            message("sharing.expired", "agreement expired on {date}", date=when(terms.expires_at))
        )
    marking = may_go(record.tlp, terms.max_tlp)
    if not marking.ok:
        reasons.append(marking.text)
    if terms.categories and record.category not in terms.categories:
        reasons.append(
            message(
                "sharing.category",
                "category {category} is not in the agreement",
                category=word("category", record.category),
            )
        )
    if record.sector is None:
        # An agreement shares border incidents; a record far off the line is not one, and
        # its placement (no sector, no km) has no place in the partner's border data.
        reasons.append(
            message(
                "sharing.no_sector",
                "far from the line (no sector): not a border incident to share",
            )
        )
    elif terms.sectors and record.sector not in terms.sectors:
        reasons.append(
            message(
                "sharing.sector",
                "sector {sector} is not in the agreement",
                sector=record.sector,
            )
        )
    if record.status not in terms.statuses:
        reasons.append(
            message(
                "sharing.status",
                "status {status} is not shared",
                status=word("incident_status", record.status),
            )
        )
    if record.origin_node_id is not None:
        reasons.extend(_received_reasons(record, terms))
    release_at: datetime | None = None
    ready_at = record.occurred_at + timedelta(hours=terms.release_delay_hours)
    if now < ready_at:
        reasons.append(
            message(
                "sharing.held",
                "held until {date} by the {hours} h release delay",
                date=when(ready_at),
                hours=Number(f"{terms.release_delay_hours:g}"),
            )
        )
        # Only a promise of release when nothing else stands in the way.
        if len(reasons) == 1:
            release_at = ready_at
    return Decision(
        share=not reasons,
        reasons=tuple(reasons),
        withheld_fields=tuple(sorted(terms.withheld_fields)),
        release_at=release_at,
    )


def redact(record_json: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """A new dict without the withheld fields of ``decision``; ``record_json`` is untouched.

    ``record_json`` is the JSON form of an ``IncidentOut``: ``sources``, ``narrative``,
    ``grading`` and ``seizures`` are top-level keys, ``place`` lives in ``location``.
    """
    result = copy.deepcopy(record_json)  # deep: nested dicts must not be shared with the input
    for name in decision.withheld_fields:
        if name == "place":
            location = result.get("location")
            if isinstance(location, dict):
                location.pop("place", None)
        else:
            result.pop(name, None)
    return result


__all__ = [
    "DEFAULT_STATUSES",
    "WITHHOLDABLE",
    "Decision",
    "SharableRecord",
    "Terms",
    "decide",
    "redact",
]
