"""Migration of legacy (paper) registers into signed records: ``import_csv`` (layout: docs/csv-layout.md)."""

from nodes.migration.csv_import import import_csv
from nodes.migration.reader import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from nodes.migration.report import ImportReport, RowError

__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "ImportReport", "RowError", "import_csv"]
