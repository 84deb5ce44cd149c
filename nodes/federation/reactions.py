"""Automatic signed steps after ingest: what a node does when partner records arrive.

``react(node, accepted)`` is called by sync/ingest after each committed batch of
accepted partner envelopes. For each envelope it may record steps of its own,
signed by the competent authority; the relay then publishes them like any other
record:

=============================  ===================================================
received                       our step
=============================  ===================================================
``TraceRequest.Submitted``     acknowledge (ITI para 19), then, unless
addressed to us                ARMSLEDGER_TRACE_AUTORESPOND=0, respond with the
                               signed fragment we hold or "untraceable" (para 20)
``TraceAnswer.Responded`` /    verify the fragment; forward the trace to every state
``Restricted`` of our trace    it shows an export to that was not asked yet
``Weapon.ReceiptConfirmed``    close our shipment once every weapon of it is
naming us as exporter          confirmed (``Shipment.ReceiptConfirmed``, FP art 10(4))
``PersonErasure.Recorded``     destroy the keys of our disclosure requests about that
                               person (no signed step: docs/personal-data.md)
=============================  ===================================================

Every step is idempotent (a step done already is not done again), so reacting
twice to the same records, or to records replayed after a crash, changes
nothing. A partner record that our rules refuse (a receipt by a state that was
not the destination, a trace answered twice) is skipped and reported in the
returned ``Reaction.skipped``; a step that fails for any other reason but the
database (a bug, input nobody foresaw) is logged and reported in ``Reaction.failed``.
Either way the record stays accepted and ``record_failures`` lists it in the
quarantine (reason ``reaction-failed``): bad input never stops ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from domain.errors import DomainError
from domain.event_types import (
    PERSON_ERASED,
    TRACE_ACKNOWLEDGED as ACKNOWLEDGED,
    TRACE_RESPONDED as RESPONDED,
    TRACE_RESTRICTED as RESTRICTED,
    TRACE_SUBMITTED as SUBMITTED,
)
from ledger.envelope import Envelope
from nodes.errors import StorageError
from nodes.federation import crossborder
from nodes.federation.inbox_records import KIND_ERROR, InboxBatch, QuarantineEntry, now_us
from nodes.federation.ingest_reasons import REACTION_FAILED
from nodes.persons import disclosure
from nodes.ports import Inbox, Node
from nodes.registry.paging import received
from nodes.settings import TraceSettings
from nodes.tracing import service as tracing

log = logging.getLogger(__name__)


#: The quarantine entries of failed reactions name this as their topic, the record's version as offset.
REACTIONS_TOPIC = "reactions"


@dataclass
class Reaction:
    """What ``react`` recorded: one line per step, the records it skipped with the reason, and
    (record, why) for every record whose step failed (skipped ones included)."""

    steps: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[Envelope, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.steps)


def react(node: Node, accepted: Iterable[Envelope], transport_publish: Callable[..., object] | None = None, *,
          settings: TraceSettings | None = None) -> Reaction:
    """Record our automatic steps for ``accepted`` partner envelopes (see the module docstring).

    ``transport_publish`` is accepted for the ingest contract and not used: our
    new records reach partners through the relay, from the log, which seals the
    checkpoint that proves them (a sync relays after its drain, ``node run`` when its
    log grew). Requires an unlocked node.
    """
    settings = settings or node.settings.trace
    us = node.identity.state
    done = Reaction()
    for envelope in accepted:
        try:
            if envelope.type == SUBMITTED and envelope.body.get("addressee") == us:
                _answer(node, envelope, settings, done)
            elif envelope.type in (RESPONDED, RESTRICTED):
                for follow_up in tracing.follow_response(node, envelope):
                    done.steps.append(f"trace {envelope.stream}: {envelope.node}'s answer shows an export; "
                                      f"forwarded as trace {follow_up}")
            elif envelope.type == crossborder.RECEIPT and envelope.body.get("from_state") == us:
                closed = crossborder.close_shipment(node, envelope)
                if closed is not None:
                    done.steps.append(f"shipment {closed}: receipt confirmed by {envelope.node}, closed")
            elif envelope.type == PERSON_ERASED:
                for request in disclosure.forget_erased(node, envelope):
                    log.info("disclosure %s: %s erased the person; our key to it destroyed", request, envelope.node)
        except DomainError as e:
            message = f"{envelope.type} {envelope.stream} from {envelope.node}: {e}"
            log.warning("reaction skipped: %s", message)
            done.skipped.append(message)
            done.failed.append((envelope, f"refused by our rules: {e}"))
        except StorageError:
            raise  # infrastructure: the reactions position stays, so the next start reacts again
        except Exception as e:  # a step that broke on input nobody foresaw: never stop ingest for it
            log.exception("reaction failed: %s %s from %s", envelope.type, envelope.stream, envelope.node)
            done.failed.append((envelope, f"failed: {type(e).__name__}: {e}"))
    return done


def record_failures(inbox: Inbox, reaction: Reaction) -> int:
    """List ``reaction``'s failed records in ``inbox``'s quarantine (once each); returns how many are new.

    Raises ``StorageError`` when the database fails.
    """
    entries = {entry.id: entry for entry in (_failure_entry(e, why) for e, why in reaction.failed)}
    held = inbox.existing(entries)
    new = [entry for entry_id, entry in entries.items() if entry_id not in held]
    if new:
        inbox.record(InboxBatch(quarantined=new))  # False: another process listed them meanwhile
    return len(new)


def _failure_entry(envelope: Envelope, why: str) -> QuarantineEntry:
    what = f"{envelope.type} v{envelope.version} of {envelope.node} stream {envelope.stream}"
    return QuarantineEntry(received_at=now_us(), topic=REACTIONS_TOPIC, offset=envelope.version, origin=envelope.node,
                           reason=REACTION_FAILED, kind=KIND_ERROR, detail=f"{what}: accepted, but our step {why}",
                           key=envelope.stream.encode(), message=envelope.to_bytes())


def _answer(node: Node, request: Envelope, settings: TraceSettings, done: Reaction) -> None:
    if settings.autorespond:
        # Both steps in one transaction; the relay's next seal covers them both.
        answered = tracing.acknowledge_and_respond(node, request)
        if answered is not None:
            done.steps.append(f"trace {request.stream} from {request.node}: acknowledged")
            done.steps.append(f"trace {request.stream} from {request.node}: {answered.split('.', 1)[1].lower()}")
            return
    if tracing.acknowledge(node, request):
        done.steps.append(f"trace {request.stream} from {request.node}: acknowledged")
    elif _handled(node, request):
        return
    if settings.autorespond:
        answered = tracing.respond(node, request.stream)
        done.steps.append(f"trace {request.stream} from {request.node}: {answered.split('.', 1)[1].lower()}")


def _handled(node: Node, request: Envelope) -> bool:
    """True when an officer or an earlier reaction took a step after the acknowledgement."""
    return any(e.type != ACKNOWLEDGED for e in node.registry.envelopes(request.stream))


def catch_up(node: Node, *, settings: TraceSettings | None = None) -> Reaction:
    """React to every partner record received so far: repairs steps lost when a reaction failed.

    Ingest commits a batch before ``react`` runs, so a crash (or a database
    failure) in between loses the reaction; since every step is idempotent,
    reacting again to everything received does exactly the missing steps.
    Reads the whole inbox: for repair and startup, not for every batch.
    """
    return react(node, [envelope for _, envelope in received(node.inbox)], settings=settings)
