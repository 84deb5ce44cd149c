"""Signed transfers by 16 client threads through one group committer, against eventsourcing unsigned.

    .venv/bin/python bench/bench_group_commit.py [--events N] [--threads 16] [--rounds R]
        [--backend sqlite|postgres|both]

Product: ``--threads`` client threads in one process, each submitting transfers of weapons
of its own (four per weapon: holder B, A, B, A) to one ``nodes.registry.group_commit.GroupCommitter``
on a freshly initialised node, as the HTTP service does for its officers; the committer
settles the node (checkpoint, projections) after each batch on its own thread. Each
``submit`` is timed until it returns (the records are committed).

Baseline: the same threads on a plain eventsourcing Application with a trivial unsigned
aggregate on the same PostgreSQL database (SQLite: a second file in the same folder), each
doing get, change, save: one event per save, one transaction each.

Each figure is the median of ``--rounds`` rounds, product and baseline alternating.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import common
from common import Table, median, percentile, progress

from domain.time import SECONDS_PER_DAY as DAY

THROUGHPUT_TARGET = 1_000  # events/s on PostgreSQL, 16 threads
RATIO_TARGET = 2.0         # times the baseline of the same run
P99_TARGET_MS = 50.0
TRANSFERS_PER_WEAPON = 4   # short histories, as most weapons have: replaying them is part of each command


def clients(threads: int, per_thread: int, work: Callable[[int, int], None]) -> tuple[float, list[float]]:
    """(events/s, latencies in ms) of ``threads`` threads each calling ``work(thread, i)`` ``per_thread`` times."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def client(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            began = time.perf_counter()
            work(t, i)
            latencies[t].append((time.perf_counter() - began) * 1000)

    with ThreadPoolExecutor(threads) as pool:
        done = [pool.submit(client, t) for t in range(threads)]
        start.wait()
        began = time.perf_counter()
        for future in done:
            future.result()
        seconds = time.perf_counter() - began
    return threads * per_thread / seconds, [ms for samples in latencies for ms in samples]


def group_commit_round(node, weapons: list[list], per_thread: int) -> tuple[float, list[float], float]:
    """(events/s, latencies, mean records per batch) of transfers through one committer."""
    from nodes.registry.group_commit import GroupCommitter

    occurred = int(time.time()) - DAY

    def transfer(t: int, i: int) -> None:
        holder = "BA"[i % 2]
        weapon = weapons[t][i // TRANSFERS_PER_WEAPON % len(weapons[t])]
        committer.submit(lambda r: r.transfer(weapon_id=weapon, to_holder=f"Dealer {holder}",
                                              licence=f"TL-{holder}", occurred_on=occurred),
                         writes=(weapon,))  # as the service's route does

    with GroupCommitter(node) as committer:
        rate, latencies = clients(len(weapons), per_thread, transfer)
    return rate, latencies, committer.stats.records / max(1, committer.stats.batches)


def baseline_round(app, items: list[list], per_thread: int) -> tuple[float, list[float]]:
    occurred = int(time.time()) - DAY

    def transfer(t: int, i: int) -> None:
        item = app.repository.get(items[t][i // TRANSFERS_PER_WEAPON % len(items[t])])
        item.transfer(f"Dealer {'BA'[i % 2]}", f"TL-{'BA'[i % 2]}", occurred)
        app.save(item)

    return clients(len(items), per_thread, transfer)


def prepare(node, app, threads: int, per_thread: int, tag: str) -> tuple[list[list], list[list]]:
    """Per thread, a weapon and a baseline item for every ``TRANSFERS_PER_WEAPON`` transfers (untimed)."""
    from domain.marking import Marking

    occurred = int(time.time()) - DAY
    count = max(1, per_thread // TRANSFERS_PER_WEAPON)
    weapons, items = [], []
    for t in range(threads):
        serials = [f"{tag}{t:02d}N{w:05d}" for w in range(count)]
        weapons.append(node.registry.manufacture_many(
            ("licensing", Marking.read("FN Herstal", "BE", serial),
             dict(type="pistol", make="FN", model="Five-seveN", calibre="5.7x28", year=2020, holder="Dealer A",
                  occurred_on=occurred))
            for serial in serials))
        new = [common.new_item(serial, occurred) for serial in serials]
        app.save(*new)
        items.append([item.id for item in new])
    return weapons, items


def measure(backend: str, events: int, threads: int, rounds: int) -> Table:
    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    on_postgres = backend == "postgres"
    per_thread = max(1, events // threads)
    figures: dict[str, list[float]] = {}
    latencies: dict[str, list[float]] = {"gc": [], "es": []}
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        now = int(time.time())
        for number, holder in (("TL-A", "Dealer A"), ("TL-B", "Dealer B")):
            node.registry.issue_licence(number=number, kind="transfer_licence", holder=holder,
                                        valid_from=now - 30 * DAY, valid_until=now + 30 * DAY,
                                        occurred_on=now - 30 * DAY)
        node.settle()
        # SQLite: a file of its own (both libraries' tables would be named stored_events).
        app = common.baseline_app(str(folder / "baseline.db") if backend == "sqlite" else db)
        for r in range(rounds):
            weapons, items = prepare(node, app, threads, per_thread, f"R{r}T")
            node.settle()
            order = ["es", "gc"] if r % 2 == 0 else ["gc", "es"]
            for kind in order:
                progress(f"{label} round {r + 1}/{rounds}: {kind}, {threads} threads x {per_thread} transfers")
                if kind == "gc":
                    rate, samples, per_batch = group_commit_round(node, weapons, per_thread)
                    figures.setdefault("per_batch", []).append(per_batch)
                else:
                    rate, samples = baseline_round(app, items, per_thread)
                figures.setdefault(kind, []).append(rate)
                latencies[kind] += samples
        app.close()
        node.close()

    m = {k: median(v) for k, v in figures.items()}
    table = Table(f"bench_group_commit: {threads} threads recording transfers, {label}")
    table.add(f"group commit, {threads} threads", m["gc"], m["es"], THROUGHPUT_TARGET if on_postgres else None)
    table.add(f"group commit, {threads} threads vs baseline", m["gc"], m["es"],
              RATIO_TARGET if on_postgres else None, target_of="ratio")
    for p in (50, 99):
        table.add(f"latency p{p}", percentile(latencies["gc"], p), percentile(latencies["es"], p),
                  P99_TARGET_MS if p == 99 and on_postgres else None, higher_is_better=False, unit="ms")
    table.add("records per batch (mean)", m["per_batch"], unit="records")
    table.notes += [
        f"median of {rounds} rounds of {threads * per_thread:,} transfers; latency over all rounds "
        "(submit until committed)",
        f"baseline: eventsourcing Application, unsigned JSON aggregate, the same {threads} threads, "
        "get-change-save, one event per save",
        f"targets: >= {THROUGHPUT_TARGET:,} events/s and >= {RATIO_TARGET:.0f}x the baseline (one row each)"
        if on_postgres else "targets are for PostgreSQL",
        "all rounds: " + ", ".join(f"{k} " + "/".join(f"{x:,.0f}" for x in v) for k, v in figures.items()),
    ]
    return table


def main() -> None:
    p = common.parser(__doc__.splitlines()[0], default_events=4_000)
    p.add_argument("--threads", type=int, default=16, help="client threads (default 16)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; the median is printed")
    args = p.parse_args()
    common.measure_each_backend("bench_group_commit", args.backend,
                                lambda b: measure(b, args.events, args.threads, args.rounds))


if __name__ == "__main__":
    main()
