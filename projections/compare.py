"""Compare the stored views with a fresh projection of the log: rows edited, added or removed by hand.

The log is projected again into scratch views (SQLite in a temporary
directory, whatever the node's backend), up to the position the stored views
say they reached, and every table is compared row by row in key order::

    for mismatch in compare_views(node.views, node.registry):
        print(mismatch)   # view_weapons weapon_id=...: column status: expected 'destroyed', found 'registered'
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from projections.errors import UnreadableLog
from projections.store import TRACKING_TABLE, VIEW_TABLES
from projections.views import EnvelopeLog, Progress, Views

KEYS = {
    "view_events": ("stream", "node", "version"),
    "view_weapons": ("weapon_id",),
    "view_shipments": ("shipment_id",),
    "view_shipment_weapons": ("shipment_id", "weapon_id"),
}
assert set(KEYS) == set(VIEW_TABLES), "every view table is compared"
_KEY_NAMES = {**KEYS, TRACKING_TABLE: ("application_name",)}
CONCURRENT_ATTEMPTS = 3  # reads of the views while another process keeps catching them up


@dataclass(frozen=True)
class ViewMismatch:
    """One row of ``table`` that differs from the projection of the log.

    ``expected`` / ``found`` are the rows (column to value) or None when
    the row is missing on that side.
    """

    table: str
    key: tuple[Any, ...]
    expected: dict[str, Any] | None
    found: dict[str, Any] | None

    def __str__(self) -> str:
        where = f"{self.table} " + ", ".join(f"{n}={v}" for n, v in zip(_KEY_NAMES[self.table], self.key, strict=True))
        if self.found is None:
            return f"{where}: row missing (the log projects it)"
        if self.expected is None:
            return f"{where}: row found that the log does not project"
        return where + ": " + "; ".join(
            f"column {name}: expected {self.expected[name]!r}, found {self.found.get(name)!r}"
            for name in self.expected if self.expected[name] != self.found.get(name))


def compare_views(views: Views, log: EnvelopeLog, progress: Progress | None = None) -> Iterator[ViewMismatch]:
    """Every row of ``views`` that differs from ``log`` projected up to the views' tracked position.

    A tracked position past the end of ``log`` is a mismatch too. Only
    ``log``'s records are projected: views that also hold other logs
    (partners' records) report those rows as found without being projected.
    Reads ``views`` and ``log``, writes only to a temporary directory.
    Raises ``UnreadableLog`` if a row of ``log`` cannot be read (a NULL
    state, an originator id that is not a UUID). ``progress`` is told how far the
    fresh projection is (``Views.catch_up``).
    """
    with tempfile.TemporaryDirectory(prefix="armsledger-views-") as scratch_dir:
        with Views.open({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                         "SQLITE_DBNAME": str(Path(scratch_dir) / "views.db")}) as scratch:
            for _ in range(CONCURRENT_ATTEMPTS):
                position = views.position(log)
                end = log.recorder.max_notification_id() or 0
                try:
                    scratch.catch_up(cast(EnvelopeLog, _Upto(log, min(position, end))),  # reads select_notifications
                                     progress)
                except (TypeError, ValueError) as e:  # what the library and the parser raise on such rows
                    raise UnreadableLog(f"the log could not be projected to compare the views with: {e}") from e
                found = {table: list(_rows(views, table, key)) for table, key in KEYS.items()}
                # A catch-up that committed meanwhile (a command, node run) makes the rows
                # read belong to a later position: project that far too and read again.
                if views.position(log) == position:
                    break
            if position > end:  # the views would skip the records still to come at these positions
                yield ViewMismatch(TRACKING_TABLE, (log.name,), {"notification_id": end},
                                   {"notification_id": position})
            for table, key in KEYS.items():
                yield from _compare_table(table, key, _rows(scratch, table, key), iter(found[table]))


def _rows(views: Views, table: str, key: Sequence[str]) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    # Sorted in Python: the two backends' text collations need not agree.
    rows = views.store.query(f"SELECT * FROM {table}")
    normalised = [{name: bytes(value) if isinstance(value, memoryview) else value for name, value in dict(row).items()}
                  for row in rows]
    for row in sorted(normalised, key=lambda r: tuple(r[k] for k in key)):
        yield tuple(row[k] for k in key), row


def _compare_table(table: str, key: Sequence[str], expected: Iterator[tuple[tuple[Any, ...], dict[str, Any]]],
                   found: Iterator[tuple[tuple[Any, ...], dict[str, Any]]]) -> Iterator[ViewMismatch]:
    """Merge two key-ordered row sequences and name what differs."""
    e, f = next(expected, None), next(found, None)
    while e is not None or f is not None:
        if f is None or (e is not None and e[0] < f[0]):
            assert e is not None
            yield ViewMismatch(table, e[0], e[1], None)
            e = next(expected, None)
        elif e is None or f[0] < e[0]:
            yield ViewMismatch(table, f[0], None, f[1])
            f = next(found, None)
        else:
            if e[1] != f[1]:
                yield ViewMismatch(table, e[0], e[1], f[1])
            e, f = next(expected, None), next(found, None)


class _Upto:
    """``log`` as if it ended at ``position``."""

    def __init__(self, log: EnvelopeLog, position: int):
        self.name = log.name
        self._log = log
        self._position = position
        self.recorder = self

    def max_notification_id(self) -> int:
        return self._position

    def select_notifications(self, start: int, limit: int, **kwargs: Any) -> Sequence[Any]:
        if start > self._position:
            return []
        return self._log.recorder.select_notifications(start=start, limit=limit, stop=self._position, **kwargs)
