"""What every benchmark script shares: databases, nodes, the baseline aggregate, timing, tables.

A benchmark prints figures side by side with a baseline measured in the same
run on the same database (STYLE.md point 9: figures, never timed asserts).
Every figure is also handed to ``report_figure``: run alone, a script just
prints; under bench/run_all.py (which names a file in ``ARMSLEDGER_BENCH_FIGURES``)
each figure becomes one JSON line there, collected into bench/out/summary.json.
``--backend postgres`` needs ``ARMSLEDGER_TEST_PG_DSN`` (``make bench`` starts a
throwaway server with deploy/with-test-postgres); each measurement gets a
fresh database on that server, dropped afterwards (deploy/throwaway_postgres.py,
which tests/conftest.py uses too).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402

from deploy.throwaway_postgres import PG_DSN_VARIABLE, throwaway_database  # noqa: E402

FIGURES_VARIABLE = "ARMSLEDGER_BENCH_FIGURES"  # the file run_all.py collects figures from (JSON lines)
PASSPHRASE = "bench passphrase"  # init wants at least 12 characters
STATE = "BE"
IDLE_SIGN_RATE = 29_000  # Ed25519 signatures/s per core on the bench machine, idle (the registry's speed target)


# --- command line -------------------------------------------------------------------------


def parser(description: str, default_events: int) -> argparse.ArgumentParser:
    """The options every bench script takes: ``--events N`` and ``--backend``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--events", type=int, default=default_events, help=f"size of the run (default {default_events:,})")
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both",
                   help="database(s) to measure (postgres needs ARMSLEDGER_TEST_PG_DSN)")
    return p


def backends(choice: str) -> list[str]:
    """The backends to run; PostgreSQL is left out, with a note, when no server is configured."""
    wanted = ["sqlite", "postgres"] if choice == "both" else [choice]
    if "postgres" in wanted and not os.environ.get(PG_DSN_VARIABLE):
        print(f"(PostgreSQL skipped: {PG_DSN_VARIABLE} is not set; run through deploy/with-test-postgres)")
        wanted.remove("postgres")
    return wanted


def measure_each_backend(script: str, choice: str, measure: Callable[[str], Table],
                         *first: Callable[[], Table]) -> None:
    """Print the machine note, the tables of ``first``, then ``measure(backend)``'s for each backend of ``choice``
    (their figures reported under that backend)."""
    print(f"{script}: {machine_note()}")
    for table in first:
        table().print()
    for backend in backends(choice):
        measured = measure(backend)
        measured.backend = backend
        measured.print()


def machine_note() -> str:
    """CPUs, load and this moment's Ed25519 signing rate: how busy the machine is for this run."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    sign_rate, _ = ed25519_rates(seconds=0.3, verify=False)
    return (f"{os.cpu_count()} CPUs, load average {load:.1f} at start; Ed25519 signs {sign_rate:,.0f}/s on one core "
            f"now (measured ~{IDLE_SIGN_RATE:,}/s on this machine idle: lower means a busy machine, "
            "noisy absolute figures; compare the ratios)")


# --- databases and nodes ------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(backend: str) -> Iterator[tuple[str, Path]]:
    """(db URL, scratch folder) of an empty database, removed afterwards.

    SQLite: a file in a new temporary folder. PostgreSQL: a new database on the
    server of ``ARMSLEDGER_TEST_PG_DSN``, dropped WITH (FORCE) at the end.
    """
    with tempfile.TemporaryDirectory(prefix="armsledger-bench-") as scratch:
        folder = Path(scratch)
        if backend == "sqlite":
            yield str(folder / "ledger.db"), folder
            return
        with throwaway_database(os.environ[PG_DSN_VARIABLE], "armsledger_bench") as url:
            yield url, folder


def node_settings(db: str, folder: Path):
    from nodes.settings import Settings

    return Settings.load(environ={}, home=folder / "node", db=db, passphrase=PASSPHRASE)


def new_node(db: str, folder: Path):
    """A freshly initialised node for state BE (keys in ``folder/node``, log in ``db``)."""
    from nodes.bootstrap import init_node

    return init_node(node_settings(db, folder), STATE)


def open_existing_node(db: str, folder: Path):
    from nodes.bootstrap import open_node

    return open_node(node_settings(db, folder))


# --- the baseline: the eventsourcing library alone, unsigned ------------------------------


class Item(Aggregate):
    """A trivial aggregate with events shaped like a weapon's (a few short strings and ints)."""

    @event("Registered")
    def __init__(self, serial: str, type: str, make: str, model: str, calibre: str, year: int, holder: str,
                 occurred_on: int):
        self.serial = serial
        self.holder = holder

    @event("Transferred")
    def transfer(self, to_holder: str, licence: str, occurred_on: int) -> None:
        self.holder = to_holder

    @event("Marked")
    def mark(self, mark: str, reason: str, occurred_on: int) -> None:
        pass


