"""What every aggregate of the domain shares: each of its events is a signed record.

An event carries its business time (``occurred_on``) and the key id of the
authority that records it; the envelope mapper lifts both into the signed
envelope's header (DESIGN.md "The signed envelope"). ``_open`` and ``_record``
check the business time and name the authority, so that commands state only
their own rules and fields.
"""

from __future__ import annotations

import uuid
from typing import Any, Self

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate

from domain.authority import Authority
from domain.time import check_occurred_on


class SignedAggregate(Aggregate):
    """Base of the aggregates ``Weapon``, ``Licence``, ``Shipment``, ``TraceRequest``, ``TraceAnswer``.

    The node's register of authority keys uses its ``Event`` too.
    """

    class Event(Aggregate.Event):
        """Business time and the recording authority's key id, common to every record."""

        occurred_on: int
        authority: str

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
