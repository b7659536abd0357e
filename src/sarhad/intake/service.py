"""News intake services: add an article, group its events into candidates, review them.

Nothing read from the news becomes an incident without an analyst's decision: ``accept``
creates a *draft* incident through the incidents service (the one path every incident takes),
with the article as its source.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import BorderProfile
from sarhad.core.auth import Permission, Principal
from sarhad.core.db import lock_writes, utcnow
from sarhad.core.errors import Conflict, FieldError, InvalidInput, NotFound, from_validation
from sarhad.core.i18n import Number, message
from sarhad.core.journal import record
from sarhad.core.labels import word
from sarhad.crossings.declarations import declare
from sarhad.crossings.places import places as crossing_places
from sarhad.crossings.ports import CrossingPorts
from sarhad.crossings.schemas import DeclarationIn
from sarhad.crossings.taxonomy import Reason, Status
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import (
    Casualties,
    CasualtyCounts,
    Grading,
    IncidentIn,
    Location,
    Seizure,
)
from sarhad.incidents.service import create_incident
from sarhad.incidents.taxonomy import Category, DatePrecision, LocationPrecision
from sarhad.intake.extract import Event, extract
from sarhad.intake.models import NewsArticle, NewsCandidate, NewsSource

ARTICLE = "news_article"
CANDIDATE = "news_candidate"
STATUSES = ("pending", "accepted", "rejected")
#: Two reports of one event: same kind and category, same district, dates this close.
SAME_EVENT_DAYS = 2
#: An incident already recorded within this distance and time is offered as a link.
LINK_KM = 60.0
LINK_DAYS = 3


@dataclass
class Added:
    """What adding one article did."""

    article_id: str
    duplicate: bool = False
    created: list[str] = field(default_factory=list)  # new candidate ids
    joined: list[str] = field(default_factory=list)  # candidates this article also reports


def _hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()


def _check_article(title: str, outlet: str, text: str, url: str | None) -> None:
    errors = []
    if not title.strip() or len(title) > 300:
        errors.append(
            FieldError.of(
                "title",
                message(
                    "news.title", "give a title of {least} to {most} characters", least=1, most=300
                ),
            )
        )
    if not outlet.strip() or len(outlet) > 120:
        errors.append(
            FieldError.of(
                "outlet",
                message(
                    "news.outlet",
                    "give the outlet, {least} to {most} characters",
                    least=1,
                    most=120,
                ),
            )
        )
    if len(text.strip()) < 20 or len(text) > 100_000:
        errors.append(
            FieldError.of(
                "text",
                message(
                    "news.text",
                    "give the article's text, {least} to {most} characters",
                    least=20,
                    most=Number("100,000"),
                ),
            )
        )
    if url is not None and (len(url) > 1000 or not re.match(r"^https?://\S+$", url)):
        errors.append(
            FieldError.of(
                "url",
                message(
                    "news.url", "give an http(s) address of at most {most} characters", most=1000
                ),
            )
        )
    if errors:
        raise InvalidInput(errors)


def _span(start: int, end: int) -> dict[str, int]:
    return {"start": start, "end": end}


def event_fields(ev: Event) -> dict[str, Any]:
    """An event's values with their evidence offsets (empty fields are left out)."""
    out: dict[str, Any] = {}
    if ev.category and ev.category_span:
        out["category"] = {
            "value": ev.category,
            **_span(ev.category_span.start, ev.category_span.end),
        }
    if ev.action and ev.category_span:
        out["action"] = {"value": ev.action, **_span(ev.category_span.start, ev.category_span.end)}
        if ev.crossing:
            out["crossing"] = {"value": ev.crossing}
    if ev.date:
        out["date"] = {"value": ev.date, "precision": ev.date_precision}
        if ev.date_span:
            out["date"].update(_span(ev.date_span.start, ev.date_span.end))
    if ev.place and ev.place_span:
        out["place"] = {
            "value": ev.place.name,
            "district": ev.place.district,
            "province": ev.place.province,
            "side": ev.place.side,
            "kind": ev.place.kind,
            **_span(ev.place_span.start, ev.place_span.end),
        }
    return out


def _day(value: str) -> date:
    """The first day an ISO date or month (``2026-03``) can mean."""
    return date.fromisoformat(value if len(value) == 10 else value + "-01")


def _same_event(row: NewsCandidate, ev: Event) -> bool:
    if row.kind != ev.kind or row.category != ev.category:
        return False
    # a crossing closed on Monday and reopened on Tuesday are two declarations, not one event
    if row.kind == "crossing" and (row.fields.get("action") or {}).get("value") != ev.action:
        return False
    district = ev.place.district if ev.place else None
    if (row.district or None) != district or district is None:
        return False
    if not (row.event_date and ev.date):
        return False
    return abs((_day(row.event_date) - _day(ev.date)).days) <= SAME_EVENT_DAYS


