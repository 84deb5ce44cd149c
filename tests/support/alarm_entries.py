"""Quarantine entries put straight into a node's inbox, for the tests of alarms and their settlement:
an alarm as ingest records it (kind ``alarm``), and an error beside it."""

from __future__ import annotations

from nodes.federation.inbox import Inbox
from nodes.federation.inbox_records import InboxBatch, QuarantineEntry

RECEIVED_AT = 1_700_000_000_000_000


def quarantine_entry(offset: int, *, alarm: bool) -> QuarantineEntry:
    """A fork alarm (``alarm``) or a malformed message from BE at ``offset`` of NL's inbox topic."""
    return QuarantineEntry(received_at=RECEIVED_AT, topic="t.inbox.NL", offset=offset, origin="BE",
                           reason="fork-or-rewrite" if alarm else "malformed", kind="alarm" if alarm else "error",
                           detail="two histories" if alarm else "junk", key=b"BE", message=b"evidence %d" % offset)


def quarantine_alarm_and_error(inbox: Inbox) -> tuple[int, int]:
    """Record an error and an alarm in ``inbox``; their quarantine ids (error, alarm)."""
    assert inbox.record(InboxBatch(quarantined=[quarantine_entry(1, alarm=False), quarantine_entry(2, alarm=True)]))
    error, alarm = inbox.quarantined()
    return error["id"], alarm["id"]
