"""The joint monthly report as a shareable object type: each side's figures on the shared records.

A node sends each partner its month's figures on the records the two share, as a STIX 2.1
``report`` whose figures ride in our property-extension (docs/stix-mapping.md). Three scopes:

* ``sender``: the sender's own records of the month that the receiver holds (as shared);
* ``receiver``: the receiver's records of the month as the sender received them;
* ``joint``: events of both scopes, a pair joined by a confirmed link counted once.

The receiver compares them with its own figures for the same scopes (its ``sender`` against
our ``receiver`` and so on): the joint report shows both side by side and flags where they
differ. The figures are computed by ``analysis.report.joint`` (analysis and federation are on
one floor: ``sarhad.node`` wires them together); this module keeps what was sent and received
(table ``joint_reports``, one row per partner, direction and month: a month sent again is a
new version of the same object and replaces the row), maps it to and from STIX, and checks
every figure a partner sends (names from a fixed grammar, finite non-negative numbers,
bounded counts): a bad object is quarantined like any other.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sarhad.core.db import Base, UTCDateTime, get_node_id, lock_writes, utcnow
from sarhad.core.journal import audit, record
from sarhad.core.markings import TLP, Family, may_arrive, may_go
from sarhad.federation.identity import EXTENSION_AUTHOR
from sarhad.federation.stix.core import StixObject, stix_timestamp
from sarhad.federation.stix.envelope import Refused as EnvelopeRefused
from sarhad.federation.stix.envelope import check_all, internal, tlp
from sarhad.federation.store import Appender, collection_id
from sarhad.federation.types.base import (
    Arrival,
    Changed,
    Inbound,
    ObjectType,
    Outbound,
    payload_of,
    stamp,
)
from sarhad.sharing import service as sharing

log = logging.getLogger("sarhad.inbox")

ENTITY = "joint_report"
REPORT_EXTENSION_ID = "extension-definition--27e00e05-c3f4-4b2c-b246-c8b135dc31a6"
"""Our property-extension of ``report`` (generated once; never change it)."""
REPORT_EXTENSION_CREATED = "2026-12-05T17:00:00.000Z"
REPORT_SCHEMA_URL = (
    "https://github.com/sarhad-project/sarhad/blob/main/"
    f"src/sarhad/federation/schemas/{REPORT_EXTENSION_ID}.json"
)
REPORT_NAMESPACE = uuid.UUID("89cefba0-2c0d-4208-a0da-0cfaa09bff5c")

#: The three scopes of a report, and which of ours each of the partner's is compared with.
SCOPES = ("sender", "receiver", "joint")
MIRROR = {"sender": "receiver", "receiver": "sender", "joint": "joint"}
#: Figure families an agreement can withhold (``sharing.policy.WITHHOLDABLE``'s ``seizures``).
WITHHOLDABLE_FAMILIES = ("seizures",)
#: At most this many figures in one scope (a month has tens; the limit keeps an object small).
MAX_FIGURES = 300
#: No count or quantity of a month comes near this; beyond it a figure is refused.
MAX_VALUE = 1e12
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_NODE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: The names a figure may have: incidents, per category, casualties by party and kind,
#: seizures by commodity and normalised unit.
FIGURE_NAME = re.compile(
    r"^(incidents"
    r"|category\.[a-z][a-z0-9_]{0,47}"
    r"|casualties\.(sf|civ|asl)_(killed|injured|detained)"
    r"|seizures\.[a-z][a-z0-9_]{0,47}\.[A-Za-z][A-Za-z0-9]{0,9})$"
)
_EXT_KEYS = frozenset({"extension_type", "month", "to_node", "scopes", "withheld", "signature"})

Scopes = dict[str, dict[str, float]]


class JointReport(Base):
    """One month's figures sent to, or received from, one partner (the latest version)."""

    __tablename__ = "joint_reports"
    __table_args__ = (
        UniqueConstraint("partner_id", "direction", "month"),
        CheckConstraint("direction IN ('sent', 'received')", name="direction"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    direction: Mapped[str] = mapped_column(String(8))  # sent | received
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    stix_id: Mapped[str] = mapped_column(String(80))
    tlp: Mapped[str] = mapped_column(String(16))
    #: {"scopes": {scope: {figure: value}}, "withheld": [family, ...]}
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)  # the STIX object's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def report_stix_id(sender_node_id: str, receiver_node_id: str, month: str) -> str:
    """The id of ``sender``'s report to ``receiver`` for ``month``: the same for every version."""
    name = f"{sender_node_id}/{receiver_node_id}/{month}"
    return f"report--{uuid.uuid5(REPORT_NAMESPACE, name)}"


def report_definition(*, created_by_ref: str) -> StixObject:
    """The extension-definition of our figures on ``report`` (fixed id and timestamps)."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": REPORT_EXTENSION_ID,
        "created_by_ref": created_by_ref,
        "created": REPORT_EXTENSION_CREATED,
        "modified": REPORT_EXTENSION_CREATED,
        "name": "sarhad-joint-monthly-figures",
        "description": (
            "A Sarhad node's figures of one month on the records it shares with the receiving "
            "node: its own records the receiver holds, the receiver's records as received, "
            "and joint events counted once."
        ),
        "schema": REPORT_SCHEMA_URL,
        "version": "1.0",
        "extension_types": ["property-extension"],
        "object_marking_refs": [TLP.CLEAR.stix_id],
    }


# --- checking a partner's figures ------------------------------------------------------------


class BadReport(ValueError):
    """A partner's report that breaks the mapping; the message names the property."""


def check_figures(value: object, where: str) -> dict[str, float]:
    """One scope's figures: names from :data:`FIGURE_NAME`, finite numbers in [0, 1e12]."""
    if not isinstance(value, dict):
        raise BadReport(f"{where}: must be an object of figures")
    if len(value) > MAX_FIGURES:
        raise BadReport(f"{where}: {len(value)} figures, more than {MAX_FIGURES}")
    out: dict[str, float] = {}
    for name, n in value.items():
        if not isinstance(name, str) or not FIGURE_NAME.match(name):
            raise BadReport(f"{where}: {str(name)[:60]!r} is not a figure name")
        if isinstance(n, bool) or not isinstance(n, int | float):
            raise BadReport(f"{where}.{name}: must be a number")
        if not math.isfinite(n) or n < 0 or n > MAX_VALUE:
            raise BadReport(f"{where}.{name}: {n} is not a count between 0 and {MAX_VALUE:.0e}")
        out[name] = float(n)
    return out


def parse_report(obj: StixObject, *, author: str | None, receiver: str) -> dict[str, Any]:
    """Check a partner's ``report`` (after the STIX envelope): what :func:`store_received`
    takes. ``author``: the partner's identity; ``receiver``: our node id."""
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict) or set(extensions) != {REPORT_EXTENSION_ID}:
        raise BadReport(f"extensions: must be exactly {{{REPORT_EXTENSION_ID}}}")
    ext = extensions[REPORT_EXTENSION_ID]
    where = f"extensions.{REPORT_EXTENSION_ID}"
    if not isinstance(ext, dict):
        raise BadReport(f"{where}: must be an object")
    extra = sorted(set(ext) - _EXT_KEYS)
    if extra:
        raise BadReport(f"{where}.{str(extra[0])[:40]}: not a property of the extension")
    if ext.get("extension_type") != "property-extension":
        raise BadReport(f"{where}.extension_type: must be 'property-extension'")
    month = ext.get("month")
    if not isinstance(month, str) or not _MONTH.match(month):
        raise BadReport(f"{where}.month: must be YYYY-MM")
    to_node = ext.get("to_node")
    if not isinstance(to_node, str) or not _NODE.match(to_node):
        raise BadReport(f"{where}.to_node: must be a node id")
    if to_node != receiver:
        raise BadReport(f"{where}.to_node: the report is for node {to_node}, not this node")
    by = obj.get("created_by_ref")
    if author is None:
        raise BadReport("the partner's node id is not known yet")
    if by != author:
        raise BadReport(f"created_by_ref {str(by)[:80]} is not the partner ({author})")
    sender = author.removeprefix("identity--")
    if obj.get("id") != report_stix_id(sender, receiver, month):
        raise BadReport("id is not the one derived from (sender, receiver, month)")
    scopes = ext.get("scopes")
    if not isinstance(scopes, dict) or set(scopes) != set(SCOPES):
        raise BadReport(f"{where}.scopes: must have exactly {', '.join(SCOPES)}")
    checked = {s: check_figures(scopes[s], f"{where}.scopes.{s}") for s in SCOPES}
    withheld = ext.get("withheld", [])
    if (
        not isinstance(withheld, list)
        or len(withheld) > len(WITHHOLDABLE_FAMILIES)
        or any(w not in WITHHOLDABLE_FAMILIES for w in withheld)
    ):
        raise BadReport(f"{where}.withheld: only {', '.join(WITHHOLDABLE_FAMILIES)} may be named")
    return {"month": month, "scopes": checked, "withheld": sorted(set(withheld))}