def add_article(
    session: Session,
    *,
    title: str,
    outlet: str,
    published: date,
    text: str,
    url: str | None = None,
    via: str = "api",
    actor: Principal,
) -> Added:
    """Keep an article and propose one candidate per event it reports (or join an existing one).

    The same text read twice (two feeds, a paste of an article already read) is kept once.
    """
    # Reading news in is an import (analysts) or a duty officer's own entry; deciding is a write.
    if not actor.can(Permission.INCIDENTS_IMPORT):
        actor.require(Permission.INCIDENTS_WRITE)
    _check_article(title, outlet, text, url)
    digest = _hash(text)
    lock_writes(session)
    seen = session.scalar(select(NewsArticle.id).where(NewsArticle.content_hash == digest))
    if seen:
        return Added(article_id=seen, duplicate=True)
    article = NewsArticle(
        id=str(uuid.uuid4()),
        title=title.strip(),
        outlet=outlet.strip(),
        published=published,
        url=url,
        text=text,
        fetched_at=utcnow(),
        content_hash=digest,
        via=via,
        added_by=actor.username,
    )
    session.add(article)
    session.flush()
    record(
        session,
        actor=actor.username,
        op="add",
        entity=ARTICLE,
        entity_id=article.id,
        version=1,
        detail={"outlet": article.outlet, "via": via},
    )
    added = Added(article_id=article.id)
    recent = list(
        session.scalars(
            select(NewsCandidate).where(
                NewsCandidate.status == "pending",
                NewsCandidate.created_at >= utcnow() - timedelta(days=30),
            )
        )
    )
    for ev in extract(text, published=published, title=title):
        sentences = [[s.start, s.end] for s in ev.sentences]
        match = next((r for r in recent if _same_event(r, ev)), None)
        if match is not None and match.id not in added.joined:
            session.add(
                NewsSource(candidate_id=match.id, article_id=article.id, sentences=sentences)
            )
            match.version += 1
            added.joined.append(match.id)
            record(
                session,
                actor=actor.username,
                op="source",
                entity=CANDIDATE,
                entity_id=match.id,
                version=match.version,
                detail={"article": article.id},
            )
            continue
        row = NewsCandidate(
            id=str(uuid.uuid4()),
            kind=ev.kind,
            status="pending",
            article_id=article.id,
            category=ev.category,
            event_date=ev.date,
            date_precision=ev.date_precision,
            district=ev.place.district if ev.place else None,
            side=ev.place.side if ev.place else None,
            lon=ev.place.lon if ev.place else None,
            lat=ev.place.lat if ev.place else None,
            fields=event_fields(ev),
            counts=[
                {
                    "party": c.party,
                    "kind": c.kind,
                    "low": c.low,
                    "best": c.best,
                    "high": c.high,
                    "qualifier": c.qualifier,
                    **_span(c.span.start, c.span.end),
                }
                for c in ev.counts
            ],
            seizures=[
                {
                    "commodity": s.commodity,
                    "quantity": s.quantity,
                    "unit": s.unit,
                    **_span(s.span.start, s.span.end),
                }
                for s in ev.seizures
            ],
            created_at=utcnow(),
            version=1,
        )
        session.add(row)
        session.flush()  # the number guard runs here (models._guard)
        session.add(NewsSource(candidate_id=row.id, article_id=article.id, sentences=sentences))
        record(
            session,
            actor=actor.username,
            op="propose",
            entity=CANDIDATE,
            entity_id=row.id,
            version=1,
            detail={"kind": row.kind, "category": row.category},
        )
        recent.append(row)
        added.created.append(row.id)
    session.flush()
    return added


def get_article(session: Session, *, article_id: str) -> NewsArticle:
    """The article, or ``NotFound``."""
    row = session.get(NewsArticle, article_id)
    if row is None:
        raise NotFound(message("news.no_article", "no news article {id}", id=article_id))
    return row


def get_candidate(session: Session, *, candidate_id: str) -> NewsCandidate:
    """The candidate, or ``NotFound``."""
    row = session.get(NewsCandidate, candidate_id)
    if row is None:
        raise NotFound(
            message("news.no_candidate", "no news candidate {id}", id=candidate_id),
            hint=message("news.queue_hint", "sarhad news queue lists them"),
        )
    return row


