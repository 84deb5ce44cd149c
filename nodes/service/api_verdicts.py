"""``/api/v1/weapons/{id}/verdict``: where a weapon left legal custody, on the federated evidence held here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from nodes.registry.reading import plain_record
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, audited
from nodes.service.errors import ERROR_RESPONSES
from nodes.tracing.verdict_report import verdict_document

router = APIRouter(prefix=f"{API_PREFIX}/weapons", tags=["verdicts"], responses=ERROR_RESPONSES)


@router.get("/{weapon_id}/verdict", summary="the point-of-diversion verdict with its evidence")
def verdict(weapon_id: UUID, officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    document: dict[str, Any] = plain_record(verdict_document(context.node, weapon_id))
    audited(context, officer, "verdict", str(weapon_id), why)
    return document
