"""The contract of a shareable object type, and what publish and the inbox hand each type.

A type says which change-log rows it publishes and how they become STIX objects for one
partner (:meth:`ObjectType.publish`, given an :class:`Outbound`), how a partner's objects of
its STIX types are checked (:meth:`~ObjectType.read`) and stored (:meth:`~ObjectType.store`,
both given an :class:`Inbound`), and what happens once a partner took them
(:meth:`~ObjectType.delivered`). ``publish``, the inbox, sync and ``groups`` loop over
``types.REGISTRY`` (bundles and the TAXII server reach it through them); none of them names a
type. docs/architecture.md says how to add one.

Two steps belong to no type and run between a type's work and the database, once for all:
on the way out, what a type built is appended to the partner's collection by
``publish._append`` (with the type's extension-definition first where the partner lacks it);
on the way in, :meth:`Inbound.admit` decides, for every checked record, whether it may come
from this sender at all before the type stores it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core import verifier
from sarhad.core.db import utcnow
from sarhad.core.markings import TLP, may_forward
from sarhad.core.signing import (
    NO_CANONICAL_FORM,
    Form,
    KeyRing,
    Refused,
    TrustedKey,
    check_covers,
    check_form,
    prepare,
    signature_block,
)
from sarhad.core.signing import Reason as SigReason
from sarhad.core.text import escape_controls
from sarhad.federation.identity import EXTENSION_AUTHOR, LocalNode
from sarhad.federation.models import Quarantined, Receipt
from sarhad.federation.stix.core import StixObject
from sarhad.federation.store import Appender, canonical
from sarhad.sharing import keys as known_keys
from sarhad.sharing import service as sharing
from sarhad.sharing.models import Agreement, Partner
from sarhad.sharing.policy import Terms

Key = tuple[str, str]
"""(STIX id, version): one object version, as the receipts of what we received hold it."""

MAX_QUARANTINE_PAYLOAD = 256 * 1024

T = TypeVar("T")


class Changed(NamedTuple):
    """One row of the change log, as a type's :meth:`~ObjectType.publish` reads it."""

    seq: int
    entity: str
    entity_id: str
    op: str


# --- outbound ------------------------------------------------------------------------------


@dataclass
class PublishReport:
    """What one publish pass did for one partner."""

    partner: str
    shared: list[str] = field(default_factory=list)  # records given a new version (incidents)
    withdrawn: list[str] = field(default_factory=list)  # records withdrawn from the partner
    held: int = 0  # waiting for their release delay
    withheld: dict[str, list[str]] = field(default_factory=dict)  # id -> reasons not shared
    #: Objects added to the collection per type name (extension-definitions not counted).
    objects: dict[str, int] = field(default_factory=dict)


@dataclass
class Outbound:
    """One publish pass for one partner, as each type sees it; the caller holds the write lock."""

    session: Session
    node: LocalNode
    partner: Partner
    terms: Terms
    agreement: Agreement | None
    appender: Appender
    now: datetime
    report: PublishReport
    #: Our signing key ring, read once per publish pass (None: publish unsigned).
    ring: KeyRing | None = None

    @property
    def identity_id(self) -> str:
        """Our identity: the ``created_by_ref`` of every object we make."""
        return self.node.identity_id

    def holds(self, stix_ids: Sequence[str]) -> set[str]:
        """Which of ``stix_ids`` the partner's collection holds, and not as withdrawn.

        Why: a reference says a record exists; an object may only refer to records the
        agreement already let this partner have.
        """
        held = self.appender.latest_many(stix_ids)
        return {i for i, obj in held.items() if not obj.get("revoked")}


# --- inbound -------------------------------------------------------------------------------