def list_candidates(
    session: Session, *, status: str = "pending", limit: int = 100
) -> list[NewsCandidate]:
    """Candidates with ``status``, oldest first (the queue is worked in order)."""
    if status not in STATUSES:
        raise InvalidInput(
            FieldError.of(
                "status", message("news.status", "one of {names}", names=", ".join(STATUSES))
            )
        )
    if not 1 <= limit <= 500:
        raise InvalidInput(
            FieldError.of(
                "limit", message("news.limit", "between {least} and {most}", least=1, most=500)
            )
        )
    return list(
        session.scalars(
            select(NewsCandidate)
            .where(NewsCandidate.status == status)
            .order_by(NewsCandidate.created_at, NewsCandidate.id)
            .limit(limit)
        )
    )


def sources_of(session: Session, candidate_id: str) -> list[tuple[NewsArticle, list[list[int]]]]:
    """The articles that report a candidate's event, each with its supporting sentences."""
    rows = session.execute(
        select(NewsArticle, NewsSource.sentences)
        .join(NewsSource, NewsSource.article_id == NewsArticle.id)
        .where(NewsSource.candidate_id == candidate_id)
        .order_by(NewsArticle.published, NewsArticle.fetched_at, NewsArticle.id)
    ).all()
    return [(a, s) for a, s in rows]


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def matching_incidents(session: Session, row: NewsCandidate) -> list[dict[str, Any]]:
    """Incidents already recorded that may be this candidate's event: offered as links.

    ``incidents.links`` scores pairs of incidents (ours and a partner's); a candidate is not an
    incident yet, so the same idea (same category, close in time and place) is applied here.
    """
    if row.kind != "incident" or not row.event_date or row.category is None:
        return []
    day = _day(row.event_date)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=LINK_DAYS)
    end = start + timedelta(days=2 * LINK_DAYS + (31 if len(row.event_date) == 7 else 1))
    found = session.scalars(
        select(Incident).where(
            Incident.category == row.category,
            Incident.occurred_at >= start,
            Incident.occurred_at < end,
        )
    )
    out = []
    for inc in found:
        km = None if row.lon is None or row.lat is None else _km(row.lon, row.lat, inc.lon, inc.lat)
        if km is None or km <= LINK_KM:
            out.append({"incident_id": inc.id, "title": inc.title, "km": km})
    return out


def draft(
    row: NewsCandidate, article: NewsArticle, *, node_side: str, profile: BorderProfile
) -> IncidentIn:
    """The incident an accepted candidate becomes (the form's prefill for edit-then-accept)."""
    if row.kind != "incident" or row.category is None:
        raise InvalidInput(
            FieldError.of(
                "category",
                message(
                    "news.no_category", "this candidate has no incident category: edit, then accept"
                ),
            )
        )
    if row.lon is None or row.lat is None:
        raise InvalidInput(
            FieldError.of(
                "location", message("news.no_place", "no place was read: edit, then accept")
            )
        )
    value = row.event_date or article.published.isoformat()
    day = _day(value)
    counts: dict[str, dict[str, int]] = {}
    for c in row.counts:
        counts.setdefault(c["party"], {})[c["kind"]] = c["best"]
    place = row.fields.get("place", {})
    precision = (
        LocationPrecision.DISTRICT if place.get("kind") == "district" else LocationPrecision.NEAR
    )
    # A place the article names that lies beyond the node's limit is kept where it is, marked.
    far = profile.locate(row.lon, row.lat).distance_m / 1000.0 > profile.max_km_from_line
    try:
        return _incident_in(row, article, node_side, day, counts, place, precision, far)
    except ValidationError as e:  # e.g. a title too short to be an incident's: edit, then accept
        raise from_validation(e, prefix="incident.") from None


def _incident_in(
    row: NewsCandidate,
    article: NewsArticle,
    node_side: str,
    day: date,
    counts: dict[str, dict[str, int]],
    place: dict[str, Any],
    precision: LocationPrecision,
    far: bool,
) -> IncidentIn:
    assert row.lon is not None and row.lat is not None and row.category is not None
    return IncidentIn(
        title=article.title[:200],
        category=Category(row.category),
        occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        date_precision=DatePrecision(row.date_precision or "day"),
        location=Location(lon=row.lon, lat=row.lat, precision=precision, place=place.get("value")),
        reporting_side=node_side,
        casualties=Casualties(
            **{party: CasualtyCounts(**kinds) for party, kinds in counts.items()}
        ),
        seizures=[
            Seizure(commodity=s["commodity"], quantity=s["quantity"], unit=s["unit"])
            for s in row.seizures
        ],
        grading=Grading(),
        narrative=f"Read from the news: {article.outlet}, {article.published.isoformat()}.",
        sources=[
            f"{article.outlet}, {article.published.isoformat()}: {article.url or article.title}"[
                :500
            ]
        ],
        far_from_line=far,
    )


