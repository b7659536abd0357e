"""Links between a partner's record and our own record of the same event.

Proposed on every trigger (a partner's record arriving, our own record created, edited or
validated: all call :func:`propose`), scored with what each record says about its own
certainty (a date-only record spans its day, a district-precision point spans its district,
related categories match with a penalty, seizures compare commodity and quantity), then
confirmed or rejected by a liaison officer, who may also link two records by hand and undo a
decision. A record has at most one confirmed twin per partner node (the service says which
link holds it, and partial unique indexes make sure). A rejected pair is never proposed again.

:func:`count_once` is the one rule every figure uses to count an event both sides reported
once: through CONFIRMED links only; it says how many pairs are only suggested.
"""

from __future__ import annotations

import bisect
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sarhad.core.i18n import Number, Text, define, message, plain
from sarhad.core.journal import audit, record
from sarhad.core.labels import word
from sarhad.incidents.models import Incident, IncidentLink
from sarhad.incidents.taxonomy import (
    COMMODITY_FAMILIES,
    FAMILIES,
    UNIT_BASE,
    Status,
    Unit,
    family_of,
)

ENTITY = "incident_link"

#: Reporting lag both sides tolerate between the two records' time spans.
MAX_GAP_HOURS = 36.0
#: Distance tolerated between the two records' place spans (after each record's radius).
MAX_GAP_KM = 20.0
#: Below this score a pair is not proposed at all. MIN_SCORE, BEST_MIN, ALTERNATIVE_MARGIN and
#: the weights below were chosen on bench/links.py histories of seeds 7 and 11 only; the
#: figures recorded are of seed 18 and of seeds 1-5, never looked at while choosing.
MIN_SCORE = 0.6
#: A pair scoring below this is never a record's best candidate (only an alternative).
BEST_MIN = 0.65
#: Alternatives further than this below the best candidate of either record are not kept.
ALTERNATIVE_MARGIN = 0.1
#: How many steps of links the incident page follows to judge a record's best candidate.
GROUP_STEPS = 6

#: How far a record placed at each precision may be from its point, in km. The profile has no
#: district or province shapes, so a radius stands for each: border districts on this line
#: (Chagai, Washuk, Kech; Zahedan, Saravan) reach about 150 km from their seat, the
#: provinces about 400 km; "border" is anywhere along the line. Country-wide records span too
#: much to say anything and are never proposed.
RADIUS_KM: dict[str, float | None] = {
    "exact": 0.5,
    "near": 25.0,
    "district": 150.0,
    "province": 400.0,
    "border": 600.0,
    "country": None,
}

#: How long a record of each date precision spans (``year`` is too vague to link by).
SPAN: dict[str, timedelta | None] = {
    "exact": timedelta(0),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=31),
    "year": None,
}
_LONGEST = timedelta(days=31)


_LIST_LINKS = message("links.list_hint", "list links with 'sarhad links list'")


def _no_link(link_id: str) -> Text:
    return message("links.none", "no link {link}", link=link_id)


def _undo_first(link_id: str) -> Text:
    return message(
        "links.undo_first", "undo it first ('sarhad links undo {short}')", short=link_id[:8]
    )


def time_span(at: datetime, precision: str) -> tuple[datetime, datetime] | None:
    """The interval a record's time stands for: a date-only record spans its whole day.

    >>> from datetime import UTC
    >>> s, e = time_span(datetime(2026, 11, 20, tzinfo=UTC), "day")
    >>> (s.day, e.day)
    (20, 21)
    """
    span = SPAN.get(precision)
    if span is None:
        return None
    if not span:
        return at, at
    if precision == "month":
        start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return start, nxt
    start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + span


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; metre precision is not needed to rank candidates."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class Facts:
    """What scoring reads of a record (plain data, so the benchmark scores without a DB)."""

    id: str
    category: str
    occurred_at: datetime
    date_precision: str
    lat: float
    lon: float
    location_precision: str
    seizures: tuple[tuple[str, float, str], ...] = ()  # (commodity, quantity, unit)
    killed: int = 0

    @staticmethod
    def of(row: Incident) -> Facts:
        """The facts of a stored record."""
        return Facts(
            id=row.id,
            category=row.category,
            occurred_at=row.occurred_at,
            date_precision=row.date_precision,
            lat=row.lat,
            lon=row.lon,
            location_precision=row.location_precision,
            seizures=tuple((s.commodity, s.quantity, s.unit) for s in row.seizures),
            killed=row.sf_killed + row.civ_killed + row.asl_killed,
        )


# Why a pair scored as it did, as the officer reads it: coded messages, stored as
# ``{"code", "params"}`` in ``incident_links.reasons`` and worded in the reader's language
# where shown (console, API, CLI). A category or family is a ``Word`` (the code in English, as
# the reasons always said it; the console's label in Urdu and Persian), a measured figure a
# ``Number`` (the reader's digits).
define("links.reason.same_category", "same category {category}")
define("links.reason.related_categories", "related categories {a} / {b} ({family})")
define("links.reason.hours_apart", "{hours} h apart")
define("links.reason.km_apart", "{km} km apart")
define("links.reason.times_overlap", "times overlap at their precision")
define("links.reason.places_overlap", "places overlap at their precision")
define("links.reason.seizures_agree", "seizures agree {agree}")
define("links.reason.killed_agree", "killed {a} / {b}: agree {agree}")
define("links.reason.by_hand", "linked by hand")
define("links.reason.by_partner", "linked by {partner}")


