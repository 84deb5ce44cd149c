"""Business time (``occurred_on``): integer seconds since the Unix epoch, UTC.

Business time is when the thing happened (date of export, of seizure); recording
time is when the node wrote it. They are distinct: records of paper registers
are written today about events decades old, but never about the future.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from domain.errors import InvalidField
from domain.numbers import check_whole

# A day of epoch seconds (POSIX time has no leap seconds): the unit of every
# deadline and overdue period (receipt of shipments, trace steps).
SECONDS_PER_DAY = 86_400

# The longest period in days an overdue check may be asked for: more than any
# register's age (about 2,700 years), small enough that its seconds stay exact.
LONGEST_PERIOD_DAYS = 1_000_000

# Clocks of authorities' terminals drift; an event "in the future" by less than
# this is accepted (a receipt typed at 23:59:59 on a fast clock is not fraud).
CLOCK_TOLERANCE_SECONDS = 300

# No firearm record predates 1800-01-01 (the registers being migrated are
# 20th-century paper); anything earlier is a typing error, e.g. a date in
# milliseconds read as seconds the other way round.
EARLIEST_OCCURRED_ON = -5364662400


def check_occurred_on(occurred_on: int, *, now: float | None = None, field: str = "occurred_on") -> int:
    """Return ``occurred_on`` or raise ``InvalidField`` if it is not an int, before 1800 or in the future."""
    if not isinstance(occurred_on, int) or isinstance(occurred_on, bool):
        raise InvalidField("must be an integer number of seconds since 1970-01-01 UTC", field=field)
    if occurred_on < EARLIEST_OCCURRED_ON:
        raise InvalidField("is before 1800-01-01: not a plausible business date", field=field)
    current = time.time() if now is None else now
    if occurred_on > current + CLOCK_TOLERANCE_SECONDS:
        raise InvalidField(
            f"{format_time(occurred_on)} is in the future: business dates cannot be later than now",
            field=field,
        )
    return occurred_on


def parse_time(text: str, field: str = "date") -> int:
    """Parse ``YYYY-MM-DD`` or an ISO 8601 date-time (naive means UTC) into epoch seconds."""
    value = (text or "").strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise InvalidField(f"{text!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time", field=field) from None
    return int(moment.timestamp())


def parse_until(text: str, field: str = "valid_until") -> int:
    """Like ``parse_time``, but a plain date (``YYYY-MM-DD``) means the end of that day.

    "Valid until 2030-12-31" includes that day. Raises ``InvalidField`` as ``parse_time``.
    """
    moment = parse_time(text, field=field)
    return end_of_day(moment) if len((text or "").strip()) == 10 else moment


def end_of_day(moment: int) -> int:
    """The last second (23:59:59 UTC) of the day of ``moment`` (epoch seconds, any sign)."""
    return moment - moment % SECONDS_PER_DAY + SECONDS_PER_DAY - 1


def year_of(moment: int) -> int:
    """The UTC calendar year of ``moment``. Requires a moment within the years 1-9999."""
    return datetime.fromtimestamp(moment, tz=UTC).year


def format_time(seconds: int) -> str:
    """ISO 8601 UTC, seconds precision (``2024-03-01T00:00:00Z``).

    Outside the years 1-9999 (a date given in milliseconds, say) the raw
    number of seconds is shown instead: error messages must not fail.
    """
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return f"{seconds} seconds since 1970-01-01 UTC"


def check_days(days: object, field: str) -> int:
    """A period of ``days`` whole days, 0 to ``LONGEST_PERIOD_DAYS``; ``InvalidField`` naming ``field`` otherwise."""
    return check_whole(days, field, most=LONGEST_PERIOD_DAYS)
