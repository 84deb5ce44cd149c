"""Rows, records and documents as plain JSON data (dicts, lists, str, int, float, bool, None): what the
CLI prints with ``--json`` and the API answers. ``nodes.registry.reading`` offers it to its callers."""

from __future__ import annotations

import dataclasses
from typing import Any

from nodes.values import plain


def plain_record(value: Any) -> Any:
    """A projection row (dict, dataclass, named tuple, object with to_dict) as plain JSON data."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {str(k): plain_record(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_record(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return plain(value)
