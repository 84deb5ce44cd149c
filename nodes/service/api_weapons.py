"""``/api/v1/weapons``: record every event of a weapon's life, read its history, search serials.

Each write checks that the officer's role may record the event (403 naming both), then
runs one ``Registry`` command through ``ServiceContext.record`` (awaited on the event loop:
no thread waits for the writer); each read appends to the read audit.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, status

from domain import event_types as types
from nodes.persons.holders import holder_for, named_holder
from nodes.registry import reading, recording, weapon_search
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.api_alerts import HitsRecorded
from nodes.service.api_persons import PersonIn, given
from nodes.service.api_reference import recorded_reference
from nodes.service.bodies import Country, Dated, MarkingIn, Recorded, Required, Text, Year, one_weapon
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/weapons", tags=["weapons"], responses=ERROR_RESPONSES)
CREATED = status.HTTP_201_CREATED


class Manufacture(Dated):
    marking: MarkingIn
    type: Required
    make: Text = ""
    model: Text = ""
    calibre: Required
    year: Year
    holder: Text = ""
    holder_person: PersonIn | None = None  # a private person: the record names its reference


class Import(Dated):
    weapon_id: UUID | None = None
    marking: MarkingIn | None = None
    type: Text | None = None
    make: Text | None = None
    model: Text | None = None
    calibre: Text | None = None
    year: Year | None = None
    from_state: Country
    import_year: Year | None = None
    import_authorization: Required
    holder: Text = ""
    holder_person: PersonIn | None = None
    shipment: Text = ""


class Seize(Dated):
    weapon_id: UUID | None = None
    marking: MarkingIn | None = None
    type: Text = ""
    make: Text = ""
    model: Text = ""
    calibre: Text = ""
    place: Text = ""
    circumstances: Text = ""


class Transfer(Dated):
    to_holder: Text = ""  # a dealer's or body's name, or a private person's reference (person:...)
    to_person: PersonIn | None = None  # or the private person's identity
    licence: Required


@router.post("/manufacture", status_code=CREATED, summary="register a newly manufactured weapon (ITI para 8(a))")
async def manufacture(body: Manufacture, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.MANUFACTURED)
    fields = body.model_dump(exclude={"marking", "date", "holder", "holder_person"})
    with holder_for(body.holder, given(body.holder_person), context.vault, field="holder") as holder:
        weapon_id = await context.record(officer, lambda registry: registry.manufacture(
            by=by, marking=body.marking.read(), occurred_on=body.occurred_on(), holder=holder, **fields))
    return Recorded(event=types.MANUFACTURED, weapon_id=str(weapon_id),
                    reference=await recorded_reference(context, weapon_id))


@router.post("/import", status_code=CREATED, summary="record an import with its import marking (FP art 8(1)(b))")
async def import_weapon(body: Import, officer: Recorder, context: Context) -> HitsRecorded:
    by = authority(officer, types.IMPORTED)
    weapon_id, marking = one_weapon(body.weapon_id, body.marking)
    fields = body.model_dump(exclude={"marking", "date", "weapon_id", "holder", "holder_person"})
    with holder_for(body.holder, given(body.holder_person), context.vault, field="holder") as holder:
        recorded = await context.record(officer, lambda registry: recording.import_weapon(
            registry, by=by, marking=marking, weapon_id=weapon_id, occurred_on=body.occurred_on(), holder=holder,
            **fields))
    return HitsRecorded.of(recorded, types.IMPORTED, await recorded_reference(context, recorded.weapon_id))


@router.post("/seize", status_code=CREATED,
             summary="record a seizure; an unrecorded weapon is registered by it (ITI para 9)")
async def seize(body: Seize, officer: Recorder, context: Context) -> HitsRecorded:
    by = authority(officer, types.SEIZED)
    weapon_id, marking = one_weapon(body.weapon_id, body.marking)
    fields = body.model_dump(exclude={"marking", "date", "weapon_id"})
    recorded = await context.record(officer, lambda registry: registry.record_seizure(
        by=by, weapon_id=weapon_id, marking=marking, occurred_on=body.occurred_on(), **fields))
    return HitsRecorded.of(recorded, types.SEIZED, await recorded_reference(context, recorded.weapon_id))


@router.post("/{weapon_id}/transfer", summary="transfer a weapon to a holder with a transfer licence (FP art 7)")
async def transfer(weapon_id: UUID, body: Transfer, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRANSFERRED)
    with holder_for(body.to_holder, given(body.to_person), context.vault, field="to_holder") as holder:
        await context.record(officer, lambda registry: registry.transfer(
            by=by, weapon_id=weapon_id, to_holder=holder, licence=body.licence, occurred_on=body.occurred_on()),
            weapon=weapon_id)
    return Recorded(event=types.TRANSFERRED, weapon_id=str(weapon_id), holder=holder)


# --- the events without licence look-ups: one route each, the same shape -------------------

class Mark(Dated):
    mark: Required
    reason: Text = ""


class Report(Dated):
    place: Text = ""
    circumstances: Text = ""


class Recover(Dated):
    place: Text = ""
    holder: Text = ""


class Confiscate(Dated):
    order: Required


class Destroy(Dated):
    method: Required
    certificate: Text = ""


_SIMPLE: tuple[tuple[str, str, str, type[Dated], str], ...] = (
    ("mark", "mark", types.MARKED, Mark, "record a mark applied after manufacture (ITI para 8(b)-(c))"),
    ("report-lost", "report_lost", types.REPORTED_LOST, Report, "report a weapon lost"),
    ("report-stolen", "report_stolen", types.REPORTED_STOLEN, Report, "report a weapon stolen"),
    ("recover", "recover", types.RECOVERED, Recover, "record the recovery of a lost or stolen weapon"),
    ("confiscate", "confiscate", types.CONFISCATED, Confiscate, "record the confiscation of a seized weapon"),
    ("destroy", "destroy", types.DESTROYED, Destroy, "record a destruction"),
)


def _simple_route(path: str, command: str, event: str, model: type[Dated], summary: str) -> None:
    async def record(weapon_id: UUID, body: Dated, officer: Recorder, context: Context) -> Recorded:
        by = authority(officer, event)
        fields = body.model_dump(exclude={"date"})
        if str(fields.get("holder") or "").strip():  # recover: a name, or a reference this node holds
            fields["holder"] = named_holder(fields["holder"], context.vault, field="holder")
        await context.record(officer, lambda registry: registry.record(
            command, by=by, weapon_id=weapon_id, occurred_on=body.occurred_on(), **fields), weapon=weapon_id)
        return Recorded(event=event, weapon_id=str(weapon_id))

    record.__name__ = command
    record.__annotations__["body"] = model  # each event its own body in the OpenAPI document
    router.add_api_route(f"/{{weapon_id}}/{path}", record, methods=["POST"], summary=summary)


for _path, _command, _event, _model, _summary in _SIMPLE:
    _simple_route(_path, _command, _event, _model, _summary)


# --- reading --------------------------------------------------------------------------------

_Text = Annotated[str, Query(max_length=100)]


@router.get("", summary="find weapons held here, ours and partners': serial (? one unknown character, * any run), "
                        "make, model, calibre; a page at a time")
def search(officer: Reader, context: Context, why: Purpose, serial: _Text = "", make: _Text = "", model: _Text = "",
           calibre: _Text = "",
           offset: Annotated[int, Query(ge=0, le=weapon_search.MAX_OFFSET)] = 0,
           limit: Annotated[int, Query(ge=1, le=weapon_search.MAX_LIMIT)] = weapon_search.DEFAULT_LIMIT,
           ) -> dict[str, Any]:
    criteria = weapon_search.Criteria(serial=serial, make=make, model=model, calibre=calibre)
    found = weapon_search.find_weapons(context.node, criteria, offset=offset, limit=limit)
    audited(context, officer, "search", criteria.subject, why)
    return {**found, "note": weapon_search.paging_note(found, "offset/limit")}


@router.get("/{weapon_id}", summary="every record held of a weapon (ours, partners', trace answers'), each verified; "
                                    "own=true: ours only")
def history(weapon_id: Annotated[str, Path(max_length=64, description="weapon id or its start (4+ characters)")],
            officer: Reader, context: Context, why: Purpose, own: bool = False) -> dict[str, Any]:
    wid = reading.weapon_by_prefix(context.node, weapon_id)
    document = reading.weapon_timeline(context.node, wid, own_only=own, typed=weapon_id)
    audited(context, officer, "history", str(wid), why)
    return document
