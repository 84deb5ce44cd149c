"""Deactivation with its certificate, reactivation, and certificate files over HTTP (docs/deactivation.md).

``POST /weapons/{id}/deactivate`` and ``/reactivate`` record (the deactivation and licensing roles);
``GET /weapons/{id}/certificate`` downloads the signed certificate file (read-audited);
``POST /certificates/verify`` and ``/certificates/print`` take an uploaded file as the request body and
check it offline against the keys this node trusts. The calls are ``nodes.registry.certificates``'.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from domain import event_types as types
from domain.time import parse_time
from ledger.errors import VerificationError
from nodes.registry import certificates, reading
from nodes.registry.certificate_file import CertificateReport
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Dated, Recorded, Required, Text
from nodes.service.context import ServiceContext
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["certificates"], responses=ERROR_RESPONSES)

WeaponPath = Annotated[str, Path(max_length=64, description="weapon id or its start (4+ characters)")]
_UPLOAD = {"requestBody": {"required": True, "description": "the certificate file, as exported",
                           "content": {"application/json": {"schema": {"type": "object"}}}}}


class Deactivate(Dated):
    certificate: Required
    standard: Required = Field(description='technical standard applied, e.g. "EU 2018/337"')
    inspecting_body: Required
    inspected_on: Annotated[str, Field(min_length=1, max_length=40, description="date of inspection, YYYY-MM-DD")]
    method: Text = ""


class Reactivate(Dated):
    licence: Required = Field(description="reactivation licence number, issued by this state")
    reason: Required


@router.post("/weapons/{weapon_id}/deactivate", summary="record a deactivation with its certificate (FP art 9)")
async def deactivate(weapon_id: WeaponPath, body: Deactivate, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.DEACTIVATED)
    wid = reading.weapon_by_prefix(context.node, weapon_id)
    inspected_on = parse_time(body.inspected_on, field="inspected_on")
    fields = body.model_dump(exclude={"date", "inspected_on"})
    await context.record(officer, lambda registry: registry.record(
        "deactivate", by=by, weapon_id=wid, occurred_on=body.occurred_on(), inspected_on=inspected_on, **fields))
    return Recorded(event=types.DEACTIVATED, weapon_id=str(wid))


@router.post("/weapons/{weapon_id}/reactivate",
             summary="record the lawful reactivation of a deactivated weapon under a reactivation licence")
async def reactivate(weapon_id: WeaponPath, body: Reactivate, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.REACTIVATED)
    wid = reading.weapon_by_prefix(context.node, weapon_id)
    await context.record(officer, lambda registry: certificates.reactivate(
        registry, by=by, weapon_id=wid, licence=body.licence, reason=body.reason, occurred_on=body.occurred_on()))
    return Recorded(event=types.REACTIVATED, weapon_id=str(wid))


@router.get("/weapons/{weapon_id}/certificate", response_class=Response,
            summary="download the signed deactivation certificate file of a weapon deactivated here")
def export(weapon_id: WeaponPath, officer: Reader, context: Context, why: Purpose) -> Response:
    wid = reading.weapon_by_prefix(context.node, weapon_id)
    try:
        document = certificates.export_certificate(context.node, wid)
    except VerificationError as e:  # a damaged store: nothing the client can change
        raise HTTPException(500, f"the records of weapon {wid} do not verify: {e}") from None
    audited(context, officer, "history", str(wid), why)
    number = str(json.loads(document)["certificate"]["number"])
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in number) or str(wid)
    return Response(document, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="deactivation-certificate-{name}.json"'})


@router.post("/certificates/verify", openapi_extra=_UPLOAD,
             summary="check an uploaded certificate file offline against the node keys trusted here")
async def verify(request: Request, officer: Reader, context: Context) -> dict[str, Any]:
    data = await request.body()
    report = _verified(data, context)
    return report.to_dict()


@router.post("/certificates/print", openapi_extra=_UPLOAD, response_class=HTMLResponse,
             summary="the printable HTML certificate of an uploaded certificate file")
async def print_certificate(request: Request, officer: Reader, context: Context) -> HTMLResponse:
    report = _verified(await request.body(), context)
    return HTMLResponse(certificates.render_certificate(report))


def _verified(data: bytes, context: ServiceContext) -> CertificateReport:
    return certificates.verify_trusted_here(data, context.node.settings.home)