@dataclass(frozen=True)
class Reason:
    """One reason of a score: its code and params, not yet worded.

    Scoring runs on every candidate pair, most of which are dropped; a ``Text`` words itself
    in English when made, so the reasons become texts only for the pairs shown or stored.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> Text:
        """The reason as a coded message."""
        return Text(self.code, self.params)

    def as_json(self) -> dict[str, Any]:
        """``{"code", "params"}`` as the ``reasons`` column keeps it (see ``i18n.plain``)."""
        return {"code": self.code, "params": plain(self.params)}


BY_HAND = Reason("links.reason.by_hand")


def reasons_json(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """Reasons as ``incident_links.reasons`` keeps them: each ``{"code", "params"}``."""
    return [r.as_json() for r in reasons]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a score's reasons say, kept raw: scoring runs on every candidate pair and most are
    dropped, so the reasons are made (:attr:`Score.why`) only for the pairs shown or stored."""

    category: str
    other_category: str
    family: str | None  # the family of two related categories; None: the same category
    hours: float  # between the two records' times
    km: float  # between their points
    times_overlap: bool
    places_overlap: bool
    seized: float | None
    killed: tuple[int, int, float] | None  # each side's count and their agreement


@dataclass(frozen=True)
class Score:
    """A pair's score in [0, 1] and the reasons shown to the officer."""

    value: float
    evidence: Evidence

    @property
    def why(self) -> tuple[Reason, ...]:
        """The reasons, as ``reasons_json`` keeps them."""
        e = self.evidence
        if e.family is None:
            why = [Reason("links.reason.same_category", {"category": word("category", e.category)})]
        else:
            a, b = word("category", e.category), word("category", e.other_category)
            family = word("category_family", e.family)
            why = [Reason("links.reason.related_categories", {"a": a, "b": b, "family": family})]
        why.append(Reason("links.reason.hours_apart", {"hours": Number(f"{e.hours:.1f}")}))
        why.append(Reason("links.reason.km_apart", {"km": Number(f"{e.km:.1f}")}))
        if e.times_overlap:
            why.append(Reason("links.reason.times_overlap"))
        if e.places_overlap:
            why.append(Reason("links.reason.places_overlap"))
        if e.seized is not None:
            why.append(Reason("links.reason.seizures_agree", {"agree": Number(f"{e.seized:.2f}")}))
        if e.killed is not None:
            ka, kb, agree = e.killed
            params = {"a": ka, "b": kb, "agree": Number(f"{agree:.2f}")}
            why.append(Reason("links.reason.killed_agree", params))
        return tuple(why)

    @property
    def reasons(self) -> tuple[Text, ...]:
        """The reasons as coded messages (each *is* its English wording)."""
        return tuple(r.text() for r in self.why)


#: Weights of the score's parts (they sum to 1; vagueness is a penalty on top). Round
#: numbers by design, not fitted: what the two records say about the event itself (seizures,
#: casualties) weighs as much as where and when, since a second seizure at one crossing on
#: one day is as close in time and place as the partner's report of the first.
W = {
    "category": 0.15,
    "time": 0.1,
    "place": 0.1,
    "near_time": 0.1,
    "near_place": 0.1,
    "seizures": 0.35,
    "casualties": 0.1,
}
#: Seized quantities within this factor of each other agree fully; at ``QTY_NONE`` apart,
#: not at all (logarithmic in between): two reports of one seizure differ by a weighing or an
#: estimate, seldom by a factor of two.
QTY_FULL, QTY_NONE = 1.25, 3.0
#: What a record without the evidence (no seizure, no casualty on either side) scores for it:
#: neither for nor against.
NEUTRAL = 0.6
#: Closeness within the spans: hours and km (plus both radii) at which it counts half.
NEAR_HOURS, NEAR_KM = 6.0, 5.0
RADIUS_SHARE = 0.2
#: Penalty for a vague time (two weeks of spans together) and a vague place (400 km of radii).
VAGUE = 0.05
#: Same commodity 1, another commodity of one family (heroin / opium) this much.
COMMODITY_FAMILY = 0.5


