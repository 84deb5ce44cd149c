"""``history`` latency at a large store, against eventsourcing's repository.get of an unsigned aggregate.

    .venv/bin/python bench/bench_history.py [--events N] [--samples S] [--backend sqlite|postgres|both]

Fills a fresh store with N signed events by the bulk path (import-csv of N/2
weapons, two events each), and the baseline tables of the same database with
N unsigned events (N/2 eventsourcing aggregates of two events, saved 1,000 per
save; the reads draw from a uniform sample of 100,000 of them, so that 10,000,000
fits in memory). Then, for ``--samples`` random weapons, times ``node.registry.history``
(what ``armsledger history`` runs: one read of the weapon's stream, replayed
into the aggregate) and, as its baseline, ``repository.get`` of a random baseline
aggregate plus the Ed25519 check of the signatures of the records history showed
(as history must now do), alternating. Prints p50/p99 in ms. Targets: p99 <= 1.2x
that baseline on both backends; p99 <= 2 ms at 1,000,000 events and more on
PostgreSQL (``--events 1000000 --backend postgres``). Asserts nothing.
"""

from __future__ import annotations

import random
import time

import common
from common import Stopwatch, Table, percentile, progress

from domain.time import SECONDS_PER_DAY as DAY

P99_TARGET_MS = 2.0  # at 1,000,000 events on PostgreSQL (the registry's speed target)
P99_RATIO_TARGET = 1.2  # x repository.get plus the signature checks, both backends
TARGET_EVENTS = 1_000_000
BASELINE_BATCH = 1_000
BASELINE_SAMPLE = 100_000  # baseline aggregate ids kept to draw the timed reads from
WARM_UP = 200


def fill_signed(node, folder, events: int) -> float:
    """Bulk-import events/2 weapons; returns events/s of the fill (context only)."""
    from nodes.migration.csv_import import import_csv

    path = common.write_weapons_csv(folder / "register.csv", events // 2)
    with Stopwatch() as watch:
        report = import_csv(node, path)
    if report.imported != events // 2:
        raise RuntimeError(f"import-csv refused rows: {report.errors[:3]}")
    path.unlink()
    return report.events / watch.seconds


def fill_baseline(app, events: int) -> tuple[list, float]:
    """events/2 unsigned aggregates of two events; returns (a uniform sample of at most ``BASELINE_SAMPLE``
    of their ids, events/s). A sample, not every id: at 10,000,000 events the ids alone would take a GB."""
    occurred = int(time.time()) - DAY
    ids: list = []
    rng = random.Random(1)
    seen = 0
    with Stopwatch() as watch:
        for start in range(0, events // 2, BASELINE_BATCH):
            batch = []
            for i in range(start, min(start + BASELINE_BATCH, events // 2)):
                item = common.new_item(f"S{i:09d}", occurred)
                item.transfer(f"Holder {i % 997}", "LG/2010/1", occurred)
                batch.append(item)
            app.save(*batch)
            for item in batch:  # reservoir sampling (Algorithm R): each id kept with equal chance
                seen += 1
                if len(ids) < BASELINE_SAMPLE:
                    ids.append(item.id)
                elif (slot := rng.randrange(seen)) < BASELINE_SAMPLE:
                    ids[slot] = item.id
    return ids, events / watch.seconds


def measure(backend: str, events: int, samples: int) -> Table:
    from domain.marking import Marking
    from ledger.envelope import verify_envelope

    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    target = P99_TARGET_MS if backend == "postgres" and events >= TARGET_EVENTS else None
    table = Table(f"bench_history: history latency at {events:,} stored events, {label}")
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        app = common.baseline_app(db)
        progress(f"{label}: filling {events:,} signed events (import-csv)")
        signed_fill = fill_signed(node, folder, events)
        progress(f"{label}: filling {events:,} unsigned events (eventsourcing, baseline)")
        item_ids, baseline_fill = fill_baseline(app, events)
        if backend == "postgres":  # as after any bulk load (import-csv does it for its own table)
            import psycopg

            with psycopg.connect(db, autocommit=True) as connection:
                connection.execute("ANALYZE")

        rng = random.Random(2)
        weapons = [Marking.read("FN Herstal", "BE", f"S{rng.randrange(events // 2):09d}").weapon_id()
                   for _ in range(samples + WARM_UP)]
        items = [rng.choice(item_ids) for _ in range(samples + WARM_UP)]
        progress(f"{label}: timing {samples:,} history reads and {samples:,} repository.get")
        public_keys = {key_id: key.public_key() for key_id, key in node.identity.private_keys.items()}
        signed, baseline = [], []
        for n, (weapon_id, item_id) in enumerate(zip(weapons, items)):
            started = time.perf_counter()
            weapon, envelopes = node.registry.history(weapon_id)
            middle = time.perf_counter()
            item = app.repository.get(item_id)
            checked = all(verify_envelope(e, public_keys[e.authority]) for e in envelopes)
            ended = time.perf_counter()
            if len(envelopes) != 2 or item.version != 2 or not checked:
                raise RuntimeError("unexpected stream length or signature")
            if n >= WARM_UP:  # the first reads fill connection pools and caches
                signed.append((middle - started) * 1000)
                baseline.append((ended - middle) * 1000)
        app.close()
        node.close()

    table.add("history p50", percentile(signed, 50), percentile(baseline, 50), unit="ms", higher_is_better=False)
    table.add("history p99", percentile(signed, 99), percentile(baseline, 99), P99_RATIO_TARGET, unit="ms",
              higher_is_better=False, target_of="ratio")
    if target is not None:
        table.add(f"history p99 at {events:,} events", percentile(signed, 99), target=target, unit="ms",
                  higher_is_better=False)
    table.add("fill, bulk import-csv", signed_fill, baseline_fill)
    table.notes += [
        f"{samples:,} random weapons (2 events each) after {WARM_UP} warm-up reads; history = "
        "node.registry.history (one stream read, envelopes parsed, aggregate replayed)",
        "baseline: eventsourcing repository.get of a random unsigned aggregate with 2 events, same database, "
        f"{events:,} events in its table, plus verify_envelope of the 2 records history returned; reads "
        "alternate with the history reads",
        "fill baseline: eventsourcing saving 1,000 unsigned aggregates per save",
    ]
    if backend == "postgres":
        table.notes.append("PostgreSQL: the database analyzed after both fills, before the reads (without "
                           "statistics both sides were planned as scans of 0.5 % of the table)")
    if target is None and backend == "postgres":
        table.notes.append(f"target p99 <= {P99_TARGET_MS} ms applies at {TARGET_EVENTS:,} events: "
                           f"run with --events {TARGET_EVENTS} --backend postgres")
    return table


def main() -> None:
    p = common.parser(__doc__.splitlines()[0], default_events=TARGET_EVENTS)
    p.add_argument("--samples", type=int, default=2_000, help="history reads timed (after a warm-up)")
    args = p.parse_args()
    common.measure_each_backend("bench_history", args.backend, lambda b: measure(b, args.events, args.samples))


if __name__ == "__main__":
    main()