# --- what analysis hands in and reads back (wired by sarhad.node) -----------------------------


def record_sent(
    session: Session,
    *,
    partner: str,
    month: str,
    scopes: Mapping[str, Mapping[str, float]],
    withheld: Sequence[str],
    level: TLP,
    actor: str,
) -> bool:
    """Keep ``month``'s figures for ``partner`` to be published; False when they are the
    ones sent already (nothing new: no new version). A change-log row makes publish send it."""
    lock_writes(session)
    p = sharing.get_partner(session, name=partner)
    if p.node_id is None:
        raise BadReport(f"the node id of {partner} is not known: it cannot be sent a report")
    body = {
        "scopes": {s: dict(sorted(scopes.get(s, {}).items())) for s in SCOPES},
        "withheld": sorted(set(withheld)),
    }
    row = session.scalar(
        select(JointReport).where(
            JointReport.partner_id == p.id,
            JointReport.direction == "sent",
            JointReport.month == month,
        )
    )
    now = utcnow()
    if row is not None and row.figures == body and row.tlp == level.value:
        return False
    if row is None:
        row = JointReport(
            id=str(uuid.uuid4()), partner_id=p.id, direction="sent", month=month,
            stix_id=report_stix_id(get_node_id(session), p.node_id, month),
            version=0, created_at=now, modified=now,
        )  # fmt: skip
        session.add(row)
    else:
        # Each version's ``modified`` is later than the one before, even within one tick.
        row.modified = max(now, row.modified + timedelta(milliseconds=1))
    row.figures, row.tlp, row.version = body, level.value, row.version + 1
    session.flush()
    record(
        session, actor=actor, op="created" if row.version == 1 else "updated", entity=ENTITY,
        entity_id=row.id, version=row.version,
        detail={"partner": partner, "month": month, "tlp": level.value},
    )  # fmt: skip
    return True


