"""The one range check of counts and day periods: at and past each bound."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.numbers import LARGEST_WHOLE, check_whole
from domain.time import LONGEST_PERIOD_DAYS, check_days


@pytest.mark.parametrize("value", [0, 1, LARGEST_WHOLE])
def test_counts_within_the_range_are_kept(value):
    assert check_whole(value, "quantity") == value


@pytest.mark.parametrize("value, words", [
    (-1, "negative"), (LARGEST_WHOLE + 1, "largest"), (2**64, "largest"), (True, "whole number"),
    ("3", "whole number"), (3.0, "whole number"), (None, "whole number"),
])
def test_counts_out_of_range_or_of_another_type_are_refused_naming_the_field(value, words):
    with pytest.raises(InvalidField, match=words) as refused:
        check_whole(value, "quantity")
    assert refused.value.field == "quantity"


def test_day_periods_stop_at_the_longest():
    assert check_days(LONGEST_PERIOD_DAYS, "overdue_days") == LONGEST_PERIOD_DAYS
    with pytest.raises(InvalidField) as refused:
        check_days(LONGEST_PERIOD_DAYS + 1, "overdue_days")
    assert refused.value.field == "overdue_days"


def test_the_largest_count_survives_a_json_reader():
    assert int(float(LARGEST_WHOLE)) == LARGEST_WHOLE and int(float(LARGEST_WHOLE + 2)) != LARGEST_WHOLE + 2
