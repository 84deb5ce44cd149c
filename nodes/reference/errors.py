"""Errors of the reference table: a file of entries refused, and a stored entry damaged.

Hierarchy::

    domain.errors.InvalidField
    └── ReferenceFileRefused    rows of a file of entries are bad; nothing of it was written
    nodes.errors.NodeFileDamaged
    └── ReferenceTableDamaged   a stored row is no entry (edited or corrupted in the database)

The CLI exits 2 naming each bad row's line and field (the API answers 422), and 1 for a damaged table.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidField
from nodes.errors import NodeFileDamaged


@dataclass(frozen=True)
class BadRow:
    """One refused row: its physical ``line`` in the file (the header is line 1), the column at fault, why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class ReferenceFileRefused(InvalidField):
    """``rows`` of file ``name`` are bad (at least one); the message names the first and counts the others."""

    def __init__(self, name: str, rows: list[BadRow]):
        more = f" ({len(rows) - 1} more rows refused)" if len(rows) > 1 else ""
        super().__init__(f"{name} {rows[0]}{more}; nothing was loaded", field="file")
        self.rows = rows


class ReferenceTableDamaged(NodeFileDamaged):
    """A row of the node's reference table is no valid entry; the message names its id and field."""
