"""API schemas of alerts (inbound and outbound are separate classes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sarhad.alerts.taxonomy import DEFAULT_DEADLINES, Answer, Kind, Priority
from sarhad.core.i18n import message
from sarhad.core.markings import LIMITS, TLP
from sarhad.core.params import NOT_BLANK, SECTORS, rules, stripped, vocabulary, when
from sarhad.core.text import FreeText, Inbound, Line
from sarhad.core.times import PlannedTime

AlertText = Annotated[FreeText, Field(min_length=1, max_length=4000, json_schema_extra=stripped())]
#: Incident ids, as the OpenAPI document states them.
UUIDS = {"items": {"type": "string", "format": "uuid"}}


class _In(Inbound):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Point(_In):
    """A WGS84 point."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class AlertIn(_In):
    """A new alert to a partner. Give a sector, a point, or both (the point decides)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["sector"], "properties": {"sector": {"type": "string"}}},
                {"required": ["location"], "properties": {"location": {"type": "object"}}},
            ]
        }
    )

    partner: Line | None = Field(
        default=None, description="Partner name; may be left out when there is only one"
    )
    priority: Priority
    kind: Kind
    text: AlertText
    sector: Line | None = Field(
        default=None, max_length=40, description="e.g. PKIR-012",
        json_schema_extra=vocabulary(SECTORS),
    )  # fmt: skip
    location: Point | None = None
    valid_from: PlannedTime | None = Field(default=None, description="Default: now")
    valid_until: PlannedTime | None = Field(
        default=None, description="Default: 24 hours after valid_from"
    )
    incident_ids: list[str] = Field(default_factory=list, max_length=50, json_schema_extra=UUIDS)
    tlp: TLP = Field(
        default=TLP.AMBER,
        description="Up to what the agreement allows; never red",
        json_schema_extra={"enum": [t.value for t in LIMITS]},
    )

    @field_validator("incident_ids")
    @classmethod
    def _uuids(cls, v: list[str]) -> list[str]:
        for i, value in enumerate(v):
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError(
                    message(
                        "error.item_not_incident_id", "item {i} is not an incident id (a UUID)", i=i
                    )
                ) from None
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _where_and_when(self) -> AlertIn:
        if self.sector is None and self.location is None:
            raise ValueError(
                message("alerts.where_needed", "give a sector or a location (or both)")
            )
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError(
                message("alerts.until_after_from", "valid_until must be after valid_from")
            )
        return self


class AnswerIn(_In):
    """The receiving side's answer. Declining needs a reason; information needs the text."""

    model_config = ConfigDict(
        json_schema_extra=rules(
            when(
                "answer",
                [Answer.DECLINED.value, Answer.INFORMATION_PROVIDED.value],
                {"required": ["text"], "properties": {"text": NOT_BLANK}},
            )
        )
    )

    answer: Answer
    text: FreeText | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _text_when_needed(self) -> AnswerIn:
        if self.answer is Answer.DECLINED and not self.text:
            raise ValueError(
                message("alerts.decline_reason", "a declined alert needs the reason in 'text'")
            )
        if self.answer is Answer.INFORMATION_PROVIDED and not self.text:
            raise ValueError(message("alerts.information_text", "give the information in 'text'"))
        return self


class WithdrawIn(_In):
    """Why the sender withdraws an alert."""

    reason: Annotated[FreeText, Field(min_length=1, max_length=1000, json_schema_extra=stripped())]


class DeadlineTerms(_In):
    """Minutes allowed to acknowledge and to answer an alert of one priority."""

    acknowledge_minutes: float = Field(gt=0, le=60 * 24 * 30)
    answer_minutes: float = Field(gt=0, le=60 * 24 * 30)

    @model_validator(mode="after")
    def _answer_after_ack(self) -> DeadlineTerms:
        if self.answer_minutes < self.acknowledge_minutes:
            raise ValueError(
                message(
                    "alerts.answer_after_ack",
                    "answer_minutes must not be shorter than acknowledge_minutes",
                )
            )
        return self


def default_deadlines() -> dict[str, DeadlineTerms]:
    """The deadlines used when an agreement sets none."""
    return {
        p.value: DeadlineTerms(acknowledge_minutes=a, answer_minutes=b)
        for p, (a, b) in DEFAULT_DEADLINES.items()
    }


class StepOut(BaseModel):
    """One step of an alert."""

    model_config = ConfigDict(from_attributes=True)

    step: str
    level: int
    at: datetime
    recorded_at: datetime
    side: str
    actor: str
    source: str
    detail: dict[str, Any]


class Placement(BaseModel):
    """Where the alert is, as ``locate`` puts it."""

    lon: float | None
    lat: float | None
    sector: str | None
    side: str | None
    km: float | None
    distance_m: float | None
    nearest_crossing: str | None


class AlertOut(BaseModel):
    """An alert as the API shows it."""

    id: str
    direction: str
    partner: str
    from_side: str
    to_side: str
    priority: str
    kind: str
    tlp: str
    status: str
    text: str
    place: Placement
    valid_from: datetime
    valid_until: datetime
    incident_ids: list[str]
    created_at: datetime
    created_by: str
    ack_by: datetime
    answer_by: datetime
    delivered_at: datetime | None
    received_at: datetime | None
    acknowledged_at: datetime | None
    answered_at: datetime | None
    answer: str | None
    answer_text: str | None
    withdrawn_at: datetime | None
    withdraw_reason: str | None
    escalation_level: int
    next_escalation_at: datetime | None
    overdue: bool = Field(description="acknowledge deadline passed without acknowledgement")
    version: int
    steps: list[StepOut] | None = None