#: What a crossing event declares about the gate.
_STATUS = {
    "closed": Status.CLOSED,
    "opened": Status.OPEN,
    "reopened": Status.OPEN,
    "inaugurated": Status.OPEN,
}
#: Why, as the article's sentences say it (first that matches; otherwise "other").
_REASONS: list[tuple[Reason, re.Pattern[str]]] = [
    (Reason.PROTEST, re.compile(r"\b(?:protest\w*|sit-in|strike|blockade|dharna)\b", re.I)),
    (
        Reason.SECURITY_INCIDENT,
        re.compile(r"\b(?:security|attack\w*|firing|blast|militants?|terror\w*|clash\w*)\b", re.I),
    ),
    (Reason.WEATHER, re.compile(r"\b(?:rains?|flood\w*|storms?|snow|weather|dust)\b", re.I)),
    (Reason.HOLIDAY, re.compile(r"\b(?:holidays?|eid|nowruz|muharram|ashura)\b", re.I)),
    (Reason.MAINTENANCE, re.compile(r"\b(?:maintenance|repairs?|construction|upgrad\w+)\b", re.I)),
    (
        Reason.POLICY_DECISION,
        re.compile(r"\b(?:orders?|decision|government|ministry|notification|policy)\b", re.I),
    ),
]
_WORDS = re.compile(r"[^\W\d_]+")


def _crossing_id(row: NewsCandidate, said: str, profile: BorderProfile) -> str:
    """The profile's crossing (or market, when the article speaks of one) the candidate names.

    Matched on the crossing's twin towns and name ("Taftan", "Gabd-Rimdan", "Mand–Pishin").
    """
    named = " ".join(
        str(row.fields.get(k, {}).get("value") or "") for k in ("crossing", "place")
    ).lower()
    words = set(_WORDS.findall(named))
    market = re.search(r"\b(?:markets?|bazaars?)\b", said, re.I) is not None
    found = []
    for p in crossing_places(profile):
        towns = set(_WORDS.findall(p.names["en"].lower()))
        for key in ("pk_town", "ir_town"):
            town = p.extra.get(key)
            if isinstance(town, dict):
                towns |= set(_WORDS.findall(str(town.get("en", "")).lower()))
        towns -= {"border", "sustenance", "market", "crossing"}
        if words & towns:
            found.append(p)
    found.sort(key=lambda p: (p.kind == "market") != market)
    if not found:
        raise InvalidInput(
            FieldError(
                "crossing",
                message(
                    "news.crossing_unknown",
                    "no crossing or market of this border matches {name}: edit, then accept",
                    name=named.strip() or "-",
                ),
            )
        )
    return found[0].id


def declaration(
    row: NewsCandidate,
    article: NewsArticle,
    said: str,
    *,
    node_side: str,
    profile: BorderProfile,
) -> DeclarationIn:
    """The declaration an accepted crossing candidate becomes (our side's status of the gate).

    A node declares its own side only: an article about the partner's gate gives none.
    """
    if row.side and row.side != node_side:
        raise InvalidInput(
            FieldError(
                "side",
                message(
                    "news.crossing_other_side",
                    "the article reports the {side} side's gate; each side declares its own",
                    side=word("side", row.side),
                ),
            )
        )
    action = str(row.fields.get("action", {}).get("value") or "")
    status = _STATUS.get(action)
    if status is None:
        raise InvalidInput(
            FieldError(
                "action",
                message(
                    "news.crossing_no_action", "no opening or closure was read: edit, then accept"
                ),
            )
        )
    crossing = _crossing_id(row, said, profile)
    reason = next((r for r, rx in _REASONS if rx.search(said)), Reason.OTHER)
    day = _day(row.event_date) if row.event_date and row.date_precision == "day" else None
    day = day or article.published
    try:
        return DeclarationIn(
            crossing=crossing,
            status=status,
            reason=reason,
            note=f"Read from the news: {article.outlet}, {article.published.isoformat()}."[:1000],
            starts_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        )
    except ValidationError as e:
        raise from_validation(e, prefix="declaration.") from None


def _said(session: Session, row: NewsCandidate) -> str:
    """The supporting sentences of the candidate's first article."""
    for a, spans in sources_of(session, row.id):
        if a.id == row.article_id:
            return " ".join(a.text[s:e] for s, e in spans)
    return ""


