"""Projection rebuild and ``verify`` throughput, against the I/O floor and the Ed25519 ceiling.

    .venv/bin/python bench/bench_rebuild_verify.py [--events N] [--rounds R] [--backend sqlite|postgres|both]

Fills a fresh store with N signed events (import-csv of N/2 weapons) and seals
a checkpoint over them. Then, ``--rounds`` times: reads every notification
with ``select_notifications`` (1,000 per call: the I/O floor of both),
rebuilds the projections from scratch (``node.views.rebuild``), and audits the
store as ``armsledger verify`` does with the passphrase set (``nodes.registry.verify.verify_store``,
then ``record_verified`` signs the verified mark). Rebuild
is compared with the raw read rate; verify with the Ed25519 verification rate
of one core times the cores, the mean of samples just before and just after it. Beside it, a figure the load
moves less: Ed25519's share of verify's CPU (the CPU of one verification, measured in this process, times the
records, over the CPU of this process and its workers during the verify; the database server's not counted),
which bounds the ratio when both cores are busy; and the rebuild's CPU per record (this process and the worker
that makes a large SQLite log's rows): what the rebuild costs when no core is free. Medians of the rounds.
Asserts nothing.
"""

from __future__ import annotations

import os
import resource
import time

if __name__ != "__mp_main__":  # not again in each verify worker, which spawn starts by running this module:
    # ``armsledger verify``'s workers import only the console script's entry point, not the baseline's library.
    import common
    from common import Stopwatch, Table, median, progress

REBUILD_TARGET = 0.3  # x the raw notification read of the same run, both backends
VERIFY_TARGET = 0.85  # x the Ed25519 verification ceiling of the same run, both backends
READ_BATCH = 1_000


def fill(node, folder, events: int) -> None:
    from nodes.migration.csv_import import import_csv

    path = common.write_weapons_csv(folder / "register.csv", events // 2)
    report = import_csv(node, path)
    if report.imported != events // 2:
        raise RuntimeError(f"import-csv refused rows: {report.errors[:3]}")
    path.unlink()


def raw_read(registry) -> float:
    """Events/s of reading every stored notification, nothing else."""
    count, position = 0, 1
    with Stopwatch() as watch:
        while True:
            notifications = registry.recorder.select_notifications(start=position, limit=READ_BATCH)
            if not notifications:
                break
            count += len(notifications)
            position = notifications[-1].id + 1
    return count / watch.seconds


def rebuild(node) -> tuple[float, float]:
    """(events/s, CPU microseconds per record of this process and the worker it started) of one rebuild."""
    children, cpu = _children_cpu(), time.process_time()
    with Stopwatch() as watch:
        processed = node.views.rebuild(node.registry)
    cpu = time.process_time() - cpu + _children_cpu() - children  # the worker has ended with the rebuild
    return processed / watch.seconds, cpu / processed * 1e6


def verify(node) -> tuple[float, float]:
    """(events/s, CPU microseconds per record of this process and the workers it started) of one verify."""
    from nodes.registry.verify import record_verified, verify_store

    children, cpu = _children_cpu(), time.process_time()
    with Stopwatch() as watch:
        report = verify_store(node)
        recorded = record_verified(node, report)
    cpu = time.process_time() - cpu + _children_cpu() - children  # the workers are waited for by verify_store
    if not report.ok or isinstance(recorded, str):
        raise RuntimeError(f"verify found problems in a fresh store or recorded no mark ({recorded}): "
                           f"{report.to_dict()}")
    return report.events_checked / watch.seconds, cpu / report.events_checked * 1e6


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verify_ceiling() -> float:
    """Ed25519 verifications/s of one core times the cores, measured now (the load changes)."""
    _, per_core = common.ed25519_rates(seconds=0.5)
    return per_core * (os.cpu_count() or 1)


def ed25519_cpu_us(seconds: float = 0.3) -> float:
    """CPU microseconds of one Ed25519 verification in this process, measured now."""
    from ledger.keys import generate_key, sign, verify_signature

    key = generate_key()
    public, digest = key.public_key(), os.urandom(32)
    signature = sign(key, digest)
    count, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        for _ in range(100):
            verify_signature(public, signature, digest)
        count += 100
    return (time.process_time() - started) / count * 1e6


def measure(backend: str, events: int, rounds: int) -> Table:
    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    table = Table(f"bench_rebuild_verify: {events:,} stored events, {label}")
    figures: dict[str, list[float]] = {"read": [], "rebuild": [], "rebuild CPU us": [], "ceiling": [], "verify": [],
                                       "verify CPU us": [], "Ed25519 CPU us": []}
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        progress(f"{label}: filling {events:,} signed events (import-csv) and sealing")
        fill(node, folder, events)
        with Stopwatch() as sealing:
            node.sealer.seal()
        for r in range(rounds):
            progress(f"{label} round {r + 1}/{rounds}: read")
            figures["read"].append(raw_read(node.registry))
            progress(f"{label} round {r + 1}/{rounds}: rebuild")
            rate, cpu_us = rebuild(node)
            figures["rebuild"].append(rate)
            figures["rebuild CPU us"].append(cpu_us)
            progress(f"{label} round {r + 1}/{rounds}: verify")
            before = verify_ceiling()
            rate, cpu_us = verify(node)
            figures["ceiling"].append((before + verify_ceiling()) / 2)
            figures["verify"].append(rate)
            figures["verify CPU us"].append(cpu_us)
            figures["Ed25519 CPU us"].append(ed25519_cpu_us())
        node.close()

    m = {k: median(v) for k, v in figures.items()}
    table.add("rebuild", m["rebuild"], m["read"], REBUILD_TARGET, target_of="ratio")
    table.add("rebuild, CPU per record (this process and its worker)", m["rebuild CPU us"], unit="us/record",
              higher_is_better=False)
    table.add("verify", m["verify"], m["ceiling"], VERIFY_TARGET, target_of="ratio")
    table.add("verify, Ed25519's share of its CPU", m["Ed25519 CPU us"] / m["verify CPU us"], unit="share")
    table.add("raw notification read", m["read"])
    table.add("seal (checkpoint over the fill)", events / sealing.seconds)
    table.notes += [
        f"median of {rounds} rounds: " + ", ".join(f"{k} " + "/".join(f"{x:,.{1 if 'CPU' in k else 0}f}" for x in v)
                                                   for k, v in figures.items()),
        f"rebuild baseline: raw select_notifications read rate ({READ_BATCH:,} per call) of the same events",
        f"verify baseline (ceiling): Ed25519 verifications/s of one core x {os.cpu_count()} cores, the mean of "
        "0.5 s measured just before and 0.5 s just after each verify round",
        "Ed25519's share of verify's CPU: one verification's CPU in this process x the records, over the CPU of "
        "this process and its workers during the verify (not the database server's): the ratio's bound when "
        "both cores are busy, moved less by the load than the rates",
    ]
    return table


def main() -> None:
    p = common.parser(__doc__.splitlines()[0], default_events=200_000)
    p.add_argument("--rounds", type=int, default=3, help="rounds; the median is printed")
    args = p.parse_args()
    common.measure_each_backend("bench_rebuild_verify", args.backend, lambda b: measure(b, args.events, args.rounds))


if __name__ == "__main__":
    main()
