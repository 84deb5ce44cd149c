"""Throughput of ``armsledger verify`` (nodes.registry.verify.verify_store) on a store of N events.

    .venv/bin/python bench/bench_verify.py [-n 50000] [--db URL] [--home DIR]

Builds a fresh node (SQLite in a temporary folder unless --db is given), records
N manufactures in bulk, seals, then times the audit in this process alone
(workers=1) and on the process pool (default). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))


def main() -> None:
    # Imported here, not at the top: each verify worker is spawned and runs this module again (as
    # ``__mp_main__``), and ``armsledger verify``'s workers import only the console script's entry point.
    from common import report_figure

    from domain.marking import Marking
    from domain.time import SECONDS_PER_DAY
    from nodes.bootstrap import init_node
    from nodes.registry.verify import verify_store
    from nodes.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("--db", default="")
    parser.add_argument("--home", default="")
    args = parser.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="armsledger-bench-"))
    node = init_node(Settings.load(home=home / "node", db=args.db or str(home / "ledger.db"), passphrase="bench"),
                     "BE")
    occurred = int(time.time()) - SECONDS_PER_DAY
    started = time.perf_counter()
    for start in range(0, args.n, 1000):
        node.registry.manufacture_many(
            ("licensing", Marking.read("FN Herstal", "BE", f"B{i:08d}"),
             {"type": "pistol", "make": "FN", "model": "Five-seveN", "calibre": "5.7x28", "year": 2020,
              "holder": "FN Herstal", "occurred_on": occurred})
            for i in range(start, min(start + 1000, args.n)))
    print(f"recorded {args.n} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    checkpoint = node.sealer.seal()
    print(f"sealed size {checkpoint.size} in {time.perf_counter() - started:.1f} s")
    for label, workers in (("one process", 1), ("process pool", None)):
        started = time.perf_counter()
        report = verify_store(node, workers=workers)
        elapsed = time.perf_counter() - started
        print(f"verify ({label}): {report.events_checked} events in {elapsed:.2f} s = "
              f"{report.events_checked / elapsed:,.0f} events/s, ok={report.ok}")
        report_figure(f"verify, {label}", "postgres" if node.settings.is_postgres else "sqlite",
                      report.events_checked / elapsed, "events/s")
    node.close()


if __name__ == "__main__":
    main()
