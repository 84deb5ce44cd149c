"""``/api/v1/shipments`` and ``/api/v1/authorizations``: export weapons as a shipment, confirm receipt,
list shipments awaiting receipt (incoming and outgoing) and the authorizations for them (FP art 10)."""

from __future__ import annotations

import time
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import Field

from domain import event_types as types
from domain.errors import InvalidField
from domain.time import LONGEST_PERIOD_DAYS
from nodes.federation import crossborder, customs
from nodes.registry.reading import plain_record
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Country, Dated, Recorded, Required, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/shipments", tags=["shipments"], responses=ERROR_RESPONSES)
authorizations_router = APIRouter(prefix=f"{API_PREFIX}/authorizations", tags=["shipments"],
                                  responses=ERROR_RESPONSES)


class Direction(str, Enum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    BOTH = "both"


class Export(Dated):
    weapon_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]
    licence: Required
    import_authorization: Required
    to_state: Country
    transit_states: list[Country] = []
    transit_no_objections: list[Required] = []
    consignee: Text = ""
    broker: Annotated[str, Field(max_length=64, description="the shipment's broker (default: the licence's)")] = ""


class Receipt(Dated):
    shipment: Text = ""
    weapon_id: UUID | None = None
    received_by: Text = ""


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="export weapons as one shipment under an export licence (FP art 10(2))")
def export(body: Export, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.SHIPMENT_OPENED, types.EXPORTED)
    shipment_id = context.submit(officer, lambda registry: registry.export(
        by=by, weapon_ids=list(body.weapon_ids), licence=body.licence, import_authorization=body.import_authorization,
        to_state=body.to_state, transit_states=tuple(body.transit_states),
        transit_no_objections=tuple(body.transit_no_objections), consignee=body.consignee, broker=body.broker,
        occurred_on=body.occurred_on()))
    return Recorded(event=types.EXPORTED, shipment_id=str(shipment_id), weapon_ids=[str(w) for w in body.weapon_ids])


@router.post("/receipt", summary="customs confirm receipt of a partner's shipment (FP art 10(4)), by shipment id "
                                 "or by weapon")
def receipt(body: Receipt, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.IMPORTED, types.RECEIPT_CONFIRMED)
    if not body.shipment.strip() and body.weapon_id is None:
        raise InvalidField("give shipment or weapon_id", field="shipment")
    done = context.submit(officer, lambda _: crossborder.confirm_receipt(
        context.node, shipment=body.shipment.strip(), weapon_id=body.weapon_id, by=by, received_by=body.received_by,
        occurred_on=body.occurred_on()))
    return Recorded(event=types.RECEIPT_CONFIRMED, shipment_id=done.shipment, weapon_ids=list(done.weapons))


@router.get("", summary="shipments awaiting receipt: incoming (announced to this state) and outgoing, oldest first")
def open_shipments(officer: Reader, context: Context, why: Purpose, direction: Direction = Direction.BOTH,
                   overdue_days: Annotated[int | None, Query(ge=0, le=LONGEST_PERIOD_DAYS,
                                                             description="only outgoing ones open this many days")
                                           ] = None) -> dict[str, Any]:
    now = int(time.time())
    found: dict[str, Any] = {"overdue_days": overdue_days}
    if direction is not Direction.OUTGOING:
        found["incoming"] = customs.incoming_shipments(context.node, now=now)
    if direction is not Direction.INCOMING:
        found["outgoing"] = customs.outgoing_shipments(context.node, now=now, overdue_days=overdue_days,
                                                       only_overdue=overdue_days is not None)
    subject = f"{direction.value} shipments" + (f" overdue {overdue_days} days" if overdue_days is not None else "")
    audited(context, officer, "shipment", subject, why)
    return plain_record(found)


@authorizations_router.get("", summary="import authorizations and transit no-objections sent and received, "
                                       "with the shipments made under them")
def authorizations(officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    found = customs.authorizations(context.node)
    audited(context, officer, "shipment", "authorizations", why)
    return {"authorizations": found}
