"""Descriptions typed by officers matched to the node's reference table: the application service
behind ``reference search|show|import``, the warnings of the record commands and the reference
shown in a weapon's history.

A node that holds no reference table matches nothing and flags nothing (``NO_TABLE``): a state
decides to keep one (``init --reference-starter``, ``reference import``). Recording is never refused for a
description that matches nothing (old paper registers); it is flagged (docs/reference-table.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import InvalidField
from domain.reference import (
    MATCHED,
    NO_TABLE,
    Match,
    ReferenceEntry,
    make_key,
    match_description,
    model_key,
)
from domain.trace import REFERENCE_FIELDS
from nodes.ports import Node
from nodes.reference.loading import read_file, read_text, starter_text
from nodes.reference.table import MAX_LIMIT, Criteria, ReferenceTable

#: The fields of a record's body that describe the weapon (``domain.weapon``'s events).
DESCRIBED = ("make", "model", "calibre")


@dataclass
class Matcher:
    """Matches descriptions against one node's table, reading each make and model's entries once."""

    table: ReferenceTable
    held: bool
    _seen: dict[tuple[str, str], list[ReferenceEntry]] = field(default_factory=dict)

    @classmethod
    def of(cls, node: Node) -> Matcher:
        table = ReferenceTable(node.registry)
        return cls(table, table.count() > 0)

    def match(self, *, make: str, model: str, calibre: str) -> Match:
        """The match of a description (``NO_TABLE`` when the node holds no entry)."""
        if not self.held:
            return Match(NO_TABLE, "this node holds no reference table")
        keys = (make_key(make or ""), model_key(model or ""))
        if keys not in self._seen:
            self._seen[keys] = self.table.candidates(make or "", model or "") if all(keys) else []
        return match_description(make=make or "", model=model or "", calibre=calibre or "",
                                 candidates=self._seen[keys])

    def match_body(self, body: Mapping[str, Any]) -> Match:
        return self.match(**{name: str(body.get(name) or "") for name in DESCRIBED})


def weapon_match(node: Node, weapon_id: UUID | str) -> Match:
    """The match of the description our records now give weapon ``weapon_id`` (after a record)."""
    weapon = node.registry.weapon(weapon_id)
    return Matcher.of(node).match(make=weapon.make, model=weapon.model, calibre=weapon.calibre)


def trace_reference(node: Node, *, make: str, model: str, calibre: str) -> dict[str, Any]:
    """What a trace request carries of the reference table: the entry the description matches
    (id, make, model, type, calibre), or ``{}`` when it matches no single entry."""
    found = Matcher.of(node).match(make=make, model=model, calibre=calibre)
    if found.status != MATCHED or found.entry is None:
        return {}
    entry = found.entry.to_dict()
    return {name: entry[name] for name in REFERENCE_FIELDS}


def warning(found: Match) -> str | None:
    """The line an officer is shown when ``found`` is flagged, else None."""
    if not found.flagged:
        return None
    return (f"warning: {found.reason}: it matches no single reference entry; recorded all the same and "
            "flagged in the weapon's history ('armsledger reference search' lists the table)")


def with_references(node: Node, document: dict[str, Any]) -> dict[str, Any]:
    """The history document with ``reference`` (a match as ``Match.to_dict``) for the weapon's
    description and for each record whose body describes the weapon; unchanged when the node holds
    no table."""
    matcher = Matcher.of(node)
    if not matcher.held:
        return document  # no table: nothing to show, the document as it was
    description = document.get("description") or {}
    document["reference"] = matcher.match_body(description).to_dict()
    for event in document.get("events", []):
        body = event.get("body") or {}
        if any(name in body for name in DESCRIBED):
            event["reference"] = matcher.match_body(body).to_dict()
    return document


def reference_text(reference: Mapping[str, Any] | None) -> str:
    """One line for people: the entry matched, or why the description is flagged ("" for none)."""
    if not reference or reference.get("status") == NO_TABLE:
        return ""
    if reference.get("status") == MATCHED:
        return f"reference {reference.get('id')}"
    return f"matches no reference entry ({reference.get('reason')})"


def unmatched_rows(node: Node, path: str | Path, *, refused: Iterable[int] = ()) -> list[dict[str, Any]]:
    """The rows of a register file (docs/csv-layout.md) whose description matches no single
    reference entry: ``{"line", "reason"}`` each, leaving out the ``refused`` lines (none when the
    node holds no table)."""
    from nodes.migration.reader import CsvRows

    matcher = Matcher.of(node)
    if not matcher.held:
        return []
    flagged, left_out = [], set(refused)
    with CsvRows(Path(path)) as rows:
        for line, row in rows:
            if isinstance(row, dict) and line not in left_out:
                found = matcher.match_body(row)
                if found.flagged:
                    flagged.append({"line": line, "reason": found.reason})
    return flagged


# --- the table's own commands ------------------------------------------------------------------

def import_entries(node: Node, *, path: str | Path | None = None, text: str | None = None, starter: bool = False,
                   replace: bool = False) -> dict[str, Any]:
    """Load a CSV file, a CSV text or the starter table (exactly one) into the node's table; every
    row is checked first and nothing is written when one is bad (``ReferenceFileRefused``)."""
    if (path is not None) + (text is not None) + starter != 1:
        raise InvalidField("give a file or the starter table, exactly one", field="file")
    if path is not None:
        entries, name = read_file(path), Path(path).name
    else:
        name = "starter" if starter else "csv"
        entries = read_text(starter_text() if starter else text or "", name=name)
    table = ReferenceTable(node.registry)
    loaded = table.load(entries, replace=replace)
    return {"file": name, "loaded": loaded, "replaced": replace, "entries": table.count()}


def search(node: Node, criteria: Criteria, *, limit: int = 100) -> dict[str, Any]:
    """Entries meeting every criterion (``InvalidField`` on ``text`` when none is given)."""
    if not any(value.strip() for value in (criteria.text, criteria.make, criteria.model, criteria.calibre)):
        raise InvalidField("give a text to look for, or --make, --model or --calibre", field="text")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidField(f"{limit} is out of range 1..{MAX_LIMIT}", field="limit")
    total, entries = ReferenceTable(node.registry).search(criteria, limit=limit)
    return {"criteria": vars(criteria), "total": total, "limit": limit, "entries": [e.to_dict() for e in entries]}


def show(node: Node, ref_id: str) -> dict[str, Any]:
    """The entry ``ref_id`` (any case); ``InvalidField`` on ``id`` when the table holds none."""
    entry = ReferenceTable(node.registry).get(ref_id)
    if entry is None:
        raise InvalidField(f"no reference entry {ref_id.strip()!r} in this node's table", field="id")
    return entry.to_dict()
