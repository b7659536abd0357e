"""News intake tables: source articles, candidate events, the articles behind each candidate.

No column names a person: an article's text is kept as published (it is the evidence), but
nothing read from it is stored outside the fixed fields below.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from sarhad.core.db import Base, UTCDateTime
from sarhad.intake.numbers import occurs_in


class NewsArticle(Base):
    """A source document as it was read (withheld from partners: it is no shared type)."""

    __tablename__ = "news_articles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    outlet: Mapped[str] = mapped_column(String(120))
    published: Mapped[date] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # sha256 of the normalised text: the same article read twice (two feeds) is stored once
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    via: Mapped[str] = mapped_column(String(20))  # console | file | feed | api
    added_by: Mapped[str] = mapped_column(String(80))


class NewsCandidate(Base):
    """One event read from the news, waiting for an analyst's decision.

    ``fields`` holds each value with its evidence: ``{"category": {"value": ..., "start": s,
    "end": e}, ...}`` with offsets into the article ``article_id`` (the first that reported it).
    """

    __tablename__ = "news_candidates"
    __table_args__ = (Index("ix_news_candidates_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # incident | crossing
    status: Mapped[str] = mapped_column(String(10))  # pending | accepted | rejected
    article_id: Mapped[str] = mapped_column(ForeignKey("news_articles.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    event_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    date_precision: Mapped[str | None] = mapped_column(String(8), nullable=True)
    district: Mapped[str | None] = mapped_column(String(80), nullable=True)
    side: Mapped[str | None] = mapped_column(String(2), nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    counts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    seizures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    incident_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class NewsSource(Base):
    """An article that reports a candidate's event (three articles → three rows, one candidate)."""

    __tablename__ = "news_candidate_sources"

    candidate_id: Mapped[str] = mapped_column(ForeignKey("news_candidates.id"), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("news_articles.id"), primary_key=True)
    # the sentences of this article that support the event: [[start, end], ...]
    sentences: Mapped[list[list[int]]] = mapped_column(JSON)


class InventedNumber(ValueError):
    """A number about to be stored is not written in the sentence that supports it."""

    code = "news.invented_number"

    def __init__(self, field: str, value: float, sentence: str) -> None:
        super().__init__(f"{field}: {value:g} does not occur in its sentence {sentence!r}")
        self.params = {"field": field, "value": value}


def check_numbers(text: str, counts: list[dict[str, Any]], seizures: list[dict[str, Any]]) -> None:
    """Raise ``InventedNumber`` unless every stored number occurs in its supporting sentence.

    Each count and seizure carries ``start``/``end``: the sentence of ``text`` it was read from.
    """
    for i, c in enumerate(counts):
        sentence = text[c["start"] : c["end"]]
        for key in ("low", "best", "high"):
            if c.get(key) is not None and not occurs_in(c[key], sentence):
                raise InventedNumber(f"counts.{i}.{key}", c[key], sentence)
    for i, s in enumerate(seizures):
        sentence = text[s["start"] : s["end"]]
        if not occurs_in(s["quantity"], sentence):
            raise InventedNumber(f"seizures.{i}.quantity", s["quantity"], sentence)


@event.listens_for(NewsCandidate, "before_insert")
@event.listens_for(NewsCandidate, "before_update")
def _guard(_mapper: Mapper[Any], connection: Connection, target: NewsCandidate) -> None:
    """The storage boundary: no write of a candidate stores a number its article lacks."""
    text = connection.scalar(select(NewsArticle.text).where(NewsArticle.id == target.article_id))
    check_numbers(text or "", target.counts or [], target.seizures or [])
