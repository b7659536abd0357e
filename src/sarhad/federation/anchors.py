"""Anchored audit: partners hold the hashes of our audit chain, and we hold theirs.

An operator with database access can edit one audit entry and recompute every later hash
with ``core.journal.link``: the chain verifies again. What he cannot recompute is what a
partner holds. So at every sync round each node sends each Sarhad partner its audit head and
the chain hashes ``(seq, hash)`` of its entries the partner does not hold yet, signed by its
key ring; the partner stores them (``partner_anchors``, with the signed message as received
in ``anchor_messages``) and answers the same way with its own head and hashes. Later,
``sarhad audit verify --partners`` asks every partner which of our hashes it holds and
compares them with the local chain: the first seq whose hash differs (or that is gone) is
the first entry that changed.

**Transport.** One partner-facing route beside TAXII, under the API root the partner already
knows (``{taxii_url}sarhad-anchors/``), authenticated by the partner's token like every TAXII
route: ``POST`` exchanges anchors, ``GET`` lists the hashes of the caller's chain held here.
Not inside the TAXII objects or status resources, which stay plain TAXII for peers that are
not Sarhad; and not under ``/api/v1``, which partner tokens never reach. Answers and errors
are TAXII JSON.

**Message** (both directions, signed at ``signature`` by ``core.signing.sign_object``)::

    {"type": "sarhad-audit-anchors", "from": <node id>, "to": <node id>,
     "head": {"seq": n, "hash": h}, "entries": [[seq, hash], ...], "holds": k, "more": bool}

``entries`` are consecutive, at most ``MAX_ANCHORS`` a call (the rest is paged), and start
at or before the first seq the receiver does not hold; ``holds`` is the highest seq of the
*receiver's* chain the sender holds, so the answer carries the receiver's entries after it.

**Refused** (TAXII error, nothing stored, an audit entry ``anchor.refused`` at the receiver):
an unsigned message or one not signed by a key of the partner (``sarhad keys trust``); a
message for another node; a malformed one (the field is named); and a hash that contradicts
one the partner sent before for the same seq, or a head behind entries it sent before: that
is the partner's own log being rewritten.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

from sarhad.border.api import node
from sarhad.core import i18n
from sarhad.core.config import Settings
from sarhad.core.db import Base, BigKey, Database, UTCDateTime, get_node_id, lock_writes, utcnow
from sarhad.core.errors import SarhadError
from sarhad.core.journal import AuditLog, audit, chain_hashes, head
from sarhad.core.json_depth import TooDeep, loads
from sarhad.core.signing import KeyRing, Refused, sign_object, signing_keys, verify_object
from sarhad.federation.client import MEDIA, PartnerProtocolError, TaxiiClient
from sarhad.federation.taxii import TAXII_ERRORS, Caller, TaxiiError, TaxiiJSON, TaxiiRoute
from sarhad.federation.taxii import taxii_response as _answer
from sarhad.sharing import service as sharing
from sarhad.sharing.keys import keys_for_partner
from sarhad.sharing.models import Partner

log = logging.getLogger("sarhad.anchors")

KIND = "sarhad-audit-anchors"
HELD = "sarhad-audit-anchors-held"
#: The route, relative to a Sarhad node's TAXII API root.
PATH = "sarhad-anchors/"
#: Hashes a partner may send in one call (and we send in one answer); the rest is paged.
MAX_ANCHORS = 1000
#: A message of MAX_ANCHORS hashes is about 80 KB; anything much larger is refused unread.
MAX_BODY = 256 * 1024
#: Pages exchanged in one sync round at most (a first exchange of a long log goes on next round).
MAX_PAGES = 200
_HASH = re.compile(r"[0-9a-f]{64}")


# -- what each node keeps -----------------------------------------------------------------------


class AnchorMessage(Base):
    """A signed anchor message a partner sent, as received: the evidence behind its rows."""

    __tablename__ = "anchor_messages"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # the message as received, signature included


class PartnerAnchor(Base):
    """What the partner's audit entry ``seq`` hashed to, as the partner told us."""

    __tablename__ = "partner_anchors"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[int] = mapped_column(BigKey, ForeignKey("anchor_messages.id"))


