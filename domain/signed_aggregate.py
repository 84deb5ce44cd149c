"""What every aggregate of the domain shares: each of its events is a signed record.

An event carries its business time (``occurred_on``), the key id of the authority
that records it and the officer who recorded it; the envelope mapper lifts the first
two into the signed envelope's header (DESIGN.md "The signed envelope") and signs the
officer inside the body. ``_open`` and ``_record`` check the business time and name
the authority, so that commands state only their own rules and fields.

The officer is the account id of whoever the node acts for (``""``: the node operator
at the shell). It is set around a command with ``recording_officer(user_id)`` rather
than passed to every command, so that the domain's commands stay the same whoever
calls them. It is read when an event is created, not when it is saved, so a command
run on a writer thread (group commit) names the officer set on that thread for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import field
from typing import Any, Self

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate

from domain.authority import Authority
from domain.errors import InvalidField
from domain.time import check_occurred_on

#: Length of an officer id: an account id is a UUID in its canonical text form.
MAX_OFFICER_ID = 36

_officer: ContextVar[str] = ContextVar("recording_officer", default="")


def check_officer_id(officer_id: Any) -> str:
    """``officer_id`` if it is an account id (a UUID in canonical form) or "" (the node operator);
    ``InvalidField`` (field ``officer``) otherwise. Partners refuse records naming anything else."""
    if type(officer_id) is str and (officer_id == "" or canonical_uuid(officer_id) is not None):
        return officer_id
    raise InvalidField(f"{str(officer_id)[:70]!r} is not an account id (a UUID) nor \"\" (the operator)",
                       field="officer")


def canonical_uuid(text: Any) -> uuid.UUID | None:
    """The UUID ``text`` spells in its canonical form (lower-case hex, hyphens), else None."""
    if type(text) is not str or len(text) != 36:
        return None
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text else None


@contextmanager
def recording_officer(officer_id: str) -> Iterator[None]:
    """Name ``officer_id`` in every event created inside the block (in this thread or task).

    ``InvalidField`` (field ``officer``) unless ``check_officer_id`` accepts it.
    """
    token = _officer.set(check_officer_id(officer_id))
    try:
        yield
    finally:
        _officer.reset(token)


def current_officer() -> str:
    """The officer id events created now name (``""`` outside ``recording_officer``)."""
    return _officer.get()


class SignedAggregate(Aggregate):
    """Base of the aggregates ``Weapon``, ``Licence``, ``Shipment``, ``TraceRequest``, ``TraceAnswer``.

    The node's register of authority keys uses its ``Event`` too.
    """

    class Event(Aggregate.Event):
        """Business time, the recording authority's key id and the recording officer, common to every record.

        ``officer`` is keyword-only with a default taken from ``recording_officer`` when the
        event is created: eventsourcing makes events plain dataclasses, where a defaulted
        positional field here would forbid required fields in every subclass. A stored record
        signed before records named their officer is read back with ``""`` (the mapper).
        """

        occurred_on: int
        authority: str
        officer: str = field(default_factory=current_officer, kw_only=True)

    @classmethod
    def _open(cls, event_class: type[CanInitAggregate[uuid.UUID]], *, authority: Authority, occurred_on: int,
              **fields: Any) -> Self:
        """The new aggregate opened by ``event_class``; ``InvalidField`` if ``occurred_on`` is not plausible."""
        return cls._create(event_class, occurred_on=check_occurred_on(occurred_on), authority=authority.key_id,
                           **fields)

    def _record(self, event_class: type[CanMutateAggregate[uuid.UUID]], *, authority: Authority, occurred_on: int,
                **fields: Any) -> None:
        """Trigger ``event_class``; ``InvalidField`` if ``occurred_on`` is not plausible.

        Requires the command to have checked its rules (``check_permitted`` first).
        """
        self.trigger_event(event_class, occurred_on=check_occurred_on(occurred_on), authority=authority.key_id,
                           **fields)
