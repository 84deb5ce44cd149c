"""Retention classes, their legal minimum periods, and when a record falls due (domain.retention)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from domain import event_types as types
from domain.authority import Authority, AuthorityKind
from domain.erasure import PersonErasure, erasure_id
from domain.errors import InvalidField, NotPermitted
from domain.retention import (
    RecordDue,
    RetentionClass,
    RetentionPeriods,
    add_years,
    last_due,
    record_due,
    retention_class,
)
from domain.sharing import default_recipients, default_recipients_by_type
from domain.time import parse_time


@dataclass(frozen=True)
class Record:
    type: str
    occurred_on: int
    stream: str = "s"
    version: int = 1
    node: str = "AA"
    recorded_at: int = 0
    authority: str = "k"
    body: dict[str, Any] = field(default_factory=dict)
    hash: bytes = b""


@pytest.mark.parametrize(("record_type", "kind"), [
    (types.MANUFACTURED, RetentionClass.MANUFACTURE),
    (types.TRANSFERRED, RetentionClass.OTHER),
    (types.EXPORTED, RetentionClass.OTHER),
    (types.LICENCE_ISSUED, RetentionClass.OTHER),
])
def test_each_record_type_has_a_class(record_type: str, kind: RetentionClass) -> None:
    assert retention_class(record_type) is kind


def test_a_licence_falls_due_twenty_years_after_its_date() -> None:
    due = record_due(Record(types.LICENCE_ISSUED, parse_time("2000-03-01")), RetentionPeriods(), destroyed_on=None)
    assert (due.retention_class, due.years, due.due_on) == (RetentionClass.OTHER, 20, parse_time("2020-03-01"))
    assert due.is_past(parse_time("2020-03-01")) and not due.is_past(parse_time("2020-02-29"))


def test_a_weapon_record_is_kept_while_the_weapon_exists_and_thirty_years_after_its_destruction() -> None:
    transfer = Record(types.TRANSFERRED, parse_time("1970-01-02"))
    assert record_due(transfer, RetentionPeriods(), destroyed_on=None).due_on is None
    due = record_due(transfer, RetentionPeriods(), destroyed_on=parse_time("1980-05-05"))
    assert due.due_on == parse_time("2010-05-05")


def test_without_the_directive_a_weapon_record_falls_due_after_its_class_period() -> None:
    periods = RetentionPeriods(after_destruction_years=None)
    made = record_due(Record(types.MANUFACTURED, parse_time("1960-01-01")), periods, destroyed_on=None)
    assert (made.years, made.due_on) == (30, parse_time("1990-01-01"))


def test_the_class_period_wins_when_it_ends_after_the_destruction_period() -> None:
    made = Record(types.MANUFACTURED, parse_time("2000-01-01"))
    due = record_due(made, RetentionPeriods(years={RetentionClass.MANUFACTURE: 60}),
                     destroyed_on=parse_time("2001-01-01"))
    assert due.due_on == parse_time("2060-01-01")


@pytest.mark.parametrize(("periods", "field_name"), [
    ({"years": {RetentionClass.MANUFACTURE: 29}}, "manufacture"),
    ({"years": {RetentionClass.OTHER: 10}, "fields": {RetentionClass.OTHER: "ARMSLEDGER_RETENTION_YEARS_OTHER"}},
     "ARMSLEDGER_RETENTION_YEARS_OTHER"),
    ({"after_destruction_years": 5}, "after_destruction_years"),
])
def test_a_period_below_the_legal_minimum_is_refused(periods: dict[str, Any], field_name: str) -> None:
    with pytest.raises(InvalidField, match="below") as refused:
        RetentionPeriods(**periods)
    assert refused.value.field == field_name


def test_the_record_due_last_allows_the_erasure_and_one_kept_indefinitely_comes_last() -> None:
    early = RecordDue("s", 1, types.LICENCE_ISSUED, RetentionClass.OTHER, 20, 100)
    late = RecordDue("s", 2, types.LICENCE_ISSUED, RetentionClass.OTHER, 20, 200)
    kept = RecordDue("w", 1, types.TRANSFERRED, RetentionClass.OTHER, 20, None)
    assert last_due([late, early]) == late
    assert last_due([early, kept, late]) == kept
    assert last_due([]) is None


def test_the_twenty_ninth_of_february_goes_to_the_twenty_eighth() -> None:
    assert add_years(parse_time("2024-02-29"), 1) == parse_time("2025-02-28")
    assert add_years(parse_time("1950-06-01"), 30) == parse_time("1980-06-01")


def test_an_erasure_goes_to_the_partners_that_received_the_persons_records_only() -> None:
    erasure = Record(types.PERSON_ERASED, parse_time("2026-01-01"), body={"partners": ("FR", "NL")})
    assert default_recipients(erasure, frozenset({"FR", "NL", "DE"}), lambda _: []) == {"FR", "NL"}
    assert default_recipients_by_type(types.PERSON_ERASED, frozenset({"FR"})) is None


def test_an_erasure_needs_the_registry_and_a_record_past_its_period() -> None:
    now = parse_time("2026-01-01")
    due = RecordDue("s", 1, types.TRANSFERRED, RetentionClass.OTHER, 20, now + 1)
    registry = Authority("k", AuthorityKind.REGISTRY, "BE")
    with pytest.raises(InvalidField) as refused:
        PersonErasure.erase(authority=registry, reference="person:X", allowed_by=due, partners=(), occurred_on=now)
    assert refused.value.field == "on"
    with pytest.raises(NotPermitted):
        PersonErasure.erase(authority=Authority("k", AuthorityKind.POLICE, "BE"), reference="person:X",
                            allowed_by=due, partners=(), occurred_on=now + 1)
    erased = PersonErasure.erase(authority=registry, reference="person:X", allowed_by=due, partners=("NL", "FR"),
                                 occurred_on=now + 1)
    assert (erased.id, erased.partners, erased.due_on) == (erasure_id("person:X"), ("FR", "NL"), now + 1)
