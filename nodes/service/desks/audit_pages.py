"""The audit desk (the audit right): store verification, checkpoints, cosignatures, quarantine, reads.

Verifying the store reads every record: it runs only when an auditor asks, in a worker
thread (``jobs``), and the page polls its state (htmx; a plain reload without it). The
other sections are cheap reads of what the node holds: its own checkpoints (sealer), the
witnesses' cosignatures and the quarantine (inbox, paged), and the read audit with its
filters (officer, weapon, period), paged by entry number.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.roles import Right
from domain.time import parse_time, parse_until
from ledger.checkpoint import Checkpoint
from nodes.federation.alarms import with_settlements
from nodes.readaudit.search import reads_of
from nodes.registry.verify import verify_store
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, query_of, whole_of
from nodes.service.desks.jobs import Job, jobs_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/audit", include_in_schema=False)
PAGE = 50
CHECKPOINTS_SHOWN = 20
READ_FILTERS = ("user", "weapon", "since", "until", "before")
VERIFY_JOB = "verify"
_US = 1_000_000


@router.get("", response_class=HTMLResponse)
async def audit(request: Request, desk: Desk = Depends(at_desk(Right.AUDIT))) -> Response:
    """The node's checkpoints, cosignatures, quarantine page and the last verification."""
    node = context_of(request).node
    after_text = request.query_params.get("after", "").strip()

    def read() -> dict[str, Any]:
        after = whole_of(after_text, "after")
        checkpoints, count = node.sealer.newest_checkpoints(CHECKPOINTS_SHOWN)
        return {"checkpoints": checkpoints, "checkpoint_count": count,
                "cosignatures": [_cosigned(c) for c in node.inbox.cosignatures()][::-1][:CHECKPOINTS_SHOWN],
                "quarantine": with_settlements(node, node.inbox.quarantined(after=after, limit=PAGE))}

    job = jobs_of(request).get(VERIFY_JOB)
    try:
        found = await run_in_threadpool(read)
    except DomainError as exc:
        return desk_page(request, desk, "audit.html", job=job, checkpoints=[], checkpoint_count=0, cosignatures=[],
                         quarantine=[], page_size=PAGE, errors=[field_error(exc)], status_code=status_for(exc))
    return desk_page(request, desk, "audit.html", job=job, page_size=PAGE, **found)


@router.post("/verify", response_class=HTMLResponse)
async def start_verify(request: Request, desk: Desk = Depends(at_desk(Right.AUDIT))) -> Response:
    """Start verifying the whole store in a worker thread (refused while one runs)."""
    node = context_of(request).node
    try:
        jobs_of(request).start(VERIFY_JOB, lambda job: verify_store(node))
    except DomainError as exc:
        return desk_page(request, desk, "audit_verify.html", job=jobs_of(request).get(VERIFY_JOB),
                         errors=[field_error(exc)], status_code=status_for(exc))
    return RedirectResponse("/audit/verify", status.HTTP_303_SEE_OTHER)


@router.get("/verify", response_class=HTMLResponse)
async def verify_state(request: Request, desk: Desk = Depends(at_desk(Right.AUDIT))) -> Response:
    """The verification's state and report (htmx: the section only, polled while it runs)."""
    job: Job | None = jobs_of(request).get(VERIFY_JOB)
    template = "_verify.html" if request.headers.get("hx-request") else "audit_verify.html"
    return desk_page(request, desk, template, job=job)


@router.get("/reads", response_class=HTMLResponse)
async def reads(request: Request, desk: Desk = Depends(at_desk(Right.AUDIT))) -> Response:
    """The read audit, newest first, filtered by officer, weapon (id or the text searched) and period."""
    values = query_of(request, READ_FILTERS)
    log = context_of(request).read_audit
    try:
        filters: dict[str, Any] = {
            "user": values["user"] or None, "weapon": values["weapon"] or None,
            "since": parse_time(values["since"], field="since") * _US if values["since"] else None,
            "until": parse_until(values["until"], field="until") * _US if values["until"] else None,
            "before": whole_of(values["before"], "before") or None}
        entries = await run_in_threadpool(lambda: reads_of(context_of(request).node, log.entries, limit=PAGE,
                                                           **filters))
    except DomainError as exc:
        return desk_page(request, desk, "audit_reads.html", values=values, entries=[], errors=[field_error(exc)],
                         status_code=status_for(exc))
    more = {**values, "before": str(entries[-1].seq)} if len(entries) == PAGE else None
    return desk_page(request, desk, "audit_reads.html", values=values, entries=entries, more=more)


def _cosigned(cosignature: Any) -> dict[str, Any]:
    """A cosignature as shown: the witness, when it arrived, and the size of the checkpoint it signs."""
    try:
        size: int | None = Checkpoint.from_bytes(cosignature.checkpoint).size
    except Exception:  # noqa: BLE001 - an unreadable checkpoint is shown as such, the audit reports why
        size = None
    return {"witness": cosignature.witness, "received_at": cosignature.received_at, "size": size}
