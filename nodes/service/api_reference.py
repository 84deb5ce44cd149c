"""``/api/v1/reference``: the national reference table of makes, models, types and calibres.

Every officer who reads may search it and show an entry (it holds no weapon and no person: no
read audit). Loading entries is the work of the registry, which keeps the national register, or
of an administrator (whose right is bulk import); every other role is answered 403. The table is
the node's own data, not signed records, so a load does not go through the group committer.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from domain.errors import InvalidField, NotPermitted
from domain.reference import NO_TABLE, Match
from domain.roles import Role
from nodes.accounts.officer import Officer
from nodes.reference import matching
from nodes.reference.errors import ReferenceFileRefused
from nodes.reference.table import MAX_LIMIT, Criteria
from nodes.service.acting import API_PREFIX, Context, Reader
from nodes.service.auth import signed_in
from nodes.service.bodies import Body
from nodes.service.context import ServiceContext
from nodes.service.errors import ERROR_RESPONSES, problem

router = APIRouter(prefix=f"{API_PREFIX}/reference", tags=["reference"], responses=ERROR_RESPONSES)

#: The roles that may load entries into the table.
LOADERS = frozenset({Role.REGISTRY, Role.ADMIN})


async def loader(request: Request) -> Officer:
    """The signed-in officer, if their role may load the table; 403 naming the role otherwise."""
    officer = await signed_in(request)
    if officer.role not in LOADERS:
        raise NotPermitted(f"the {officer.role.value} role may not load the reference table (registry or admin "
                           "may)", field="role")
    return officer


Loader = Annotated[Officer, Depends(loader)]


class ImportIn(Body):
    """Entries as CSV text (columns: docs/reference-table.md), or ``starter`` for the table shipped."""

    csv: Annotated[str, Field(max_length=900_000)] = ""
    starter: bool = False
    replace: bool = False


_Text = Annotated[str, Query(max_length=100)]


@router.get("", summary="entries by text (make, model, type or calibre) and/or make, model, calibre")
def search(_: Reader, context: Context, text: _Text = "", make: _Text = "", model: _Text = "", calibre: _Text = "",
           limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100) -> dict[str, Any]:
    criteria = Criteria(text=text, make=make, model=model, calibre=calibre)
    return matching.search(context.node, criteria, limit=limit)


@router.get("/{ref_id}", summary="one entry by its id (any case)")
def show(ref_id: Annotated[str, Path(max_length=64)], _: Reader, context: Context) -> dict[str, Any]:
    return matching.show(context.node, ref_id)


@router.post("/import", summary="load entries (CSV text or the starter table); nothing is loaded if a row is bad")
async def import_table(body: ImportIn, _: Loader, context: Context) -> Any:
    """422 naming each bad row (``errors``: ``{"field": "line N: column", "reason"}``) when one is bad."""
    if bool(body.csv) == body.starter:
        raise InvalidField("give csv or starter: true, exactly one", field="csv")
    given = {"text": body.csv} if body.csv else {}
    try:
        return await run_in_threadpool(lambda: matching.import_entries(
            context.node, starter=body.starter, replace=body.replace, **given))
    except ReferenceFileRefused as e:
        return problem(422, f"csv: {e.args[0]}", "csv",
                       errors=[{"field": f"line {row.line}: {row.field}", "reason": row.reason} for row in e.rows])


async def recorded_reference(context: ServiceContext, weapon_id: UUID | str) -> dict[str, Any] | None:
    """The match of a weapon's description after a record, for the write's answer (``reference``);
    None when the node holds no table."""
    return reference_field(await run_in_threadpool(matching.weapon_match, context.node, weapon_id))


def reference_field(found: Match) -> dict[str, Any] | None:
    return None if found.status == NO_TABLE else found.to_dict()
