"""``/api/v1/retention``: what is past its retention period, and erasing the identities it frees.

``GET /report`` (auditor or registry role) answers the document of ``armsledger retention report --json``;
``POST /run`` (registry role: the registry authority signs each erasure record) that of ``retention run``.
A date that does not parse, or a run on a date in the future, is answered 422 naming ``on``.
The rules: docs/personal-data.md, "Retention and erasure".
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from domain.errors import NotPermitted
from domain.event_types import PERSON_ERASED
from domain.roles import Role
from domain.time import parse_time
from nodes.retention.erasure import run_retention
from nodes.retention.report import due_on
from nodes.service.acting import API_PREFIX, Context, Reader, Recorder, authority
from nodes.service.bodies import Body, Date
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/retention", tags=["retention"], responses=ERROR_RESPONSES)

On = Annotated[str | None, Query(max_length=40, description="the date to judge on (default now)")]
#: Who may read the report: it names persons whose identity may be erased.
REPORT_ROLES = frozenset({Role.AUDITOR, Role.REGISTRY})


class RetentionRun(Body):
    on: Date = None
    dry_run: bool = False


@router.get("/report", summary="per retention class, the records past their period; the persons whose every "
                                "record is; what falls due next")
def report(officer: Reader, context: Context, on: On = None) -> dict[str, Any]:
    if officer.role not in REPORT_ROLES:
        raise NotPermitted(f"the {officer.role.value} role may not read the retention report "
                           "(auditor or registry)", field="role")
    moment = int(time.time()) if on is None else parse_time(on, field="on")
    return due_on(context.node, context.vault(), moment).document()


@router.post("/run", summary="erase the identities of persons whose every record is past its period, each with "
                             "a signed erasure record")
def run(body: RetentionRun, officer: Recorder, context: Context) -> dict[str, Any]:
    authority(officer, PERSON_ERASED)
    on = None if body.on is None else parse_time(body.on, field="on")
    return run_retention(context.node, context.vault(), lambda command: context.submit(officer, command),
                         on=on, dry_run=body.dry_run).document()
