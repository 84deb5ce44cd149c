"""``/api/v1/epcis``: GS1 EPCIS 2.0 documents of our records (a read, audited), and the import of one
(a write, all or nothing) through the same calls as ``armsledger epcis`` (``nodes.epcis.exchange``).

The imported document is GS1's format, not a body of ours: it is taken as JSON and read by
``nodes.epcis.reading``, which refuses (422 naming the event and field) what we do not record.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import JSONResponse

from domain.errors import InvalidField
from domain.marking import Marking
from domain.time import parse_time
from nodes.epcis.exchange import export_selection, import_command, record_types
from nodes.epcis.export import own_shipment_id
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/epcis", tags=["epcis"], responses=ERROR_RESPONSES)

_Text = Annotated[str | None, Query(max_length=200)]
JSON_LD = "application/ld+json"


@router.get("", summary="an EPCIS 2.0 EPCISDocument of a weapon's records (by id, its start or marking), of a "
                        "shipment sent from here, or of every record since a date", response_class=JSONResponse)
def export(officer: Reader, context: Context, why: Purpose, weapon: _Text = None, manufacturer: _Text = None,
           country: _Text = None, serial: _Text = None, shipment: _Text = None,
           since: _Text = None) -> JSONResponse:
    marked = [manufacturer, country, serial]
    if any(v is not None for v in marked) and weapon is not None:
        raise InvalidField("give the weapon id or its marking, not both", field="weapon")
    weapon_id: UUID | None = None
    if any(v is not None for v in marked):
        weapon_id = Marking.read(manufacturer or "", country or "", serial or "").weapon_id()
    elif weapon is not None:
        weapon_id = weapon_by_prefix(context.node, weapon)
    sent = own_shipment_id(context.node.registry, shipment) if shipment is not None else None
    exported = export_selection(context.node.registry, weapon=weapon_id, shipment=sent,
                                since=parse_time(since, field="since") if since is not None else None)
    for subject in exported.weapons:
        audited(context, officer, "history", subject, why)
    for subject in exported.shipments:
        audited(context, officer, "shipment", subject, why)
    return JSONResponse(exported.document, media_type=JSON_LD)


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="record the events of an EPCIS 2.0 EPCISDocument as signed records, all or nothing")
async def import_(document: Annotated[dict[str, Any], Body(description="an EPCISDocument (JSON-LD)")],
                  officer: Recorder, context: Context) -> dict[str, Any]:
    # Every record type the document asks for must be one the role may record (403 naming it).
    by = authority(officer, *record_types(document))
    done = await context.record(officer, import_command(document, context.node, lambda _record_type: by))
    return {"event": "EPCIS import", "recorded": done,
            "weapon_ids": list(dict.fromkeys(w for d in done for w in d["weapon_ids"]))}
