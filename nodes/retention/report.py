"""What is past its retention period on a date: records per class, and the persons whose every record is.

The periods come from the node's settings (``domain.retention``); a record names a person when its signed
body holds the person's reference. ``retention report`` prints this document and ``retention run`` erases
the persons it lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.event_types import PERSON_ERASED
from domain.person import PERSON_PREFIX, is_person_reference
from domain.retention import (
    AFTER_DESTRUCTION_SOURCE,
    DESTRUCTIONS,
    LEGAL_MINIMUM_YEARS,
    SOURCES,
    RecordDue,
    RetentionClass,
    RetentionPeriods,
    last_due,
    record_due,
)
from domain.time import format_time
from ledger.envelope import Envelope
from nodes.ports import Node

#: ``partners_of(record)``: the partner states that received one of this node's own records.
Recipients = Callable[[Envelope], frozenset[str]]


class PersonRegister(Protocol):
    """What retention needs of the identity vault (``nodes.persons.vault.IdentityVault``)."""

    def references(self) -> list[str]: ...
    def is_erased(self, ref: str) -> bool: ...
    def erase(self, ref: str) -> None: ...


@dataclass(frozen=True)
class ErasablePerson:
    """A person every record of whom is past its period: ``allowed_by`` fell due last; ``records``: how
    many name the person; ``partners``: the states that received them (when asked)."""

    reference: str
    allowed_by: RecordDue
    records: int
    partners: tuple[str, ...] = ()


@dataclass
class DueOn:
    """Everything the report says, for ``on`` (epoch seconds)."""

    on: int
    periods: RetentionPeriods
    past: dict[RetentionClass, int] = field(default_factory=dict)
    next_due: dict[RetentionClass, int] = field(default_factory=dict)
    #: Records kept while their weapon or component exists (Directive (EU) 2021/555 art 4(4)).
    kept: dict[RetentionClass, int] = field(default_factory=dict)
    erasable: list[ErasablePerson] = field(default_factory=list)
    #: Persons whose erasure was recorded but whose identity the vault still holds (a run cut short,
    #: or a backup restored from before the erasure): ``retention run`` finishes them.
    unfinished: list[str] = field(default_factory=list)
    next_person: tuple[str, int] | None = None

    def document(self) -> dict[str, Any]:
        """The report as plain data (the CLI's ``--json`` and the API's answer)."""
        after = self.periods.after_destruction_years
        return {
            "on": format_time(self.on),
            "classes": [{
                "class": kind.value, "years": self.periods.years_of(kind), "source": SOURCES[kind],
                "records_past": self.past.get(kind, 0), "records_kept_while_weapon_exists": self.kept.get(kind, 0),
                "next_due": _shown(self.next_due.get(kind)),
            } for kind in LEGAL_MINIMUM_YEARS],
            "after_destruction": {"years": after, "source": AFTER_DESTRUCTION_SOURCE if after is not None else ""},
            "erasable": [{
                "reference": p.reference, "class": p.allowed_by.retention_class.value,
                "years": p.allowed_by.years, "due_on": _shown(p.allowed_by.due_on), "records": p.records,
            } for p in self.erasable],
            "unfinished": list(self.unfinished),
            "next_person": None if self.next_person is None else {
                "reference": self.next_person[0], "due_on": format_time(self.next_person[1])},
        }


def due_on(node: Node, register: PersonRegister, on: int, *, partners_of: Recipients | None = None) -> DueOn:
    """What is past its period on ``on``: this node's own records per class, and the persons of ``register``
    not yet erased whose every record here is; reads only.

    Two passes over the log: the destruction dates first (a destruction comes after the records it lets go),
    then every record, with the person references its body holds. ``partners_of(record)``: the partners
    that received a record (for the erasure record); None: not asked.
    """
    periods = node.settings.retention
    report = DueOn(on=on, periods=periods)
    destroyed = destruction_dates(node)
    persons: dict[str, _Person] = {}
    recorded: set[str] = set()
    for _, stored in node.registry.stored_notifications():
        envelope = Envelope.from_bytes(stored.state)
        due = record_due(envelope, periods, destroyed_on=destroyed.get(envelope.stream))
        _count(report, due)
        if envelope.type == PERSON_ERASED:
            recorded.add(str(envelope.body.get("reference", "")))
        elif PERSON_PREFIX.encode() in stored.state:  # most records name no person: walk only those that may
            for reference in set(person_references(envelope.body)):
                persons.setdefault(reference, _Person()).add(due, partners_of(envelope) if partners_of else frozenset())
    for reference in sorted(register.references()):
        if register.is_erased(reference):
            continue
        if reference in recorded:
            report.unfinished.append(reference)
            continue
        named = persons.get(reference)
        last = None if named is None else named.last
        if named is None or last is None or last.due_on is None:
            continue
        if last.is_past(on):
            report.erasable.append(ErasablePerson(reference, last, named.records, tuple(sorted(named.partners))))
        elif report.next_person is None or last.due_on < report.next_person[1]:
            report.next_person = (reference, last.due_on)
    return report


def person_references(value: Any) -> Iterator[str]:
    """Every person reference among the values of a record's body (nested maps and lists included)."""
    if isinstance(value, str):
        if is_person_reference(value):
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from person_references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from person_references(item)


@dataclass
class _Person:
    """What the records naming one person add up to: the one due last, how many, who received them."""

    last: RecordDue | None = None
    records: int = 0
    partners: set[str] = field(default_factory=set)

    def add(self, due: RecordDue, partners: frozenset[str]) -> None:
        self.last = last_due([d for d in (self.last, due) if d is not None])
        self.records += 1
        self.partners |= partners


def _count(report: DueOn, due: RecordDue) -> None:
    kind = due.retention_class
    if due.is_past(report.on):
        report.past[kind] = report.past.get(kind, 0) + 1
    elif due.due_on is None:
        report.kept[kind] = report.kept.get(kind, 0) + 1
    elif due.due_on is not None and due.due_on < report.next_due.get(kind, due.due_on + 1):
        report.next_due[kind] = due.due_on


def destruction_dates(node: Node) -> dict[str, int]:
    """The business date of each destroyed weapon or component of this node's log, by stream (one pass)."""
    found: dict[str, int] = {}
    for _, stored in node.registry.stored_notifications():
        if stored.topic in DESTRUCTIONS:
            envelope = Envelope.from_bytes(stored.state)
            found.setdefault(envelope.stream, envelope.occurred_on)
    return found


def _shown(moment: int | None) -> str | None:
    return None if moment is None else format_time(moment)
