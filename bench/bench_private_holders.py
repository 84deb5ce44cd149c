"""What pseudonymous holders cost: ``import-csv`` of a register whose current holders are private persons
(``holder_kind`` person: each looked up in, or added to, the identity vault, then recorded by reference)
against the same register with the holders as named licensees; and ``history`` of a weapon held by
reference against one held by name.

    .venv/bin/python bench/bench_private_holders.py [--events N] [--histories H] [--backend sqlite|postgres|both]

N/2 rows, one person per 10 rows (a register names its holders on several rows). Target: the person run
at least 90 % of the named run's rows/s, history within 10 %. Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import common
from common import Stopwatch, Table, median

ROUNDS = 3


def write_register(path: Path, rows: int, *, persons: bool, prefix: str) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow((*common.CSV_HEADER, "holder_kind", "holder_born", "holder_address"))
        for i in range(rows):
            holder = f"Holder {i // 10} Private" if persons else f"Dealer {i // 10} BV"
            person = i // 10  # ten rows per holder
            born = f"19{50 + person % 40}-0{1 + person % 9}-1{person % 10}"
            writer.writerow(("FN Herstal", "BE", f"{prefix}{i:09d}", "pistol", "FN", "Five-seveN", "5.7x28", 2001,
                             "2001-03-04", "FN Herstal", holder, "2010-05-06", f"LG/2010/{i % 9973}",
                             *(("person", born, f"Street {person}") if persons else ("", "", ""))))
    return path


def measure(backend: str, events: int, histories: int) -> Table:
    from nodes.cli.main import run
    from nodes.migration import import_csv

    rows = max(10, events // 2)
    table = Table(f"private holders, {backend}: import-csv of {rows:,} rows, history of {histories} weapons")
    figures: dict[str, list[float]] = {"named": [], "persons": []}
    history: dict[str, list[float]] = {"named": [], "persons": []}
    for round_ in range(ROUNDS):
        for kind in ("named", "persons") if round_ % 2 == 0 else ("persons", "named"):  # neither always first
            with common.fresh_database(backend) as (db, folder):
                node = common.new_node(db, folder)
                path = write_register(folder / "register.csv", rows, persons=kind == "persons", prefix=f"R{round_}")
                with Stopwatch() as watch:
                    import_csv(node, path, workers=0)
                figures[kind].append(rows / watch.seconds)
                node.settle()
                node.close()
                env = {"ARMSLEDGER_PASSPHRASE": common.PASSPHRASE}
                with Stopwatch() as watch, contextlib.redirect_stdout(io.StringIO()):  # the figures, not the documents
                    for i in range(0, min(rows, histories)):
                        run(["--home", str(folder / "node"), "--db", db, "history", _weapon(f"R{round_}{i:09d}"),
                             "--json"], env)
                history[kind].append(watch.seconds / min(rows, histories) * 1000)
    table.add("import, holders by reference", median(figures["persons"]), median(figures["named"]),
              target=0.9, unit="rows/s", target_of="ratio")
    table.add("history, holder by reference", median(history["persons"]), median(history["named"]),
              target=1.1, higher_is_better=False, unit="ms", target_of="ratio")
    table.notes.append("baseline: the same register with the holders as named dealers (no vault)")
    return table


def _weapon(serial: str) -> str:
    from domain.marking import Marking

    return str(Marking.read("FN Herstal", "BE", serial).weapon_id())


if __name__ == "__main__":
    p = common.parser(__doc__.splitlines()[0], 20_000)
    p.add_argument("--histories", type=int, default=200, help="history commands timed per import (default 200)")
    args = p.parse_args()
    common.measure_each_backend("bench_private_holders", args.backend,
                                lambda backend: measure(backend, args.events, args.histories))
