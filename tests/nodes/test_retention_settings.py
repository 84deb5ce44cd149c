"""Retention periods read from the environment: longer than the texts ask is allowed, shorter refused."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.retention import RetentionClass
from nodes.settings import Settings


def test_the_defaults_are_the_legal_minima() -> None:
    periods = Settings.load({}).retention
    assert periods.years_of(RetentionClass.MANUFACTURE) == 30
    assert periods.years_of(RetentionClass.OTHER) == 20
    assert periods.after_destruction_years == 30


def test_a_state_keeps_records_longer_or_is_not_bound_by_the_directive() -> None:
    periods = Settings.load({"ARMSLEDGER_RETENTION_YEARS_OTHER": "25",
                             "ARMSLEDGER_RETENTION_YEARS_AFTER_DESTRUCTION": "off"}).retention
    assert periods.years_of(RetentionClass.OTHER) == 25
    assert periods.after_destruction_years is None


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("ARMSLEDGER_RETENTION_YEARS_MANUFACTURE", "20", "below the legal minimum of 30 years"),
    ("ARMSLEDGER_RETENTION_YEARS_OTHER", "ten", "not a whole number of years"),
    ("ARMSLEDGER_RETENTION_YEARS_AFTER_DESTRUCTION", "10", "below the 30 years"),
])
def test_a_bad_period_names_its_variable(variable: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidField, match=reason) as refused:
        Settings.load({variable: value})
    assert refused.value.field == variable
