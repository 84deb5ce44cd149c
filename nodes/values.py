"""Plain values the CLI, the API and the desks share: a weapon id read from text, and the JSON
form of what records carry."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import InvalidField


def parse_weapon_id(text: str, field_name: str = "weapon") -> UUID:
    try:
        return UUID(str(text).strip())
    except ValueError:
        raise InvalidField(f"{text!r} is not a weapon id (UUID)", field=field_name) from None


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