def received_figures(session: Session, *, month: str) -> dict[str, dict[str, Any]]:
    """Partner name → the figures it sent for ``month`` (``scopes``, ``withheld``,
    ``modified``, ``version``, ``withdrawn``: the partner withdrew them, none are kept)."""
    names = {p.id: p.name for p in sharing.list_partners(session)}
    out: dict[str, dict[str, Any]] = {}
    for row in session.scalars(
        select(JointReport).where(JointReport.direction == "received", JointReport.month == month)
    ):
        out[names.get(row.partner_id, row.partner_id)] = {
            "scopes": row.figures.get("scopes", {}),
            "withheld": row.figures.get("withheld", []),
            "modified": row.modified,
            "version": row.version,
            "withdrawn": bool(row.figures.get("withdrawn")),
        }
    return out


def held_by(session: Session, *, partner: str, incident_ids: Sequence[str]) -> set[str]:
    """Which of our ``incident_ids`` ``partner`` holds: their latest version in its collection
    is not a withdrawal (what it can count as ours)."""
    p = sharing.get_partner(session, name=partner)
    appender = Appender(session, collection_id(p.id, "outbound"))
    held = appender.latest_many([f"incident--{i}" for i in incident_ids])
    return {sid.removeprefix("incident--") for sid, obj in held.items() if not obj.get("revoked")}


# --- the type --------------------------------------------------------------------------------


def report_to_stix(row: JointReport, *, identity_id: str, receiver: str) -> StixObject:
    """Our figures for a partner as it receives them."""
    at = stix_timestamp(row.modified)
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": row.stix_id,
        "created_by_ref": identity_id,
        "created": stix_timestamp(row.created_at),
        "modified": at,
        "name": f"Sarhad monthly figures {row.month}",
        "published": at,
        "object_refs": [identity_id],
        "object_marking_refs": [TLP(row.tlp).stix_id],
        "extensions": {
            REPORT_EXTENSION_ID: {
                "extension_type": "property-extension",
                "month": row.month,
                "to_node": receiver,
                "scopes": row.figures["scopes"],
                # STIX allows no empty list: named only when something is withheld.
                **({"withheld": row.figures["withheld"]} if row.figures["withheld"] else {}),
            }
        },
    }


