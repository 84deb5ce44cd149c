"""Plain values the CLI, the API and the desks share: a weapon id read from text, one id picked
by the prefix an officer typed, and the JSON form of what records carry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from domain.errors import InvalidField

#: Fewest characters of an id accepted as its prefix (short ids are printed with 8).
MIN_PREFIX = 4

_T = TypeVar("_T")


def parse_weapon_id(text: str, field_name: str = "weapon") -> UUID:
    try:
        return UUID(str(text).strip())
    except ValueError:
        raise InvalidField(f"{text!r} is not a weapon id (UUID)", field=field_name) from None


def one_by_prefix(typed: str, matches: Sequence[_T], *, what: str, field_name: str) -> _T:
    """The one of ``matches`` (the ids that start with what the officer ``typed``, found by the
    caller) that is meant; ``InvalidField`` on ``field_name``, repeating what was typed, when
    none or several match. ``what`` names the kind of id ("weapon", "trace request")."""
    shown = typed.strip()
    if not matches:
        raise InvalidField(f"no {what} has an id starting with {shown!r}", field=field_name)
    if len(matches) > 1:
        listed = ", ".join(str(m) for m in list(matches)[:5])
        raise InvalidField(f"{shown!r} is the start of {len(matches)} {what} ids ({listed}"
                           f"{', ...' if len(matches) > 5 else ''}): type more characters", field=field_name)
    return matches[0]


def id_prefix(typed: str, *, field_name: str) -> str:
    """What the officer typed as an id or its start, lower-cased and checked: hex digits and dashes,
    at least ``MIN_PREFIX`` characters; ``InvalidField`` on ``field_name`` otherwise."""
    shown = typed.strip()
    text = shown.lower()
    if len(text.replace("-", "")) < MIN_PREFIX or any(c not in "0123456789abcdef-" for c in text):
        raise InvalidField(f"{shown!r} is not an id or the start of one (at least {MIN_PREFIX} "
                           "hexadecimal characters)", field=field_name)
    return text


def plain(value: Any) -> Any:
    """JSON form of the values records carry (ids, bytes, enums, tuples, dates, paths)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