def new_item(serial: str, occurred_on: int) -> Item:
    return Item(serial=serial, type="pistol", make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                holder="FN Herstal", occurred_on=occurred_on)


class Baseline(Application):
    """Plain eventsourcing Application, default JSON transcoder, tables ``baseline_*``."""

    name = "baseline"


def baseline_app(db: str) -> Baseline:
    """The baseline application beside the node: on PostgreSQL the same database (its own tables),
    on SQLite a file ``baseline.db`` next to the node's (both libraries name their table stored_events)."""
    from nodes.registry.storage import eventsourcing_env

    if not db.startswith(("postgres://", "postgresql://")):
        db = str(Path(db).with_name("baseline.db"))
    return Baseline(env=eventsourcing_env(db))


# --- workload data ------------------------------------------------------------------------

CSV_HEADER = ("manufacturer", "country", "serial", "type", "make", "model", "calibre", "year", "manufactured_on",
              "first_holder", "current_holder", "transferred_on", "transfer_licence")


def write_weapons_csv(path: Path, rows: int, *, prefix: str = "S") -> Path:
    """A register of ``rows`` weapons in the import-csv layout (docs/csv-layout.md),
    each with a current holder: two signed events per row (manufacture, transfer)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for i in range(rows):
            writer.writerow(("FN Herstal", "BE", f"{prefix}{i:09d}", "pistol", "FN", "Five-seveN", "5.7x28", 2001,
                             "2001-03-04", "FN Herstal", f"Holder {i % 997}", "2010-05-06", f"LG/2010/{i % 9973}"))
    return path


# --- Ed25519 context ----------------------------------------------------------------------


def ed25519_rates(seconds: float = 1.0, verify: bool = True) -> tuple[float, float]:
    """(signatures/s, verifications/s; 0.0 unless ``verify``) of one core, over 32-byte digests as envelopes sign."""
    from ledger.keys import generate_key, sign, verify_signature

    key = generate_key()
    public = key.public_key()
    digests = [os.urandom(32) for _ in range(256)]
    signatures = [sign(key, d) for d in digests]
    operations = [lambda i: sign(key, digests[i & 255])]
    if verify:
        operations.append(lambda i: verify_signature(public, signatures[i & 255], digests[i & 255]))
    rates = [0.0, 0.0]
    for n, operation in enumerate(operations):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for i in range(200):
                operation(i)
            count += 200
        rates[n] = count / (time.perf_counter() - started)
    return rates[0], rates[1]


# --- child processes ----------------------------------------------------------------------

# A child's ru_maxrss counts the memory of the process it was forked from (Linux keeps the old
# mm's high-water mark across exec), and a bench holds large stores and buffers. So each command
# is forked by a small fresh interpreter (``python -S``), which reports its child's peak on stderr.
_LAUNCHER = """
import os, signal, sys, time
stop_after = float(os.environ.pop("BENCH_STOP_AFTER_S", "0"))
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
if stop_after:  # a command that runs until SIGTERM (node run): stop it after a while
    time.sleep(stop_after)
    os.kill(pid, signal.SIGTERM)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\nMAXRSS_KB={usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class ChildRun:
    """What ``run_child`` saw of one command: its own peak RSS (not the bench's), exit code, time, output."""

    peak_rss_mb: float
    returncode: int
    seconds: float
    stdout: str
    stderr: str


def run_child(argv: list[str], env: dict[str, str], *, stop_after_s: float = 0) -> ChildRun:
    """Run ``argv`` (an executable path first) as a child of a small launcher; SIGTERM after ``stop_after_s`` if > 0.

    The peak RSS is the command's alone (``wait4``'s ``ru_maxrss``), whatever this process holds.
    """
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *argv],
                          env={**env, "BENCH_STOP_AFTER_S": str(stop_after_s)}, capture_output=True)
    seconds = time.perf_counter() - started
    err = done.stderr.decode(errors="replace")
    if "MAXRSS_KB=" not in err:
        raise RuntimeError(f"{' '.join(argv)}: the launcher reported no peak RSS: {err[-300:]}")
    before, after = err.rsplit("MAXRSS_KB=", 1)
    return ChildRun(int(after.split()[0]) / 1024, done.returncode, seconds, done.stdout.decode(errors="replace"),
                    before.rstrip("\n"))


