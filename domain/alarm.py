"""The signed record that an operator reviewed an alarm and settled it.

An alarm is signed evidence that a partner showed two histories (docs/federation.md,
"Ingest"). It is never deleted: the node keeps it as evidence, and settling it is a
national record of its own, signed by the registry authority and naming the officer,
the quarantine entry (by the SHA-256 of its stored bytes), the partner and why it was
settled. One stream per entry, so an alarm is settled once.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.errors import InvalidField
from domain.marking import ARMSLEDGER_NAMESPACE, check_text
from domain.signed_aggregate import SignedAggregate

#: Longest settlement reason: a paragraph of the operator's review.
MAX_REASON = 2000
_HEX = frozenset("0123456789abcdef")


def settlement_id(entry: str) -> uuid.UUID:
    """The stream of the settlement of the quarantine entry whose hash is ``entry``."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"alarm-settled|{entry}")


class Alarm(SignedAggregate):
    """The settlement of one alarm; recorded once and never changed."""

    TOPIC = "Alarm"

    class Event(SignedAggregate.Event):
        TOPIC = "Alarm.Event"

    class Settled(Event, Aggregate.Created):
        """``entry``: SHA-256 (hex) of the quarantine entry as stored; ``origin``: the partner it is
        about; ``alarm``: its quarantine reason; ``reason``: why the operator settled it."""

        TOPIC = types.ALARM_SETTLED
        entry: str
        origin: str
        alarm: str
        reason: str

    def __init__(self, occurred_on: int, authority: str, entry: str, origin: str, alarm: str, reason: str):
        self.occurred_on = occurred_on
        self.entry = entry
        self.origin = origin
        self.alarm = alarm
        self.reason = reason

    @staticmethod
    def create_id(entry: str, **_: Any) -> uuid.UUID:
        return settlement_id(entry)

    @classmethod
    def settle(cls, *, authority: Authority, entry: str, origin: str, alarm: str, reason: str,
               occurred_on: int) -> Alarm:
        """The settlement of the alarm stored as the quarantine entry hashed ``entry``.

        ``NotPermitted`` unless ``authority`` may settle alarms; ``InvalidField`` (field ``reason``)
        for a blank or overlong reason or one with control characters, (field ``entry``) for
        anything but a SHA-256 hash in lower-case hex.
        """
        check_permitted(types.ALARM_SETTLED, authority.kind)
        reason = check_text(reason, "reason", max_length=MAX_REASON)
        if len(entry) != 64 or not set(entry) <= _HEX:
            raise InvalidField(f"{entry[:70]!r} is not a SHA-256 hash in hex", field="entry")
        return cls._open(cls.Settled, authority=authority, occurred_on=occurred_on, entry=entry, origin=origin,
                         alarm=alarm, reason=reason)