def _pending(session: Session, candidate_id: str) -> NewsCandidate:
    row = get_candidate(session, candidate_id=candidate_id)
    if row.status != "pending":
        raise Conflict(
            message(
                "news.decided",
                "candidate {id} is {status} already",
                id=candidate_id,
                status=word("news_status", row.status),
            )
        )
    return row


def accept(
    session: Session,
    *,
    candidate_id: str,
    actor: Principal,
    profile: BorderProfile,
    node_side: str,
    data: IncidentIn | None = None,
    declared: DeclarationIn | None = None,
    ports: CrossingPorts | None = None,
) -> NewsCandidate:
    """Accept: a draft incident (``data`` when the analyst edited it), its sources the articles.

    A crossing candidate becomes our side's declaration instead, made by the crossings room's
    own ``declare`` (``declared`` when the analyst edited it; ``ports`` alert partners).
    """
    actor.require(Permission.INCIDENTS_WRITE)
    lock_writes(session)
    row = _pending(session, candidate_id)
    articles = sources_of(session, row.id)
    first = next(a for a, _ in articles if a.id == row.article_id)
    if row.kind == "crossing":
        if data is not None:
            raise InvalidInput(
                FieldError(
                    "incident",
                    message(
                        "news.crossing_not_incident",
                        "a crossing candidate becomes a declaration: send declaration",
                    ),
                )
            )
        edited = declared is not None
        declared = declared or declaration(
            row, first, _said(session, row), node_side=node_side, profile=profile
        )
        made = declare(
            session, data=declared, side=node_side, actor=actor, profile=profile, ports=ports
        )
        row.fields = {**row.fields, "declaration_id": made.id}
        return _decided(
            session, row, status="accepted", actor=actor,
            detail={"declaration": made.id, "edited": edited},
        )  # fmt: skip
    if declared is not None:
        raise InvalidInput(
            FieldError(
                "declaration",
                message(
                    "news.incident_not_crossing",
                    "an incident candidate becomes an incident: send incident",
                ),
            )
        )
    incident_in = data or draft(row, first, node_side=node_side, profile=profile)
    notes = [
        f"{a.outlet}, {a.published.isoformat()}: {a.url or a.title}"[:500] for a, _ in articles
    ]
    incident_in = incident_in.model_copy(
        update={"sources": list(dict.fromkeys([*incident_in.sources, *notes]))[:50]}
    )
    incident = create_incident(session, data=incident_in, actor=actor, profile=profile)
    row.incident_id = incident.id
    return _decided(
        session, row, status="accepted", actor=actor,
        detail={"incident": incident.id, "edited": data is not None},
    )  # fmt: skip


def reject(session: Session, *, candidate_id: str, reason: str, actor: Principal) -> NewsCandidate:
    """Reject with a reason (kept, audited)."""
    actor.require(Permission.INCIDENTS_WRITE)
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput(
            FieldError.of(
                "reason",
                message(
                    "news.reason",
                    "give a reason of {least} to {most} characters",
                    least=3,
                    most=500,
                ),
            )
        )
    lock_writes(session)
    row = _pending(session, candidate_id)
    row.reason = reason
    return _decided(session, row, status="rejected", actor=actor, detail={"reason": reason})


def _decided(
    session: Session, row: NewsCandidate, *, status: str, actor: Principal, detail: dict[str, Any]
) -> NewsCandidate:
    """Mark the analyst's decision on ``row`` and audit it (one path for accept and reject)."""
    row.status = status
    row.decided_at, row.decided_by = utcnow(), actor.username
    row.version += 1
    op = {"accepted": "accept", "rejected": "reject"}[status]
    record(
        session, actor=actor.username, op=op, entity=CANDIDATE, entity_id=row.id,
        version=row.version, detail=detail,
    )  # fmt: skip
    return row


def view(session: Session, row: NewsCandidate) -> dict[str, Any]:
    """A candidate as the API and the console show it: fields, sources, possible links."""
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "category": row.category,
        "date": row.event_date,
        "date_precision": row.date_precision,
        "district": row.district,
        "side": row.side,
        "fields": row.fields,
        "counts": row.counts,
        "seizures": row.seizures,
        "incident_id": row.incident_id,
        "declaration_id": row.fields.get("declaration_id"),
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
        "sources": [
            {
                "article_id": a.id,
                "title": a.title,
                "outlet": a.outlet,
                "published": a.published.isoformat(),
                "url": a.url,
                "sentences": s,
            }
            for a, s in sources_of(session, row.id)
        ],
        "links": matching_incidents(session, row) if row.status == "pending" else [],
    }
