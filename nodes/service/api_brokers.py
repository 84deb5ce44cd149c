"""``/api/v1/brokers``: register, renew, suspend and revoke brokers, record their brokering activities,
list and show them (FP art 15). The same application service as ``armsledger broker`` (``nodes.registry
.brokers``); every read is in the read audit (as a licence read: a registration is the broker's licence).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from domain import event_types as types
from domain.broker import BrokeringKind
from domain.time import parse_time, parse_until
from nodes.registry import brokers
from nodes.registry.broker_documents import broker_document, list_brokers, parse_broker_state
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Dated, Required, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/brokers", tags=["brokers"], responses=ERROR_RESPONSES)
Number = Annotated[str, Path(min_length=1, max_length=64, description="the broker's registration number")]
Day = Annotated[str, Field(min_length=1, max_length=40, description="YYYY-MM-DD or ISO 8601")]


class Registration(Dated):
    number: Annotated[str, Field(min_length=1, max_length=64)]
    name: Required
    seat: Required
    valid_from: Day
    valid_until: Day


class Renewal(Dated):
    valid_until: Day


class Suspension(Dated):
    until: Day
    reason: Required


class Revocation(Dated):
    reason: Required


class Activity(Dated):
    kind: BrokeringKind
    parties: Annotated[list[Required], Field(min_length=1, max_length=50)]
    weapons: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=1000)] = []
    licences: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] = []
    description: Annotated[str, Field(max_length=2000)] = ""


class BrokerRecorded(BaseModel):
    """What a write on the broker register answers: the record type written and the broker's id."""

    event: str
    broker_id: str
    number: str


@router.post("", status_code=status.HTTP_201_CREATED, summary="register a broker with this state (FP art 15(1)(a))")
def register(body: Registration, officer: Recorder, context: Context) -> BrokerRecorded:
    by = authority(officer, types.BROKER_REGISTERED)
    valid_from = parse_time(body.valid_from, field="valid_from")
    valid_until = parse_until(body.valid_until, field="valid_until")
    done = context.submit(officer, lambda registry: brokers.register_broker(
        registry, by=by, number=body.number, name=body.name, seat=body.seat, valid_from=valid_from,
        valid_until=valid_until, occurred_on=body.occurred_on()))
    return BrokerRecorded(event=types.BROKER_REGISTERED, broker_id=str(done), number=body.number.strip())


@router.post("/{number}/renew", summary="extend a broker's registration")
def renew(number: Number, body: Renewal, officer: Recorder, context: Context) -> BrokerRecorded:
    by = authority(officer, types.BROKER_RENEWED)
    until = parse_until(body.valid_until, field="valid_until")
    done = context.submit(officer, lambda registry: brokers.renew_broker(
        registry, by=by, number=number, valid_until=until, occurred_on=body.occurred_on()))
    return BrokerRecorded(event=types.BROKER_RENEWED, broker_id=str(done), number=number.strip())


@router.post("/{number}/suspend", summary="suspend a broker's registration from date to until")
def suspend(number: Number, body: Suspension, officer: Recorder, context: Context) -> BrokerRecorded:
    by = authority(officer, types.BROKER_SUSPENDED)
    until = parse_until(body.until, field="until")
    done = context.submit(officer, lambda registry: brokers.suspend_broker(
        registry, by=by, number=number, until=until, reason=body.reason, occurred_on=body.occurred_on()))
    return BrokerRecorded(event=types.BROKER_SUSPENDED, broker_id=str(done), number=number.strip())


@router.post("/{number}/revoke", summary="revoke a broker's registration; later brokering under it is refused")
def revoke(number: Number, body: Revocation, officer: Recorder, context: Context) -> BrokerRecorded:
    by = authority(officer, types.BROKER_REVOKED)
    done = context.submit(officer, lambda registry: brokers.revoke_broker(
        registry, by=by, number=number, reason=body.reason, occurred_on=body.occurred_on()))
    return BrokerRecorded(event=types.BROKER_REVOKED, broker_id=str(done), number=number.strip())


@router.post("/{number}/activities", status_code=status.HTTP_201_CREATED,
             summary="record a brokering activity of a registered broker")
def activity(number: Number, body: Activity, officer: Recorder, context: Context) -> BrokerRecorded:
    by = authority(officer, types.BROKER_ACTIVITY_RECORDED)
    weapons, licences = brokers.activity_subjects(context.node, body.weapons, body.licences)
    done = context.submit(officer, lambda registry: brokers.record_brokering(
        registry, by=by, number=number, kind=body.kind, parties=body.parties, weapons=weapons, licences=licences,
        description=body.description, occurred_on=body.occurred_on()))
    return BrokerRecorded(event=types.BROKER_ACTIVITY_RECORDED, broker_id=str(done), number=number.strip())


@router.get("", summary="the brokers registered here and those partners sent")
def listed(officer: Reader, context: Context, why: Purpose,
           state: Annotated[Text | None, Query(max_length=40)] = None) -> dict[str, Any]:
    """``state``: registered, not_yet_valid, expired, suspended or revoked today."""
    in_state = parse_broker_state(state) if state else None
    found = list_brokers(context.node, state=in_state)
    audited(context, officer, "licence", "brokers" + (f" state={state}" if state else ""), why)
    return {"brokers": found}


@router.get("/{number}", summary="a broker's registration, periods, suspensions, activities and licences")
def show(number: Number, officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    document = broker_document(context.node, number)
    audited(context, officer, "licence", f"broker {document['number']} of {document['issuer_state']}", why)
    return document
