"""Migration of legacy (paper) registers into signed records: ``import_csv`` (layout: docs/csv-layout.md)."""

from nodes.migration.csv_import import ImportReport, RowError, import_csv

__all__ = ["ImportReport", "RowError", "import_csv"]
