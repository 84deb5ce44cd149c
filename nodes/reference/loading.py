"""Entries of the reference table from CSV: a file, a text sent to the API, or the starter table.

Columns (header, any order, any case): ``id``, ``make``, ``model``, ``type``, ``calibre`` (one or
more separated by ``;``), optional ``country`` (ISO 3166-1 alpha-2) and ``source``. Every row is
checked (``domain.reference.ReferenceEntry.read``) before anything is written: one bad row
refuses the whole file (``ReferenceFileRefused`` naming each bad row's line and field).
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from domain.errors import InvalidField
from domain.reference import ReferenceEntry
from nodes.reference.errors import BadRow, ReferenceFileRefused

REQUIRED = ("id", "make", "model", "type", "calibre")
OPTIONAL = ("country", "source")
#: Most rows one file may hold (INTERPOL's whole table fits).
MAX_ROWS = 500_000
#: The source written for starter entries.
STARTER_NAME = "starter.csv"


def starter_text() -> str:
    """The starter table shipped with armsledger (common makes, models and calibres)."""
    return resources.files("nodes.reference").joinpath(STARTER_NAME).read_text(encoding="utf-8")


def read_file(path: str | Path) -> list[ReferenceEntry]:
    """The entries of the CSV file at ``path``; ``InvalidField`` on ``file`` if it cannot be read,
    ``ReferenceFileRefused`` if any row is bad."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidField(f"{path}: cannot be read ({e.strerror or e})", field="file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ReferenceFileRefused(path.name, [BadRow(line, "file", "is not UTF-8 text")]) from None
    return read_text(text, name=path.name)


def read_text(text: str, *, name: str = "csv") -> list[ReferenceEntry]:
    """The entries of CSV ``text`` (``name`` is how messages call it); ``ReferenceFileRefused``
    naming every bad row (a missing column, a bad field, an id given twice, any case)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise ReferenceFileRefused(name, [BadRow(1, "header", "the file is empty")]) from None
    except csv.Error as e:
        raise ReferenceFileRefused(name, [BadRow(1, "header", str(e))]) from None
    missing = [column for column in REQUIRED if column not in header]
    unknown = [column for column in header if column not in (*REQUIRED, *OPTIONAL)]
    if missing or unknown:
        problem = f"lacks column {missing[0]!r}" if missing else f"has unknown column {unknown[0]!r}"
        columns = ", ".join(REQUIRED + OPTIONAL)
        raise ReferenceFileRefused(name, [BadRow(1, "header", f"{problem} (columns: {columns})")])
    entries: list[ReferenceEntry] = []
    bad: list[BadRow] = []
    first_line: dict[str, int] = {}
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            bad.append(BadRow(start, "row", str(e)))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(entries) + len(bad) >= MAX_ROWS:
            bad.append(BadRow(start, "row", f"the file holds more than {MAX_ROWS} rows"))
            break
        if len(row) != len(header):
            bad.append(BadRow(start, "row", f"has {len(row)} cells, the header {len(header)}"))
            continue
        cells = dict(zip(header, row))
        try:
            entry = ReferenceEntry.read(ref_id=cells["id"], make=cells["make"], model=cells["model"],
                                        type=cells["type"], calibres=cells["calibre"],
                                        country=cells.get("country", ""), source=cells.get("source", ""))
        except InvalidField as e:
            bad.append(BadRow(start, e.field or "row", str(e.args[0])))
            continue
        key = entry.ref_id.upper()
        if key in first_line:
            bad.append(BadRow(start, "id", f"{entry.ref_id!r} is given on line {first_line[key]} already"))
            continue
        first_line[key] = start
        entries.append(entry)
    if bad:
        raise ReferenceFileRefused(name, bad)
    return entries
