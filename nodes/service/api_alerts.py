"""``/api/v1/alerts`` and ``/api/v1/reports``: stolen-weapon hits, and loss or theft reports by marking.

``GET /alerts`` lists the hit notices partners sent (``nodes.alerts.hits.alerts``), a read of
weapons appended to the read audit (action ``search``, subject ``alerts``). ``POST
/reports/stolen`` and ``/reports/lost`` report a weapon by id or, when this node has no record
of it, by its marking and what is known of its description (``Registry.report_missing``).
``HitsRecorded`` is the answer of a seizure or import: it carries the hits it raised.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from domain import event_types as types
from nodes.alerts.hits import DEFAULT_ALERTS, MAX_ALERTS, alerts, warnings
from nodes.reference.matching import weapon_match
from nodes.registry.application import WeaponRecorded
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.api_reference import reference_field
from nodes.service.bodies import Dated, MarkingIn, Recorded, Text, Year
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["alerts"], responses=ERROR_RESPONSES)

#: The read audit's subject of a listing of alerts (as ``armsledger alerts``).
AUDIT_SUBJECT = "alerts"


class HitsRecorded(Recorded):
    """A seizure's or import's answer: ``hits`` holds one warning per partner that reported the weapon
    lost or stolen (``reporting_state``, ``reported``, ``reported_record``, ``hit_notice``, ``message``)."""

    hits: list[dict[str, Any]] = []

    @classmethod
    def of(cls, recorded: WeaponRecorded, event: str, reference: dict[str, Any] | None = None) -> HitsRecorded:
        return cls(event=event, weapon_id=str(recorded.weapon_id), hits=warnings(recorded.hits), reference=reference)


class ReportIn(Dated):
    """A weapon on record by ``weapon_id``, or one with no record here by its ``marking`` (with what is
    known of its description: only then may the description be given)."""

    weapon_id: UUID | None = None
    marking: MarkingIn | None = None
    type: Text = ""
    make: Text = ""
    model: Text = ""
    calibre: Text = ""
    year: Year | None = None
    place: Text = ""
    circumstances: Text = ""


def _report_route(word: str, event: str, stolen: bool) -> None:
    def report(body: ReportIn, officer: Recorder, context: Context) -> Recorded:
        by = authority(officer, event)
        fields = body.model_dump(exclude={"marking", "date", "weapon_id"})
        marking = body.marking.read() if body.marking is not None else None
        weapon_id = context.submit(officer, lambda registry: registry.report_missing(
            stolen=stolen, by=by, weapon_id=body.weapon_id, marking=marking, occurred_on=body.occurred_on(),
            **fields))
        reference = reference_field(weapon_match(context.node, weapon_id))
        return Recorded(event=event, weapon_id=str(weapon_id), reference=reference)

    report.__name__ = f"report_{word}"
    router.add_api_route(f"/reports/{word}", report, methods=["POST"], status_code=status.HTTP_201_CREATED,
                         summary=f"report a weapon {word}; one with no record here by its marking, which opens "
                                 "its record")


_report_route("stolen", types.REPORTED_STOLEN, True)
_report_route("lost", types.REPORTED_LOST, False)


@router.get("/alerts", summary="hit notices received: weapons we reported lost or stolen, seized or imported "
                               "by a partner; newest first")
def list_alerts(officer: Reader, context: Context, why: Purpose,
                limit: Annotated[int, Query(ge=1, le=MAX_ALERTS, description="at most this many")]
                = DEFAULT_ALERTS) -> dict[str, Any]:
    found = alerts(context.node, limit=limit)
    audited(context, officer, "search", AUDIT_SUBJECT, why)
    return {"alerts": found}
