"""``/api/v1/licences``: issue, revoke, list and show licences and authorizations (FP art 7, 10(3)).

Listed and shown: this state's own and the authorizations partners sent
(``nodes.registry.licences``); every read is in the read audit ("licence").
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from pydantic import Field

from domain import event_types as types
from domain.licence import LicenceKind
from domain.numbers import LARGEST_WHOLE
from domain.time import parse_time, parse_until
from nodes.persons.holders import named_holder
from nodes.registry.licences import licence_document, list_licences, parse_kind, parse_state
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Country, Dated, Recorded, Required, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/licences", tags=["licences"], responses=ERROR_RESPONSES)
Number = Annotated[str, Path(min_length=1, max_length=200, description="licence number")]


class Issue(Dated):
    number: Required
    kind: LicenceKind
    holder: Required
    valid_from: Required
    valid_until: Required
    export_state: Country | None = None
    import_state: Country | None = None
    transit_states: list[Country] = []
    consignee: Text = ""
    end_user: Text = ""
    quantity: Annotated[int, Field(ge=0, le=LARGEST_WHOLE, description="weapons covered (0: not limited)")] = 0
    weapons: list[UUID] = []
    place_of_issue: Text = ""
    description: Annotated[str, Field(max_length=2000, description="the items covered (FP art 10(3))")] = ""
    broker: Annotated[str, Field(max_length=64, description="registration number of the broker (FP art 15)")] = ""


class Revoke(Dated):
    reason: Required


@router.post("", status_code=status.HTTP_201_CREATED, summary="issue a licence or authorization")
def issue(body: Issue, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.LICENCE_ISSUED)
    valid_from = parse_time(body.valid_from, field="valid_from")
    valid_until = parse_until(body.valid_until, field="valid_until")
    # a private holder's licence names a reference this node holds (nodes.persons.holders)
    holder = named_holder(body.holder, context.vault, field="holder")
    issued = context.submit(officer, lambda registry: registry.issue_licence(
        by=by, occurred_on=body.occurred_on(), number=body.number, kind=body.kind, holder=holder,
        valid_from=valid_from, valid_until=valid_until, export_state=body.export_state or "",
        import_state=body.import_state or "", transit_states=tuple(body.transit_states), consignee=body.consignee,
        end_user=body.end_user, quantity=body.quantity, weapons=tuple(str(w) for w in body.weapons),
        place_of_issue=body.place_of_issue, description=body.description, broker=body.broker))
    return Recorded(event=types.LICENCE_ISSUED, licence_id=str(issued))


@router.post("/{kind}/{number}/revoke", summary="revoke a licence; later use of it is refused")
def revoke(kind: str, number: Number, body: Revoke, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.LICENCE_REVOKED)
    licence_kind = parse_kind(kind)
    revoked = context.submit(officer, lambda registry: registry.revoke_licence(
        by=by, occurred_on=body.occurred_on(), number=number, kind=licence_kind, reason=body.reason))
    return Recorded(event=types.LICENCE_REVOKED, licence_id=str(revoked))


Filter = Annotated[str | None, Query(max_length=200)]


@router.get("", summary="licences of this state and authorizations received from partners, filtered")
def listed(officer: Reader, context: Context, why: Purpose, kind: Filter = None, holder: Filter = None,
           state: Filter = None, valid_on: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
    """``state``: valid, expired, revoked or not_yet_valid today; ``valid_on``: a date it is valid on."""
    chosen = parse_kind(kind) if kind else None
    in_state = parse_state(state) if state else None
    on = parse_time(valid_on, field="valid_on") if valid_on else None
    found = list_licences(context.node, kind=chosen, holder=holder or "", state=in_state, valid_on=on)
    given = " ".join(f"{k}={v}" for k, v in (("kind", kind), ("holder", holder), ("state", state),
                                             ("valid_on", valid_on)) if v)
    audited(context, officer, "licence", f"licences {given}".strip(), why)
    return {"licences": found}


@router.get("/{number}", summary="every field of a licence, its signature, origin, shipments and quantity left")
def show(number: Number, officer: Reader, context: Context, why: Purpose, kind: Filter = None) -> dict[str, Any]:
    document = licence_document(context.node, number, parse_kind(kind) if kind else None)
    audited(context, officer, "licence", f"{document['kind']} {document['number']} of {document['issuer_state']}",
            why)
    return document


@router.get("/{kind}/{number}", summary="a licence of a kind (as /licences/{number}?kind=)")
def look_up(kind: str, number: Number, officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    return show(number, officer, context, why, kind)

