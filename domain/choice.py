"""Words an officer chooses from a closed set (authority kinds, licence kinds, ITI para 22 grounds)."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from domain.errors import InvalidField

E = TypeVar("E", bound=Enum)


def parse_choice(choices: type[E], value: str, *, field: str, noun: str) -> E:
    """The member of ``choices`` whose value is ``value``.

    Raises ``InvalidField`` on ``field``, naming ``noun`` and every choice, for any other value.
    """
    try:
        return choices(value)
    except ValueError:
        listed = ", ".join(str(c.value) for c in choices)
        raise InvalidField(f"{value!r} is not {noun} ({listed})", field=field) from None