def _commodity_match(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if any(a in f and b in f for f in COMMODITY_FAMILIES):
        return COMMODITY_FAMILY
    return 0.0


def _amount(quantity: float, unit: str) -> tuple[str, float] | None:
    try:
        dim, factor = UNIT_BASE[Unit(unit)]
    except ValueError:
        return None
    return dim, quantity * factor


def quantity_agreement(x: float, y: float) -> float:
    """1 when two quantities are within ``QTY_FULL`` of each other, 0 at ``QTY_NONE`` apart.

    >>> quantity_agreement(500, 480), quantity_agreement(100, 50), quantity_agreement(90, 10)
    (1.0, 0.463, 0.0)
    """
    hi, lo = max(x, y), min(x, y)
    if hi <= 0:
        return 1.0
    if lo <= 0:
        return 0.0
    apart = math.log(hi / lo)
    full, none = math.log(QTY_FULL), math.log(QTY_NONE)
    return round(min(1.0, max(0.0, (none - apart) / (none - full))), 3)


def seizure_score(
    a: Sequence[tuple[str, float, str]], b: Sequence[tuple[str, float, str]]
) -> float | None:
    """How well two lists of seizures agree (None when either side lists none).

    Commodity (the same 1, one family ``COMMODITY_FAMILY``, else 0) times the agreement of the
    quantities in one base unit (:func:`quantity_agreement`, 0.5 when not comparable), of
    which a fifth is granted whatever the quantities: 480 kg against 0.5 t agrees fully,
    a tenth of it hardly.

    >>> seizure_score([("hashish", 0.5, "t")], [("hashish", 480, "kg")])
    1.0
    >>> seizure_score([("hashish", 500, "kg")], [("diesel", 500, "l")])
    0.0
    """
    if not a or not b:
        return None
    best = 0.0
    for ca, qa, ua in a:
        for cb, qb, ub in b:
            kind = _commodity_match(ca, cb)
            if not kind:
                continue
            x, y = _amount(qa, ua), _amount(qb, ub)
            if x is None or y is None or x[0] != y[0]:
                agree = 0.5  # not comparable: neither for nor against
            else:
                agree = quantity_agreement(x[1], y[1])
            best = max(best, kind * (0.2 + 0.8 * agree))
    return round(best, 3)


def casualty_score(a: int, b: int) -> float | None:
    """How well two casualty counts agree (None when neither reports any).

    Equal counts 1; a difference weighs less the larger the counts (5 against 6 agrees more
    than 0 against 1), and a side reporting none against five is a real disagreement.

    >>> casualty_score(3, 3), casualty_score(5, 6), casualty_score(0, 5)
    (1.0, 0.829, 0.138)
    """
    if not a and not b:
        return None
    apart = abs(a - b) / (1 + 0.2 * max(a, b))
    return round(1 / (1 + apart**2), 3)


def score(a: Facts, b: Facts) -> Score | None:
    """Score two records as reports of one event, or None when they cannot be one.

    Time and place compare the spans each record stands for (its own precision), so a
    date-only record 20 h after the other's exact time is as close as one on the same hour;
    the penalty for vague records is small and only decides between candidates. What both
    records say of the event itself (seizures, casualties) weighs as much as time and place.
    """
    family = family_of(a.category)
    if a.category == b.category:
        cat, related = 1.0, None
    elif family is not None and family == family_of(b.category):
        cat, related = 0.6, family
    else:
        return None
    sa, sb = time_span(a.occurred_at, a.date_precision), time_span(b.occurred_at, b.date_precision)
    ra, rb = RADIUS_KM.get(a.location_precision), RADIUS_KM.get(b.location_precision)
    if sa is None or sb is None or ra is None or rb is None:
        return None
    gap_s = max(0.0, (max(sa[0], sb[0]) - min(sa[1], sb[1])).total_seconds())
    hours = gap_s / 3600
    if hours > MAX_GAP_HOURS:
        return None
    km = km_between(a.lat, a.lon, b.lat, b.lon)
    gap_km = max(0.0, km - ra - rb)
    if gap_km > MAX_GAP_KM:
        return None
    t = 1 - hours / MAX_GAP_HOURS
    p = 1 - gap_km / MAX_GAP_KM
    # Vague records overlap many others: a small penalty ranks the precise candidate first.
    vague_t = min(1.0, ((sa[1] - sa[0]) + (sb[1] - sb[0])).total_seconds() / (14 * 86400))
    vague_p = min(1.0, (ra + rb) / 400.0)
    # Within the spans, closeness still counts (two seizures at one crossing on one day).
    mid_h = abs((a.occurred_at - b.occurred_at).total_seconds()) / 3600
    near_t = 1.0 / (1.0 + mid_h / NEAR_HOURS) if not vague_t else 0.5
    near_p = 1.0 / (1.0 + km / (NEAR_KM + RADIUS_SHARE * (ra + rb)))
    seized = seizure_score(a.seizures, b.seizures)
    s = NEUTRAL if seized is None else seized
    hurt = casualty_score(a.killed, b.killed)
    k = NEUTRAL if hurt is None else hurt
    value = (
        W["time"] * t
        + W["place"] * p
        + W["near_time"] * near_t
        + W["near_place"] * near_p
        + W["category"] * cat
        + W["seizures"] * s
        + W["casualties"] * k
    ) / sum(W.values()) - VAGUE * (vague_t + vague_p)
    evidence = Evidence(
        category=a.category,
        other_category=b.category,
        family=related,
        hours=mid_h,
        km=km,
        times_overlap=hours == 0 and (a.date_precision != "exact" or b.date_precision != "exact"),
        places_overlap=gap_km == 0 and km > 1,
        seized=seized,
        killed=None if hurt is None else (a.killed, b.killed, hurt),
    )
    return Score(round(max(0.0, min(1.0, value)), 3), evidence)


# -- proposing ---------------------------------------------------------------------------------


def suggest_for(session: Session, *, incident_id: str) -> list[IncidentLink]:
    """Propose links for one record (see :func:`propose`)."""
    return propose(session, incident_ids=[incident_id])


def suggest_for_many(session: Session, *, incident_ids: list[str]) -> list[IncidentLink]:
    """Propose links for these records (the inbox's name for :func:`propose`)."""
    return propose(session, incident_ids=incident_ids)


def _load(session: Session, where: Iterable[ColumnElement[bool]]) -> list[Incident]:
    return list(
        session.scalars(select(Incident).where(*where).options(selectinload(Incident.seizures)))
    )


def _given_or_loaded(
    session: Session, incident_ids: Sequence[str], given: Sequence[Incident]
) -> list[Incident]:
    """The records ``incident_ids``: those in ``given`` as they are, the others read."""
    wanted = set(incident_ids)
    rows = [r for r in given if r.id in wanted]
    missing = wanted - {r.id for r in rows}
    if missing:
        rows += _load(session, [Incident.id.in_(list(missing))])
    return rows


def propose(
    session: Session, *, incident_ids: Sequence[str], rows: Sequence[Incident] = ()
) -> list[IncidentLink]:
    """(Re)score the links of these records against records of the other origin.

    The one function every trigger calls: a partner's records arriving (inbox), our own record
    created, edited or moved along its lifecycle (incidents service), a decision confirmed or
    undone. The open suggestions around these records are chosen again (:func:`select_pairs`
    over the records and their candidates' own candidates): re-scored in place, dropped when
    the pair no longer fits or is no longer worth showing, and new pairs added; decided links
    (confirmed, rejected) and links made by hand are never touched. Returns the links added.
    The caller holds the write lock. ``rows``: those of these records the caller has just
    stored, as stored (their columns and ``seizures``): they are not read back (the inbox
    hands a page's new rows; reading them back through the ORM cost a tenth of an ingest).
    """
    rows = _given_or_loaded(session, incident_ids, rows)
    if not rows:
        return []
    return _settle(session, rows)


def _score_rows(
    session: Session, rows: Sequence[Incident]
) -> tuple[dict[tuple[str, str], Score], list[Incident]]:
    """Pairs (ours, theirs) of these records scoring at least ``MIN_SCORE``, and the
    candidates read."""
    scored: dict[tuple[str, str], Score] = {}
    candidates: list[Incident] = []
    for received in (True, False):
        group = [r for r in rows if (r.origin_node_id is not None) == received and not r.revoked]
        if not group:
            continue
        found = _candidates(session, group, want_received=not received)
        candidates += found
        found.sort(key=lambda c: c.occurred_at)
        times = [c.occurred_at for c in found]
        facts = {c.id: Facts.of(c) for c in found}
        window = timedelta(hours=MAX_GAP_HOURS) + _LONGEST
        for row in group:
            mine = Facts.of(row)
            lo = bisect.bisect_left(times, row.occurred_at - window)
            hi = bisect.bisect_right(times, row.occurred_at + window)
            for other in found[lo:hi]:
                got = score(mine, facts[other.id])
                if got is not None and got.value >= MIN_SCORE:
                    local, remote = (other, row) if received else (row, other)
                    scored[(local.id, remote.id)] = got
    return scored, candidates


def _settle(
    session: Session, rows: Sequence[Incident], *, keep: str | None = None
) -> list[IncidentLink]:
    """Choose the suggestions around ``rows`` again and store the choice (see :func:`propose`).

    The records changed are ``rows`` and their candidates; those candidates' own candidates are
    scored too, so that a partner record better matched to another of our records is seen as
    such whichever record triggered. Links of the records at the edge are read as stored.
    """
    scored, found = _score_rows(session, rows)

    zone = {r.id for r in rows}
    nearby = [c for c in {c.id: c for c in found}.values() if c.id not in zone]
    more, further = _score_rows(session, nearby)
    scored = {**more, **scored}
    zone |= {c.id for c in nearby}
    by_id = {r.id: r for r in [*rows, *found, *further]}
    ends = zone | {x for pair in scored for x in pair}
    stored = list(
        session.scalars(
            select(IncidentLink).where(
                or_(IncidentLink.local_id.in_(ends), IncidentLink.remote_id.in_(ends))
            )
        )
    )
    existing = {(x.local_id, x.remote_id): x for x in stored}
    twinned = {(x.remote_node_id, x.local_id) for x in stored if x.status == "confirmed"} | {
        x.remote_id for x in stored if x.status == "confirmed"
    }

    def pinned(x: IncidentLink) -> bool:
        """Left as stored: made by hand, holding the partner's decision, kept by the caller, or
        of a record with a confirmed twin (confirming it answers 409 naming that twin)."""
        return (
            x.manual
            or x.partner_status is not None
            or x.id == keep
            or (x.remote_node_id, x.local_id) in twinned
            or x.remote_id in twinned
        )

    decided = {k for k, x in existing.items() if x.status != "suggested"}
    values = {k: v.value for k, v in scored.items() if k not in decided}
    partner = {k: by_id[k[1]].origin_node_id for k in values}
    for k, x in existing.items():
        # Pinned suggestions, and those of records outside the zone, count as stored.
        if x.status == "suggested" and (pinned(x) or not (set(k) & zone)):
            values[k], partner[k] = x.score, x.remote_node_id
    chosen = select_pairs(
        values, partner=partner, confirmed=[x for x in stored if x.status == "confirmed"]
    )
    made = []
    for pair, link in existing.items():
        if link.status != "suggested" or not set(pair) & zone:
            continue
        got = scored.get(pair)
        if pinned(link):
            if got is not None and not link.manual:
                link.score = got.value
        elif got is None or pair not in chosen:
            session.delete(link)
        else:
            link.score, link.reasons = got.value, reasons_json(got.why)
    for (local_id, remote_id), got in sorted(scored.items()):
        if (local_id, remote_id) in existing or (local_id, remote_id) not in chosen:
            continue
        made.append(
            IncidentLink(
                id=str(uuid.uuid4()),
                local_id=local_id,
                remote_id=remote_id,
                remote_node_id=by_id[remote_id].origin_node_id,
                score=got.value,
                reasons=reasons_json(got.why),
                status="suggested",
                manual=False,
                created_at=utcnow(),
            )
        )
    session.add_all(made)
    session.flush()
    return made


def select_pairs(
    scored: Mapping[tuple[str, str], float],
    *,
    partner: Mapping[tuple[str, str], str | None] | None = None,
    confirmed: Iterable[IncidentLink] = (),
) -> set[tuple[str, str]]:
    """The (ours, theirs) pairs worth showing: each record's best candidate and the close
    alternatives, per partner.

    A record with a confirmed twin (``confirmed``) is no longer anyone's candidate. Among the
    others, the best candidates are the one-to-one matching of :func:`assign` (never below
    ``BEST_MIN``); another pair is kept as an alternative only when it scores within
    ``ALTERNATIVE_MARGIN`` of the best candidate of *both* its records (a record without one
    counts ``BEST_MIN``): a partner record clearly better matched to another record of ours is
    not shown as a candidate of this one. Pairs below ``MIN_SCORE`` are never shown.
    """
    held = {(x.remote_node_id, x.local_id) for x in confirmed} | {x.remote_id for x in confirmed}
    groups: dict[str | None, dict[tuple[str, str], float]] = {}
    for (a, b), value in scored.items():
        p = partner.get((a, b)) if partner else None
        if value >= MIN_SCORE and (p, a) not in held and b not in held:
            groups.setdefault(p, {})[(a, b)] = value
    kept: set[tuple[str, str]] = set()
    for pairs in groups.values():
        best = assign(pairs, reserve=BEST_MIN)
        top: dict[str, float] = {}
        for a, b in best:
            top[a] = top[b] = pairs[(a, b)]
        kept |= best | {
            (a, b)
            for (a, b), value in pairs.items()
            if value >= top.get(a, BEST_MIN) - ALTERNATIVE_MARGIN
            and value >= top.get(b, BEST_MIN) - ALTERNATIVE_MARGIN
        }
    return kept


def _candidates(session: Session, rows: list[Incident], *, want_received: bool) -> list[Incident]:
    window = timedelta(hours=MAX_GAP_HOURS) + _LONGEST
    origin = (
        Incident.origin_node_id.is_not(None) if want_received else Incident.origin_node_id.is_(None)
    )
    cats: set[str] = set()
    for r in rows:
        family = family_of(r.category)
        cats |= {r.category} | {c for c in _family_members(family)}
    return _load(
        session,
        [
            origin,
            Incident.revoked.is_(False),
            Incident.category.in_(cats),
            Incident.occurred_at.between(
                min(r.occurred_at for r in rows) - window,
                max(r.occurred_at for r in rows) + window,
            ),
        ],
    )


def _family_members(family: str | None) -> frozenset[str]:
    return frozenset() if family is None else frozenset(c.value for c in FAMILIES[family])


# -- reading -----------------------------------------------------------------------------------


def list_links(
    session: Session, *, status: str | None = None, incident_id: str | None = None
) -> list[IncidentLink]:
    """Links, best first."""
    q = select(IncidentLink)
    if status:
        q = q.where(IncidentLink.status == status)
    if incident_id:
        q = q.where(
            or_(IncidentLink.local_id == incident_id, IncidentLink.remote_id == incident_id)
        )
    return list(session.scalars(q.order_by(IncidentLink.score.desc(), IncidentLink.created_at)))


def assign(pairs: Mapping[tuple[str, str], float], *, reserve: float = 0.0) -> set[tuple[str, str]]:
    """The one-to-one matching of (ours, theirs) pairs that scores most in total.

    Each record is matched at most once, and the matching maximises the sum of (score −
    ``reserve``) over its pairs, so a pair at or below ``reserve`` is never matched. Solved
    exactly per connected group of candidates with scipy's Hungarian algorithm
    (``linear_sum_assignment``) rather than greedily: at a busy crossing taking the single
    highest pair first can leave both records' true twins unmatched.
    """
    if not pairs:
        return set()
    lefts = sorted({a for a, _ in pairs})
    rights = sorted({b for _, b in pairs})
    li = {a: i for i, a in enumerate(lefts)}
    ri = {b: i for i, b in enumerate(rights)}
    rows = np.array([li[a] for a, _ in pairs])
    cols = np.array([ri[b] for _, b in pairs])
    n = len(lefts)
    graph = coo_matrix(
        (np.ones(len(rows)), (rows, cols + n)), shape=(n + len(rights), n + len(rights))
    )
    _, group = connected_components(graph, directed=False)
    members: dict[int, list[tuple[str, str]]] = {}
    for pair in sorted(pairs):
        members.setdefault(int(group[li[pair[0]]]), []).append(pair)
    chosen: set[tuple[str, str]] = set()
    for found in members.values():
        ls = sorted({a for a, _ in found})
        rs = sorted({b for _, b in found})
        at_l, at_r = {a: i for i, a in enumerate(ls)}, {b: j for j, b in enumerate(rs)}
        gain = np.zeros((len(ls), len(rs)))
        for a, b in found:
            gain[at_l[a], at_r[b]] = max(0.0, pairs[(a, b)] - reserve)
        for i, j in zip(*linear_sum_assignment(gain, maximize=True), strict=True):
            if gain[i, j] > 0:
                chosen.add((ls[i], rs[j]))
    return chosen


def best_links(links: Sequence[IncidentLink]) -> set[str]:
    """The ids of the best candidates: one per record on both sides and per partner.

    Confirmed links hold their records; among the suggestions of the other records the best
    candidates are the one-to-one matching that scores most in total (:func:`assign`),
    pairs below ``BEST_MIN`` never being one. The rest are alternatives; rejected links never
    count.
    """
    best = {x.id for x in links if x.status == "confirmed"}
    held = {(getattr(x, "remote_node_id", None), x.local_id) for x in links if x.id in best} | {
        x.remote_id for x in links if x.id in best
    }
    by_partner: dict[str | None, dict[tuple[str, str], IncidentLink]] = {}
    for x in links:
        partner = getattr(x, "remote_node_id", None)
        if x.status != "suggested" or (partner, x.local_id) in held or x.remote_id in held:
            continue
        by_partner.setdefault(partner, {})[(x.local_id, x.remote_id)] = x
    for found in by_partner.values():
        chosen = assign({k: x.score for k, x in found.items()}, reserve=BEST_MIN)
        best |= {found[k].id for k in chosen}
    return best


@dataclass(frozen=True)
class Candidates:
    """What the incident page shows: the twin (confirmed), the best candidate, alternatives."""

    confirmed: list[IncidentLink]
    best: IncidentLink | None
    alternatives: list[IncidentLink]
    rejected: list[IncidentLink]


def candidates_of(session: Session, *, incident_id: str) -> Candidates:
    """The links of one record, arranged for the officer deciding them."""
    if session.get(Incident, incident_id) is None:
        raise NotFound(
            message("links.no_incident", "no incident {id}", id=incident_id),
            hint=message("links.no_incident.hint", "list incidents to find its id"),
        )
    mine = list_links(session, incident_id=incident_id)
    # The best candidate is judged over the whole group of records linked to this one (a few
    # steps at most), so that a partner record better matched elsewhere is an alternative here.
    around = {x.id: x for x in mine}
    seen, reach = {incident_id}, {x for link in mine for x in (link.local_id, link.remote_id)}
    for _ in range(GROUP_STEPS):
        reach -= seen
        if not reach:
            break
        seen |= reach
        found = session.scalars(
            select(IncidentLink).where(
                or_(IncidentLink.local_id.in_(reach), IncidentLink.remote_id.in_(reach))
            )
        ).all()
        around |= {x.id: x for x in found}
        reach = {x for link in found for x in (link.local_id, link.remote_id)}
    top = best_links(list(around.values()))
    confirmed = [x for x in mine if x.status == "confirmed"]
    suggested = [x for x in mine if x.status == "suggested"]
    best = next((x for x in suggested if x.id in top), None) if not confirmed else None
    return Candidates(
        confirmed=confirmed,
        best=best,
        alternatives=[x for x in suggested if x is not best],
        rejected=[x for x in mine if x.status == "rejected"],
    )


# -- deciding ----------------------------------------------------------------------------------


def _twin_conflict(session: Session, link: IncidentLink) -> None:
    """At most one confirmed twin per record and partner: name the link that holds it."""
    held = session.scalars(
        select(IncidentLink).where(
            IncidentLink.status == "confirmed",
            IncidentLink.id != link.id,
            or_(
                (IncidentLink.local_id == link.local_id)
                & (IncidentLink.remote_node_id == link.remote_node_id),
                IncidentLink.remote_id == link.remote_id,
            ),
        )
    ).first()
    if held is not None:
        which = link.local_id if held.local_id == link.local_id else link.remote_id
        raise Conflict(
            message(
                "links.twin_exists",
                "incident {which} already has a confirmed twin: link {link}",
                which=which,
                link=held.id,
            ),
            hint=message(
                "links.undo_link_first",
                "undo link {link} first ('sarhad links undo {short}')",
                link=held.id,
                short=held.id[:8],
            ),
        )


def _resettle(session: Session, link: IncidentLink, *, keep: str | None = None) -> None:
    """After a decision, choose the suggestions around its two records again: a confirmed
    twin is no longer anyone else's candidate, and an undone or rejected one frees them."""
    _settle(session, _load(session, [Incident.id.in_([link.local_id, link.remote_id])]), keep=keep)


def _journal(session: Session, link: IncidentLink, *, actor: str, op: str) -> None:
    _agree(link)
    link.version = (link.version or 0) + 1
    record(
        session,
        actor=actor,
        op=op,
        entity=ENTITY,
        entity_id=link.id,
        version=link.version,
        detail={"local": link.local_id, "remote": link.remote_id, "status": link.status},
    )


def decide_link(session: Session, *, link_id: str, confirm: bool, actor: Principal) -> IncidentLink:
    """Confirm or reject a suggested link."""
    actor.require(Permission.LINKS_DECIDE)
    lock_writes(session)
    link = session.get(IncidentLink, link_id)
    if link is None:
        raise NotFound(
            _no_link(link_id),
            hint=message("links.list_suggestions", "list suggestions with 'sarhad links list'"),
        )
    session.refresh(link)
    if link.status != "suggested":
        raise Conflict(
            message(
                "links.decided_already",
                "link {link} was already {status}",
                link=link_id,
                status=word("link_status", link.status),
            ),
            hint=_undo_first(link_id),
        )
    if confirm:
        _twin_conflict(session, link)
    link.status = "confirmed" if confirm else "rejected"
    link.decided_by, link.decided_at = actor.username, utcnow()
    _journal(session, link, actor=actor.username, op=link.status)
    _resettle(session, link)
    return link


def undo_decision(session: Session, *, link_id: str, actor: Principal) -> IncidentLink:
    """Take back a confirmation or rejection: the link is a suggestion again."""
    actor.require(Permission.LINKS_DECIDE)
    lock_writes(session)
    link = session.get(IncidentLink, link_id)
    if link is None:
        raise NotFound(_no_link(link_id), hint=_LIST_LINKS)
    session.refresh(link)
    if link.status == "suggested":
        raise Conflict(
            message(
                "links.not_decided", "link {link} is not decided: nothing to undo", link=link_id
            )
        )
    link.status = "suggested"
    link.decided_by, link.decided_at = actor.username, utcnow()
    _journal(session, link, actor=actor.username, op="undone")
    _resettle(session, link, keep=link.id)
    return link


def link_by_hand(
    session: Session, *, local_id: str, remote_id: str, actor: Principal
) -> IncidentLink:
    """Link our record and a partner's as one event, confirmed at once.

    Either id may be given in either field as long as one is ours and one the partner's; a
    pair already proposed is confirmed; a pair rejected must be undone first.
    """
    actor.require(Permission.LINKS_DECIDE)
    lock_writes(session)
    rows = {r.id: r for r in _load(session, [Incident.id.in_([local_id, remote_id])])}
    missing = [
        f"{name} {value[:40]!r}"
        for name, value in (("local_id", local_id), ("remote_id", remote_id))
        if value not in rows
    ]
    if missing:  # a well-formed id of no record here: 404, as for every route naming a record
        raise NotFound(
            message("links.no_such_incidents", "no such incident: {ids}", ids=", ".join(missing))
        )
    a, b = rows[local_id], rows[remote_id]
    if a.origin_node_id is not None and b.origin_node_id is None:
        a, b = b, a
    if a.origin_node_id is not None:
        raise InvalidInput(
            FieldError.of("local_id", message("links.local_ours", "must be one of our own records"))
        )
    if b.origin_node_id is None:
        raise InvalidInput(
            FieldError.of("remote_id", message("links.remote_theirs", "must be a partner's record"))
        )
    if a.revoked or b.revoked:
        raise InvalidInput(
            FieldError.of(
                "remote_id" if b.revoked else "local_id",
                message("links.withdrawn", "the record was withdrawn"),
            )
        )
    link = session.scalars(
        select(IncidentLink).where(IncidentLink.local_id == a.id, IncidentLink.remote_id == b.id)
    ).first()
    if link is None:
        got = score(Facts.of(a), Facts.of(b))
        link = IncidentLink(
            id=str(uuid.uuid4()),
            local_id=a.id,
            remote_id=b.id,
            remote_node_id=b.origin_node_id,
            score=got.value if got else 0.0,
            reasons=reasons_json([BY_HAND, *(got.why if got else ())]),
            status="suggested",
            manual=True,
            created_at=utcnow(),
        )
        session.add(link)
        session.flush()
    elif link.status != "suggested":
        raise Conflict(
            message(
                "links.pair_decided",
                "incident {a} and {b} are already {status}: link {link}",
                a=a.id,
                b=b.id,
                status=word("link_status", link.status),
                link=link.id,
            ),
            hint=_undo_first(link.id),
        )
    _twin_conflict(session, link)
    link.status = "confirmed"
    link.manual = True
    link.decided_by, link.decided_at = actor.username, utcnow()
    _journal(session, link, actor=actor.username, op="linked")
    _resettle(session, link)
    return link


def forget_suggestions(session: Session, *, incident_ids: Sequence[str]) -> None:
    """Drop the open suggestions of records that were withdrawn."""
    session.execute(
        delete(IncidentLink).where(
            IncidentLink.status == "suggested",
            IncidentLink.manual.is_(False),
            or_(
                IncidentLink.local_id.in_(list(incident_ids)),
                IncidentLink.remote_id.in_(list(incident_ids)),
            ),
        )
    )


# -- agreeing across the border -----------------------------------------------------------------


def _agree(link: IncidentLink) -> None:
    """Whether we agree with the partner's decision on this pair (None: nothing to agree)."""
    if link.partner_status is None or link.status == "suggested":
        link.agreement = None
    else:
        link.agreement = "accepted" if link.status == link.partner_status else "contested"


def receive_decision(
    session: Session,
    *,
    partner_node_id: str,
    partner_name: str,
    ours_id: str,
    theirs_id: str,
    decision: str,
    decided_at: datetime,
) -> bool:
    """Store a partner's decision on the pair (its record ``theirs_id``, our ``ours_id``).

    ``decision``: confirmed, rejected or withdrawn (the partner undid it). The pair is made a
    suggestion here if we had not proposed it; our own decision is left as it is (an officer
    accepts or contests). Audited. False when this decision is not newer than the one held.
    """
    ours, theirs = session.get(Incident, ours_id), session.get(Incident, theirs_id)
    if ours is None or ours.origin_node_id is not None:
        raise NotFound(
            message(
                "links.target_not_ours",
                "target_ref incident--{id} is not a record of this node",
                id=ours_id,
            )
        )
    if theirs is None or theirs.origin_node_id != partner_node_id:
        raise NotFound(
            message(
                "links.source_not_theirs",
                "source_ref incident--{id} is not a record {partner} shared",
                id=theirs_id,
                partner=partner_name,
            )
        )
    link = session.scalars(
        select(IncidentLink).where(
            IncidentLink.local_id == ours_id, IncidentLink.remote_id == theirs_id
        )
    ).first()
    if link is None:
        session.refresh(ours, ["seizures"])
        got = score(Facts.of(ours), Facts.of(theirs))
        link = IncidentLink(
            id=str(uuid.uuid4()),
            local_id=ours_id,
            remote_id=theirs_id,
            remote_node_id=partner_node_id,
            score=got.value if got else 0.0,
            reasons=reasons_json(
                [
                    Reason("links.reason.by_partner", {"partner": partner_name}),
                    *(got.why if got else ()),
                ]
            ),
            status="suggested",
            manual=False,
            version=0,
            created_at=utcnow(),
        )
        session.add(link)
    elif link.partner_decided_at is not None and link.partner_decided_at >= decided_at:
        return False
    link.partner_status = None if decision == "withdrawn" else decision
    link.partner_decided_at = decided_at
    _agree(link)
    session.flush()
    audit(
        session,
        actor=f"partner:{partner_name}",
        action=f"{ENTITY}.partner_{decision}",
        entity=ENTITY,
        entity_id=link.id,
        detail={"local": ours_id, "remote": theirs_id, "agreement": link.agreement},
    )
    return True


def answer_partner(
    session: Session, *, link_id: str, accept: bool, actor: Principal
) -> IncidentLink:
    """Accept the partner's decision on a pair (decide alike) or contest it (the opposite).

    Our answer is our own decision, so it goes back to the partner like any other.
    """
    actor.require(Permission.LINKS_DECIDE)
    lock_writes(session)
    link = session.get(IncidentLink, link_id)
    if link is None:
        raise NotFound(_no_link(link_id), hint=_LIST_LINKS)
    session.refresh(link)
    if link.partner_status is None:
        raise Conflict(
            message(
                "links.nothing_to_answer",
                "link {link} has no decision of the partner to answer",
                link=link_id,
            )
        )
    same = link.partner_status
    target = same if accept else ("rejected" if same == "confirmed" else "confirmed")
    if link.status == target:
        raise Conflict(
            message(
                "links.already",
                "link {link} is already {status}",
                link=link_id,
                status=word("link_status", target),
            )
        )
    if target == "confirmed":
        _twin_conflict(session, link)
    link.status = target
    link.decided_by, link.decided_at = actor.username, utcnow()
    _agree(link)
    _journal(session, link, actor=actor.username, op="accepted" if accept else "contested")
    _resettle(session, link)
    return link


# -- counting once -----------------------------------------------------------------------------


def confirmed_twin() -> ColumnElement[bool]:
    """True for a partner's record confirmed as the same event as one of ours that counts.

    The one counting rule (count_once): with both origins an event would otherwise weigh
    twice; our record stands for both. Use it as a filter on ``Incident`` rows: ``~`` keeps
    each event once. Only CONFIRMED links count; suggestions never change a figure.
    """
    ours = aliased(Incident)
    return (
        select(IncidentLink.id)
        .join(ours, ours.id == IncidentLink.local_id)
        .where(
            IncidentLink.remote_id == Incident.id,
            IncidentLink.status == "confirmed",
            ours.status != Status.DRAFT.value,
            ours.revoked.is_(False),
        )
        .exists()
    )


def twins_among(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """Partner record id → our record it counts as, among ``ids`` (the rule of
    :func:`confirmed_twin`, for callers that group rows in Python, such as the monthly report)."""
    wanted = set(ids)
    if not wanted:
        return {}
    ours = aliased(Incident)
    pairs = session.execute(
        select(IncidentLink.remote_id, IncidentLink.local_id)
        .join(ours, ours.id == IncidentLink.local_id)
        .where(
            IncidentLink.status == "confirmed",
            ours.status != Status.DRAFT.value,
            ours.revoked.is_(False),
        )
    ).all()
    return {r: o for r, o in pairs if r in wanted and o in wanted}


@dataclass(frozen=True)
class CountOnce:
    """Records and events among a set of records: each confirmed pair counts as one event."""

    records: int
    events: int
    confirmed_pairs: int
    suggested_pairs: int


def count_once(session: Session, where: Sequence[ColumnElement[bool]] = ()) -> CountOnce:
    """Count the records matching ``where`` once per event (the rule of :func:`confirmed_twin`).

    ``suggested_pairs`` says how many pairs among them are only suggested: a figure with
    suggestions open may still count one event twice.
    """
    records = session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0
    twins = (
        session.scalar(select(func.count()).select_from(Incident).where(*where, confirmed_twin()))
        or 0
    )
    suggested = (
        session.scalar(
            select(func.count())
            .select_from(IncidentLink)
            .where(
                IncidentLink.status == "suggested",
                exists().where(Incident.id == IncidentLink.local_id, *where),
                exists().where(Incident.id == IncidentLink.remote_id, *where),
            )
        )
        or 0
    )
    return CountOnce(
        records=records, events=records - twins, confirmed_pairs=twins, suggested_pairs=suggested
    )


__all__ = [
    "ENTITY",
    "Candidates",
    "CountOnce",
    "Facts",
    "Score",
    "answer_partner",
    "best_links",
    "candidates_of",
    "confirmed_twin",
    "count_once",
    "decide_link",
    "forget_suggestions",
    "link_by_hand",
    "list_links",
    "propose",
    "receive_decision",
    "score",
    "undo_decision",
]