@dataclass
class IngestReport:
    """What happened to each object of one batch: exactly one verdict each."""

    accepted: list[Key] = field(default_factory=list)
    duplicates: list[Key] = field(default_factory=list)
    rejected: list[tuple[str | None, str]] = field(default_factory=list)  # (id, reason)

    def merge(self, other: IngestReport) -> None:
        """Add another batch's verdicts."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected


@dataclass
class Arrival(Generic[T]):
    """One record of a partner's batch, checked by its type, on its way to be stored."""

    key: Key  # its main object's (id, version): the receipt it gets
    obj: StixObject  # its main object, as received
    value: T  # what the type checked and will store
    #: The node the record names as its originator; None: the sender itself.
    origin: str | None = None
    tlp: TLP | None = None  # its marking, where the type reads one
    #: The objects that travel as parts of the record (an incident's location and
    #: relationship): its signature covers them by digest.
    parts: Sequence[StixObject] = ()
    #: ``obj`` and ``parts`` as JSON text, each as ``store.canonical`` writes it, where the
    #: type has them already (the envelope's size check encodes every object): saves
    #: encoding a record kept as received a second time. Empty: encoded when needed.
    texts: Sequence[str] = ()

    def as_received(self) -> str:
        """``store.canonical([obj, *parts])``: the record's objects as received."""
        if len(self.texts) == 1 + len(self.parts):
            return "[" + ",".join(self.texts) + "]"  # how json writes a list, compact
        return canonical([self.obj, *self.parts])


