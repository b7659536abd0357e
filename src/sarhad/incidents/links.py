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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sarhad.core.i18n import Text, message
from sarhad.core.journal import audit, record
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
#: Below this score a pair is not proposed at all. MIN_SCORE and ALTERNATIVE_MARGIN were chosen
#: on bench/links.py histories of seeds 7 and 11; the figures recorded are of seed 18.
MIN_SCORE = 0.6
#: Alternatives further than this below a record's best candidate are not kept.
ALTERNATIVE_MARGIN = 0.15

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


@dataclass(frozen=True)
class Score:
    """A pair's score in [0, 1] and the reasons shown to the officer."""

    value: float
    reasons: tuple[str, ...]


def _commodity_match(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if any(a in f and b in f for f in COMMODITY_FAMILIES):
        return 0.6
    return 0.0


def _amount(quantity: float, unit: str) -> tuple[str, float] | None:
    try:
        dim, factor = UNIT_BASE[Unit(unit)]
    except ValueError:
        return None
    return dim, quantity * factor


def seizure_score(
    a: Sequence[tuple[str, float, str]], b: Sequence[tuple[str, float, str]]
) -> float | None:
    """How well two lists of seizures agree (None when either side lists none).

    Commodity first (the same 1, one family 0.6, else 0), then the quantities in one base unit:
    the smaller over the larger, so 480 kg against 0.5 t still agrees well.

    >>> seizure_score([("hashish", 0.5, "t")], [("hashish", 480, "kg")])
    0.976
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
                ratio = 0.5  # not comparable: neither for nor against
            else:
                hi = max(x[1], y[1])
                ratio = 1.0 if hi <= 0 else min(x[1], y[1]) / hi
            best = max(best, kind * (0.4 + 0.6 * ratio))
    return round(best, 3)


def score(a: Facts, b: Facts) -> Score | None:
    """Score two records as reports of one event, or None when they cannot be one.

    Time and place compare the spans each record stands for (its own precision), so a
    date-only record 20 h after the other's exact time is as close as one on the same hour;
    the penalty for vague records is small and only decides between candidates.
    """
    family = family_of(a.category)
    if a.category == b.category:
        cat, why_cat = 1.0, f"same category {a.category}"
    elif family is not None and family == family_of(b.category):
        cat, why_cat = 0.6, f"related categories {a.category} / {b.category} ({family})"
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
    near_t = 1.0 / (1.0 + mid_h / 6.0) if not vague_t else 0.5
    near_p = 1.0 / (1.0 + km / (5.0 + ra + rb))
    seized = seizure_score(a.seizures, b.seizures)
    if seized is None:
        s, why_s = 0.6, None
    else:
        s, why_s = seized, f"seizures agree {seized:.2f}"
    k = min(a.killed, b.killed) / max(a.killed, b.killed) if a.killed and b.killed else 0.6
    value = (
        0.15 * t
        + 0.15 * p
        + 0.15 * near_t
        + 0.15 * near_p
        + 0.15 * cat
        + 0.2 * s
        + 0.05 * k
        - 0.05 * vague_t
        - 0.05 * vague_p
    )
    reasons = [why_cat, f"{mid_h:.1f} h apart", f"{km:.1f} km apart"]
    if hours == 0 and (a.date_precision != "exact" or b.date_precision != "exact"):
        reasons.append("times overlap at their precision")
    if gap_km == 0 and km > 1:
        reasons.append("places overlap at their precision")
    if why_s:
        reasons.append(why_s)
    return Score(round(max(0.0, min(1.0, value)), 3), tuple(reasons))


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
    created, edited or moved along its lifecycle (incidents service). Suggested links of these
    records are re-scored in place, dropped when the pair no longer fits, and new pairs are
    added; decided links (confirmed, rejected) are never touched. Returns the links added.
    The caller holds the write lock. ``rows``: those of these records the caller has just
    stored, as stored (their columns and ``seizures``): they are not read back (the inbox
    hands a page's new rows; reading them back through the ORM cost a tenth of an ingest).
    """
    rows = _given_or_loaded(session, incident_ids, rows)
    if not rows:
        return []
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
    mentioned = {r.id for r in rows}
    existing = {
        (x.local_id, x.remote_id): x
        for x in session.scalars(
            select(IncidentLink).where(
                or_(
                    IncidentLink.local_id.in_(mentioned),
                    IncidentLink.remote_id.in_(mentioned),
                )
            )
        )
    }
    scored = _keep_close_alternatives(scored)
    by_id = {r.id: r for r in [*rows, *candidates]}
    made = []
    for pair, link in existing.items():
        if link.status != "suggested" or link.manual:
            continue
        got = scored.get(pair)
        if got is None:
            session.delete(link)
        else:
            link.score, link.reasons = got.value, list(got.reasons)
    for (local_id, remote_id), got in sorted(scored.items()):
        if (local_id, remote_id) in existing:
            continue
        made.append(
            IncidentLink(
                id=str(uuid.uuid4()),
                local_id=local_id,
                remote_id=remote_id,
                remote_node_id=by_id[remote_id].origin_node_id,
                score=got.value,
                reasons=list(got.reasons),
                status="suggested",
                manual=False,
                created_at=utcnow(),
            )
        )
    session.add_all(made)
    session.flush()
    return made


def _keep_close_alternatives(scored: dict[tuple[str, str], Score]) -> dict[tuple[str, str], Score]:
    """Drop a pair far below the best candidate of both its records: noise, not alternatives."""
    best: dict[str, float] = {}
    for (a, b), s in scored.items():
        best[a] = max(best.get(a, 0.0), s.value)
        best[b] = max(best.get(b, 0.0), s.value)
    return {
        (a, b): s
        for (a, b), s in scored.items()
        if s.value >= best[a] - ALTERNATIVE_MARGIN or s.value >= best[b] - ALTERNATIVE_MARGIN
    }


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


def best_links(links: Sequence[IncidentLink]) -> set[str]:
    """The ids of the best candidates: each record's top link, one per record on both sides.

    Greedy one-to-one by score (confirmed links first, rejected ones never): a record's best
    candidate is not also another record's best. The rest are alternatives.
    """
    taken: set[str] = set()
    best: set[str] = set()
    order = sorted(
        (x for x in links if x.status != "rejected"),
        key=lambda x: (x.status != "confirmed", -x.score, x.local_id, x.remote_id),
    )
    for x in order:
        if x.local_id in taken or x.remote_id in taken:
            continue
        taken |= {x.local_id, x.remote_id}
        best.add(x.id)
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
    others = {x.local_id if x.remote_id == incident_id else x.remote_id for x in mine}
    # The best candidate is judged among every link of the records involved, so that a
    # partner record already better matched elsewhere is shown as an alternative here.
    around = list(
        session.scalars(
            select(IncidentLink).where(
                or_(IncidentLink.local_id.in_(others), IncidentLink.remote_id.in_(others))
            )
        )
    )
    top = best_links(list({x.id: x for x in [*mine, *around]}.values()))
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
                status=link.status,
            ),
            hint=_undo_first(link_id),
        )
    if confirm:
        _twin_conflict(session, link)
    link.status = "confirmed" if confirm else "rejected"
    link.decided_by, link.decided_at = actor.username, utcnow()
    _journal(session, link, actor=actor.username, op=link.status)
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
            reasons=["linked by hand", *(got.reasons if got else ())],
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
                status=link.status,
                link=link.id,
            ),
            hint=_undo_first(link.id),
        )
    _twin_conflict(session, link)
    link.status = "confirmed"
    link.manual = True
    link.decided_by, link.decided_at = actor.username, utcnow()
    _journal(session, link, actor=actor.username, op="linked")
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
            reasons=[f"linked by {partner_name}", *(got.reasons if got else ())],
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
            message("links.already", "link {link} is already {status}", link=link_id, status=target)
        )
    if target == "confirmed":
        _twin_conflict(session, link)
    link.status = target
    link.decided_by, link.decided_at = actor.username, utcnow()
    _agree(link)
    _journal(session, link, actor=actor.username, op="accepted" if accept else "contested")
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
