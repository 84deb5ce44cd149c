"""``/api/v1/disclosures``: a holder's identity asked of a partner, released or refused to one, and read.

``POST`` asks the state whose records name a holder reference (police and tracing roles); ``POST
/{id}/release`` and ``/{id}/refuse`` answer a partner's request (registry); ``GET`` lists, ``GET /{id}``
shows one, with the identity when a partner released it to us (roles of
``domain.disclosure.DISCLOSURE_READ_ROLES``). A release and every reading of a released identity are in
the read audit (action ``disclosure``). A request is named by its id or a unique start (4 characters
at least). docs/personal-data.md, "Disclosure to a partner".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel

from domain import event_types as types
from domain.disclosure import check_disclosure_read
from ledger.errors import VerificationError
from nodes.persons import disclosure as disclosures
from nodes.registry.application import Registry
from nodes.registry.reading import plain_record
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Dated, Required
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/disclosures", tags=["disclosures"], responses=ERROR_RESPONSES)

RequestId = Annotated[str, Path(max_length=36, description="request id, or its start (at least 4 characters)")]


class DisclosureRequestIn(Dated):
    person: Required
    weapon_id: Required
    purpose: Required
    legal_basis: Required


class RefusalIn(Dated):
    reason: Required


class DisclosureRecorded(BaseModel):
    event: str
    request: str


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="ask the state whose records name a holder reference for the identity behind it")
def request(body: DisclosureRequestIn, officer: Recorder, context: Context) -> DisclosureRecorded:
    by = authority(officer, types.DISCLOSURE_REQUESTED)
    node, vault = context.node, context.vault()

    def command(_: Registry) -> str:
        return str(disclosures.request(node, vault, person=body.person, weapon=body.weapon_id, purpose=body.purpose,
                                       legal_basis=body.legal_basis, occurred_on=body.occurred_on(), by=by))

    return DisclosureRecorded(event=types.DISCLOSURE_REQUESTED, request=context.submit(officer, command))


@router.post("/{request_id}/release", summary="release the identity a partner asked for (audited)")
def release(request_id: RequestId, body: Dated, officer: Recorder, context: Context,
            why: Purpose) -> DisclosureRecorded:
    by = authority(officer, types.DISCLOSURE_RELEASED)
    node, vault = context.node, context.vault()
    found = disclosures.find_disclosure(node, request_id).request_id
    asked = disclosures.releasable(node, vault, found)
    audited(context, officer, "disclosure", f"{found} {asked.body['person']} released to {asked.node}", why)
    context.submit(officer, lambda _: disclosures.release(node, vault, found, occurred_on=body.occurred_on(), by=by))
    return DisclosureRecorded(event=types.DISCLOSURE_RELEASED, request=str(found))


@router.post("/{request_id}/refuse", summary="refuse a partner's disclosure request, saying why")
def refuse(request_id: RequestId, body: RefusalIn, officer: Recorder, context: Context) -> DisclosureRecorded:
    by = authority(officer, types.DISCLOSURE_REFUSED)
    node = context.node
    found = disclosures.find_disclosure(node, request_id).request_id
    context.submit(officer, lambda _: disclosures.refuse(node, found, reason=body.reason,
                                                         occurred_on=body.occurred_on(), by=by))
    return DisclosureRecorded(event=types.DISCLOSURE_REFUSED, request=str(found))


@router.get("", summary="every disclosure asked or received, with its status")
def list_disclosures(officer: Reader, context: Context) -> dict[str, Any]:
    return {"disclosures": plain_record([d.as_dict() for d in disclosures.disclosures(context.node)])}


@router.get("/{request_id}", summary="one disclosure; an identity released to us, opened and checked (audited)")
def show(request_id: RequestId, officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    check_disclosure_read(officer.role)
    found = disclosures.find_disclosure(context.node, request_id)
    if found.direction == "in" or found.status != "released":
        return plain_record({"disclosure": found.as_dict(), "identity": None, "erased": False})
    audited(context, officer, "disclosure", f"{found.request_id} {found.request.body['person']} released by "
                                            f"{found.request.body['addressee']}", why)
    try:
        return plain_record(disclosures.read_released(context.node, context.vault(), found.request_id))
    except VerificationError as e:  # the partner's signed release does not open or match: shown to no one
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(e)) from None