def _extensions(obj: StixObject) -> dict[str, Any]:
    ext = obj.get("extensions")
    return ext if isinstance(ext, dict) else {}


class ReportType(ObjectType[dict[str, Any]]):
    """Monthly figures on the shared records, to and from each partner."""

    name = "joint_report"
    entities = frozenset({ENTITY})
    stix_types = frozenset({"report"})

    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject:
        """The extension-definition of our figures on ``report``."""
        return report_definition(created_by_ref=author)

    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        """The latest figures we made for this partner, as the agreement lets them go."""
        ids = list(dict.fromkeys(c.entity_id for c in changes))
        if not ids or out.partner.node_id is None:
            return []
        rows = out.session.scalars(
            select(JointReport).where(
                JointReport.id.in_(ids),
                JointReport.partner_id == out.partner.id,
                JointReport.direction == "sent",
            )
        ).all()
        objects: list[StixObject] = []
        refused: dict[str, tuple[JointReport, str]] = {}  # withdrawn below where it is held
        for row in rows:
            if row.figures.get("withdrawn"):
                continue  # withdrawn already: only a new share of the month sends it again
            why = self._withheld(out, row)
            if why is not None:
                out.report.withheld[row.stix_id] = [why]
                refused[row.stix_id] = (row, why)
                continue
            objects.append(
                report_to_stix(row, identity_id=out.identity_id, receiver=out.partner.node_id)
            )
        if refused:
            objects = self._withdrawals(out, refused) + objects
        return objects

    @staticmethod
    def _withheld(out: Outbound, row: JointReport) -> str | None:
        """Why the agreement keeps this report from the partner (None: it may go): expired,
        a marking above its limit, or figures of a family it now withholds."""
        expires = out.terms.expires_at
        if expires is not None and expires <= out.now:
            return "agreement expired"
        verdict = may_go(TLP(row.tlp), out.terms.max_tlp)  # the one marking rule
        if not verdict.ok:
            return verdict.text
        kept = set(WITHHOLDABLE_FAMILIES) & set(out.terms.withheld_fields)
        carried = {n.split(".", 1)[0] for scope in row.figures["scopes"].values() for n in scope}
        newly = sorted((kept & carried) - set(row.figures.get("withheld", [])))
        if newly:
            return f"the agreement withholds {', '.join(newly)}"
        return None

    @staticmethod
    def _withdrawals(
        out: Outbound, refused: Mapping[str, tuple[JointReport, str]]
    ) -> list[StixObject]:
        """The partner's copy of each refused report it holds, marked withdrawn (with the
        figures it had, never new ones), and our row marked so that it stays withdrawn until
        the month is shared again. Audited, with the reason."""
        held = out.appender.latest_many(list(refused))
        withdrawals = []
        for stix_id, (row, why) in refused.items():
            had = held.get(stix_id)
            if had is None or had.get("revoked"):
                continue  # never delivered, or withdrawn already
            old = copy.deepcopy(had)  # the collection's own version stays as it was
            last = datetime.fromisoformat(str(old["modified"]).replace("Z", "+00:00"))
            at = max(out.now, last + timedelta(milliseconds=1), row.modified)
            old["revoked"] = True
            old["modified"] = stix_timestamp(at)
            withdrawals.append(old)
            # A share of the month after this makes a version newer than the withdrawal.
            row.figures = {**row.figures, "withdrawn": why}
            row.modified = at
            out.report.withdrawn.append(stix_id)
            audit(
                out.session, actor="federation", action="joint_report.withdraw", entity=ENTITY,
                entity_id=row.id,
                detail={"partner": out.partner.name, "month": row.month, "reason": why,
                        "stix_id": stix_id, "modified": old["modified"]},
            )  # fmt: skip
        return withdrawals

    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[dict[str, Any]]]:
        """Check each report: the envelope, the marking, then every figure."""
        checked, rejected = check_all(
            objects, accepted=self.stix_types, positions=[inn.position(o) for o in objects]
        )
        for bad in rejected:
            inn.refuse(bad.stix_id, bad.reason, payload_of(objects, bad.stix_id))
        # A report without our extension (a plain STIX peer's: MISP, OpenCTI) is no figures
        # of ours: kept as a receipt, as before this type read reports.
        plain = [c.obj for c in checked if REPORT_EXTENSION_ID not in _extensions(c.obj)]
        inn.take_as_is(plain)
        checked = [c for c in checked if REPORT_EXTENSION_ID in _extensions(c.obj)]
        keys = [(c.id, stamp(c.modified)) for c in checked]
        seen = inn.seen(keys)
        arrivals: list[Arrival[dict[str, Any]]] = []
        for c, key in zip(checked, keys, strict=True):
            if key in seen:
                inn.duplicate(key)
                continue
            try:
                level = tlp(c.obj)
                arrives = may_arrive(level, Family.REPORT)
                if not arrives.ok:
                    raise BadReport(arrives.text)
                value = parse_report(c.obj, author=inn.author, receiver=inn.node.node_id)
            except (BadReport, EnvelopeRefused) as exc:
                reason = f"{key[0]}: {getattr(exc, 'reason', None) or exc}"
            except Exception as exc:  # last resort: one object must never stop the batch
                reason = f"{key[0]}: {internal(exc)}"
            else:
                value.update(
                    tlp=level.value, modified=c.modified, stix_id=c.id,
                    revoked=c.obj.get("revoked") is True,
                )  # fmt: skip
                arrivals.append(Arrival(key, c.obj, value, tlp=level))
                continue
            inn.refuse(key[0], reason, c.obj)
        return arrivals

    def store(self, inn: Inbound, arrivals: list[Arrival[dict[str, Any]]]) -> None:
        """Each report in its own savepoint; a newer version replaces the row, an older one
        changes nothing (a duplicate)."""
        for a in arrivals:
            try:
                with inn.session.begin_nested():
                    stored = store_received(inn.session, partner_id=inn.partner.id, **a.value)
                    if stored:
                        action = "withdrawn" if a.value["revoked"] else "receive"
                        audit(
                            inn.session, actor="federation", action=f"joint_report.{action}",
                            entity=ENTITY, entity_id=a.value["stix_id"],
                            detail={"partner": inn.partner.name, "month": a.value["month"],
                                    "modified": a.key[1]},
                        )  # fmt: skip
            except Exception as exc:  # last resort: one object must never stop the batch
                log.exception("storing %s from %s failed", a.key[0], inn.partner.name)
                inn.refuse(
                    a.key[0],
                    f"{a.key[0]}: internal error while storing ({type(exc).__name__})",
                    a.obj,
                )
                continue
            if stored:
                inn.accept(a.key)
            else:
                inn.duplicate(a.key, receipt=True)


