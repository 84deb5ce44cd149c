"""``/api/v1/statistics``: the statistics of a period, shaped like UNODC's Illicit Arms Flows
Questionnaire (docs/statistics.md), beside the register's counts; no personal data.

``from`` and ``to`` are dates (``YYYY-MM-DD`` or ISO 8601; a plain ``to`` includes that day); a
date that does not parse, or a ``to`` before ``from``, is answered 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from nodes.registry.statistics import parse_period, statistics
from nodes.service.acting import API_PREFIX, Context, Reader
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["statistics"], responses=ERROR_RESPONSES)

From = Annotated[str | None, Query(alias="from", max_length=40, description="first day of the period")]
To = Annotated[str | None, Query(max_length=40, description="last day of the period, included")]


@router.get("/statistics", summary="seized weapons in a period by place, type, calibre, country of manufacture "
                                   "and of last legal import, traced share, time to crime; register counts")
def stats(_: Reader, context: Context, from_: From = None, to: To = None) -> dict[str, Any]:
    return statistics(context.node, period=parse_period(from_, to))
