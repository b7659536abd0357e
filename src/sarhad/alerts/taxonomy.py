"""The alert vocabulary: priorities, kinds, answers and the steps of an alert's life."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """How fast the partner must react (NATO-style precedence, highest first)."""

    FLASH = "flash"
    IMMEDIATE = "immediate"
    PRIORITY = "priority"
    ROUTINE = "routine"


class Kind(StrEnum):
    """What the alert is about."""

    ARMED_GROUP_MOVEMENT = "armed_group_movement"
    SMUGGLING_MOVEMENT = "smuggling_movement"
    HOT_PURSUIT_REQUEST = "hot_pursuit_request"
    REQUEST_FOR_INFORMATION = "request_for_information"
    CROSSING_CLOSURE = "crossing_closure"
    DECONFLICTION_NOTICE = "deconfliction_notice"
    OTHER = "other"


class Answer(StrEnum):
    """How the receiving side answers an alert."""

    ACCEPTED = "accepted"
    DECLINED = "declined"  # a reason is required
    INFORMATION_PROVIDED = "information_provided"  # the information is required


class Direction(StrEnum):
    """Whether we raised the alert (outbound) or a partner did (inbound)."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Step(StrEnum):
    """One timestamped step of an alert; each has an audit entry."""

    RAISED = "raised"  # sender: stored, waiting to go
    DELIVERED = "delivered"  # sender: the partner's node took it (HTTP success)
    RECEIVED = "received"  # receiver: stored there (sent back as a receipt)
    ACKNOWLEDGED = "acknowledged"  # receiver: a person has seen it
    ANSWERED = "answered"  # receiver: accepted / declined / information provided
    WITHDRAWN = "withdrawn"  # sender: no longer valid
    ESCALATED = "escalated"  # either side, locally: a deadline passed unacknowledged


class Status(StrEnum):
    """Where an alert stands, as the list shows it."""

    QUEUED = "queued"  # outbound, not yet delivered (partner offline)
    DELIVERED = "delivered"
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"


#: Steps that travel to the partner. Each happens at most once per alert, so its STIX id can
#: be derived from (alert, step) and a re-sent step is recognised as the same object.
SHARED_STEPS = frozenset({Step.RECEIVED, Step.ACKNOWLEDGED, Step.ANSWERED, Step.WITHDRAWN})

#: Steps a partner may send about each direction of alert (as seen from our side).
PARTNER_STEPS: dict[Direction, frozenset[Step]] = {
    Direction.OUTBOUND: frozenset({Step.RECEIVED, Step.ACKNOWLEDGED, Step.ANSWERED}),
    Direction.INBOUND: frozenset({Step.WITHDRAWN}),
}

#: Default response deadlines in minutes (acknowledge, answer) when an agreement sets none.
DEFAULT_DEADLINES: dict[Priority, tuple[float, float]] = {
    Priority.FLASH: (5.0, 30.0),
    Priority.IMMEDIATE: (30.0, 120.0),
    Priority.PRIORITY: (120.0, 480.0),
    Priority.ROUTINE: (1440.0, 4320.0),
}

#: Who is told when an alert's acknowledge deadline passes: on the receiving side the
#: liaison office's supervisor (commander), on the sending side the duty officer who waits.
ESCALATE_TO: dict[Direction, tuple[str, ...]] = {
    Direction.INBOUND: ("commander", "liaison"),
    Direction.OUTBOUND: ("duty_officer", "liaison"),
}
