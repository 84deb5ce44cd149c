"""Cost as the work grows: the same figures at growing store sizes, each against the smallest size.

    .venv/bin/python bench/bench_scale.py [--sizes 100000,1000000] [--backend sqlite|postgres|both]

One store per backend is grown by the bulk path (``armsledger import-csv`` of the rows that take it
to the next size, in a child process) and, at each size of ``--sizes``, measured:

- import: events/s of that import-csv (the rows added to reach the size) and its peak RSS;
- seal after import: ms per 1,000 events imported of the open sealer's first seal after that import-csv and
  a small batch (it follows the records the import sealed in its own process, reading and hashing each,
  and signs the batch; it writes none of the imported records' leaf rows again);
- warm seal: ms to seal after appending a small batch, the sealer already open, the median of
  ``WARM_SEAL_SAMPLES`` such seals (one sample moved with the database server's own work);
- cold seal: ms of ``seal`` in a new process that opens the node (the sealer resumes from the frontier
  stored with the latest checkpoint), the median of ``COLD_SEAL_SAMPLES`` such processes, each after a small
  batch appended (one sample moved with whatever else the machine ran);
- inclusion proof: median ms of ``sealer.inclusion_proof`` of random leaves, the tree held;
- old-leaf proof after restart: ms of the first ``inclusion_proof`` of leaf 0 in a new process that opens
  the node (its sealer resumes from the latest frontier; leaf 0's path is older than it);
- history p99: ms of ``node.registry.history`` of random weapons, the median of the p99 of ``HISTORY_ROUNDS``
  rounds of ``HISTORY_SAMPLES`` reads (a p99 of 500 is the 5th slowest read: one round moved with the load);
- verify, rebuild: events/s and peak RSS of ``armsledger verify`` and ``armsledger rebuild``
  (child processes, timed from after the CLI's imports: the process start is not the work);
- verify --since, nothing new: seconds of ``armsledger verify --since latest`` right after a verify, the median
  of ``SINCE_SAMPLES`` such commands (one sample moved with the database server's work after the import).

A cost per event is flat when it does not grow with the store: each figure is printed beside
the same figure at the smallest size, and its ratio is held to 1.5x (rates: at least 1/1.5 of
the smallest size's). Peak RSS (``common.run_child``: the command's own) is held to 300 MB.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import common
from common import PASSPHRASE, STATE, Stopwatch, Table, percentile, progress

if TYPE_CHECKING:
    from nodes.ports import Node

FLAT_TARGET = 1.5  # a per-event cost at a size at most this many times the smallest size's
RSS_TARGET_MB = 300
DEFAULT_SIZES = "100000,1000000"
SMALL_BATCH_ROWS = 50  # appended before each seal timed: 100 events
HISTORY_SAMPLES = 500
HISTORY_ROUNDS = 5
COLD_SEAL_SAMPLES = 5
WARM_SEAL_SAMPLES = 5
SINCE_SAMPLES = 3
PROOF_SAMPLES = 1_000

# A new process opening the node and sealing: what a node restarted, or a one-shot command, pays. Timed
# from after the imports, the sealer's module too (the node imports it at first use), as the commands are.
_COLD_SEAL = """
import json, time
import nodes.registry.sealer
from nodes.bootstrap import open_node
from nodes.settings import Settings
node = open_node(Settings.load())
started = time.perf_counter()
node.sealer.seal()
print(json.dumps({"seal_ms": (time.perf_counter() - started) * 1000}))
node.close()
"""


# The first proof of the oldest leaf in a new process: what a trace or an evidence bundle of an old record
# pays after a restart. Timed from after open_node, as the cold seal is.
_OLD_PROOF = """
import json, time
import nodes.registry.sealer
from nodes.bootstrap import open_node
from nodes.settings import Settings
node = open_node(Settings.load())
started = time.perf_counter()
node.sealer.inclusion_proof(0)
print(json.dumps({"proof_ms": (time.perf_counter() - started) * 1000}))
node.close()
"""


@dataclass
class Store:
    """The store being grown: its node (open in this process), the environment of its commands, its rows."""

    node: Node
    env: dict[str, str]
    folder: Path
    events: int = 0
    batches: list[tuple[str, int]] = field(default_factory=list)  # (serial prefix, rows) of each import

    def add_rows(self, rows: int) -> Path:
        prefix = f"G{len(self.batches):03d}-"
        self.batches.append((prefix, rows))
        self.events += 2 * rows
        return common.write_weapons_csv(self.folder / f"{prefix}.csv", rows, prefix=prefix)

    def random_serials(self, rng: random.Random, count: int) -> list[str]:
        weights = [rows for _, rows in self.batches]
        chosen = rng.choices(self.batches, weights=weights, k=count)
        return [f"{prefix}{rng.randrange(rows):09d}" for prefix, rows in chosen]


def command_env(db: str, folder: Path) -> dict[str, str]:
    return {**os.environ, "ARMSLEDGER_HOME": str(folder / "node"), "ARMSLEDGER_DB": db,
            "ARMSLEDGER_PASSPHRASE": PASSPHRASE}


# An armsledger command as its console script runs it, timed from after the CLI's imports: the
# process's start (a few seconds on a busy machine) is no part of the work measured.
_TIMED_COMMAND = """
import sys, time
from nodes.cli.main import main
started = time.perf_counter()
code = main(sys.argv[1:])
sys.stderr.write(f"\\nCOMMAND_S={time.perf_counter() - started}\\n")
sys.exit(code)
"""


@dataclass(frozen=True)
class Command:
    """An armsledger command run in a child process: seconds from after its imports, peak RSS, output."""

    seconds: float
    peak_rss_mb: float
    stdout: str


def armsledger(store: Store, *args: str) -> Command:
    done = common.run_child([sys.executable, "-c", _TIMED_COMMAND, *args], store.env)
    if done.returncode != 0 or "COMMAND_S=" not in done.stderr:
        raise RuntimeError(f"armsledger {' '.join(args)}: exit {done.returncode}: {done.stderr[-500:]}")
    seconds = float(done.stderr.rsplit("COMMAND_S=", 1)[1].split()[0])
    return Command(seconds, done.peak_rss_mb, done.stdout)


def grow(store: Store, size: int) -> tuple[float, float]:
    """Import the rows that take the store to ``size`` events; (events/s, peak RSS MB) of that import-csv."""
    added = (size - store.events) // 2
    path = store.add_rows(added)
    done = armsledger(store, "import-csv", "--json", str(path))
    path.unlink()
    if json.loads(done.stdout)["imported"] != added:
        raise RuntimeError(f"import-csv refused rows: {done.stdout[:500]}")
    return 2 * added / done.seconds, done.peak_rss_mb


def append_small_batch(store: Store) -> None:
    from nodes.migration.csv_import import import_csv

    path = store.add_rows(SMALL_BATCH_ROWS)
    report = import_csv(store.node, path, workers=0)
    if report.imported != SMALL_BATCH_ROWS:
        raise RuntimeError(f"import-csv refused rows: {report.errors[:3]}")
    path.unlink()


def seal_times(store: Store, imported: int) -> tuple[float, float, float]:
    """(after import, warm, cold): ms per 1,000 events of the open node's first seal after import-csv added
    ``imported`` events, then the median ms of sealing a small batch in the open node (``WARM_SEAL_SAMPLES``
    seals), and the median ms of sealing one in a new process (``COLD_SEAL_SAMPLES`` processes)."""
    append_small_batch(store)
    with Stopwatch() as after_import:
        store.node.sealer.seal()  # follows what import-csv sealed in its own process, signs the small batch
    warm = []
    for _ in range(WARM_SEAL_SAMPLES):
        append_small_batch(store)
        with Stopwatch() as sealed:
            store.node.sealer.seal()
        warm.append(sealed.seconds * 1000)
    cold = []
    for _ in range(COLD_SEAL_SAMPLES):
        append_small_batch(store)  # each new process has a batch to seal, as the first had
        done = common.run_child([sys.executable, "-c", _COLD_SEAL], store.env)
        if done.returncode != 0:
            raise RuntimeError(f"cold seal: exit {done.returncode}: {done.stderr[-500:]}")
        cold.append(json.loads(done.stdout)["seal_ms"])
        store.node.sealer.seal()  # catch up with the child's checkpoint
    return after_import.seconds * 1000 / (imported / 1000), statistics.median(warm), statistics.median(cold)


def proof_ms(store: Store, rng: random.Random) -> float:
    sealer = store.node.sealer
    size = sealer.latest_checkpoint().size
    times = []
    for _ in range(PROOF_SAMPLES):
        index = rng.randrange(size)
        started = time.perf_counter()
        sealer.inclusion_proof(index, size)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def old_proof_ms(store: Store) -> float:
    done = common.run_child([sys.executable, "-c", _OLD_PROOF], store.env)
    if done.returncode != 0:
        raise RuntimeError(f"old-leaf proof: exit {done.returncode}: {done.stderr[-500:]}")
    return float(json.loads(done.stdout)["proof_ms"])


def history_p99_ms(store: Store, rng: random.Random) -> float:
    """The median of ``HISTORY_ROUNDS`` p99s, each of ``HISTORY_SAMPLES`` reads of random weapons' histories."""
    from domain.marking import Marking

    registry = store.node.registry
    p99s = []
    for round_ in range(HISTORY_ROUNDS):
        warming = 50 if round_ == 0 else 0  # the first reads fill connection pools and caches
        weapons = [Marking.read("FN Herstal", STATE, serial).weapon_id()
                   for serial in store.random_serials(rng, HISTORY_SAMPLES + warming)]
        times = []
        for n, weapon_id in enumerate(weapons):
            started = time.perf_counter()
            _, envelopes = registry.history(weapon_id)
            if n >= warming:
                times.append((time.perf_counter() - started) * 1000)
            if len(envelopes) != 2:
                raise RuntimeError(f"weapon {weapon_id}: {len(envelopes)} records, expected 2")
        p99s.append(percentile(times, 99))
    return statistics.median(p99s)


