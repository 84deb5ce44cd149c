"""Stolen-weapon hits on a node: finding partners' loss and theft reports, and listing the alerts received.

Two sides of one exchange (``domain.hit``):

- the recording side: ``MissingReports`` is what ``Registry.reported_missing`` asks when a
  seizure or import is recorded: the partners' outstanding reports of the weapon, from the
  records received (verified at ingest). ``warnings`` turns the notices recorded with it into
  the lines the officer sees at once;
- the reporting side: ``alerts`` lists the hit notices partners sent us, newest first, each
  with our report it hit when we still hold it.

The CLI (``armsledger alerts``), the API (``GET /api/v1/alerts``) and the tracing desk's
alerts page all call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from domain.errors import InvalidField
from domain.event_types import HIT_NOTICE_SENT, IMPORTED
from domain.hit import HitNotice, outstanding_reports
from domain.numbers import check_whole
from domain.records import SignedRecord
from domain.time import format_time
from ledger.envelope import Envelope
from nodes.federation.crossborder import partner_states
from nodes.ports import Node
from nodes.registry.paging import received

#: Most alerts one listing returns.
MAX_ALERTS = 10_000
DEFAULT_ALERTS = 100


class MissingReports:
    """``Registry.reported_missing`` for ``node``: its trusted partners' outstanding loss or theft
    reports of a weapon, among the records received from them."""

    def __init__(self, node: Node):
        self.node = node

    def __call__(self, weapon_id: UUID) -> Sequence[SignedRecord]:
        partners = partner_states(self.node)
        if not partners:
            return []
        held = self.node.inbox.received_about(str(weapon_id), partners)
        return outstanding_reports(held, own_state=self.node.identity.state)


def warnings(hits: Iterable[HitNotice]) -> list[dict[str, Any]]:
    """One warning per notice recorded with a seizure or import: what the officer is told at once."""
    return [{
        "reporting_state": hit.reporting_state,
        "reported": _missing_word(hit.reported_type),
        "reported_record": hit.reported_record,
        "hit_notice": str(hit.id),
        "message": (f"WARNING: {hit.reporting_state} reported this weapon {_missing_word(hit.reported_type)} "
                    f"(record {hit.reported_record[:12]}); a hit notice goes to {hit.reporting_state} "
                    "on the next sync"),
    } for hit in hits]


def alerts(node: Node, *, limit: int = DEFAULT_ALERTS) -> list[dict[str, Any]]:
    """The hit notices partners sent this node, newest first (by date of the seizure or import, then
    by recording time): at most ``limit`` (1 to ``MAX_ALERTS``; ``InvalidField`` on ``limit`` otherwise).

    Reads every record received: a node holds few notices among them, and this is read on demand.
    """
    limit = check_whole(limit, "limit", least=1, most=MAX_ALERTS)
    notices = [envelope for _, envelope in received(node.inbox) if envelope.type == HIT_NOTICE_SENT]
    notices.sort(key=lambda e: (e.occurred_on, e.recorded_at), reverse=True)
    return [_alert(node, notice) for notice in notices[:limit]]


def _alert(node: Node, notice: Envelope) -> dict[str, Any]:
    body = notice.body
    return {
        "weapon_id": str(body.get("weapon_id", "")),
        "marking": dict(body.get("marking") or {}),
        "place": str(body.get("place", "")),
        "date": format_time(notice.occurred_on)[:10],
        "occurred_on": notice.occurred_on,
        "recording_state": str(body.get("recording_state", "")),
        "recorded": "import" if body.get("recorded_type") == IMPORTED else "seizure",
        "reported": _missing_word(str(body.get("reported_type", ""))),
        "reported_record": str(body.get("reported_record", "")),
        "our_report": _our_report(node, str(body.get("weapon_id", "")), str(body.get("reported_record", ""))),
        "hash": notice.hash.hex(),
        "received_from": notice.node,
        "recorded_at": notice.recorded_at,
    }


def _our_report(node: Node, weapon_id: str, reported_hash: str) -> Mapping[str, Any] | None:
    """Date and place of our report the notice names, or None when we hold no such record."""
    try:
        envelopes = node.registry.envelopes(weapon_id)
    except InvalidField:  # a weapon id that is no UUID names no record of ours (ingest checked it is one)
        return None
    for envelope in envelopes:
        if envelope.hash.hex() == reported_hash:
            return {"date": format_time(envelope.occurred_on)[:10], "place": str(envelope.body.get("place", "")),
                    "type": envelope.type}
    return None


def _missing_word(record_type: str) -> str:
    return "lost" if record_type.endswith("Lost") else "stolen"
