"""``import_csv``: a register file becomes signed weapon records (layout and guarantees: docs/csv-layout.md).

Wires the steps: ``reader`` streams the rows, ``signer_pool`` validates them by
``row_rules`` and signs them on worker processes, ``batch_writer`` writes each
batch in one transaction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from nodes.migration.batch_writer import BatchWriter
from nodes.migration.private_holders import NewHolders, pseudonymised
from nodes.migration.reader import REQUIRED_COLUMNS, CsvRows, lines_after_header
from nodes.migration.report import ImportReport, RowError
from nodes.migration.signer_pool import RowSigner, signed_batches
from nodes.persons.holders import VaultOnDemand
from projections.views import Progress

if TYPE_CHECKING:
    from nodes.bootstrap import Node

__all__ = ["REQUIRED_COLUMNS", "ImportReport", "RowError", "import_csv"]


def import_csv(node: Node, path: str | os.PathLike[str], *, batch_size: int = 1000,
               workers: int | None = None, progress: Progress | None = None) -> ImportReport:
    """Record every valid row of the CSV file at ``path`` in ``node``'s registry.

    Requires an unlocked node (its private keys loaded; else ``ConfigurationError``)
    and ``batch_size >= 1`` (else ``ValueError``); ``batch_size`` rows are written
    per transaction. ``workers`` processes sign (default: one per CPU; 0 signs in
    this process; a file of one batch is always signed here). Raises
    ``ImportFileError`` when the file cannot be read as the layout (no header,
    unknown or missing column, not UTF-8): rows before an undecodable line are
    still recorded. Raises ``StorageError`` when the database fails. Row failures
    are reported, not raised. On PostgreSQL the events table is analyzed at the end (the planner's
    statistics). Does not seal a checkpoint or update projections:
    call ``node.settle()`` afterwards. ``progress`` is called after each batch with the rows
    read and the file's lines after the header (as many as its rows, or more when some are blank).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    signer = RowSigner.for_identity(node.identity)
    report = ImportReport(file=str(path))
    new_holders = NewHolders()
    writer = BatchWriter(node.registry.recorder, report, new_holders)
    if workers is None:
        workers = os.cpu_count() or 1
    rows = CsvRows(Path(path))
    with rows, VaultOnDemand(node.settings) as vault:
        lines = lines_after_header(Path(path)) if progress is not None else 0
        # Private holders become references here, before the rows go to the signing processes; the new ones
        # are stored by the writer, with the first batch that records them.
        for signed in signed_batches(pseudonymised(rows, vault, new_holders), signer, batch_size, workers):
            writer.write(signed)
            if progress is not None:
                progress(report.rows, max(lines, report.rows))
        if progress is not None:
            progress(report.rows, report.rows)  # done, whatever the blank lines made of the estimate
    writer.refresh_statistics()
    if rows.failure is not None:
        raise rows.failure
    return report