def measure_size(store: Store, size: int, rng: random.Random) -> dict[str, float]:
    label = f"{size:,} events"
    progress(f"{label}: import-csv to {size:,} events")
    figures: dict[str, float] = {}
    before = store.events
    figures["import"], figures["import RSS"] = grow(store, size)
    progress(f"{label}: seal, proofs, history")
    figures["seal after import"], figures["warm seal"], figures["cold seal"] = seal_times(store, store.events - before)
    figures["inclusion proof"] = proof_ms(store, rng)
    figures["old-leaf proof after restart"] = old_proof_ms(store)
    figures["history p99"] = history_p99_ms(store, rng)
    progress(f"{label}: armsledger verify")
    done = armsledger(store, "verify", "--json")
    checked = json.loads(done.stdout)["events_checked"]
    figures["verify"], figures["verify RSS"] = checked / done.seconds, done.peak_rss_mb
    progress(f"{label}: armsledger verify --since latest")
    figures["verify --since, nothing new"] = statistics.median(
        armsledger(store, "verify", "--since", "latest", "--json").seconds for _ in range(SINCE_SAMPLES))
    progress(f"{label}: armsledger rebuild")
    done = armsledger(store, "rebuild", "--json")
    rebuilt = json.loads(done.stdout)["events"]
    figures["rebuild"], figures["rebuild RSS"] = rebuilt / done.seconds, done.peak_rss_mb
    figures["events"] = store.events
    return figures


