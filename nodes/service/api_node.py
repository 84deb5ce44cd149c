"""``/api/v1/node``, ``/api/v1/audit``: the node itself for auditors: verify status, checkpoints,
quarantine, witnesses, and the read audit; settling an alarm (registry role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from domain.alarm import MAX_REASON
from domain.event_types import ALARM_SETTLED
from domain.time import parse_time
from nodes.federation.alarms import open_alarm_count, settle_command, settled, with_settlements
from nodes.federation.witness import witness_status
from nodes.readaudit.search import reads_of
from nodes.registry.reading import plain_record
from nodes.registry.verify import verify_store
from nodes.service.acting import API_PREFIX, Auditor, Context, Reader, Recorder, authority
from nodes.service.bodies import Body
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["node"], responses=ERROR_RESPONSES)
PAGE = 100
MAX_PAGE = 10_000
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many entries")]


@router.get("/node", summary="this node: state, keys, log size and latest checkpoint")
def about(_: Reader, context: Context) -> dict[str, Any]:
    node = context.node
    checkpoint = node.sealer.latest_checkpoint()
    return {
        "state": node.identity.state,
        "node_key_id": node.identity.node_key_id,
        "authority_key_ids": plain_record(dict(node.identity.authority_key_ids)),
        "records": node.registry.recorder.max_notification_id() or 0,
        "checkpoint": None if checkpoint is None else {
            "size": checkpoint.size, "root": checkpoint.root.hex(), "timestamp": checkpoint.timestamp},
    }


@router.get("/node/verify", summary="verify the whole store now: own log, checkpoints, received records, views")
def verify(_: Auditor, context: Context) -> dict[str, Any]:
    report: dict[str, Any] = plain_record(verify_store(context.node, workers=1).to_dict())
    return report


@router.get("/node/quarantine", summary="partner messages in quarantine, in arrival order, a page at a time; "
                                      "alarms with their settlement")
def quarantine(_: Auditor, context: Context, after: Annotated[int, Query(ge=0, le=2**53)] = 0,
               limit: Limit = PAGE) -> dict[str, Any]:
    node = context.node
    entries = node.inbox.quarantined(after=after, limit=limit + 1)
    more, entries = len(entries) > limit, entries[:limit]
    return {"entries": plain_record(with_settlements(node, entries)), "more": more,
            "alarms": open_alarm_count(node)}


class Settlement(Body):
    reason: Annotated[str, Field(max_length=MAX_REASON, description="why the alarm is settled (signed)")]


@router.post("/node/alarms/{entry_id}/settle", summary="settle an alarm: a signed record (registry role) naming "
                                                      "the officer and why; the alarm stays as evidence")
async def settle(entry_id: Annotated[int, Path(ge=1, le=2**53)], body: Settlement, officer: Recorder,
                 context: Context) -> dict[str, Any]:
    # Separation of duties: auditors who review the quarantine record nothing; the registry role signs.
    authority(officer, ALARM_SETTLED)
    command = await run_in_threadpool(settle_command, context.node, entry_id, body.reason)
    return settled(context.node, await context.record(officer, command))


@router.get("/node/witnesses", summary="per partner, the newest checkpoint of ours it cosigned as a witness, and when")
def witnesses(_: Auditor, context: Context) -> dict[str, Any]:
    latest = context.node.sealer.latest_checkpoint()
    return {"sealed_size": latest.size if latest else 0, "witnesses": plain_record(witness_status(context.node))}


@router.get("/audit/reads", summary="the read audit: who read what, when and why; filtered")
def reads(_: Auditor, context: Context,
          user: Annotated[str | None, Query(max_length=200, description="sign-in name")] = None,
          weapon: Annotated[str | None, Query(max_length=200,
                                              description="weapon id, the start of one, or a serial")] = None,
          since: Annotated[str | None, Query(max_length=40, description="from this date")] = None,
          until: Annotated[str | None, Query(max_length=40, description="until this date")] = None,
          limit: Limit = PAGE) -> dict[str, Any]:
    entries = reads_of(
        context.node, context.read_audit.entries, user=user, weapon=weapon, limit=limit,
        since=None if since is None else parse_time(since, field="since") * 1_000_000,
        until=None if until is None else parse_time(until, field="until") * 1_000_000)
    return {"entries": plain_record(entries)}