class AnchorRefused(Exception):
    """An anchor message refused, with the HTTP status and the reason told to the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def holds(session: Session, partner_id: str) -> int:
    """The highest seq of ``partner_id``'s chain we hold a hash of (0 for none)."""
    return (
        session.scalar(
            select(func.max(PartnerAnchor.seq)).where(PartnerAnchor.partner_id == partner_id)
        )
        or 0
    )


# -- the message --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchors:
    """A checked anchor message."""

    sender: str
    to: str
    head: tuple[int, str]
    entries: list[tuple[int, str]]
    holds: int
    more: bool


def message(
    ring: KeyRing,
    *,
    sender: str,
    to: str,
    head_: tuple[int, str],
    entries: Sequence[tuple[int, str]],
    holds_: int,
    more: bool,
) -> dict[str, Any]:
    """A signed anchor message."""
    body = {
        "type": KIND,
        "from": sender,
        "to": to,
        "head": {"seq": head_[0], "hash": head_[1]},
        "entries": [[s, h] for s, h in entries],
        "holds": holds_,
        "more": more,
    }
    return sign_object(body, ring)


def _seq(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise AnchorRefused(422, f"{name}: not a sequence number")
    return value


def _hash(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise AnchorRefused(422, f"{name}: not a SHA-256 hash in lowercase hex")
    return value


def parse(body: Any, *, kind: str = KIND) -> Anchors:
    """The fields of an anchor message, checked (not its signature); ``AnchorRefused`` names
    the field that is wrong."""
    if not isinstance(body, dict):
        raise AnchorRefused(422, "the message is not a JSON object")
    if body.get("type") != kind:
        raise AnchorRefused(422, f"type: not {kind}")
    for name in ("from", "to"):
        if not isinstance(body.get(name), str) or len(body[name]) > 64:
            raise AnchorRefused(422, f"{name}: not a node id")
    h = body.get("head")
    if not isinstance(h, dict):
        raise AnchorRefused(422, "head: not an object")
    top = (_seq(h.get("seq"), "head.seq"), _hash(h.get("hash"), "head.hash"))
    raw = body.get("entries", [])
    if not isinstance(raw, list):
        raise AnchorRefused(422, "entries: not a list")
    if len(raw) > MAX_ANCHORS:
        raise AnchorRefused(413, f"entries: at most {MAX_ANCHORS} a call, send the rest after")
    entries: list[tuple[int, str]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, list) or len(item) != 2:
            raise AnchorRefused(422, f"entries[{i}]: not a [seq, hash] pair")
        seq = _seq(item[0], f"entries[{i}].seq")
        if seq == 0 or (entries and seq != entries[-1][0] + 1):
            raise AnchorRefused(422, f"entries[{i}].seq: entries must be consecutive from 1 up")
        entries.append((seq, _hash(item[1], f"entries[{i}].hash")))
    if entries and entries[-1][0] > top[0]:
        raise AnchorRefused(422, "entries: beyond the head")
    if entries and entries[-1][0] == top[0] and entries[-1][1] != top[1]:
        raise AnchorRefused(422, "head.hash: not the hash of the same entry in entries")
    more = body.get("more", False)
    if not isinstance(more, bool):
        raise AnchorRefused(422, "more: not true or false")
    return Anchors(
        sender=body["from"],
        to=body["to"],
        head=top,
        entries=entries,
        holds=_seq(body.get("holds", 0), "holds"),
        more=more,
    )


def _verified(session: Session, partner: Partner, body: Any) -> tuple[str, datetime]:
    """The (key id, signing time) of a message signed by a key of ``partner``."""
    keys = keys_for_partner(session, partner)
    if not keys:
        raise AnchorRefused(
            403,
            f"no signing key of {partner.name} is known here: exchange keys first "
            "('sarhad keys trust --partner')",
        )
    result = verify_object(body, keys)
    if isinstance(result, Refused):
        raise AnchorRefused(403, f"signature refused: {result}")
    return result.key.key_id, result.signed_at


def store(session: Session, partner: Partner, body: Any, *, me: str, kind: str = KIND) -> Anchors:
    """Check a partner's signed anchor message and keep its hashes; ``AnchorRefused`` if not.

    Idempotent: hashes held already are not stored twice. A hash that differs from the one
    the partner sent before for the same seq, or a head behind what it sent before, is
    refused (its log was rewritten). The caller holds the write lock.
    """
    # Who it is for, who sent it and its signature first: a stranger's message is refused
    # as such (403) whatever else is wrong with it, and no field of it is trusted before.
    if not isinstance(body, dict):
        raise AnchorRefused(422, "the message is not a JSON object")
    to, sender = body.get("to"), body.get("from")
    if to != me:
        raise AnchorRefused(403, f"to: the message is for node {str(to)[:64]}, not this node")
    if partner.node_id and sender != partner.node_id:
        raise AnchorRefused(403, f"from: node {str(sender)[:64]} is not {partner.name}")
    key_id, signed_at = _verified(session, partner, body)
    parsed = parse(body, kind=kind)
    held_top = holds(session, partner.id)
    if parsed.entries and parsed.entries[0][0] > held_top + 1:
        raise AnchorRefused(
            422, f"entries: start after {held_top + 1}, the first seq not held here (a gap)"
        )
    said = dict(parsed.entries)
    if parsed.head[0] > 0:
        said[parsed.head[0]] = parsed.head[1]
    if said:
        held = dict(
            session.execute(
                select(PartnerAnchor.seq, PartnerAnchor.hash).where(
                    PartnerAnchor.partner_id == partner.id,
                    PartnerAnchor.seq.between(min(said), max(said)),
                )
            ).all()
        )
        for seq in sorted(said):
            if seq in held and held[seq] != said[seq]:
                raise AnchorRefused(
                    409,
                    f"entry {seq}: hash {said[seq][:12]}… contradicts {held[seq][:12]}… sent "
                    "before for the same entry: your audit log was rewritten",
                )
    else:
        held = {}
    if parsed.head[0] < held_top:
        raise AnchorRefused(
            409,
            f"head: entry {parsed.head[0]} is behind entry {held_top} sent before: "
            "entries of your audit log were deleted",
        )
    new = [(s, h) for s, h in parsed.entries if s not in held]
    if new:
        at = utcnow()
        evidence = AnchorMessage(
            partner_id=partner.id,
            received_at=at,
            signed_at=signed_at,
            key_id=key_id,
            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        )
        session.add(evidence)
        session.flush()
        session.add_all(
            PartnerAnchor(
                partner_id=partner.id, seq=s, hash=h, received_at=at, message_id=evidence.id
            )
            for s, h in new
        )
        session.flush()
    return parsed


def refused(db: Database, partner: Partner, reason: str, *, via: str) -> None:
    """Put a refused anchor message in the audit log (in its own transaction)."""
    with db.session() as s:
        lock_writes(s)
        audit(
            s,
            actor="federation",
            action="anchor.refused",
            entity="partner",
            entity_id=partner.id,
            detail={"partner": partner.name, "via": via, "reason": reason[:500]},
        )


# -- the routes (partner-facing, beside TAXII) --------------------------------------------------


router = APIRouter(
    prefix="/taxii2",
    tags=["taxii"],
    route_class=TaxiiRoute,
    default_response_class=TaxiiJSON,
    responses=TAXII_ERRORS,
)


def _ring(request: Request) -> KeyRing:
    return signing_keys(node(request).settings.data_dir).ring()


_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_SEQ = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}
#: The message as the OpenAPI document states it; what a schema cannot say (consecutive
#: entries, the signature's value) is checked by ``store``.
MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "from", "to", "head", "signature"],
    "properties": {
        "type": {"const": KIND},
        "from": {"type": "string", "maxLength": 64},
        "to": {"type": "string", "maxLength": 64},
        "head": {
            "type": "object",
            "required": ["seq", "hash"],
            "properties": {"seq": _SEQ, "hash": _HEX64},
        },
        "entries": {
            "type": "array",
            "maxItems": MAX_ANCHORS,
            "items": {"type": "array", "prefixItems": [_SEQ, _HEX64], "minItems": 2, "maxItems": 2},
        },
        "holds": _SEQ,
        "more": {"type": "boolean"},
        "signature": {"type": "object"},
    },
}


