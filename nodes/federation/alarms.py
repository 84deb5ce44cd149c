"""Alarms and their settlement: which alarms of the quarantine are still open, and the
signed record (``Alarm.Settled``, domain.alarm) by which an operator settles one.

An alarm stays in the quarantine for ever as evidence; a settlement is a record of the
node's own log, signed by the registry authority and naming the officer, so settling is
audited like any other record. ``armsledger quarantine`` exits 1 only for open alarms.
The rules: docs/federation.md, "Alarms".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.alarm import MAX_REASON, Alarm, settlement_id
from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.marking import check_text
from domain.time import format_time
from ledger.envelope import Envelope
from nodes.federation.inbox_records import ParkedEntry
from nodes.ports import Node
from nodes.registry.application import Registry


@dataclass(frozen=True)
class AlarmState:
    """An alarm of the quarantine and its settlement record, if one was recorded."""

    alarm: ParkedEntry
    settlement: Envelope | None

    @property
    def settled(self) -> bool:
        return self.settlement is not None

    def settled_summary(self) -> dict[str, Any] | None:
        """{at, officer, reason, record} of the settlement (``officer``: account id, "" for the node
        operator; ``record``: the hash of the signed record), or None while the alarm is open."""
        if self.settlement is None:
            return None
        body = self.settlement.body
        return {"at": format_time(self.settlement.recorded_at // 1_000_000), "officer": body.get("officer", ""),
                "reason": body.get("reason", ""), "record": self.settlement.hash.hex()}


def alarm_states(node: Node) -> list[AlarmState]:
    """Every alarm of the quarantine, in arrival order, with its settlement if recorded."""
    return [AlarmState(alarm, _settlement(node.registry, alarm.hash)) for alarm in node.inbox.alarms()]


def open_alarm_count(node: Node) -> int:
    """How many alarms are not settled: what makes ``armsledger quarantine`` exit 1."""
    return sum(1 for state in alarm_states(node) if not state.settled)


def with_settlements(node: Node, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` (``Inbox.quarantined`` summaries) with ``settled``: for an alarm, its settlement
    (``AlarmState.settled_summary``) or None; absent for other entries."""
    if not any(e["kind"] == "alarm" for e in entries):
        return entries
    settled = {state.alarm.hash: state.settled_summary() for state in alarm_states(node)}
    return [{**e, "settled": settled.get(e["hash"])} if e["kind"] == "alarm" else e for e in entries]


def settle_command(node: Node, entry_id: int, reason: str, *,
                   now: Callable[[], float] = time.time) -> Callable[[Registry], dict[str, Any]]:
    """The command that records the settlement of the alarm listed as ``entry_id`` (its quarantine id),
    signed by the registry authority; it answers {id, entry, origin} (``settled`` adds the record's hash
    once it is stored: a group committer stores it after the command returns).

    ``InvalidField`` (field ``reason``) for a blank or overlong reason, (field ``id``) for an id that is
    no alarm in the quarantine, or one already settled (checked again when the command runs, so two
    operators settling at once record one settlement). Nothing is written when it is refused.
    """
    reason = check_text(reason, "reason", max_length=MAX_REASON)
    alarm = next((a for a in node.inbox.alarms() if a.notification_id == entry_id), None)
    if alarm is None:
        raise InvalidField(f"{entry_id} is not an alarm in the quarantine (armsledger alarm list)", field="id")

    def record(registry: Registry) -> dict[str, Any]:
        if _settlement(registry, alarm.hash) is not None:
            raise InvalidField(f"alarm {entry_id} is settled already", field="id")
        settlement = Alarm.settle(authority=registry.authority(AuthorityKind.REGISTRY), entry=alarm.hash,
                                  origin=alarm.entry.origin, alarm=alarm.entry.reason, reason=reason,
                                  occurred_on=int(now()))
        registry.save(settlement)
        return {"id": entry_id, "entry": alarm.hash, "origin": alarm.entry.origin}
    return record


def settled(node: Node, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` of a settle command with ``record``: the hash of the signed settlement, as stored."""
    settlement = _settlement(node.registry, answer["entry"])
    return {**answer, "record": None if settlement is None else settlement.hash.hex()}


def _settlement(registry: Registry, entry_hash: str) -> Envelope | None:
    found = registry.envelopes(settlement_id(entry_hash))
    return found[0] if found else None
