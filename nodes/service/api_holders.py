"""``/api/v1/holders/weapons``: the weapons a holder holds now, with their status (a read in the read audit)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from nodes.registry.holders import holder_weapons
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, audited
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/holders", tags=["weapons"], responses=ERROR_RESPONSES)


@router.get("/weapons", summary="the weapons a holder holds now, with their status")
def weapons_of_holder(holder: Annotated[str, Query(min_length=1, max_length=500, description="the holder's name")],
                      officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    found = holder_weapons(context.node, holder)
    audited(context, officer, "search", f"holder {holder.strip()}", why)
    return found
