"""The statistics desk: seized weapons in a period, in the shape of UNODC's Illicit Arms Flows
Questionnaire, with a CSV download; linked from the tracing desk.

The figures are ``nodes.registry.statistics.statistics``, what ``armsledger stats`` and
``/api/v1/statistics`` show; the period is typed as ``period_from`` and ``period_to`` and refused
(422, the field marked) when a date does not parse or the end comes before the start. Statistics
hold no personal data, so showing them is no read in the read audit.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.roles import Right
from nodes.registry.statistics import csv_rows, parse_period, statistics
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, query_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/statistics", include_in_schema=False)
PERIOD = ("period_from", "period_to")
TABLES = ("by_place", "by_weapon_type", "by_calibre", "by_country_of_manufacture",
          "by_country_of_last_legal_import")


@router.get("", response_class=HTMLResponse)
async def statistics_page(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The seizure tables of the period typed (default: every seizure recorded until now)."""
    v = query_of(request, PERIOD)
    document = await _figures_or_refusal(request, desk, v)
    if isinstance(document, Response):
        return document
    return desk_page(request, desk, "statistics.html", values=v, figures=document, tables=TABLES)


@router.get(".csv")
async def statistics_csv(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The same tables as CSV rows (table, value, figure), as ``armsledger stats --csv`` prints them."""
    v = query_of(request, PERIOD)
    document = await _figures_or_refusal(request, desk, v)
    if isinstance(document, Response):
        return document
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv_rows(document))
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="statistics.csv"'})


async def _figures(request: Request, v: dict[str, str]) -> dict[str, Any]:
    period = parse_period(v["period_from"], v["period_to"], start_field="period_from", end_field="period_to")
    node = context_of(request).node
    return await run_in_threadpool(lambda: statistics(node, period=period))


async def _figures_or_refusal(request: Request, desk: Desk, values: dict[str, str]) -> dict[str, Any] | Response:
    """The figures of the period typed, or the page refusing it (naming the field)."""
    try:
        return await _figures(request, values)
    except DomainError as exc:
        return desk_page(request, desk, "statistics.html", values=values, figures=None, tables=TABLES,
                         errors=[field_error(exc)], status_code=status_for(exc))
