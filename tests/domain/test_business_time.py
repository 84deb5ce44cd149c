"""Business time (``occurred_on``) is not recording time, and is never in the future."""

from __future__ import annotations

import time

import pytest

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.time import (
    CLOCK_TOLERANCE_SECONDS,
    check_occurred_on,
    end_of_day,
    format_time,
    parse_time,
    parse_until,
    year_of,
)

NOW = 1_750_000_000
YEAR = 365 * 86_400


@pytest.mark.parametrize(
    "occurred_on",
    [NOW, NOW - 1, NOW + CLOCK_TOLERANCE_SECONDS, NOW - 40 * YEAR, 0, -30 * YEAR],
    ids=["now", "just-before", "within-clock-tolerance", "decades-ago", "epoch", "before-1970"],
)
def test_accepted(occurred_on):
    assert check_occurred_on(occurred_on, now=NOW) == occurred_on


@pytest.mark.parametrize(
    "occurred_on",
    [NOW + CLOCK_TOLERANCE_SECONDS + 1, NOW + YEAR, NOW * 1000],
    ids=["beyond-tolerance", "next-year", "milliseconds-by-mistake"],
)
def test_future_is_refused(occurred_on):
    with pytest.raises(InvalidField) as info:
        check_occurred_on(occurred_on, now=NOW)
    assert info.value.field == "occurred_on"
    assert "future" in str(info.value)


@pytest.mark.parametrize("occurred_on", [float(NOW), str(NOW), None, True])
def test_only_integers_are_business_times(occurred_on):
    with pytest.raises(InvalidField) as info:
        check_occurred_on(occurred_on, now=NOW)
    assert info.value.field == "occurred_on"


def test_field_name_is_the_callers():
    with pytest.raises(InvalidField) as info:
        check_occurred_on(NOW + YEAR, now=NOW, field="valid_from")
    assert info.value.field == "valid_from"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1970-01-01", 0),
        ("2024-03-01", 1_709_251_200),
        ("2024-03-01T12:00:00", 1_709_294_400),
        ("2024-03-01T12:00:00Z", 1_709_294_400),
        ("2024-03-01T13:00:00+01:00", 1_709_294_400),
        ("1985-06-15", 487_641_600),
    ],
)
def test_parse_time(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "01/03/2024", None])
def test_parse_time_refuses_what_is_not_a_date(text):
    with pytest.raises(InvalidField) as info:
        parse_time(text, field="date")
    assert info.value.field == "date"


def test_format_time_round_trips_and_never_fails():
    assert format_time(1_709_294_400) == "2024-03-01T12:00:00Z"
    assert parse_time(format_time(1_709_294_400)) == 1_709_294_400
    assert "seconds" in format_time(10**15)  # out of datetime's range: shown as a number


def test_weapon_commands_refuse_a_future_business_date(make_weapon, authorities):
    weapon = make_weapon()
    future = int(time.time()) + CLOCK_TOLERANCE_SECONDS + 3600
    police = authorities[AuthorityKind.POLICE]
    for command in (weapon.report_lost, weapon.report_stolen):
        with pytest.raises(InvalidField) as info:
            command(authority=police, place="", circumstances="", occurred_on=future)
        assert info.value.field == "occurred_on"
    with pytest.raises(InvalidField) as info:
        weapon.mark(authority=police, mark="M", reason="", occurred_on=future)
    assert info.value.field == "occurred_on"
    assert weapon.version == 1


def test_business_time_is_kept_apart_from_recording_time(make_weapon):
    # make_weapon records a manufacture that happened 30 days ago.
    (event,) = make_weapon().collect_events()
    assert event.timestamp.timestamp() - event.occurred_on >= 30 * 86_400 - 120


# --- the end of a day: "valid until 2030-12-31" includes that day -------------------------------


@pytest.mark.parametrize("moment", [
    parse_time("2030-12-31"), parse_time("2030-12-31T12:00:00Z"), parse_time("2030-12-31T23:59:59Z"),
], ids=["midnight", "noon", "last-second"])
def test_end_of_day_is_the_last_second_of_that_day(moment):
    assert end_of_day(moment) == parse_time("2030-12-31T23:59:59Z")


def test_end_of_day_before_1970():
    assert end_of_day(parse_time("1950-06-01T08:00:00Z")) == parse_time("1950-06-01T23:59:59Z")


@pytest.mark.parametrize("text, expected", [
    ("2030-12-31", "2030-12-31T23:59:59Z"),
    (" 2030-12-31 ", "2030-12-31T23:59:59Z"),
    ("2030-12-31T10:00:00Z", "2030-12-31T10:00:00Z"),
])
def test_a_plain_date_until_means_the_end_of_that_day(text, expected):
    assert format_time(parse_until(text)) == expected


def test_an_until_that_is_no_date_names_the_field():
    with pytest.raises(InvalidField) as info:
        parse_until("31/12/2030", field="valid_until")
    assert info.value.field == "valid_until"


def test_year_of_a_moment():
    assert year_of(parse_time("2024-12-31T23:59:59Z")) == 2024
    assert year_of(parse_time("2025-01-01")) == 2025