def store_received(
    session: Session,
    *,
    partner_id: str,
    stix_id: str,
    month: str,
    scopes: Scopes,
    withheld: list[str],
    tlp: str,
    modified: datetime,
    revoked: bool = False,
) -> bool:
    """Keep a partner's figures for ``month``: True when stored, False when ours are as new.

    A withdrawal (``revoked``: the partner's agreement with us no longer lets us have its
    figures) drops the figures we kept and marks the month withdrawn; a later version (the
    month shared again) brings figures back. A withdrawal of a month we never had is nothing.
    """
    row = session.scalar(
        select(JointReport).where(
            JointReport.partner_id == partner_id,
            JointReport.direction == "received",
            JointReport.month == month,
        )
    )
    if row is not None and row.modified >= modified:
        return False
    if revoked:
        if row is None:
            return False
        row.figures = {"scopes": {s: {} for s in SCOPES}, "withheld": [], "withdrawn": True}
        row.tlp, row.modified, row.version = tlp, modified, row.version + 1
        session.flush()
        return True
    if row is None:
        row = JointReport(
            id=str(uuid.uuid4()), partner_id=partner_id, direction="received", month=month,
            stix_id=stix_id, version=0, created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
    row.figures = {"scopes": scopes, "withheld": withheld}
    row.tlp, row.modified, row.version = tlp, modified, row.version + 1
    session.flush()
    return True
