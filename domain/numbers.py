"""Whole numbers that records carry (quantities, day counts): their one range check.

A record's integers must survive every reader: msgpack stores at most 64 bits,
and JSON readers (the ``--json`` output, partners' tools) keep integers exact
only up to 2^53 - 1. So no count is larger than ``LARGEST_WHOLE``.
"""

from __future__ import annotations

from domain.errors import InvalidField

LARGEST_WHOLE = 2**53 - 1
"""The largest integer exact in IEEE 754 doubles, hence in every JSON reader."""


def check_whole(value: object, field: str, *, least: int = 0, most: int = LARGEST_WHOLE) -> int:
    """``value`` as an int in ``least..most``; ``InvalidField`` naming ``field`` otherwise.

    Requires ``least <= most <= LARGEST_WHOLE``. Booleans are refused (``True`` is no count).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(f"{value!r} is not a whole number", field=field)
    if value < least:
        raise InvalidField("cannot be negative" if least == 0 else f"must be at least {least}", field=field)
    if value > most:
        raise InvalidField(f"{value} is larger than the largest allowed, {most}", field=field)
    return value
