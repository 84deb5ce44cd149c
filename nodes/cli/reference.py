"""``armsledger reference import|search|show``: the national reference table (docs/reference-table.md),
and the note the record commands print about the description they recorded.

A thin layer over ``nodes.reference.matching``. The table is the node's own data, not signed
records: these commands need no passphrase, and their reads hold no weapon (no read audit).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.errors import InvalidField
from domain.reference import NO_TABLE
from nodes.bootstrap import Node
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.reference import matching
from nodes.reference.errors import ReferenceFileRefused
from nodes.reference.table import MAX_LIMIT, Criteria

PROG = "armsledger reference"


def add_commands(subparsers: Commands) -> None:
    reference = subparsers.add_parser("reference", help="the national reference table of makes, models, types "
                                                        "and calibres",
                                      description="The national reference table (INTERPOL IFRT, UNODC): "
                                                  "descriptions typed by officers are matched to it.")
    actions = reference.add_subparsers(dest="action", required=True, metavar="ACTION")

    parser = add_command(actions, "import", import_table, "load entries from a CSV file (id, make, model, type, "
                                                          "calibre, country, source); nothing is loaded if a "
                                                          "row is bad")
    parser.add_argument("file", nargs="?", metavar="FILE", help="the CSV file")
    parser.add_argument("--starter", action="store_true", help="load the starter table shipped with armsledger")
    parser.add_argument("--replace", action="store_true",
                        help="the table holds the file's entries only afterwards (default: add and update by id)")
    add_json_option(parser)

    parser = add_command(actions, "search", search, "entries by a text (make, model, type or calibre) and/or "
                                                    "--make, --model, --calibre")
    parser.add_argument("text", nargs="*", metavar="TEXT", help="words to look for")
    parser.add_argument("--make", default="", help="make (whole; other names of a make count)")
    parser.add_argument("--model", default="", help="model (whole)")
    parser.add_argument("--calibre", default="", help="calibre (whole; 9mm finds 9x19mm)")
    parser.add_argument("--limit", type=number_option(1, MAX_LIMIT), default=100, help="at most this many")
    add_json_option(parser)

    parser = add_command(actions, "show", show, "one entry by its id")
    parser.add_argument("id", metavar="ID", help="reference id (any case)")
    add_json_option(parser)


def import_table(run: Invocation) -> int:
    a = run.args
    if bool(a.file) == bool(a.starter):
        raise InvalidField("give FILE or --starter, exactly one", field="file")
    with run.open_node(unlock=False) as node:
        try:
            done = matching.import_entries(node, path=a.file, starter=a.starter, replace=a.replace)
        except ReferenceFileRefused as e:
            for row in e.rows:
                run.warn(f"{PROG} import: refused: {a.file} {row}")
            run.warn(f"{PROG} import: refused: {len(e.rows)} bad rows; nothing was loaded")
            return 2
    run.emit(done, f"{done['file']}: {done['loaded']} entries loaded; the table holds {done['entries']}")
    return 0


def search(run: Invocation) -> int:
    a = run.args
    criteria = Criteria(text=" ".join(a.text), make=a.make, model=a.model, calibre=a.calibre)
    with run.open_node(unlock=False) as node:
        found = matching.search(node, criteria, limit=a.limit)
    lines = [_line(entry) for entry in found["entries"]]
    shown = len(found["entries"])
    lines.append(f"{found['total']} found" + (f", showing {shown}; --limit to see more" if shown < found["total"]
                                              else ""))
    run.emit(found, "\n".join(lines))
    return 0


def show(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        entry = matching.show(node, run.args.id)
    run.emit(entry, "\n".join(f"{name:<8} {value or '-'}" for name, value in entry.items()))
    return 0


def _line(entry: dict[str, Any]) -> str:
    return (f"{entry['id']:<10} {entry['make']} {entry['model']}  {entry['type']}  {entry['calibre']}"
            + (f"  ({entry['country']})" if entry["country"] else ""))


def recorded_reference(run: Invocation, node: Node, weapon_id: UUID | str) -> dict[str, Any]:
    """``{"reference": match}`` of the weapon's description after a record, for its JSON (``{}`` when the
    node holds no table); a warning on stderr when it matches no single reference entry (the record stands)."""
    found = matching.weapon_match(node, weapon_id)
    note = matching.warning(found)
    if note:
        run.warn(note)
    return {} if found.status == NO_TABLE else {"reference": found.to_dict()}
