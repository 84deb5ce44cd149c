"""Essential components and conversions over HTTP: ``POST /api/v1/weapons/{weapon}/assemble``,
``/replace-component`` and ``/convert`` and ``POST /api/v1/components/{component}/destroy`` (the calls of
``nodes.registry.components`` that the CLI makes), and ``GET /api/v1/components/{component}`` (a component's
life, recorded in the read audit).

A weapon is named by its id or the start of one (4+ characters), a component by its id, the start of
one, or its marking ``MANUFACTURER/CC/SERIAL`` (with ``kind`` when that marks several parts).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from domain import event_types as types
from domain.component import check_kind
from nodes.registry import component_reading, components
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Body, Dated, MarkingIn, Required, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["components"], responses=ERROR_RESPONSES)

_Weapon = Annotated[str, Path(max_length=64, description="weapon id or its start (4+ characters)")]
Kind = Annotated[str, Query(max_length=32)]


class Part(Body):
    kind: Required
    marking: MarkingIn


class Assemble(Dated):
    components: Annotated[list[Part], Field(min_length=1, max_length=32)]


class ReplaceComponent(Dated):
    kind: Required
    new: MarkingIn
    reason: Required
    destroy_removed: bool = False


class Convert(Dated):
    kind: Required
    calibre: Text = ""
    type: Text = ""
    licence: Text = ""
    description: Text = ""


class PartsRecorded(Body):
    event: str
    weapon_id: str
    component_ids: list[str]
    flags: list[str]

    @classmethod
    def of(cls, recorded: components.PartsRecorded, event: str) -> PartsRecorded:
        return cls(event=event, weapon_id=str(recorded.weapon_id), component_ids=list(recorded.component_ids),
                   flags=list(recorded.flags))


@router.post("/weapons/{weapon}/assemble", status_code=201,
             summary="record a weapon's essential components (police, customs: those found in a seized weapon)")
async def assemble(weapon: _Weapon, body: Assemble, officer: Recorder, context: Context) -> PartsRecorded:
    by = authority(officer, types.ASSEMBLED)
    weapon_id = weapon_by_prefix(context.node, weapon)
    kinds = context.node.settings.component_kinds
    parts = [(check_kind(p.kind, kinds, field="component"), p.marking.read()) for p in body.components]
    recorded = await context.record(officer, lambda registry: components.assemble(
        registry, by=by, weapon_id=weapon_id, parts=parts, occurred_on=body.occurred_on()))
    return PartsRecorded.of(recorded, types.ASSEMBLED)


@router.post("/weapons/{weapon}/replace-component", status_code=201,
             summary="replace one essential component of a weapon by another")
async def replace_component(weapon: _Weapon, body: ReplaceComponent, officer: Recorder,
                            context: Context) -> PartsRecorded:
    by = authority(officer, types.COMPONENT_REPLACED)
    weapon_id = weapon_by_prefix(context.node, weapon)
    new = body.new.read()
    recorded = await context.record(officer, lambda registry: components.replace_component(
        registry, by=by, weapon_id=weapon_id, kind=body.kind, new=new, reason=body.reason,
        destroy_removed=body.destroy_removed, kinds=context.node.settings.component_kinds,
        occurred_on=body.occurred_on()))
    return PartsRecorded.of(recorded, types.COMPONENT_REPLACED)


@router.post("/weapons/{weapon}/convert", status_code=201,
             summary="record a conversion (police, customs: one found on a seized weapon, flagged)")
async def convert(weapon: _Weapon, body: Convert, officer: Recorder, context: Context) -> PartsRecorded:
    by = authority(officer, types.CONVERTED)
    weapon_id = weapon_by_prefix(context.node, weapon)
    recorded = await context.record(officer, lambda registry: components.convert(
        registry, by=by, weapon_id=weapon_id, conversion=body.kind, calibre=body.calibre, type=body.type,
        licence=body.licence, description=body.description, occurred_on=body.occurred_on()))
    return PartsRecorded.of(recorded, types.CONVERTED)


class DestroyComponent(Dated):
    method: Required


@router.post("/components/{component:path}/destroy", status_code=201,
             summary="record the destruction of a component in no weapon")
async def destroy_component(component: Annotated[str, Path(max_length=300)], body: DestroyComponent,
                            officer: Recorder, context: Context, kind: Kind = "") -> dict[str, str]:
    by = authority(officer, types.COMPONENT_DESTROYED)
    cid = component_reading.component_named(context.node, component, kind)
    await context.record(officer, lambda registry: components.destroy_component(
        registry, by=by, component=cid, method=body.method, occurred_on=body.occurred_on()))
    return {"event": types.COMPONENT_DESTROYED, "component_id": str(cid)}


@router.get("/components/{component:path}",
            summary="a component's life: the weapons it was in and when, every record of it, verified")
def show(component: Annotated[str, Path(max_length=300, description="MANUFACTURER/CC/SERIAL, id or its start")],
         officer: Reader, context: Context, why: Purpose, kind: Kind = "") -> dict[str, Any]:
    cid = component_reading.component_named(context.node, component, kind)
    document = component_reading.component_life(context.node, cid)
    audited(context, officer, "component", str(cid), why)
    return document
