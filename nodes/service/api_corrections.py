"""``POST /api/v1/records/{record}/correct``: a signed correction of one of this node's own weapon records
(docs/corrections.md), the call of ``nodes.registry.corrections`` that ``record correct`` makes.

The record is named by its hash or the start of it (8+ characters). The officer's role must be one that
may record the corrected record's type (403 naming the role); its authority signs the correction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from domain.event_types import CORRECTED
from nodes.registry import corrections
from nodes.service.acting import API_PREFIX, Context, Recorder, authority
from nodes.service.bodies import Body, Dated, Required, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/records", tags=["corrections"], responses=ERROR_RESPONSES)


class Change(Body):
    field: Annotated[str, Field(min_length=1, max_length=64)]
    value: Text


class Correct(Dated):
    changes: Annotated[list[Change], Field(min_length=1, max_length=32)]
    reason: Required


class Corrected(Body):
    event: str
    weapon_id: str
    record: str
    record_type: str
    new_values: dict[str, Any]


@router.post("/{record}/correct", status_code=201,
             summary="correct fields of one of this node's own weapon records (the original stays as signed)")
async def correct(record: Annotated[str, Path(max_length=64, description="record hash or its start (8+)")],
                  body: Correct, officer: Recorder, context: Context) -> Corrected:
    record_type = await run_in_threadpool(corrections.record_type_of, context.node.registry, record)
    by = authority(officer, record_type)
    changes = [(c.field, c.value) for c in body.changes]
    recorded = await context.record(officer, lambda registry: corrections.correct_record(
        registry, record=record, changes=changes, reason=body.reason, by=by, occurred_on=body.occurred_on()))
    return Corrected(event=CORRECTED, weapon_id=str(recorded.weapon_id), record=recorded.record,
                     record_type=recorded.record_type, new_values=recorded.new_values)
