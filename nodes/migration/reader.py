"""Reading a register file: the CSV layout's columns and header rules, and the rows as text.

The layout is the contract in docs/csv-layout.md. The reader checks the header
and streams rows; turning a row into domain values is ``nodes.migration.row_rules``.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Self, TypeAlias

from nodes.errors import ImportFileError
from nodes.migration.report import RowError

REQUIRED_COLUMNS = ("manufacturer", "country", "serial", "type", "calibre", "year", "manufactured_on",
                    "first_holder")
OPTIONAL_COLUMNS = ("make", "model", "current_holder", "transferred_on", "transfer_licence", "by",
                    # a private current holder (nodes.migration.private_holders)
                    "holder_kind", "holder_born", "holder_address", "holder_id_document")
TRANSFER_COLUMNS = ("current_holder", "transferred_on", "transfer_licence")

# A data row as read: its first physical line and {column: value}, or why it cannot be a row.
Row: TypeAlias = tuple[int, dict[str, str] | RowError]


class CsvRows:
    """Streams ``Row``s from the file at ``path``; checks the header on open.

    Raises ``ImportFileError`` when the file cannot be opened or its header
    breaks the layout (missing, unknown or repeated column, not UTF-8). A
    decoding or CSV syntax failure after the header ends the stream and is kept
    in ``failure``, so that the rows read before it can still be recorded.
    """

    def __init__(self, path: Path):
        self.path = path
        self.failure: ImportFileError | None = None
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed by __exit__, or below on a bad header
        except OSError as e:
            raise ImportFileError(f"{path}: cannot read the file: {e.strerror}") from e
        self._reader = csv.reader(self._decoded_lines(), strict=True)
        try:
            self.columns = self._header()
        except BaseException:
            self._file.close()
            raise

    def _decoded_lines(self) -> Iterator[str]:
        # Decoded line by line (not by the file's 8 KiB chunks) so that a bad byte
        # is reported on its own line, after the rows before it. Splitting bytes
        # at b"\n" is safe: no UTF-8 multi-byte sequence contains that byte.
        for number, raw in enumerate(self._file, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]  # spreadsheets write one
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _Undecodable(number) from e

    def _header(self) -> tuple[str, ...]:
        try:
            header = next(self._reader, None)
        except (_Undecodable, csv.Error) as e:
            raise ImportFileError(f"{self.path} line 1: {_unreadable(e)}") from e
        if not header or not any(name.strip() for name in header):
            raise ImportFileError(f"{self.path}: the header row is missing (line 1 must name the columns)")
        columns = tuple(name.strip().lower() for name in header)
        known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        for position, name in enumerate(columns, start=1):
            if not name:
                raise ImportFileError(f"{self.path} line 1: column {position} has no name")
            if name not in known:
                raise ImportFileError(f"{self.path} line 1: unknown column {name!r} (known: {', '.join(known)})")
            if columns.count(name) > 1:
                raise ImportFileError(f"{self.path} line 1: column {name!r} appears twice")
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ImportFileError(f"{self.path} line 1: missing required column {missing[0]!r} "
                                  f"(required: {', '.join(REQUIRED_COLUMNS)})")
        return columns

    def __iter__(self) -> Iterator[Row]:
        line = self._reader.line_num
        try:
            for values in self._reader:
                start, line = line + 1, self._reader.line_num
                if not any(v.strip() for v in values):
                    continue  # blank line
                if len(values) != len(self.columns):
                    yield start, RowError(start, None, f"has {len(values)} values where the header has "
                                                       f"{len(self.columns)} columns")
                    continue
                yield start, dict(zip(self.columns, values, strict=True))
        except (_Undecodable, csv.Error) as e:
            number = e.line if isinstance(e, _Undecodable) else self._reader.line_num
            self.failure = ImportFileError(f"{self.path} line {number}: {_unreadable(e)}; "
                                           "the rows before it were processed (re-run after fixing the file: "
                                           "rows already imported are skipped)")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def lines_after_header(path: Path) -> int:
    """How many lines the file at ``path`` has after its header: its rows, or more when some lines
    are blank or a quoted value spans lines (what the import's progress counts towards).
    Requires a readable file (``CsvRows`` opened it)."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without its newline
    return max(0, lines - 1)


class _Undecodable(Exception):
    def __init__(self, line: int):
        super().__init__(f"line {line} is not UTF-8")
        self.line = line


def _unreadable(e: Exception) -> str:
    if isinstance(e, _Undecodable):
        return "the file is not UTF-8 text"
    return f"not valid CSV: {e}"
