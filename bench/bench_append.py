"""Signed-event append throughput, interactive and bulk, against the eventsourcing library unsigned.

    .venv/bin/python bench/bench_append.py [--events N] [--interactive N] [--rounds R]
        [--backend sqlite|postgres|both]

Interactive: one command per event through ``node.registry`` (per weapon:
manufacture, transfer, mark, transfer back), by 1 writer and by 4 writer
processes, each with its own Registry on the same database. Baseline: a
trivial eventsourcing aggregate with similar events, the same command mix
(create-and-save, then get-change-save), one event per save, same writer count.

Bulk: ``nodes.migration.csv_import.import_csv`` of a generated register of N/2 rows
(two signed events each). Baselines: eventsourcing saving the same number of
unsigned aggregates with two events each, 1,000 aggregates per save; and the raw
signed-path ceiling: the same envelopes (a template import's manufacture and
transfer, each weapon its own stream and serial) canonically packed, chained and
Ed25519-signed by ``ledger.envelope.seal`` on as many worker processes as
import-csv uses, then written by import-csv's own writer (COPY on PostgreSQL,
one insert transaction per 1,000 rows on SQLite): no CSV, no row rules, no
aggregate. Target: import-csv >= 0.6x that ceiling, both backends.

Each figure is the median of ``--rounds`` rounds, product and baseline
alternating. SQLite serialises writers on one file lock: its 4-writer figure
shows that lock, not the signing. Prints figures; asserts nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import uuid
from pathlib import Path

import common
from common import Stopwatch, Table, median, progress

from domain.time import SECONDS_PER_DAY as DAY

INTERACTIVE_TARGET = 1_000  # events/s on PostgreSQL with 4 writers (the registry's speed target)
BULK_TARGET = 0.6  # x the raw signed-path ceiling of the same run, both backends
EVENTS_PER_WEAPON = 4  # manufacture, transfer, mark, transfer back
BASELINE_BATCH = 1_000  # aggregates per save
SETUP_TIMEOUT_S = 300


# --- interactive: writer processes --------------------------------------------------------


def signed_writer(db: str, folder: str, tag: str, weapons: int, sync, results) -> None:
    """One writer process: its own node (Registry, connection pool) on the shared database."""
    from domain.marking import Marking

    with sync.setup:  # one at a time: concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL
        node = common.open_existing_node(db, Path(folder))
    registry = node.registry
    occurred = int(time.time()) - DAY
    sync.start.wait(timeout=SETUP_TIMEOUT_S)
    started = time.monotonic()
    for i in range(weapons):
        marking = Marking.read("FN Herstal", "BE", f"{tag}{i:07d}")
        wid = registry.manufacture(marking=marking, type="pistol", make="FN", model="Five-seveN",
                                   calibre="5.7x28", year=2020, holder="Dealer A", occurred_on=occurred)
        registry.transfer(weapon_id=wid, to_holder="Dealer B", licence="TL-B", occurred_on=occurred)
        registry.record("mark", by="licensing", weapon_id=wid, mark="BE-N-1", reason="national mark",
                        occurred_on=occurred)
        registry.transfer(weapon_id=wid, to_holder="Dealer A", licence="TL-A", occurred_on=occurred)
    results.put((weapons * EVENTS_PER_WEAPON, started, time.monotonic()))
    node.close()


def baseline_writer(db: str, folder: str, tag: str, weapons: int, sync, results) -> None:
    """The same command mix with the eventsourcing library alone: unsigned, JSON, no domain rules."""
    with sync.setup:
        app = common.baseline_app(db)
    occurred = int(time.time()) - DAY
    sync.start.wait(timeout=SETUP_TIMEOUT_S)
    started = time.monotonic()
    for i in range(weapons):
        item = common.new_item(f"{tag}{i:07d}", occurred)
        app.save(item)
        for change in (lambda it: it.transfer("Dealer B", "TL-B", occurred),
                       lambda it: it.mark("BE-N-1", "national mark", occurred),
                       lambda it: it.transfer("Dealer A", "TL-A", occurred)):
            item = app.repository.get(item.id)
            change(item)
            app.save(item)
    results.put((weapons * EVENTS_PER_WEAPON, started, time.monotonic()))
    app.close()


class WriterSync:
    """What the writer processes share: a lock for their setup, a barrier for their start."""

    def __init__(self, context, writers: int):
        self.setup = context.Lock()
        self.start = context.Barrier(writers)


def run_writers(target, db: str, folder: Path, tag: str, writers: int, events: int) -> float:
    """Events/s of ``writers`` processes together writing ``events`` events (clock: first start to last end).

    Raises ``RuntimeError`` as soon as a writer process fails (the others are stopped).
    """
    context = multiprocessing.get_context("spawn")
    sync, results = WriterSync(context, writers), context.Queue()
    weapons = max(1, events // EVENTS_PER_WEAPON // writers)
    processes = [context.Process(target=target, args=(db, str(folder), f"{tag}W{w}N", weapons, sync, results))
                 for w in range(writers)]
    for p in processes:
        p.start()
    outcomes = []
    while len(outcomes) < writers:
        try:
            outcomes.append(results.get(timeout=1))
        except queue.Empty:
            failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if failed:
                for p in processes:
                    if p.is_alive():
                        p.terminate()
                raise RuntimeError(f"a writer process failed (exit code {failed[0]}); see its traceback above")
    for p in processes:
        p.join()
    total = sum(count for count, _, _ in outcomes)
    return total / (max(end for _, _, end in outcomes) - min(start for _, start, _ in outcomes))


# --- bulk ---------------------------------------------------------------------------------


def bulk_import(node, folder: Path, tag: str, events: int) -> float:
    from nodes.migration.csv_import import import_csv

    path = common.write_weapons_csv(folder / f"register-{tag}.csv", events // 2, prefix=tag)
    with Stopwatch() as watch:
        report = import_csv(node, path)
    if report.errors or report.imported != events // 2:
        raise RuntimeError(f"import-csv refused rows: {report.errors[:3]}")
    return report.events / watch.seconds


class RawSigner:
    """The signed path without domain code: seal copies of template envelopes, chained per stream.

    Picklable (raw private keys, in memory only) so that ``signed_batches`` runs it on
    import-csv's worker processes; ``sign_batch`` takes (line, row number) pairs.
    """

    def __init__(self, templates: list, private_keys: dict[str, bytes], tag: str):
        self.templates = [(dict(t.unsigned()), t.authority) for t in templates]
        self.private_keys = private_keys
        self.tag = tag
        self._keys: dict = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_keys": {}}

    def sign_batch(self, rows: list[tuple[int, int]]) -> list:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from ledger.envelope import GENESIS_PREV, seal
        from nodes.migration.signer_pool import SignedRow

        signed = []
        for line, number in rows:
            serial = f"{self.tag}{number:09d}"
            stream = uuid.uuid5(uuid.NAMESPACE_URL, serial)
            prev, records = GENESIS_PREV, []
            for fields, authority in self.templates:
                key = self._keys.get(authority)
                if key is None:
                    key = self._keys[authority] = Ed25519PrivateKey.from_private_bytes(self.private_keys[authority])
                body = dict(fields["body"])
                if "marking" in body:
                    body["marking"] = {**body["marking"], "serial": serial}
                envelope = seal(key, **{**fields, "stream": str(stream), "prev": prev, "body": body})
                records.append((envelope.version, envelope.type, envelope.to_bytes()))
                prev = envelope.hash
            signed.append(SignedRow(line, stream.bytes, tuple(records)))
        return signed


def raw_signer(node, folder: Path) -> RawSigner:
    """A ``RawSigner`` whose templates are the two records of a one-row import (untimed)."""
    from domain.marking import Marking
    from ledger.envelope import Envelope
    from nodes.migration.csv_import import import_csv

    path = common.write_weapons_csv(folder / "template.csv", 1, prefix="TEMPLATE")
    report = import_csv(node, path)
    if report.imported != 1:
        raise RuntimeError(f"import-csv refused the template row: {report.errors}")
    stored = node.registry.recorder.select_events(Marking.read("FN Herstal", "BE", "TEMPLATE000000000").weapon_id())
    templates = [Envelope.from_bytes(s.state) for s in stored]
    keys = {t.authority: node.identity.private_keys[t.authority].private_bytes_raw() for t in templates}
    return RawSigner(templates, keys, "")


def raw_signed_path(node, signer: RawSigner, tag: str, events: int) -> float:
    """Events/s of the raw signed path: seal on import-csv's workers, write with its writer."""
    from nodes.migration.batch_writer import BatchWriter
    from nodes.migration.report import ImportReport
    from nodes.migration.signer_pool import signed_batches

    signer.tag = tag
    report = ImportReport(file="raw signed path")
    writer = BatchWriter(node.registry.recorder, report)
    rows = ((i + 2, i) for i in range(events // 2))
    with Stopwatch() as watch:
        for batch in signed_batches(rows, signer, 1000, os.cpu_count() or 1):
            writer.write(batch)
    if report.errors or report.imported != events // 2:
        raise RuntimeError(f"the raw signed path wrote {report.imported} of {events // 2}: {report.errors[:3]}")
    return report.events / watch.seconds


def bulk_baseline(app, tag: str, events: int) -> float:
    occurred = int(time.time()) - DAY
    aggregates = events // 2
    with Stopwatch() as watch:
        for start in range(0, aggregates, BASELINE_BATCH):
            batch = []
            for i in range(start, min(start + BASELINE_BATCH, aggregates)):
                item = common.new_item(f"{tag}{i:09d}", occurred)
                item.transfer(f"Holder {i % 997}", "LG/2010/1", occurred)
                batch.append(item)
            app.save(*batch)
    return aggregates * 2 / watch.seconds


# --- one backend --------------------------------------------------------------------------


def measure(backend: str, bulk_events: int, interactive_events: int, rounds: int) -> Table:
    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    on_postgres = backend == "postgres"
    table = Table(f"bench_append: signed-event append, {label}")
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        now = int(time.time())
        for number, holder in (("TL-A", "Dealer A"), ("TL-B", "Dealer B")):
            node.registry.issue_licence(number=number, kind="transfer_licence", holder=holder,
                                        valid_from=now - 30 * DAY, valid_until=now + 30 * DAY,
                                        occurred_on=now - 30 * DAY)
        app = common.baseline_app(db)
        signer = raw_signer(node, folder)

        figures: dict[str, list[float]] = {}
        for r in range(rounds):
            for writers in (1, 4):
                pairs = [("es", baseline_writer), ("signed", signed_writer)]
                for kind, target in (pairs if r % 2 == 0 else pairs[::-1]):
                    progress(f"{label} round {r + 1}/{rounds}: interactive {kind}, {writers} writer(s)")
                    rate = run_writers(target, db, folder, f"R{r}{kind}{writers}", writers, interactive_events)
                    figures.setdefault(f"{kind}{writers}", []).append(rate)
            pairs = [("es-bulk", lambda: bulk_baseline(app, f"E{r}", bulk_events)),
                     ("raw-signed", lambda: raw_signed_path(node, signer, f"C{r}", bulk_events)),
                     ("signed-bulk", lambda: bulk_import(node, folder, f"B{r}", bulk_events))]
            for kind, run in (pairs if r % 2 == 0 else pairs[::-1]):
                progress(f"{label} round {r + 1}/{rounds}: {kind}, {bulk_events:,} events")
                figures.setdefault(kind, []).append(run())
        app.close()
        node.close()

    m = {k: median(v) for k, v in figures.items()}
    table.add("interactive, 1 writer", m["signed1"], m["es1"])
    table.add("interactive, 4 writers", m["signed4"], m["es4"], INTERACTIVE_TARGET if on_postgres else None)
    table.add("bulk import-csv", m["signed-bulk"], m["es-bulk"])
    table.add("bulk import-csv vs raw signed path", m["signed-bulk"], m["raw-signed"], BULK_TARGET,
              target_of="ratio")
    table.notes += [
        f"median of {rounds} rounds; interactive: {interactive_events:,} events per round (4 commands per weapon), "
        f"bulk: {bulk_events:,} events per round",
        "baseline interactive: eventsourcing Application, unsigned JSON aggregate, same command mix, one event "
        "per save, same writer count",
        f"baseline bulk: eventsourcing saving {BASELINE_BATCH:,} unsigned aggregates (2 events each) per save",
        f"raw signed path (ceiling): seal (canonical pack, chain, Ed25519) of the same envelopes on {os.cpu_count()} "
        "worker processes, import-csv's writer (PostgreSQL COPY, SQLite insert), 1,000 rows per transaction",
        "all rounds: " + ", ".join(f"{k} " + "/".join(f"{x:,.0f}" for x in v) for k, v in figures.items()),
    ]
    if not on_postgres:
        table.notes.append("SQLite: one file lock serialises the 4 writers (no target on SQLite)")
    return table


def ed25519_table() -> Table:
    sign_rate, verify_rate = common.ed25519_rates()
    cores = os.cpu_count() or 1
    table = Table("bench_append: Ed25519 in this run (context)")
    table.add("sign, 1 core", sign_rate, unit="signatures/s")
    table.add("verify, 1 core", verify_rate, unit="verifications/s")
    table.notes.append(f"signing ceiling on {cores} cores: {sign_rate * cores:,.0f} signatures/s "
                       "(each event is one signature)")
    return table


def main() -> None:
    p = common.parser(__doc__.splitlines()[0], default_events=100_000)
    p.add_argument("--interactive", type=int, default=2_000, help="events per interactive measurement")
    p.add_argument("--rounds", type=int, default=3, help="rounds; the median is printed")
    args = p.parse_args()
    common.measure_each_backend("bench_append", args.backend,
                                lambda b: measure(b, args.events, args.interactive, args.rounds), ed25519_table)


if __name__ == "__main__":
    main()
