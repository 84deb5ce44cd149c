"""``/api/v1/statistics``: counts by event type, country, weapon type and month (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nodes.registry.reading import statistics
from nodes.service.acting import API_PREFIX, Context, Reader
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["statistics"], responses=ERROR_RESPONSES)


@router.get("/statistics", summary="counts by event type, country, weapon type and month")
def stats(_: Reader, context: Context) -> dict[str, Any]:
    return statistics(context.node)
