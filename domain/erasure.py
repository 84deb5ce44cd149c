"""The signed record that a person's identity was erased at the end of its retention period.

One stream per person reference: the registry says once that it destroyed the person's data key,
on which date, and which retention class and period allowed it. The record names the reference
only, never the identity, and the states that received records naming it (they learn it too).
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.errors import InvalidField
from domain.marking import ARMSLEDGER_NAMESPACE
from domain.retention import RecordDue
from domain.signed_aggregate import SignedAggregate


def erasure_id(reference: str) -> uuid.UUID:
    """The stream of the erasure of ``reference``: one per reference, so it is recorded once."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"person-erased|{reference}")


class PersonErasure(SignedAggregate):
    """The erasure of one person's identity; recorded once and never changed."""

    TOPIC = "PersonErasure"

    class Event(SignedAggregate.Event):
        TOPIC = "PersonErasure.Event"

    class Recorded(Event, Aggregate.Created):
        """``reference``: the person reference erased; ``retention_class``, ``years`` and ``due_on``: the
        record that fell due last among those naming it (its period allowed the erasure); ``partners``:
        the states that received records naming the reference. The business time is the erasure's."""

        TOPIC = types.PERSON_ERASED
        reference: str
        retention_class: str
        years: int
        due_on: int
        partners: tuple[str, ...]

    def __init__(self, occurred_on: int, authority: str, reference: str, retention_class: str, years: int,
                 due_on: int, partners: tuple[str, ...]):
        self.occurred_on = occurred_on
        self.reference = reference
        self.retention_class = retention_class
        self.years = years
        self.due_on = due_on
        self.partners = tuple(partners)

    @staticmethod
    def create_id(reference: str, **_: Any) -> uuid.UUID:
        return erasure_id(reference)

    @classmethod
    def erase(cls, *, authority: Authority, reference: str, allowed_by: RecordDue, partners: tuple[str, ...],
              occurred_on: int) -> PersonErasure:
        """The erasure of ``reference``, which ``allowed_by`` (the record naming it that fell due last) allows.

        ``NotPermitted`` unless ``authority`` may record erasures; ``InvalidField`` (field ``reference``)
        for a blank reference, (field ``on``) when ``allowed_by`` is not past its period on ``occurred_on``.
        """
        check_permitted(types.PERSON_ERASED, authority.kind)
        if not reference.strip():
            raise InvalidField("a person reference is required", field="reference")
        if allowed_by.due_on is None or not allowed_by.is_past(occurred_on):
            raise InvalidField(f"a record naming {reference} is not past its retention period", field="on")
        return cls._open(cls.Recorded, authority=authority, occurred_on=occurred_on, reference=reference,
                         retention_class=allowed_by.retention_class.value, years=allowed_by.years,
                         due_on=allowed_by.due_on, partners=tuple(sorted(set(partners))))