@router.post(
    f"/api/{PATH}",
    openapi_extra={
        "requestBody": {"required": True, "content": {MEDIA: {"schema": MESSAGE_SCHEMA}}}
    },
)
async def exchange_route(request: Request, partner: Caller) -> Response:
    """Keep the caller's signed audit anchors; answer with ours, signed."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise TaxiiError(413, "Request Entity Too Large", f"at most {MAX_BODY} bytes a call")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise TaxiiError(413, "Request Entity Too Large", f"at most {MAX_BODY} bytes a call")
    try:
        body = loads(raw)
    except (TooDeep, ValueError, UnicodeDecodeError) as exc:
        raise TaxiiError(400, "Bad Request", f"the body is not JSON: {exc}") from exc
    return await run_in_threadpool(_exchange, request, partner, body)


def _exchange(request: Request, partner: Partner, body: Any) -> Response:
    n = node(request)
    try:
        with n.db.session() as s:
            lock_writes(s)
            me = get_node_id(s)
            got = store(s, s.merge(partner), body, me=me)
            # From the last entry of ours they hold, as the caller does: they check it again.
            ours = chain_hashes(s, after=max(got.holds - 1, 0), limit=MAX_ANCHORS + 1)
            answer = message(
                _ring(request),
                sender=me,
                to=got.sender,
                head_=head(s),
                entries=ours[:MAX_ANCHORS],
                holds_=holds(s, partner.id),
                more=len(ours) > MAX_ANCHORS,
            )
    except AnchorRefused as exc:
        refused(n.db, partner, exc.reason, via="exchange")
        raise TaxiiError(exc.status, "Anchor refused", exc.reason) from None
    return _answer(answer)


@router.get(f"/api/{PATH}")
def held_route(
    request: Request,
    partner: Caller,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_ANCHORS)] = MAX_ANCHORS,
) -> Response:
    """The hashes of the caller's audit chain held here, after ``after``, signed."""
    n = node(request)
    with n.db.session() as s:
        rows = s.execute(
            select(PartnerAnchor.seq, PartnerAnchor.hash, PartnerAnchor.received_at)
            .where(PartnerAnchor.partner_id == partner.id, PartnerAnchor.seq > after)
            .order_by(PartnerAnchor.seq)
            .limit(limit + 1)
        ).all()
        body = {
            "type": HELD,
            "from": get_node_id(s),
            "to": partner.node_id or "",
            "anchors": [[r.seq, r.hash, r.received_at.isoformat()] for r in rows[:limit]],
            "more": len(rows) > limit,
        }
    return _answer(sign_object(body, _ring(request)))


