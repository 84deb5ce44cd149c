"""What every route does before and after the application service: who signs, and the read audit.

``authority(officer, *types)`` is the one role check of a write: every record type the
command writes must be one the officer's role may record (``domain.roles``), and the
answer is the authority kind that signs them (passed as ``by=``). ``audited`` appends a
read to the read audit with the purpose the client gave in ``X-Purpose``.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Header, Request

from domain.roles import Right, Role, authority_for
from nodes.accounts.officer import Officer
from nodes.service.auth import require
from nodes.service.context import ServiceContext

API_PREFIX = "/api/v1"
PURPOSE_HEADER = "X-Purpose"

Reader = Annotated[Officer, Depends(require(Right.READ))]
Recorder = Annotated[Officer, Depends(require(Right.RECORD))]
Auditor = Annotated[Officer, Depends(require(Right.AUDIT))]
Admin = Annotated[Officer, Depends(require(Right.ADMIN))]


def authority(officer: Officer, *record_types: str) -> str:
    """The authority kind that signs ``record_types`` for ``officer``.

    ``NotPermitted`` (field ``role``, HTTP 403) naming the role and the first record type it may not record.
    Requires at least one record type, all signed by the same kind (true of every role).
    """
    return _signing_kind(officer.role, record_types)


@functools.cache
def _signing_kind(role: Role, record_types: tuple[str, ...]) -> str:
    # A pure function of the role and the types, asked on every write: each answer is worked out once
    # (a refusal raises and is not kept). A few dozen pairs at most.
    kinds = {authority_for(role, record_type) for record_type in record_types}
    assert len(kinds) == 1, record_types
    return kinds.pop().value


# Dependencies that only read the request are ``async def``: FastAPI runs a plain ``def``
# dependency on a worker thread, a thread hop per request for an attribute look-up.
async def context_of(request: Request) -> ServiceContext:
    """The service the app was created with (``app.state.context``)."""
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(context_of)]


async def purpose(x_purpose: Annotated[str, Header(alias=PURPOSE_HEADER, max_length=500,
                                                   description="why the officer reads this (kept in the read audit)")]
                  = "") -> str:
    return x_purpose.strip()


Purpose = Annotated[str, Depends(purpose)]


def audited(context: ServiceContext, officer: Officer, action: str, subject: str, why: str) -> None:
    """Append the read to the read audit (after the read succeeded: a refused read shows nothing)."""
    context.read_audit.append(officer, action, subject, why)
