"""Reading a trace on a node (ITI paras 17-23), as requester or addressee.

The status is computed by ``domain.trace_status`` over both sides' records: every
step with its time, overdue flags and, on the requester, the verified fragment of
the response (``nodes.tracing.fragment``). Records are found by their signed type.
A trace is named by its id or a unique prefix of it (``find_trace``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from uuid import UUID

from domain.errors import InvalidField
from domain.event_types import (
    TRACE_ACKNOWLEDGED as ACKNOWLEDGED,
    TRACE_REQUEST_PREFIX,
    TRACE_RESPONDED as RESPONDED,
    TRACE_RESTRICTED as RESTRICTED,
    TRACE_SUBMITTED as SUBMITTED,
)
from domain.trace_status import Trace, trace_status
from ledger.envelope import Envelope
from nodes.federation.crossborder import partner_states
from nodes.federation.trust import TrustStore
from nodes.ports import Node, NotificationLog
from nodes.registry.identity import authorities_stream
from nodes.registry.paging import notification_pages, received, signed
from nodes.settings import TraceSettings
from nodes.tracing.fragment import FragmentCheck, cited_sizes, verify_fragment
from nodes.values import id_prefix, one_by_prefix

#: Up to how many checkpoint sizes an answer cites its kept checkpoints are asked by size (``verified_fragment``).
_FEW_SIZES = 8


def trace(node: Node, trace_id: UUID | str, *, now: int | None = None, settings: TraceSettings | None = None,
          verify: bool = True, registers: Mapping[str, list[Envelope]] | None = None) -> Trace:
    """Trace ``trace_id`` as this node sees it (as requester or addressee); ``InvalidField`` if unknown here.

    On the requester, the fragment of a response is verified (``fragment`` holds
    the verified records and the problems) unless ``verify`` is False (status only).
    ``registers``: partners' registers of authorities received, by state, as the caller read them just now
    (the fragment's certificates are then not read again).
    """
    trace_id = find_trace(node, trace_id)
    now = int(time.time()) if now is None else now
    deadlines = node.settings.trace if settings is None else settings
    us = node.identity.state
    own = node.registry.envelopes(trace_id)
    if own and own[0].type == SUBMITTED:
        addressee = str(own[0].body.get("addressee"))
        answer = _received(node, addressee, trace_id)
        certificates = registers.get(addressee) if registers is not None else None
        return trace_status(own, answer, now=now, role="requester", deadlines=deadlines,
                            fragment=verified_fragment(node, addressee, answer, certificates) if verify else None)
    if own and own[0].type == ACKNOWLEDGED:
        request = _received(node, str(own[0].body.get("requesting_state")), trace_id)
        return trace_status(request, own, now=now, role="addressee", deadlines=deadlines)
    request = [e for e in node.inbox.received_about(str(trace_id), partner_states(node))
               if e.type.startswith(TRACE_REQUEST_PREFIX)]
    if request and request[0].body.get("addressee") == us:
        return trace_status(request, [], now=now, role="addressee", deadlines=deadlines)
    raise InvalidField(f"no trace {trace_id} is known here", field="trace")


def traces(node: Node, *, now: int | None = None, settings: TraceSettings | None = None) -> list[Trace]:
    """Every trace this node requested or was asked, oldest first (by signed recording time)."""
    found = [trace(node, i, now=now, settings=settings) for i in trace_ids(node)]
    return sorted(found, key=lambda t: (t.steps[0].recorded_at if t.steps else 0, t.trace_id))


def trace_ids(node: Node) -> list[UUID]:
    """The id of every trace this node requested, acknowledged or received addressed to it."""
    ids = [UUID(e.stream) for e in signed(node.registry.recorder, (SUBMITTED, ACKNOWLEDGED))]
    us = node.identity.state
    for _, envelope in received(node.inbox):
        if envelope.type == SUBMITTED and envelope.body.get("addressee") == us:
            ids.append(UUID(envelope.stream))
    return list(dict.fromkeys(ids))


def find_trace(node: Node, typed: UUID | str, *, field_name: str = "trace") -> UUID:
    """The trace ``typed`` names: its id, or the start of one trace id known here (at least 4
    characters, as ``trace list`` and ``demo`` print them). ``InvalidField`` on ``field_name``,
    repeating what was typed, when it is malformed or names no trace or several."""
    if isinstance(typed, UUID):
        return typed
    text = id_prefix(str(typed), field_name=field_name)
    try:
        return UUID(text)
    except ValueError:
        pass
    matches = [i for i in trace_ids(node) if str(i).startswith(text) or i.hex.startswith(text.replace("-", ""))]
    return one_by_prefix(str(typed), matches, what="trace", field_name=field_name)


def hops(node: Node, trace_id: UUID | str, *, now: int | None = None,
         settings: TraceSettings | None = None, verify: bool = True) -> list[Trace]:
    """The trace and every trace it was forwarded as (on the requester), in hop order."""
    found, pending, seen = [], [str(trace_id)], set()
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        step = trace(node, current, now=now, settings=settings, verify=verify)
        found.append(step)
        if step.role == "requester":
            pending += [next_trace for _, next_trace in step.forwarded]
    return found


def traces_about(node: Node, weapon_id: UUID | str) -> list[Envelope]:
    """Our ``TraceRequest.Submitted`` records about ``weapon_id``, in log order.

    Read once each in a process (``_Submitted``): a look reads only what was logged since the last, where it
    read every trace request ever made (at each forward and verdict). Raises ``EncodingError`` for a row of
    that type that holds no envelope, as ``signed`` does.
    """
    log = node.registry.recorder
    with _SUBMITTED_LOCK:
        kept = _SUBMITTED.get(log)
        if kept is None:
            kept = _SUBMITTED[log] = _Submitted()
    return kept.about(log, str(weapon_id))


class _Submitted:
    """Our ``TraceRequest.Submitted`` records by weapon, as read so far from one log.

    The log is append-only and its rows become visible in the order of their positions (on PostgreSQL each
    insert locks the table until its commit, the library's rule; on SQLite one writer at a time), so reading
    on from the last position read misses none. Each row is decided by its signed type and body (``signed``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_to = 0
        self._by_weapon: dict[str, list[Envelope]] = {}

    def about(self, log: NotificationLog, weapon_id: str) -> list[Envelope]:
        with self._lock:
            for page in notification_pages(log, start=self._read_to + 1, topics=(SUBMITTED,)):
                envelopes = [Envelope.from_bytes(n.state) for n in page]  # the whole page, or nothing kept of it
                for envelope in envelopes:
                    if envelope.type == SUBMITTED and isinstance(envelope.body.get("weapon_id"), str):
                        self._by_weapon.setdefault(envelope.body["weapon_id"], []).append(envelope)
                self._read_to = page[-1].id
            return list(self._by_weapon.get(weapon_id, ()))


#: The ``_Submitted`` of each log object open in this process (gone with it).
_SUBMITTED: weakref.WeakKeyDictionary[NotificationLog, _Submitted] = weakref.WeakKeyDictionary()
_SUBMITTED_LOCK = threading.Lock()


def _received(node: Node, state: str, trace_id: UUID) -> list[Envelope]:
    return list(node.inbox.received(node=state, stream=str(trace_id)))


def verified_fragment(node: Node, origin: str, answer: list[Envelope],
                      certificates: Sequence[Envelope] | None = None) -> FragmentCheck | None:
    """The verified fragment of ``answer`` (a response or restriction), or None when it carries none.
    ``certificates``: ``origin``'s register of authorities received, if the caller read it just now."""
    carrying = [e for e in answer if e.type in (RESPONDED, RESTRICTED)]
    if not carrying:
        return None
    items = carrying[-1].body.get("fragment", ())
    partner = TrustStore(node.settings.home).get(origin)
    if certificates is None:
        certificates = node.inbox.received(node=origin, stream=str(authorities_stream(origin)))
    # Only the kept checkpoints the items' checkpoints are compared with, not the partner's whole history. An
    # honest answer cites one checkpoint; one citing many would have the database compare every kept row with
    # each size, so from a few on, every kept checkpoint is read once instead, as before.
    sizes = cited_sizes(items)
    kept = (node.inbox.partner_checkpoints_at(origin, sizes).values() if len(sizes) <= _FEW_SIZES
            else node.inbox.partner_checkpoints(origin))
    return verify_fragment(items, origin=origin, node_key=partner.public_key if partner else None,
                           earlier_keys=partner.previous_keys if partner else (), kept=kept,
                           certificates=certificates)
