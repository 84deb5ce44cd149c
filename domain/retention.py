"""How long a record must be kept: retention classes, their legal minimum periods, and when a record falls due.

Pure: the node reads the periods from its settings and hands over the records it holds. The sources
and their wording are in docs/personal-data.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from domain import event_types as types
from domain.choice import parse_choice
from domain.errors import InvalidField
from domain.records import SignedRecord


class RetentionClass(str, Enum):
    # ITI para 12(a): "manufacturing records for at least 30 years".
    MANUFACTURE = "manufacture"
    # ITI para 12(b): "all other records, including records of import and export, for at least 20 years";
    # FP art 7 asks for "not less than ten years", which twenty satisfies.
    OTHER = "other"

    @classmethod
    def parse(cls, value: str, field: str = "class") -> RetentionClass:
        """The class named ``value``; ``InvalidField`` on ``field`` otherwise."""
        return parse_choice(cls, value, field=field, noun="a retention class")


#: The least number of years each class may be kept for, and the text that says so.
LEGAL_MINIMUM_YEARS: dict[RetentionClass, int] = {RetentionClass.MANUFACTURE: 30, RetentionClass.OTHER: 20}
SOURCES: dict[RetentionClass, str] = {
    RetentionClass.MANUFACTURE: "ITI para 12(a)",
    RetentionClass.OTHER: "ITI para 12(b); FP art 7",
}
#: Directive (EU) 2021/555 art 4(4): records of a firearm or essential component, including the related
#: personal data, are kept for 30 years after its destruction.
AFTER_DESTRUCTION_YEARS = 30
AFTER_DESTRUCTION_SOURCE = "Directive (EU) 2021/555 art 4(4)"
_MANUFACTURING = frozenset({types.MANUFACTURED})
#: The records that destroy a weapon or a component.
DESTRUCTIONS = frozenset({types.DESTROYED, types.COMPONENT_DESTROYED})
_DESTRUCTIBLE_PREFIXES = (types.WEAPON_PREFIX, types.COMPONENT_PREFIX)


def retention_class(record_type: str) -> RetentionClass:
    """The retention class of every record of ``record_type``."""
    return RetentionClass.MANUFACTURE if record_type in _MANUFACTURING else RetentionClass.OTHER


@dataclass(frozen=True)
class RetentionPeriods:
    """The years each class is kept for, and the years after destruction (None: the state is not bound
    by the Directive, so destruction sets no period of its own).

    ``InvalidField`` (naming ``fields[class]`` or ``after_destruction_field``) for a period below its
    legal minimum: a state may keep records longer than the texts ask, never shorter.
    """

    years: Mapping[RetentionClass, int] = field(default_factory=lambda: dict(LEGAL_MINIMUM_YEARS))
    after_destruction_years: int | None = AFTER_DESTRUCTION_YEARS
    fields: Mapping[RetentionClass, str] = field(default_factory=dict, compare=False)
    after_destruction_field: str = field(default="after_destruction_years", compare=False)

    def __post_init__(self) -> None:
        for kind, least in LEGAL_MINIMUM_YEARS.items():
            given = self.years.get(kind, least)
            if given < least:
                raise InvalidField(f"{given} years is below the legal minimum of {least} years for "
                                   f"{kind.value} records ({SOURCES[kind]})", field=self.fields.get(kind, kind.value))
        after = self.after_destruction_years
        if after is not None and after < AFTER_DESTRUCTION_YEARS:
            raise InvalidField(f"{after} years after destruction is below the {AFTER_DESTRUCTION_YEARS} years of "
                               f"{AFTER_DESTRUCTION_SOURCE}", field=self.after_destruction_field)

    def years_of(self, kind: RetentionClass) -> int:
        return self.years.get(kind, LEGAL_MINIMUM_YEARS[kind])


@dataclass(frozen=True)
class RecordDue:
    """When one record may go: ``due_on`` (epoch seconds) is None while it must be kept indefinitely
    (a weapon not yet destroyed, where the Directive applies)."""

    stream: str
    version: int
    type: str
    retention_class: RetentionClass
    years: int
    due_on: int | None

    def is_past(self, on: int) -> bool:
        return self.due_on is not None and self.due_on <= on


def record_due(record: SignedRecord, periods: RetentionPeriods, *, destroyed_on: int | None) -> RecordDue:
    """When ``record`` falls due: its class's years after its business date and, for a weapon or component
    record where the Directive applies, no earlier than that many years after ``destroyed_on`` (the business
    date of its stream's destruction, None while it is not destroyed)."""
    kind = retention_class(record.type)
    years = periods.years_of(kind)
    due: int | None = add_years(record.occurred_on, years)
    after = periods.after_destruction_years
    if after is not None and record.type.startswith(_DESTRUCTIBLE_PREFIXES):
        due = None if destroyed_on is None else max(add_years(destroyed_on, after), add_years(record.occurred_on,
                                                                                                years))
    return RecordDue(stream=record.stream, version=record.version, type=record.type, retention_class=kind,
                     years=years, due_on=due)


def last_due(dues: Iterable[RecordDue]) -> RecordDue | None:
    """The record that falls due last (the one that allows erasing what all of ``dues`` name), None if
    ``dues`` is empty; one kept indefinitely comes last."""
    ordered = sorted(dues, key=lambda d: (d.due_on is None, d.due_on or 0))
    return ordered[-1] if ordered else None


def add_years(moment: int, years: int) -> int:
    """``moment`` (epoch seconds) ``years`` calendar years later; 29 February goes to 28 February."""
    start = datetime.fromtimestamp(moment, tz=UTC)
    try:
        later = start.replace(year=start.year + years)
    except ValueError:
        later = start.replace(year=start.year + years, day=28)
    return int(later.timestamp())
