"""What an import reports: the refused rows (``RowError``) and the counts of one run (``ImportReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowError:
    """A refused row: physical ``line`` of the file (header is line 1), the column at
    fault (None when the row as a whole is malformed) and why."""

    line: int
    field: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class ImportReport:
    """Outcome of one ``import_csv`` run.

    ``rows`` data rows were read (blank lines excluded): ``imported`` were
    recorded now as ``events`` signed events, ``skipped`` were found recorded
    already (an earlier run of the file), the rest are in ``errors``.
    """

    file: str
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    events: int = 0
    errors: list[RowError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "imported": self.imported, "skipped": self.skipped,
                "events": self.events, "errors": [e.to_dict() for e in self.errors]}
