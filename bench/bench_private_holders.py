"""What pseudonymous holders cost: ``import-csv`` of a register whose current holders are private persons
(``holder_kind`` person: each looked up in, or added to, the identity vault, then recorded by reference)
against the same register with the holders as named licensees; and ``history`` of a weapon held by
reference against one held by name.

    .venv/bin/python bench/bench_private_holders.py [--events N] [--histories H] [--backend sqlite|postgres|both]

N/2 rows, one person per 10 rows (a register names its holders on several rows). Like with like: the same
rows, serials and dates, the same signing and writing; only the holder columns differ (a person's name,
date of birth and address, against a dealer's name), so the difference is the vault's work: one unlock
of the key-encryption key per command (scrypt; the first row naming a person waits for it), the look-up
of each chunk's persons by blind index, and the sealing and storing of each new person. The machine is
shared, so the figures come in pairs measured back to back: imports in pairs on fresh databases, named or
persons first in turn, compared pair by pair (median of the ratios); histories one call of each kind after
the other on two registers imported beforehand. Target: the person run at least 90 % of the named run's
rows/s, history within 10 %. Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from pathlib import Path

import common
from common import Stopwatch, Table, median

ROUNDS = 5
KINDS = ("named", "persons")


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
    from nodes.persons.kek import load_or_create_kek

    rows = max(10, events // 2)
    table = Table(f"private holders, {backend}: import-csv of {rows:,} rows ({ROUNDS} pairs), "
                  f"history of {min(rows, histories)} weapons")
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    pair_ratios, cpu_ratios, unlocks = [], [], []
    for round_ in range(ROUNDS):
        for kind in KINDS if round_ % 2 == 0 else KINDS[::-1]:  # neither always first
            with common.fresh_database(backend) as (db, folder), _imported(db, folder, rows, kind) as (node, timed):
                rates[kind].append(rows / timed.seconds)
                cpu[kind].append(timed.cpu_seconds)
                if kind == "persons":
                    with Stopwatch() as unlock:  # what the import paid once, measured again in the same conditions
                        load_or_create_kek(node.settings)
                    unlocks.append(unlock.seconds)
        pair_ratios.append(rates["persons"][-1] / rates["named"][-1])
        cpu_ratios.append(cpu["named"][-1] / cpu["persons"][-1])
    latencies = _history_latencies(backend, rows, histories)
    imported_in = rows / median(rates["persons"])
    table.add("import, holders by reference", median(rates["persons"]), median(rates["named"]),
              target=0.9, unit="rows/s", target_of="ratio")
    table.add("import, ratio pair by pair (median)", median(pair_ratios), target=0.9, unit="x")
    table.add("import, CPU ratio pair by pair (median)", median(cpu_ratios), target=0.9, unit="x")
    table.add("history, holder by reference", median(latencies["persons"]), median(latencies["named"]),
              target=1.1, higher_is_better=False, unit="ms", target_of="ratio")
    table.notes += [
        "baseline: the same register with the holders as named dealers (no vault); history: the same command on "
        "a register of each kind, calls alternated (median per call)",
        "import ratios pair by pair: " + ", ".join(f"{ratio:.2f}" for ratio in pair_ratios),
        "CPU ratio: CPU seconds of this process, named over persons, pair by pair ("
        + ", ".join(f"{ratio:.2f}" for ratio in cpu_ratios) + "): less swayed by the other processes of a busy "
        "machine than the elapsed time; "
        + ("all of the import's work (signing in this process, SQLite in it)" if backend == "sqlite" else
           "the server's work not included"),
        f"of the persons import, the KEK unlock (scrypt, once per command): {median(unlocks):.2f} s, "
        f"{median(unlocks) / imported_in:.0%} of its {imported_in:.1f} s (the register's first row names a "
        "person, which waits for it)",
        "history reads no identity (it shows the reference): any difference in its row is noise",
    ]
    return table


class _Timed:
    """Elapsed and CPU seconds of this process over a block."""

    def __enter__(self) -> _Timed:
        self._cpu, self._watch = time.process_time(), Stopwatch().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._watch.__exit__(*exc)
        self.seconds, self.cpu_seconds = self._watch.seconds, time.process_time() - self._cpu


@contextlib.contextmanager
def _imported(db: str, folder: Path, rows: int, kind: str):
    """A new node with the register of ``kind`` imported: (node, how long the import took)."""
    from nodes.migration import import_csv

    node = common.new_node(db, folder)
    try:
        path = write_register(folder / "register.csv", rows, persons=kind == "persons", prefix="R")
        with _Timed() as timed:
            import_csv(node, path, workers=0)  # signing here: the CPU time is all of the import's own work
        yield node, timed
    finally:
        node.close()


def _history_latencies(backend: str, rows: int, histories: int) -> dict[str, list[float]]:
    """Milliseconds per ``history --json`` of the first weapons of a register of each kind, alternated."""
    from nodes.cli.main import run

    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with contextlib.ExitStack() as stack:
        homes = {}
        for kind in KINDS:
            db, folder = stack.enter_context(common.fresh_database(backend))
            with _imported(db, folder, rows, kind) as (node, _timed):
                node.settle()
            homes[kind] = ("--home", str(folder / "node"), "--db", db)
        env = {"ARMSLEDGER_PASSPHRASE": common.PASSPHRASE}
        for i in range(min(rows, histories)):
            for kind in KINDS if i % 2 == 0 else KINDS[::-1]:
                with Stopwatch() as watch, contextlib.redirect_stdout(io.StringIO()):  # the figures, not documents
                    run([*homes[kind], "history", _weapon(f"R{i:09d}"), "--json"], env)
                latencies[kind].append(watch.seconds * 1000)
    return latencies


def _weapon(serial: str) -> str:
    from domain.marking import Marking

    return str(Marking.read("FN Herstal", "BE", serial).weapon_id())


if __name__ == "__main__":
    p = common.parser(__doc__.splitlines()[0], 20_000)
    p.add_argument("--histories", type=int, default=200, help="history commands timed per import (default 200)")
    args = p.parse_args()
    common.measure_each_backend("bench_private_holders", args.backend,
                                lambda backend: measure(backend, args.events, args.histories))