def stamp(value: object) -> str:
    """The version text of a receipt: a parsed time with 6 fraction digits, else as given."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def payload_of(objects: Sequence[object], stix_id: str | None) -> str:
    """The first object of ``objects`` with ``stix_id``, as JSON text (quarantine keeps it)."""
    for obj in objects:
        if isinstance(obj, dict) and obj.get("id") == stix_id:
            return json.dumps(obj, ensure_ascii=False, default=str)
    return ""


def quarantine(
    session: Session, *, partner: Partner, via: str, stix_id: str | None, reason: str, payload: str
) -> None:
    """Keep a refused object with its reason for an admin.

    Refused text may hold what no column can (a NUL, a lone surrogate): stored escaped.
    """
    session.add(
        Quarantined(
            partner_id=partner.id,
            via=via,
            stix_id=(stix_id or None) and escape_controls(stix_id)[:200],
            reason=escape_controls(reason),
            payload=escape_controls(payload[:MAX_QUARANTINE_PAYLOAD]),
            received_at=utcnow(),
        )
    )


class Inbound:
    """One batch from one partner, as each type sees it; the caller holds the write lock.

    Every object of the batch gets exactly one verdict through it: :meth:`accept`,
    :meth:`duplicate` or :meth:`refuse` (quarantined with the reason). Objects that travel
    as parts of a record (an incident's location) are named with :meth:`parts_of` and get
    their record's fate (:meth:`settle_parts`). Receipts of what was taken are written by
    the inbox at the end of the batch.
    """

    def __init__(
        self,
        session: Session,
        *,
        partner: Partner,
        via: str,
        node: LocalNode,
        profile: BorderProfile,
    ) -> None:
        self.session, self.partner, self.via = session, partner, via
        self.node, self.profile = node, profile
        self.report = IngestReport()
        #: Receipts to write: key -> the record's objects as received (plain STIX) or None.
        self.receipts: dict[Key, str | None] = {}
        self._originals: dict[Key, str] = {}
        self._owners: dict[int, tuple[StixObject, set[str]]] = {}  # part -> its records' ids
        self._taken: set[str] = set()  # ids of records stored, or held already
        self._positions: dict[int, int] = {}
        self._forwarding = _Forwarding(session, partner)
        self._signatures = _Signatures(session, partner, self._forwarding.sender)
        #: Key id that signed each record admitted signed (the receipt keeps it).
        self.signed: dict[Key, str] = {}
        self._early: _Early | None = None

    @property
    def sender(self) -> str:
        """The sending node's id (its partner id when its node id is unknown)."""
        return self._forwarding.sender

    @property
    def author(self) -> str | None:
        """The ``created_by_ref`` of the partner's own objects (None: its node id is unknown)."""
        return f"identity--{self.partner.node_id}" if self.partner.node_id else None

    # -- positions in the batch, for reasons about objects without a usable id

    def number(self, objects: Sequence[object]) -> None:
        """Note each object's place in the batch as the partner sent it."""
        self._positions = {id(obj): i for i, obj in enumerate(objects)}

    def position(self, obj: object) -> int:
        """``obj``'s place in the batch as the partner sent it."""
        return self._positions.get(id(obj), -1)

    # -- verdicts

    def seen(self, keys: Sequence[Key]) -> set[Key]:
        """Which of ``keys`` we received before (their receipts exist)."""
        found: set[Key] = set()
        ids = list({k[0] for k in keys})
        for start in range(0, len(ids), 500):  # keep IN lists within every backend's limits
            found.update(
                (a, b)
                for a, b in self.session.execute(
                    select(Receipt.stix_id, Receipt.modified).where(
                        Receipt.stix_id.in_(ids[start : start + 500])
                    )
                )
            )
        return found

    def accept(self, key: Key) -> None:
        """Stored: a success, with a receipt."""
        self.report.accepted.append(key)
        self._receipt(key)

    def duplicate(self, key: Key, *, receipt: bool = False) -> None:
        """Held already (or superseded within the batch): a success; ``receipt`` writes one."""
        self.report.duplicates.append(key)
        self._taken.add(key[0])
        if receipt:
            self._receipt(key)

    def refuse(self, stix_id: str | None, reason: str, payload: object) -> None:
        """Refused: a failure, and the object (``payload``) quarantined with the reason."""
        self.report.rejected.append((stix_id, reason))
        text = (
            payload
            if isinstance(payload, str)
            else json.dumps(payload, ensure_ascii=False, default=str)
        )
        quarantine(
            self.session,
            partner=self.partner,
            via=self.via,
            stix_id=stix_id,
            reason=reason,
            payload=text,
        )

    def keep_original(self, key: Key, text: str) -> None:
        """Keep a record's objects as received with its receipt (records from plain STIX)."""
        self._originals[key] = text

    def _receipt(self, key: Key) -> None:
        self._taken.add(key[0])
        self.receipts[key] = self._originals.get(key)

    def take_as_is(self, objects: Sequence[StixObject]) -> None:
        """Objects that stand alone and are stored nowhere: a receipt each, or a duplicate."""
        keys = [
            (str(o["id"]), stamp(o.get("modified") or o.get("created") or "static"))
            for o in objects
        ]
        seen = self.seen(keys)
        for key in keys:
            if key in seen:
                self.report.duplicates.append(key)
            else:
                self.accept(key)

    # -- records of several objects

    def parts_of(self, record_id: str, parts: Sequence[StixObject]) -> None:
        """``parts`` travel with record ``record_id`` and share its fate (one verdict each)."""
        for part in parts:
            self._owners.setdefault(id(part), (part, set()))[1].add(record_id)

    def settle_parts(self) -> None:
        """Give each part its verdict: refused with any of its records, else as itself.

        Parts taken get receipts too, so that a page re-read after a resume (without its
        record) counts them as duplicates.
        """
        owners, self._owners = self._owners, {}
        keys = [
            (str(p["id"]), stamp(p.get("modified") or p.get("created"))) for p, _ in owners.values()
        ]
        seen = self.seen(keys)
        for (part, of), key in zip(owners.values(), keys, strict=True):
            lost = sorted(of - self._taken)
            if lost:
                self.refuse(key[0], f"{key[0]}: part of {lost[0]}, which was refused", part)
            elif key in seen:
                self.report.duplicates.append(key)
            else:
                self.accept(key)

    # -- the gate between checking and storing

    def expect(
        self,
        records: Sequence[tuple[StixObject, Sequence[StixObject], Sequence[str]]],
        *,
        at: Sequence[str] | None,
        origin: Callable[[StixObject], str | None],
    ) -> None:
        """Start the signature checks of ``records`` (each: its main object, its parts and
        their JSON texts) before their type reads them, so that the helper process checks
        them while this thread reads. Optional: :meth:`admit` decides by its own plan and
        uses an early answer only where it made the very same check (same key, signature,
        bytes); anything else is checked there."""
        if at is None or len(records) < POOL_FROM:
            return
        early = self._early = _Early()
        for obj, parts, texts in records:
            origin_ = origin(obj) or self.sender
            early.plan(obj, parts, origin_, at, texts, self._signatures)

    def admit(
        self, arrivals: list[Arrival[T]], *, signature_at: Sequence[str] | None = None
    ) -> list[Arrival[T]]:
        """The checked records that may be stored; the others are refused with the reason.

        Every record of every type passes here after its type checked it and before its
        type stores it: first the originator rule (:class:`_Forwarding`), then the
        originator's signature at ``signature_at`` (:class:`_Signatures`; None: the type's
        records carry none, so only the originator rule applies). A signed record admitted
        that may be forwarded (CLEAR or GREEN) keeps its objects as received, so that it can
        be forwarded as it was signed.
        """
        # First, in this thread, what needs the session (the rules, the keys); then the
        # signature checks, whose costly steps run on a helper process while this thread
        # goes on (verify_all).
        planned: list[tuple[Arrival[T], str | None, _Check | None]] = []
        for a in arrivals:
            origin = a.origin or self.sender
            why = self._forwarding.refusal(origin, a.tlp)
            check: _Check | None = None
            if why is None and signature_at is not None:
                early = self._early
                found, step = (
                    early.step(a.obj, a.parts, origin, signature_at, a.texts)
                    if early is not None
                    else (False, None)
                )
                if not found:
                    step = self._signatures.plan(a.obj, a.parts, origin, signature_at, a.texts)
                if isinstance(step, _Check):
                    check = step
                else:
                    why = step
            planned.append((a, why, check))
        running = Verifying([c for _, _, c in planned if c is not None], early=self._early)
        self._early = None
        # Only a record that may be passed on needs its signed bytes kept (AMBER and above
        # never leave this node again): ≈ 2.5 KB a record less to encode and write. Encoded
        # while the helper checks the signatures; kept below only where the signature holds.
        originals = {
            id(a): a.as_received()
            for a, why, check in planned
            if check is not None and a.tlp is not None and may_forward(a.tlp).ok
        }
        results = iter(running.results())
        kept = []
        for a, why, check in planned:
            if check is not None:
                why, key_id = next(results)
                if key_id is not None:
                    self.signed[a.key] = key_id
                    if id(a) in originals:
                        self.keep_original(a.key, originals[id(a)])
            if why is None:
                kept.append(a)
            else:
                self.refuse(a.key[0], f"{a.key[0]}: {why}", a.obj)
        return kept


@dataclass(frozen=True)
class _Check:
    """One record's signature to check against its originator's keys: needs no session.

    In steps, so that the costly one can run elsewhere: :meth:`form` (the signature's form
    and its key: this thread), the signed bytes, the Ed25519 check and the parts' digests
    (``core.verifier.check_item`` on :meth:`item`: on a helper process for a large batch),
    and :meth:`result`, which puts them together as :meth:`run` does in one go.
    """

    obj: StixObject
    parts: Sequence[StixObject]
    keys: dict[str, TrustedKey]
    at: Sequence[str]
    now: datetime
    who: str
    #: ``obj`` and ``parts`` as JSON text where the type has them (``Arrival.texts``).
    texts: Sequence[str] = ()

    def _why(self, refused: Refused) -> str:
        return f"signature: {refused.reason}: {refused.detail} (originator {self.who})"

    def form(self) -> Form | str:
        """The signature's form and key, or why it is refused already."""
        form = check_form(self.obj, self.keys, at=self.at)
        return self._why(form) if isinstance(form, Refused) else form

    def item(self, form: Form) -> verifier.Item:
        """What the rest of the check needs, as bytes and JSON text."""
        texts = self.texts
        if len(texts) != 1 + len(self.parts):
            texts = [canonical(o) for o in (self.obj, *self.parts)]
        return (form.key.raw, form.signature, tuple(self.at), texts[0], tuple(texts[1:]))

    def result(self, form: Form, answer: verifier.Answer) -> tuple[str | None, str | None]:
        """(why it is refused or None, the id of the key that signed it or None)."""
        code, digests = answer
        if code == verifier.NOT_CANONICAL:
            # Rare (a partner's malformed record): made again here for ``prepare``'s reason,
            # which names what has no canonical form.
            refused = prepare(self.obj, self.keys, at=self.at)
            if isinstance(refused, Refused):
                return self._why(refused), None
            return self._why(Refused(SigReason.MALFORMED, NO_CANONICAL_FORM)), None
        checked = form.outcome(code == verifier.HOLDS, now=self.now)
        if isinstance(checked, Refused):
            return self._why(checked), None
        bad = check_covers(self.obj, self.parts, at=self.at, digests=digests)
        if bad is not None:
            return self._why(bad), None
        return None, checked.key.key_id

    def run(self) -> tuple[str | None, str | None]:
        """The whole check in this thread, from the objects themselves (not their texts):
        what ``verify_all`` must answer."""
        prepared = prepare(self.obj, self.keys, at=self.at)
        if isinstance(prepared, Refused):
            return self._why(prepared), None
        checked = prepared.outcome(prepared.holds(), now=self.now)
        if isinstance(checked, Refused):
            return self._why(checked), None
        bad = check_covers(self.obj, self.parts, at=self.at)
        return (self._why(bad), None) if bad is not None else (None, checked.key.key_id)


#: From this many signatures a batch's checks go to a helper process (below it, handing
#: them over costs more than it saves).
POOL_FROM = 32


class Verifying:
    """The signature checks of a batch under way: :meth:`results` gives ``check.run()`` of
    each, in order.

    Why: the signed bytes, the Ed25519 check (≈ 0.07 ms a record) and the parts' digests
    are most of a signature's cost and need only bytes and JSON text; for a large batch they
    go to a helper process chunk by chunk (``core.verifier``) while this thread goes on
    with the next records and whatever the caller does before it asks for the results.
    """

    def __init__(self, checks: Sequence[_Check], *, early: _Early | None = None) -> None:
        self.checks = checks
        self._early = early
        self._forms: list[Form | str] = []
        #: Where each check's answer is: (True, position among the early ones) or (False,
        #: position among those started here); None: refused by its form.
        self._where: list[tuple[bool, int] | None] = []
        fresh: list[verifier.Item] = []
        for c in checks:
            started = early.started(c) if early is not None else None
            if started is not None:  # the very check planned early: its answer is there
                form, position = started
                self._forms.append(form)
                self._where.append(None if position is None else (True, position))
                continue
            form = c.form()
            self._forms.append(form)
            if not isinstance(form, Form):
                self._where.append(None)
                continue
            self._where.append((False, len(fresh)))
            fresh.append(c.item(form))
        self._running = verifier.Checks(helper=len(fresh) >= POOL_FROM)
        for item in fresh:
            self._running.add(item)

    def results(self) -> list[tuple[str | None, str | None]]:
        """(why refused or None, the key id that signed or None) of each check, in order."""
        answers = {False: self._running.results()}
        if self._early is not None:
            answers[True] = self._early.results()
        out: list[tuple[str | None, str | None]] = []
        for c, f, w in zip(self.checks, self._forms, self._where, strict=True):
            if isinstance(f, str) or w is None:
                out.append((f if isinstance(f, str) else None, None))
            else:
                out.append(c.result(f, answers[w[0]][w[1]]))
        return out


class _Early:
    """Signature checks planned and started before their records were read
    (``Inbound.expect``)."""

    def __init__(self) -> None:
        self._running = verifier.Checks()
        self._planned: dict[int, tuple[tuple[Any, ...], str | _Check | None]] = {}
        #: The form of each check started, and where its answer will be.
        self._started: dict[int, tuple[Form | str, int | None]] = {}
        self._count = 0
        self._answers: list[verifier.Answer] | None = None

    @staticmethod
    def _how(
        parts: Sequence[StixObject], origin: str, at: Sequence[str], texts: Sequence[str]
    ) -> tuple[Any, ...]:
        # The plan depends on these (and the session, unchanged during a batch).
        return (origin, tuple(at), tuple(id(p) for p in parts), tuple(texts))

    def plan(
        self,
        obj: StixObject,
        parts: Sequence[StixObject],
        origin: str,
        at: Sequence[str],
        texts: Sequence[str],
        signatures: _Signatures,
    ) -> None:
        """Plan ``obj``'s check as ``admit`` would, and start it."""
        step = signatures.plan(obj, parts, origin, at, texts)
        self._planned[id(obj)] = (self._how(parts, origin, at, texts), step)
        if isinstance(step, _Check):
            form = step.form()
            position = None
            if isinstance(form, Form):
                position = self._count
                self._count += 1
                self._running.add(step.item(form))
            self._started[id(step)] = (form, position)

    def step(
        self,
        obj: StixObject,
        parts: Sequence[StixObject],
        origin: str,
        at: Sequence[str],
        texts: Sequence[str],
    ) -> tuple[bool, str | _Check | None]:
        """(True, what ``plan`` gave) for ``obj`` planned the very same way, else (False,
        None)."""
        found = self._planned.get(id(obj))
        if found is None or found[0] != self._how(parts, origin, at, texts):
            return False, None
        return True, found[1]

    def started(self, check: _Check) -> tuple[Form | str, int | None] | None:
        """The form of ``check`` and where its answer will be, if it is one started here."""
        return self._started.get(id(check))

    def results(self) -> list[verifier.Answer]:
        if self._answers is None:
            self._answers = self._running.results()
        return self._answers


def verify_all(checks: Sequence[_Check]) -> list[tuple[str | None, str | None]]:
    """``check.run()`` of each, in order; a large batch's Ed25519 checks on a helper process."""
    return Verifying(checks).results()


class _Signatures:
    """Whether a record carries its originator's signature, as the rules for it say.

    * signed: it must verify against the originator's keys (those we trust for that node,
      ``sharing.keys``), its parts unchanged (``covers``); a withdrawal may be signed by
      the sender instead, since a forwarder withdrawing what it may no longer pass on only
      takes something away;
    * unsigned from its originator: taken as unsigned when we hold no key for the sender
      (plain STIX peers, nodes of earlier versions), refused when we do (a stripped
      signature);
    * unsigned from anyone else: refused (the sender's word is not the originator's).
    """

    def __init__(self, session: Session, partner: Partner, sender: str) -> None:
        self.session, self.partner, self.sender = session, partner, sender
        self._keys: dict[str, dict[str, TrustedKey]] = {}
        self._now = datetime.now(UTC)

    def keys(self, node: str) -> dict[str, TrustedKey]:
        """The keys we trust for ``node`` (the sender's: its partner's keys too), by id."""
        if node not in self._keys:
            found = known_keys.keys_for_node(self.session, node)
            if node == self.sender:
                found += known_keys.keys_for_partner(self.session, self.partner)
            self._keys[node] = {k.key_id: k for k in found}
        return self._keys[node]

    def names(self, node: str) -> str:
        """How a reason names ``node``."""
        if node == self.sender:
            return f"{self.partner.name} ({node})"
        return f"node {node}"

    def plan(
        self,
        obj: StixObject,
        parts: Sequence[StixObject],
        origin: str,
        at: Sequence[str],
        texts: Sequence[str] = (),
    ) -> str | _Check | None:
        """Why ``obj`` is refused, or None (taken unsigned), or the signature to check."""
        extensions = obj.get("extensions")
        if not isinstance(extensions, dict) or at[1] not in extensions:
            # Not in our extension (a plain STIX peer's object): publishers sign only what
            # carries it, and such an object names no originator but its sender.
            return None
        block = signature_block(obj, at)
        who = self.names(origin)
        if isinstance(block, Refused) and block.reason is SigReason.UNSIGNED:
            if origin != self.sender and self.partner.node_id is None and not self.keys(origin):
                # A sender that is no Sarhad node (a TAXII hub) relays what others made: its
                # claims cannot be told from its own (_Forwarding), so unsigned records of
                # nodes we hold no key for are taken as unsigned, as from a plain peer.
                return None
            if origin != self.sender:
                return (
                    f"signature: unsigned: a record of {who} forwarded by {self.partner.name} "
                    f"without its originator's signature"
                )
            if self.keys(origin):
                return (
                    f"signature: unsigned: {who} signs its records and this one carries no "
                    "signature (removed on the way?)"
                )
            return None  # a peer that does not sign: taken, shown as unsigned
        keys = dict(self.keys(origin))
        withdrawal = obj.get("revoked") is True
        if withdrawal and origin != self.sender:
            keys.update(self.keys(self.sender))
        return _Check(obj, parts, keys, at, self._now, who, texts)


class _Forwarding:
    """Whether ``partner`` may hand us a record that names another node as its originator.

    A third node's record must also carry its originator's signature (:class:`_Signatures`,
    checked after this rule); this rule says whether it may come through this sender at all:
    we take a third node's record only where our agreement with the sender allows third-party
    records (``forward_third_party``, the flag that governs what we forward to it), the
    record's TLP may be passed on (CLEAR or GREEN), and the originator is not a partner of
    ours: those records come from their originator directly, never through another node.
    """

    def __init__(self, session: Session, partner: Partner) -> None:
        self.session, self.partner = session, partner
        self.sender: str = partner.node_id or partner.id
        self._terms: Terms | None = None
        self._direct: dict[str, str] | None = None

    def refusal(self, origin: str, tlp: TLP | None) -> str | None:
        """Why a record from ``origin`` may not come from this partner (None: it may)."""
        if origin == self.sender:
            return None
        if self._direct is None:
            self._direct = {
                p.node_id: p.name
                for p in sharing.list_partners(self.session)
                if p.node_id and p.id != self.partner.id
            }
        name = self.partner.name
        if origin in self._direct:
            other = self._direct[origin]
            return (
                f"names {other} as its originator: {other} is our partner, and its records "
                f"come from it directly, never through {name}"
            )
        if self.partner.node_id is None:
            return None  # the sender's own node id is unknown: its claims cannot be told apart
        if self._terms is None:
            self._terms = sharing.terms_for(self.session, partner=self.partner)
        if not self._terms.forward_third_party:
            return (
                f"names another node ({origin}) as its originator, and the agreement with "
                f"{name} does not allow third-party records (forward_third_party)"
            )
        if tlp is not None and not may_forward(tlp).ok:
            return f"a record of node {origin} forwarded under {tlp.label}, which forbids it"
        return None


# --- the contract --------------------------------------------------------------------------


class ObjectType(ABC, Generic[T]):
    """One kind of record nodes share; ``T`` is what its :meth:`read` hands to :meth:`store`.

    Types run in ``REGISTRY`` order, on the way out and on the way in: a type's objects may
    refer to records of the types before it (an alert cites incidents), never after.
    """

    #: Short name; the audit of a publish pass counts the type's objects as ``<name>_objects``.
    name: ClassVar[str]
    #: Change-log entities whose rows this type turns into objects.
    entities: ClassVar[frozenset[str]]
    #: STIX ``type`` values of the objects it reads from partners (and delivers).
    stix_types: ClassVar[frozenset[str]]
    #: Whether its extension-definition goes to a partner as soon as the partner is
    #: introduced (the first type's did); otherwise it goes just before the first object of
    #: the type the partner gets, and again when the definition has a new version.
    definition_at_introduction: ClassVar[bool] = False

    # -- outbound

    @abstractmethod
    def definition(self, author: str = EXTENSION_AUTHOR) -> StixObject | None:
        """The extension-definition its objects name (fixed id and versions: one object);
        None for a type of plain STIX objects that name none."""

    @abstractmethod
    def publish(self, out: Outbound, changes: Sequence[Changed]) -> list[StixObject]:
        """The objects this partner gets for ``changes`` (this type's rows, in log order).

        Only what the agreement (``out.terms``) lets the partner have, redacted as it says,
        each version once (the collection is ``out.appender``). The caller appends them.
        """

    def published(self, out: Outbound, added: Sequence[StixObject]) -> None:
        """Note in ``out.report`` what of it the collection took (``added``, in order)."""
        out.report.objects[self.name] = out.report.objects.get(self.name, 0) + len(added)

    # -- signatures

    def signature_at(self) -> tuple[str, ...] | None:
        """Where an object of this type carries its originator's signature: inside our
        extension (None: a type without one, whose objects are never signed)."""
        definition = self.definition()
        return None if definition is None else ("extensions", definition["id"], "signature")

    def originator(self, obj: StixObject) -> str | None:
        """The node id of the node that made the record ``obj`` (default: its author, from
        ``created_by_ref``); a type whose records name their origin otherwise overrides it."""
        ref = obj.get("created_by_ref")
        return ref.split("--", 1)[1] if isinstance(ref, str) and "--" in ref else None

    def parts(self, objects: Sequence[StixObject]) -> dict[int, list[StixObject]]:
        """The parts of each record in ``objects``: objects without our extension that travel
        with it, bound into its signature by digest. Keyed by the record's position in
        ``objects`` (a list may hold several versions of one record). Default: none."""
        return {}

    # -- inbound

    def ingest(self, inn: Inbound, objects: list[StixObject]) -> None:
        """Check, admit and store the partner's objects of this type; one verdict each."""
        self.store(inn, inn.admit(self.read(inn, objects), signature_at=self.signature_at()))
        inn.settle_parts()

    @abstractmethod
    def read(self, inn: Inbound, objects: list[StixObject]) -> list[Arrival[T]]:
        """Check the partner's objects of this type (their ``type`` is one of ``stix_types``).

        Refuse the bad ones and settle those held already (``inn.refuse`` / ``inn.duplicate``);
        return the rest as arrivals. No record is stored here.
        """

    @abstractmethod
    def store(self, inn: Inbound, arrivals: list[Arrival[T]]) -> None:
        """Store the admitted arrivals and give each its verdict (``accept``, ``duplicate``,
        ``refuse``); a failure of one leaves nothing of it behind and never stops the others."""

    # -- delivery

    def delivered(self, session: Session, objects: Sequence[StixObject], at: datetime) -> None:
        """The partner took ``objects`` of this type (a push it did not refuse)."""

    # -- batches

    def incomplete(self, objects: Sequence[object]) -> set[int]:
        """Positions in ``objects`` of parts of records not whole in it (default: none).

        A page, a POST or a bundle chunk must not cut a record that travels as several
        objects: the caller sends these with the next batch.
        """
        return set()
