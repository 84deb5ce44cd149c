"""Run every bench/bench_*.py in turn, each at a modest size, printing their output.

    deploy/with-test-postgres .venv/bin/python bench/run_all.py [--only NAME ...]

``make bench`` runs this; the sizes below keep the whole run under ten minutes
on two cores. The figures quoted against the targets come from larger
runs of the single scripts (e.g. ``bench_history.py --events 1000000``,
``bench_service.py --events 1000000 --backend postgres``). A
script that fails or overruns its time limit is reported and the others still
run; the exit code is then 1. Asserts nothing about the figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# Size options per script: modest, so that `make bench` stays short.
SIZES: dict[str, list[str]] = {
    "bench_append.py": ["--events", "20000", "--interactive", "400", "--rounds", "3"],
    "bench_group_commit.py": ["--events", "3200", "--rounds", "3"],
    "bench_history.py": ["--events", "200000", "--samples", "1000"],
    "bench_rebuild_verify.py": ["--events", "40000", "--rounds", "2"],
    "bench_verify.py": ["-n", "20000"],
    "bench_evidence.py": ["--events", "20000", "--records", "1000", "--rounds", "2"],
    "bench_kafka_raw.py": ["-n", "20000"],
    "bench_replication.py": ["-n", "10000", "--latency-samples", "100"],
    "bench_trace.py": ["--rounds", "5"],
    "bench_idle_cpu.py": ["--seconds", "20", "--warm-up", "8"],
    "bench_resources.py": ["--oversized-mb", "24", "--malformed", "10000"],
    # A few minutes per backend; the targets' size (--events 1000000 --backend postgres) took
    # about 12 minutes on a busy 2-core machine, most of it the bulk fill.
    "bench_service.py": ["--events", "100000", "--transfers", "1600", "--rounds", "3", "--samples", "1000"],
}
# Scripts not listed above get this size if their --help offers the option, else their defaults.
FALLBACK_SIZES = (("--events", "20000"), ("-n", "20000"))
TIME_LIMIT_S = 600  # a safety net against a hung script, not a budget


def size_options(script: Path) -> list[str]:
    if script.name in SIZES:
        return SIZES[script.name]
    try:
        help_text = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                                   timeout=60).stdout
    except subprocess.TimeoutExpired:
        return []
    for option, value in FALLBACK_SIZES:
        if f"{option} " in help_text or f"{option}," in help_text:
            return [option, value]
    return []


def run(command: list[str]) -> str:
    """Run one script in its own process group, so that a stopped script takes its workers with it."""
    process = subprocess.Popen(command, start_new_session=True)
    try:
        code = process.wait(timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        return f"FAILED (over {TIME_LIMIT_S} s, stopped)"
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGTERM)
        raise
    return "ok" if code == 0 else f"FAILED (exit {code})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=[], help="run only these scripts (e.g. bench_append.py)")
    args = p.parse_args()
    scripts = sorted(s for s in BENCH.glob("bench_*.py") if not args.only or s.name in args.only)
    failed = []
    started = time.perf_counter()
    for script in scripts:
        command = [sys.executable, str(script), *size_options(script)]
        print(f"\n##### {script.name} {' '.join(command[2:])}", flush=True)
        began = time.perf_counter()
        outcome = run(command)
        if outcome != "ok":
            failed.append(script.name)
        print(f"##### {script.name}: {outcome} in {time.perf_counter() - began:.0f} s", flush=True)
    print(f"\nbench: {len(scripts)} scripts in {time.perf_counter() - started:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