def armsledger_command() -> list[str]:
    """The ``armsledger`` console script of the interpreter running the bench."""
    return [str(Path(sys.executable).parent / "armsledger")]


# --- timing -------------------------------------------------------------------------------


class Stopwatch:
    """``with Stopwatch() as w: ...`` then ``w.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def percentile(samples: list[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of ``samples``, nearest rank on the sorted list."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- figures: one entry each, printed and collected --------------------------------------


def figure_entry(name: str, backend: str, value: float, unit: str, *, baseline: float | None = None,
                 target: float | None = None, target_of: str = "value", higher_is_better: bool = True) -> dict:
    """One figure as summary.json holds it; ``met`` computed here, never given.

    ``target`` bounds the value (``target_of="value"``) or the ratio value/baseline
    (``target_of="ratio"``): at least it when ``higher_is_better``, else at most it.
    ``met`` is None without a target, False when the bounded quantity is missing.
    """
    if target_of not in ("value", "ratio"):
        raise ValueError(f"target_of must be 'value' or 'ratio', not {target_of!r}")
    ratio = value / baseline if baseline else None
    met = None
    if target is not None:
        bounded = ratio if target_of == "ratio" else value
        met = bounded is not None and (bounded >= target if higher_is_better else bounded <= target)
    return {"script": os.path.basename(sys.argv[0]), "name": name, "backend": backend, "value": value,
            "unit": unit, "baseline": baseline, "ratio": ratio, "target": target, "target_of": target_of,
            "bound": ">=" if higher_is_better else "<=", "met": met}


def report_figure(name: str, backend: str, value: float, unit: str, **bounds) -> dict:
    """Record one figure (``figure_entry``'s arguments) for run_all's summary; its entry.

    Appends one JSON line to the file named by ``ARMSLEDGER_BENCH_FIGURES`` when
    set (run_all sets it); does nothing else, so a script run alone just prints.
    """
    entry = figure_entry(name, backend, value, unit, **bounds)
    path = os.environ.get(FIGURES_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return entry


# --- printing -----------------------------------------------------------------------------


@dataclass
class Row:
    """One figure. ``target`` bounds the value, or the ratio to the baseline when ``target_of="ratio"``:
    at least it (``higher_is_better``) or at most it."""

    metric: str
    value: float
    baseline: float | None = None
    target: float | None = None
    higher_is_better: bool = True
    unit: str = "events/s"
    target_of: str = "value"

    def entry(self, backend: str) -> dict:
        return figure_entry(self.metric, backend, self.value, self.unit, baseline=self.baseline,
                            target=self.target, target_of=self.target_of, higher_is_better=self.higher_is_better)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> str:
        met = self.entry("").get("met")
        return "" if met is None else "yes" if met else "NO"


@dataclass
class Table:
    """A compact table: metric, value, baseline, ratio, target, met?; then what each baseline was.

    ``print`` also reports each row (``report_figure``) under ``backend``.
    """

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    backend: str = "none"

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def print(self) -> None:
        header = ("metric", "value", "baseline", "ratio", "target", "met?")
        lines = [header]
        for r in self.rows:
            bound = "" if r.target is None else ((">= " if r.higher_is_better else "<= ") + _figure(r.target)
                                                 + ("x" if r.target_of == "ratio" else ""))
            lines.append((f"{r.metric} ({r.unit})", _figure(r.value),
                          "" if r.baseline is None else _figure(r.baseline),
                          "" if r.ratio is None else f"{r.ratio:.2f}", bound, r.met))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        print(f"\n== {self.title} ==")
        for n, line in enumerate(lines):
            cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
            print("  ".join(cells).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))
        for note in self.notes:
            print(f"  * {note}")
        sys.stdout.flush()
        for r in self.rows:
            report_figure(r.metric, self.backend, r.value, r.unit, baseline=r.baseline, target=r.target,
                          target_of=r.target_of, higher_is_better=r.higher_is_better)


def _figure(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def progress(message: str) -> None:
    """A line on stderr, so that stdout holds only the tables."""
    print(f"  .. {message}", file=sys.stderr, flush=True)
