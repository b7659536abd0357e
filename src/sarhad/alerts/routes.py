"""Alert routes under /api/v1/alerts: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from sarhad.alerts import metrics, reading, receiver, sender
from sarhad.alerts.ports import AlertPorts
from sarhad.alerts.schemas import AlertIn, AlertOut, AnswerIn, WithdrawIn
from sarhad.alerts.taxonomy import Direction, Priority, Status
from sarhad.border.api import node
from sarhad.core.api import media, require, responses
from sarhad.core.auth import Permission, Principal
from sarhad.core.idempotency import Idempotent
from sarhad.core.params import QueryMonth, QuerySide, StrictBody

router = APIRouter(prefix="/alerts", tags=["alerts"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Raiser = Annotated[Principal, Depends(require(Permission.ALERTS_RAISE))]
Responder = Annotated[Principal, Depends(require(Permission.ALERTS_RESPOND))]


@router.post("", status_code=201, response_model=AlertOut, responses=responses(400, 409, 422))
def raise_alert(
    request: Request, data: StrictBody[AlertIn], actor: Raiser, idem: Idempotent
) -> AlertOut:
    """Raise an alert to a partner; it is pushed at once (or as soon as the partner is back)."""
    n = node(request)
    p = n.port(AlertPorts)
    with n.db.session() as session:
        row = sender.raise_alert(
            session,
            data=data,
            counterpart=p.counterpart(session, data.partner),
            known_incidents=p.known_incidents,
            actor=actor,
            profile=n.profile,
            from_side=n.settings.node_side,
        )
        out = reading.to_out(row)
        idem.keep(session, out)
    n.wake()
    return out


@router.get("", responses=responses(422))
def list_alerts(
    request: Request,
    _actor: Reader,
    direction: Direction | None = None,
    status: Status | None = None,
    priority: Priority | None = None,
    partner: str | None = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Alerts, newest first; ``open`` = not yet acknowledged nor withdrawn."""
    with node(request).db.session() as session:
        rows, nxt = reading.list_alerts(
            session,
            direction=direction,
            status=status,
            priority=priority.value if priority else None,
            partner=partner,
            open_only=open_only,
            overdue=overdue,
            limit=limit,
            cursor=cursor,
        )
        return {
            "items": [reading.to_out(r).model_dump(mode="json") for r in rows],
            "next_cursor": nxt,
        }


@router.get("/stats", responses={**media("application/json", "text/csv"), **responses(422)})
def stats(
    request: Request,
    _actor: Reader,
    month: QueryMonth = None,
    side: QuerySide = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Per month and sending side: alerts sent, time to acknowledge and answer, share in time."""
    with node(request).db.session() as session:
        rows = metrics.alert_stats(session, month=month, side=side)
    if format == "csv":
        return PlainTextResponse(metrics.stats_csv(rows), media_type="text/csv")
    return {"items": metrics.stats_rows(rows)}


@router.get("/{alert_id}", response_model=AlertOut, responses=responses(404))
def show(request: Request, alert_id: str, _actor: Reader) -> AlertOut:
    """One alert with every step of its life."""
    with node(request).db.session() as session:
        row = reading.get_alert(session, alert_id=alert_id)
        return reading.to_out(row, steps=reading.steps_of(session, alert_id=alert_id))


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, responses=responses(404, 409))
def acknowledge(request: Request, alert_id: str, actor: Responder, idem: Idempotent) -> AlertOut:
    """Acknowledge a partner's alert: escalation stops and the sender is told at once."""
    n = node(request)
    with n.db.session() as session:
        out = reading.to_out(receiver.acknowledge(session, alert_id=alert_id, actor=actor))
        idem.keep(session, out)
    n.wake()
    return out


@router.post("/{alert_id}/answer", response_model=AlertOut, responses=responses(400, 404, 409, 422))
def answer(
    request: Request, alert_id: str, data: StrictBody[AnswerIn], actor: Responder, idem: Idempotent
) -> AlertOut:
    """Answer a partner's alert: accepted, declined (with reason), information provided."""
    n = node(request)
    with n.db.session() as session:
        out = reading.to_out(receiver.answer(session, alert_id=alert_id, data=data, actor=actor))
        idem.keep(session, out)
    n.wake()
    return out


@router.post(
    "/{alert_id}/withdraw", response_model=AlertOut, responses=responses(400, 404, 409, 422)
)
def withdraw(
    request: Request, alert_id: str, data: StrictBody[WithdrawIn], actor: Raiser, idem: Idempotent
) -> AlertOut:
    """Withdraw one of our alerts; the partner is told at once."""
    n = node(request)
    with n.db.session() as session:
        out = reading.to_out(sender.withdraw(session, alert_id=alert_id, data=data, actor=actor))
        idem.keep(session, out)
    n.wake()
    return out