# -- the calling side ---------------------------------------------------------------------------


def _call(client: TaxiiClient, method: str, **kw: Any) -> dict[str, Any] | None:
    """One call to the partner's anchors route; None when the partner has none (404)."""
    url = client.api_root + PATH
    r = client.send(method, url, allow=(404,), **kw)
    if r.status_code == 404:
        return None
    try:
        body = loads(r.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PartnerProtocolError(
            i18n.message(
                "partner.not_object", "{url} answered with something not a JSON object", url=url
            )
        )
    return body


def _client(db: Database, partner: Partner, timeout: float = 30.0) -> TaxiiClient:
    with db.session() as s:
        token = sharing.remote_token(s, partner)
    return TaxiiClient(partner.taxii_url or "", token, timeout=timeout)


def _sarhad_partner(session: Session, name: str) -> Partner | None:
    p = sharing.get_partner(session, name=name)
    session.expunge(p)
    return p if p.active and p.node_id and p.taxii_url else None


def exchange(db: Database, *, settings: Settings, partner_name: str) -> str:
    """One sync round's anchor exchange with a partner; a line saying what happened.

    Never raises: a partner that is down or refuses is reported in the line and the log
    (the sync itself is not failed for it), and the next round tries again.
    """
    with db.session() as s:
        partner = _sarhad_partner(s, partner_name)
        me = get_node_id(s)
    if partner is None:
        return "not a Sarhad partner: no anchors"
    ring = signing_keys(settings.data_dir).ring()
    sent = got = 0
    try:
        with _client(db, partner) as client:
            their_holds: int | None = None  # unknown until the first answer
            for _ in range(MAX_PAGES):
                with db.session() as s:
                    # From the last entry they hold, which they check again: a log rewritten
                    # before it has a new hash there too, and is refused at once.
                    ours = (
                        chain_hashes(s, after=max(their_holds - 1, 0), limit=MAX_ANCHORS)
                        if their_holds is not None
                        else []
                    )
                    mine = message(
                        ring,
                        sender=me,
                        to=partner.node_id or "",
                        head_=head(s),
                        entries=ours,
                        holds_=holds(s, partner.id),
                        more=False,
                    )
                answer = _call(
                    client, "POST", content=json.dumps(mine), headers={"Content-Type": MEDIA}
                )
                if answer is None:
                    return "the partner keeps no anchors (an older Sarhad)"
                sent += len([e for e in ours if their_holds is None or e[0] > their_holds])
                try:
                    with db.session() as s:
                        lock_writes(s)
                        had = holds(s, partner.id)
                        theirs = store(s, s.merge(partner), answer, me=me)
                except AnchorRefused as exc:
                    refused(db, partner, exc.reason, via="answer")
                    raise PartnerProtocolError(
                        i18n.message(
                            "anchors.refused", "their answer was refused: {why}", why=exc.reason
                        )
                    ) from None
                got += len([e for e in theirs.entries if e[0] > had])
                with db.session() as s:
                    left = chain_hashes(s, after=theirs.holds, limit=1)
                progressed = theirs.holds != their_holds or theirs.entries
                their_holds = theirs.holds
                if not (left or theirs.more) or not progressed:
                    break
    except SarhadError as exc:
        log.warning("anchors with %s: %s", partner_name, exc.message)
        return f"anchors not exchanged: {exc.message}"
    return f"sent {sent} hashes, received {got}; {partner_name} holds ours up to {their_holds}"


# -- verify --partners --------------------------------------------------------------------------


@dataclass
class Mismatch:
    """The first entry of our chain a partner's anchors no longer match."""

    seq: int
    problem: str
    at: datetime | None = None
    actor: str | None = None
    action: str | None = None
    entity: str | None = None


@dataclass
class PartnerCheck:
    """What one partner's anchors say of our chain."""

    partner: str
    matched: int = 0
    held: int = 0
    first: Mismatch | None = None
    error: str | None = None  # could not be checked

    @property
    def checked(self) -> bool:
        return self.error is None


def _held_pages(
    client: TaxiiClient, session: Session, partner: Partner, me: str
) -> Iterator[list[tuple[int, str]]]:
    """Every (seq, hash) the partner holds of our chain, page by page, signatures checked."""
    after = 0
    keys = keys_for_partner(session, partner)
    if not keys:
        raise PartnerProtocolError(
            i18n.message(
                "partner.no_key",
                "no signing key of {partner} is known here: its answer cannot be checked",
                partner=partner.name,
            )
        )
    while True:
        body = _call(client, "GET", params={"after": after, "limit": MAX_ANCHORS})
        if body is None:
            raise PartnerProtocolError(
                i18n.message("anchors.none_kept", "the partner keeps no anchors (an older Sarhad)")
            )
        result = verify_object(body, keys)
        if isinstance(result, Refused):
            raise PartnerProtocolError(
                i18n.message(
                    "anchors.not_signed", "its answer is not signed by its key: {why}", why=result
                )
            )
        if body.get("type") != HELD or body.get("to") != me:
            raise PartnerProtocolError(
                i18n.message("anchors.not_ours", "its answer is not a list of our anchors")
            )
        rows = body.get("anchors")
        if not isinstance(rows, list):
            raise PartnerProtocolError(i18n.message("anchors.not_list", "anchors: not a list"))
        page: list[tuple[int, str]] = []
        for i, r in enumerate(rows):
            if not isinstance(r, list) or len(r) < 2:
                raise PartnerProtocolError(
                    i18n.message("anchors.not_pair", "anchors[{i}]: not a [seq, hash] pair", i=i)
                )
            try:
                page.append((_seq(r[0], "seq"), _hash(r[1], "hash")))
            except AnchorRefused as exc:
                raise PartnerProtocolError(
                    i18n.message("anchors.bad_item", "anchors[{i}]: {why}", i=i, why=exc.reason)
                ) from None
        yield page
        if not body.get("more") or not page:
            return
        after = page[-1][0]


def _mismatch(session: Session, seq: int, problem: str) -> Mismatch:
    row = session.get(AuditLog, seq)
    if row is None:
        return Mismatch(seq, problem)
    return Mismatch(seq, problem, row.at, row.actor, row.action, f"{row.entity} {row.entity_id}")


def check_partner(
    db: Database, partner: Partner, *, progress: Callable[[int], None] | None = None
) -> PartnerCheck:
    """Compare the hashes ``partner`` holds of our chain with the chain itself."""
    check = PartnerCheck(partner.name)
    try:
        with _client(db, partner) as client, db.session() as s:
            me = get_node_id(s)
            for page in _held_pages(client, s, partner, me):
                local = (
                    dict(
                        s.execute(
                            select(AuditLog.seq, AuditLog.hash).where(
                                AuditLog.seq.between(page[0][0], page[-1][0])
                            )
                        ).all()
                    )
                    if page
                    else {}
                )
                for seq, h in page:
                    check.held += 1
                    if check.first is not None:
                        continue
                    if seq not in local:
                        check.first = _mismatch(s, seq, "missing here, yet the partner holds it")
                    elif local[seq] != h:
                        check.first = _mismatch(
                            s, seq, f"hash {local[seq][:12]}… here, {h[:12]}… at the partner"
                        )
                    else:
                        check.matched += 1
                if progress:
                    progress(len(page))
    except SarhadError as exc:
        check.error = exc.message
    return check


def check_partners(
    db: Database, *, progress: Callable[[str, int], None] | None = None
) -> list[PartnerCheck]:
    """``check_partner`` for every active Sarhad partner."""
    with db.session() as s:
        partners = [p for p in sharing.list_partners(s) if p.active and p.node_id and p.taxii_url]
        for p in partners:
            s.expunge(p)
    checks = []
    for p in partners:

        def tick(n: int, name: str = p.name) -> None:
            if progress is not None:
                progress(name, n)

        checks.append(check_partner(db, p, progress=tick))
    return checks


@dataclass
class PartnersReport:
    """``audit verify --partners`` in one object."""

    checks: list[PartnerCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No partner holds a hash that differs, and at least one could be checked."""
        return any(c.checked for c in self.checks) and all(c.first is None for c in self.checks)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "partner": c.partner,
                "checked": c.checked,
                "held": c.held,
                "matched": c.matched,
                "error": c.error,
                "first_mismatch": None
                if c.first is None
                else {
                    "seq": c.first.seq,
                    "problem": c.first.problem,
                    "at": c.first.at.isoformat() if c.first.at else None,
                    "actor": c.first.actor,
                    "action": c.first.action,
                    "entity": c.first.entity,
                },
            }
            for c in self.checks
        ]