# (figure, unit, a rate: higher is better)
COSTS = (("import", "events/s", True), ("verify", "events/s", True), ("rebuild", "events/s", True),
         ("history p99", "ms", False), ("seal after import", "ms per 1,000 events", False),
         ("warm seal", "ms", False), ("cold seal", "ms", False),
         ("inclusion proof", "ms", False), ("old-leaf proof after restart", "ms", False),
         ("verify --since, nothing new", "s", False))
MEMORY = ("import RSS", "verify RSS", "rebuild RSS")


def measure(backend: str, sizes: list[int]) -> Table:
    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    table = Table(f"bench_scale: cost per event at {', '.join(f'{s:,}' for s in sizes)} events, {label}")
    rng = random.Random(12)
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        node.sealer.seal()  # its tree loaded: each "seal after import" follows the records imported
        store = Store(node, command_env(db, folder), folder)
        at = {}
        for size in sizes:  # each size's figures shown as they come: a long run stopped early still tells
            at[size] = measure_size(store, size, rng)
            progress(f"{size:,} events: " + ", ".join(f"{name} {value:,.2f}" for name, value in at[size].items()))
        node.close()
    smallest = at[sizes[0]]
    for name, unit, rate in COSTS:
        for size in sizes:
            bound = 1 / FLAT_TARGET if rate else FLAT_TARGET
            table.add(f"{name} at {size:,}", at[size][name], smallest[name], bound if size != sizes[0] else None,
                      higher_is_better=rate, unit=unit, target_of="ratio")
    for name in MEMORY:
        for size in sizes:
            table.add(f"{name} at {size:,}", at[size][name], target=RSS_TARGET_MB, higher_is_better=False, unit="MB")
    table.notes += [
        f"baseline of each figure: the same figure at the smallest size ({sizes[0]:,} events); flat: ratio "
        f"<= {FLAT_TARGET} (times) or >= {1 / FLAT_TARGET:.2f} (rates)",
        "import: armsledger import-csv of the rows added to reach the size (at the smallest size, all of them); "
        "seal after import: the open node's first seal after that import-csv, per 1,000 events imported; each seal "
        f"after {2 * SMALL_BATCH_ROWS} events appended; warm seal: median of {WARM_SEAL_SAMPLES} seals; cold seal: "
        f"open_node then seal in a new process, median of {COLD_SEAL_SAMPLES} processes",
        "import, verify, rebuild: armsledger in child processes, timed from after the CLI's imports; "
        f"history p99: median of {HISTORY_ROUNDS} rounds' p99 of {HISTORY_SAMPLES} random weapons; "
        f"proof: median of {PROOF_SAMPLES:,} random leaves; "
        "old-leaf proof: the first proof of leaf 0 in a new process, after open_node; "
        f"verify --since: median of {SINCE_SAMPLES} commands",
        "RSS: each command's own peak (wait4 ru_maxrss), target <= "
        f"{RSS_TARGET_MB} MB (stated at 1,000,000 events)",
        "stored events at each size: " + ", ".join(f"{int(at[s]['events']):,}" for s in sizes),
    ]
    return table


def sizes_option(text: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 2 * SMALL_BATCH_ROWS:
        raise ValueError(f"--sizes {text!r}: give sizes of at least {2 * SMALL_BATCH_ROWS} events")
    return sizes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both",
                   help="database(s) to measure (postgres needs ARMSLEDGER_TEST_PG_DSN)")
    p.add_argument("--sizes", type=sizes_option, default=sizes_option(DEFAULT_SIZES),
                   help=f"store sizes in events, comma-separated (default {DEFAULT_SIZES}; 10,000,000 on request)")
    args = p.parse_args()
    common.measure_each_backend("bench_scale", args.backend, lambda b: measure(b, args.sizes))


if __name__ == "__main__":
    main()
