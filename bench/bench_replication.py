"""Replication node to node: throughput with verification on ingest, and append-to-visible latency.

    .venv/bin/python bench/bench_replication.py [-n 20000] [--kafka HOST:PORT] [--latency-samples 200]
        [--backend sqlite|postgres] [--db-a URL] [--db-b URL] [--pool-size 2] [--latency-only]
        [--profile FILE] [--timeline] [--quiet-samples 10] [--quiet-after 1.0]

Two nodes (BE relays, NL ingests) on SQLite in a temporary directory, or on two fresh
PostgreSQL databases with ``--backend postgres`` (``ARMSLEDGER_TEST_PG_DSN``), unless
``--db-a`` / ``--db-b`` name databases (empty ones). BE's sharing policy sends its
manufactures to NL (``sharing.json``), so every record is replicated. Figures:

1. replication throughput: BE's relay in one process (seal, route, prove, publish) and
   NL's ingest in this one (decode, trust, certificate, Ed25519 signature, permission,
   chain, Merkle inclusion, one transaction per batch with its Kafka position), running
   together; events/s from the relay's start until NL holds the last record. The relay and
   the ingest are also timed alone;
2. raw kafka-python produce and consume of the very same message bytes, on the same
   broker in the same run (bench/bench_kafka_raw.py's client settings);
3. append-to-visible latency: record one event at BE, relay it; NL's ingest runs in a
   thread of its own, as in ``node run``, waiting on its inbox: the time from the append to
   NL's commit of the record; p50/p99 over ``--latency-samples`` (fetch_max_wait 10 ms), beside
   the raw broker's end-to-end p50/p99 of the same run (bench_kafka_raw.raw_latency, same
   broker, whose consumer also waits in a thread of its own). Beside it, the relay pass's
   CPU (its thread's, ``time.thread_time``: NL's ingest thread is not in it) and wall time,
   median and p90, and NL's step's CPU (its thread's, from its read's return to its commit): figures that a
   loaded machine moves less than the wall clock; ``--profile FILE`` writes
   a cProfile of the relay passes alone (``python -m pstats FILE``). ``--timeline`` stamps each step of
   the path (BE's gossip and idle checks, seal, publish and its acknowledgement, positions; NL's read,
   checks and commit) and prints the median time of each from the append.

4. append on a quiet node to visible: a record appended on BE after ``--quiet-after`` seconds (default 1), and
   up to 0.5 s more at random, without one, BE's relay being ``node run``'s (``nodes.federation.sync.run``, in a
   thread): what wakes it (the commit seen by its log's watch) is in it, and NL's fetch after a quiet spell; p50
   and max of ``--quiet-samples`` (default 10; 0: none). With ``--timeline``, their steps are printed too.

``--latency-only`` measures only the third and fourth (``-n`` records are still recorded and replicated
first, untimed, so that the log is not empty). Without ``--kafka`` it starts a local Tansu broker.
Prints figures; asserts nothing.
Targets: replication >= 0.4x the Ed25519 verify ceiling of all cores, measured
in the same run; append to visible p50 and p99 <= 2x the raw broker's.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_kafka_raw import consumer, create_topic, producer, raw_latency  # noqa: E402
from common import ed25519_rates, fresh_database, report_figure  # noqa: E402
from kafka import TopicPartition  # noqa: E402

from domain.marking import Marking  # noqa: E402
from domain.time import SECONDS_PER_DAY  # noqa: E402
from nodes.bootstrap import init_node, open_node  # noqa: E402
from nodes.federation.broker import LocalBroker  # noqa: E402
from nodes.federation.ingest import IngestReport  # noqa: E402
from nodes.federation.kafka_transport import KafkaTransport  # noqa: E402
from nodes.federation.relay import Relay  # noqa: E402
from nodes.federation.sync import Federation, SyncReport, run  # noqa: E402
from nodes.federation.trust import trust_each_other  # noqa: E402
from nodes.settings import Settings  # noqa: E402

PASSPHRASE = "bench passphrase"  # init wants at least 12 characters
REPLICATION_TARGET = 0.4  # x the Ed25519 verify ceiling of all cores, same run
LATENCY_TARGET = 2.0  # x the raw broker's end-to-end p50 and p99, same run
QUIET_JITTER_S = 0.5  # a quiet append comes after --quiet-after seconds and up to this much more, at random
FIELDS = dict(type="pistol", make="Acme", model="A1", calibre="9mm", year=2020, holder="Acme Arms")


def record_many(node, count: int, prefix: str) -> None:
    occurred = int(time.time()) - SECONDS_PER_DAY
    for start in range(0, count, 2000):
        node.registry.manufacture_many(
            ("licensing", Marking.read("Acme Arms", "BE", f"{prefix}{i:07d}"), {**FIELDS, "occurred_on": occurred})
            for i in range(start, min(count, start + 2000)))


def relay_in_child(home: str, db: str, bootstrap: str, prefix: str, results) -> None:
    """BE's relay, alone in its own process, as a node's relay runs."""
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    node = open_node(Settings(home=Path(home), db=db, passphrase=PASSPHRASE, kafka=bootstrap))
    transport = KafkaTransport(bootstrap, prefix)
    relay = Relay(node, transport, node.inbox)
    relay.own_checkpoints()
    transport.ensure_topics(["NL"])
    results.put("ready")
    started, cpu = time.time(), time.process_time()
    report = relay.relay()
    results.put((started, time.time(), time.process_time() - cpu, report.records))
    transport.close()
    node.close()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes ``pids`` used so far (Linux /proc; 0.0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(db: str | None):
    """A function giving the CPU the PostgreSQL server of ``db`` used so far, by part: its client backends, its
    background processes (walwriter, checkpointer, ...) each, and the processes that exited (autovacuum workers,
    backends that ended: the postmaster's reaped children); or None when ``db`` is not PostgreSQL or its server is
    not a process of this machine."""
    if not db or not db.startswith("postgres"):
        return None
    import psycopg

    with psycopg.connect(db) as connection:  # read while the backend is there: it ends with the connection
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:  # a server elsewhere: no such process here, or one that is not PostgreSQL's
            if not Path(f"/proc/{backend}/cmdline").read_bytes().startswith(b"postgres"):
                return None
            postmaster = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            return None

    def used() -> dict[str, float]:
        parts: dict[str, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            ticks = int(fields[11]) + int(fields[12])
            if entry.name == postmaster:
                parts["exited"] = parts.get("exited", 0) + int(fields[13]) + int(fields[14])
                parts["postmaster"] = parts.get("postmaster", 0) + ticks
            elif fields[1] == postmaster:
                # "postgres: USER DB HOST(PORT) STATE" for a client backend, "postgres: walwriter" and the like else
                words = title.removeprefix("postgres: ").split()
                part = "backends" if len(words) > 2 else " ".join(words)
                parts[part] = parts.get(part, 0) + ticks
        return {part: ticks / os.sysconf("SC_CLK_TCK") for part, ticks in parts.items()}

    return used


def ed25519_verify_cpu(count: int = 2000) -> float:
    """CPU seconds of one Ed25519 verification in this process now (``ed25519_rates`` times the wall)."""
    from ledger.keys import generate_key, sign, verify_signature

    key = generate_key()
    digests = [os.urandom(32) for _ in range(64)]
    signed = [(d, sign(key, d)) for d in digests]
    public = key.public_key()
    started = time.process_time()
    for i in range(count):
        digest, signature = signed[i & 63]
        verify_signature(public, signature, digest)
    return (time.process_time() - started) / count


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def raw_same_bytes(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """kafka-python produce, then consume, of exactly these (key, value) messages."""
    topic = f"bench.same.{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    p = producer(bootstrap)
    started = time.perf_counter()
    for key, value in messages:
        p.send(topic, value=value, key=key, partition=0)
    p.flush()
    produce_rate = len(messages) / (time.perf_counter() - started)
    p.close()
    c = consumer(bootstrap, TopicPartition(topic, 0), 10)
    got = 0
    started = time.perf_counter()
    while got < len(messages):
        for records in c.poll(timeout_ms=1000, max_records=10_000).values():
            got += len(records)
    consume_rate = len(messages) / (time.perf_counter() - started)
    c.close()
    return produce_rate, consume_rate


def inbox_messages(bootstrap: str, prefix: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of every message in NL's inbox topic."""
    reader = KafkaTransport(bootstrap, prefix)
    topic, offset, messages = reader.inbox_topic("NL"), 0, []
    end = reader.end_offset(topic)
    while offset < end:
        batch = reader.read(topic, offset, 5000, 5.0)
        messages += [(r.key or b"", r.value or b"") for r in batch]
        offset = batch.next_offset or offset
    reader.close()
    return messages


class Timeline:
    """Stamps of the steps of append to visible (``--timeline``): each wrapped call notes when it
    started or returned; per sample, each step's first stamp after the append."""

    def __init__(self) -> None:
        self.stamps: list[tuple[str, float]] = []
        self.samples: dict[str, list[dict[str, float]]] = {}  # by kind: "" (one at a time), "quiet"
        self._lock = threading.Lock()

    def wrap(self, owner: object, method: str, *, before: str | None = None, after: str | None = None,
             only_if=None) -> None:
        """Stamp ``before`` as ``owner.method`` starts, ``after`` as it returns (when ``only_if(result)``)."""
        call = getattr(owner, method)

        def stamped(*args, **kwargs):
            if before:
                self._stamp(before)
            result = call(*args, **kwargs)
            if after and (only_if is None or only_if(result)):
                self._stamp(after)
            return result

        setattr(owner, method, stamped)

    def _stamp(self, step: str) -> None:
        now = time.perf_counter()
        with self._lock:
            self.stamps.append((step, now))

    def sample(self, appended: float, visible: float, kind: str = "") -> None:
        """Keep the steps stamped between ``appended`` and ``visible`` as one sample of ``kind`` (times from the
        append)."""
        with self._lock:
            stamps, self.stamps = self.stamps, []
        steps: dict[str, float] = {}
        for step, at in stamps:
            if appended <= at <= visible and step not in steps:
                steps[step] = at - appended
        steps["NL visible (stamped at its commit)"] = visible - appended
        self.samples.setdefault(kind, []).append(steps)

    def report(self, kind: str = "", title: str = "") -> None:
        samples = self.samples.get(kind, [])
        if not samples:
            return
        steps = {step for sample in samples for step in sample}
        medians = sorted((statistics.median(s[step] for s in samples if step in s), step) for step in steps)
        print(f"timeline{title}: median ms after the append ({len(samples)} samples; a step missing in some "
              "samples counted where present)")
        previous = 0.0
        for median, step in medians:
            present = sum(1 for s in samples if step in s)
            print(f"  {median * 1000:7.2f}  (+{(median - previous) * 1000:5.2f})  {step}"
                  + (f"  [{present} samples]" if present != len(samples) else ""))
            previous = median


def quiet_latencies(node, bootstrap: str, prefix: str, arrived: threading.Condition, visible: dict[str, float],
                    samples: int, after_s: float, timeline: Timeline | None = None) -> list[float]:
    """Append to visible at NL of a record appended on BE after ``after_s`` without one, BE's relay being
    ``node run``'s (``nodes.federation.sync.run``, in a thread) rather than a pass started at the append: what
    wakes it is in it. ``visible``, ``arrived``: as NL's ingest thread keeps them. ``timeline``: its samples of kind
    "quiet" stamp, besides the steps ``main`` wraps, BE's looks at its log and its relay's publish."""
    if not samples:
        return []
    stop = threading.Event()
    transport = KafkaTransport(bootstrap, prefix)
    if timeline is not None:
        timeline.wrap(node.registry.recorder, "max_notification_id", after="BE looked at its log (woken)")
        twin = transport.twin

        def stamped_twin():  # type: ignore[no-untyped-def]
            publisher = twin()
            timeline.wrap(publisher, "publish_many", before="BE publish starts (records read, proved, encoded)",
                          after="BE publish acknowledged")
            return publisher

        transport.twin = stamped_twin  # type: ignore[method-assign]
    loop = threading.Thread(target=run, args=(node, transport, stop), name="BE node run")
    loop.start()
    latencies = []
    try:
        time.sleep(2.0)  # its start: the first relay pass, the verifying processes
        for i in range(samples):
            # A moment of its own, as an officer's record comes: a quiet spell of a fixed length would append each
            # record at the same phase of the periodic waits on the path (NL's fetch of 500 ms, the loop's looks).
            time.sleep(after_s + random.uniform(0.0, QUIET_JITTER_S))
            weapon = node.registry.manufacture(marking=Marking.read("Acme Arms", "BE", f"Q{i:07d}"),
                                               occurred_on=int(time.time()) - 60, **FIELDS)
            appended = time.perf_counter()
            with arrived:
                if not arrived.wait_for(lambda: str(weapon) in visible, timeout=30):
                    raise RuntimeError(f"quiet record {i} not visible at NL after 30 s")
                latencies.append(visible[str(weapon)] - appended)
            if timeline is not None:
                timeline.sample(appended, visible[str(weapon)], kind="quiet")
    finally:
        stop.set()
        loop.join()
        transport.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000, help="records to replicate")
    parser.add_argument("--kafka", help="bootstrap servers (default: start a local Tansu broker)")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                        help="where both nodes live when --db-a/--db-b are not given (postgres: fresh databases on "
                             "ARMSLEDGER_TEST_PG_DSN's server)")
    parser.add_argument("--db-a", help="database of the relaying node (default: SQLite in a temp dir)")
    parser.add_argument("--db-b", help="database of the ingesting node (default: SQLite in a temp dir)")
    parser.add_argument("--pool-size", type=int, default=2, help="signature verifying processes at ingest (1: none)")
    parser.add_argument("--latency-only", action="store_true",
                        help="only the append-to-visible latency (the records are replicated first, untimed)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the latency run's relay passes here")
    parser.add_argument("--quiet-samples", type=int, default=10,
                        help="records appended on BE after --quiet-after seconds without one, relayed by node run")
    parser.add_argument("--quiet-after", type=float, default=1.0, help="seconds without a record before each of those")
    parser.add_argument("--timeline", action="store_true",
                        help="stamp each step of append to visible and print the median time of each from the append")
    args = parser.parse_args()
    logging.getLogger("kafka").setLevel(logging.CRITICAL)

    broker = None
    bootstrap = args.kafka
    if not bootstrap:
        broker = LocalBroker().start()
        bootstrap = broker.bootstrap_servers
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="armsledger-bench-") as tmp, contextlib.ExitStack() as databases:
        db_a, db_b = args.db_a, args.db_b
        if args.backend == "postgres":
            db_a = db_a or databases.enter_context(fresh_database("postgres"))[0]
            db_b = db_b or databases.enter_context(fresh_database("postgres"))[0]
        a_settings = Settings(home=Path(tmp) / "be", db=db_a or str(Path(tmp) / "be.db"),
                              passphrase=PASSPHRASE, kafka=bootstrap)
        b_settings = Settings(home=Path(tmp) / "nl", db=db_b or str(Path(tmp) / "nl.db"),
                              passphrase=PASSPHRASE, kafka=bootstrap)
        backend = "postgres" if a_settings.is_postgres else "sqlite"
        a, b = init_node(a_settings, "BE"), init_node(b_settings, "NL")
        trust_each_other([a, b])
        (a_settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all"}}))
        print(f"broker {bootstrap}; BE on {'SQLite' if not a_settings.is_postgres else 'PostgreSQL'}, "
              f"NL on {'SQLite' if not b_settings.is_postgres else 'PostgreSQL'}; {os.cpu_count()} CPUs")

        started = time.perf_counter()
        record_many(a, args.n, "T")
        recorded = time.perf_counter() - started
        started = time.perf_counter()
        a.sealer.seal()
        print(f"setup: {args.n} records signed and stored at BE in {recorded:.1f} s, sealed in "
              f"{time.perf_counter() - started:.1f} s (not counted below)")

        b_transport = KafkaTransport(bootstrap, prefix)
        fed_b = Federation(b, b_transport, pool_size=args.pool_size)
        fed_b.ingest.warm_up()  # as node run does at start
        report = SyncReport()
        if not args.latency_only:
            # The ceiling before and after the run, averaged: on a shared machine the load moves meanwhile.
            _, verify_before = ed25519_rates(seconds=0.5)

            # 1. Throughput: relay (child process) and ingest (here) at the same time.
            results: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
            child = multiprocessing.get_context("spawn").Process(
                target=relay_in_child, args=(str(a_settings.home), a_settings.db, bootstrap, prefix, results))
            child.start()
            assert results.get(timeout=120) == "ready"
            workers = fed_b.ingest.signatures.process_ids()  # started by warm_up, imported while the relay started
            workers_cpu = cpu_seconds(workers)
            server_cpu = server_cpu_seconds(b_settings.db)
            server_before = server_cpu() if server_cpu is not None else {}
            broker_pids = [broker._process.pid] if broker is not None and broker._process is not None else []
            broker_before = cpu_seconds(broker_pids)
            total = args.n + 6  # and BE's six certificates
            accepted, cpu = 0, time.process_time()
            first_read = None
            while accepted < total:
                step = fed_b.ingest_step(2.0, report)
                if step.read and first_read is None:
                    first_read = time.time()
                accepted += len(step.accepted)
            done = time.time()
            ingest_cpu = time.process_time() - cpu
            workers_cpu = cpu_seconds(workers) - workers_cpu
            server_used = ({part: seconds - server_before.get(part, 0.0) for part, seconds in server_cpu().items()}
                           if server_cpu is not None else None)
            broker_used = cpu_seconds(broker_pids) - broker_before
            relay_started, relay_done, relay_cpu, relayed = results.get(timeout=120)
            child.join()
            _, verify_after = ed25519_rates(seconds=0.5)
            ceiling = (verify_before + verify_after) / 2 * (os.cpu_count() or 1)
            wall = done - relay_started
            print(f"replication        {args.n / wall:9,.0f} events/s  ({args.n} events in {wall:.2f} s, relay and "
                  f"ingest running together; Ed25519 verify ceiling of {os.cpu_count()} cores now {ceiling:,.0f}/s "
                  f"(mean of before and after), ratio {args.n / wall / ceiling:.2f}, target >= {REPLICATION_TARGET})")
            report_figure("replication BE to NL, verified", backend, args.n / wall, "events/s", baseline=ceiling,
                          target=REPLICATION_TARGET, target_of="ratio")
            report_figure("replication: relay alone", backend, relayed / (relay_done - relay_started), "events/s")
            report_figure("replication: ingest from its first read", backend, args.n / (done - first_read), "events/s")
            print(f"  relay alone      {relayed / (relay_done - relay_started):9,.0f} events/s  "
                  f"(seal, route, prove, publish; {relay_cpu:.2f} s CPU)")
            print(f"  ingest           {args.n / (done - first_read):9,.0f} events/s  from its first read "
                  f"({ingest_cpu:.2f} s CPU in this process; Ed25519 in "
                  f"{args.pool_size if args.pool_size > 1 else 'no'} "
                  f"worker processes, {workers_cpu:.2f} s CPU); its first batch recorded "
                  f"{(first_read - relay_started) * 1000:.0f} ms after the relay started")
            # What the load of others moves less than events/s: the CPU time per event, and the share of it
            # that the one Ed25519 verification takes, which bounds the ratio on idle cores (the whole
            # machine to relay, ingest and its workers, none of them ever waiting; the broker not counted).
            per_event = (relay_cpu + ingest_cpu + workers_cpu) / args.n
            verify = ed25519_verify_cpu()
            print(f"  CPU per event    {per_event * 1e6:9,.0f} us  (relay {relay_cpu / args.n * 1e6:.0f}, ingest "
                  f"{ingest_cpu / args.n * 1e6:.0f}, its workers {workers_cpu / args.n * 1e6:.0f}); one Ed25519 verify "
                  f"{verify * 1e6:.0f} us of CPU now: {verify / per_event:.0%} of it, the ratio's bound on idle cores")
            if broker_pids:
                print(f"  broker CPU       {broker_used / args.n * 1e6:9,.0f} us an event  (the local broker's "
                      "process)")
            if server_used is not None:
                parts = ", ".join(f"{part} {seconds / args.n * 1e6:.0f}" for part, seconds in
                                  sorted(server_used.items(), key=lambda item: -item[1]) if seconds > 0)
                print(f"  server CPU       {sum(server_used.values()) / args.n * 1e6:9,.0f} us an event  "
                      f"(the PostgreSQL server of both nodes while they replicated: {parts})")
            assert report.quarantined == 0, report

            # 2. Raw kafka-python on the same bytes, same broker, same run.
            messages = inbox_messages(bootstrap, prefix)
            produce_rate, consume_rate = raw_same_bytes(bootstrap, messages)
            print(f"raw kafka-python   produce {produce_rate:9,.0f} msgs/s   consume {consume_rate:9,.0f} msgs/s  "
                  f"(the same {len(messages)} messages, {statistics.mean(len(v) for _, v in messages):.0f} bytes "
                  "on average)")

        # 3. Append-to-visible latency, one event at a time.
        a_transport = KafkaTransport(bootstrap, prefix)
        relay = Relay(a, a_transport, a.inbox)
        relay.relay()
        while fed_b.ingest_step(0.2, report).read:
            pass
        latencies = []
        visible: dict[str, float] = {}  # stream -> when NL committed it
        arrived = threading.Condition()
        stop = threading.Event()

        # Stamped at NL's commit: the ingest step records what it read, and the reactions and
        # cosignatures that ``ingest_step`` does after it (as in node run) are not part of the path.
        ingest_batch = fed_b.ingest.step

        nl_cpu: list[float] = []  # NL's thread's CPU in each step that accepted records, from its read's return

        def committed_at_nl(timeout_s: float) -> IngestReport:
            step = ingest_batch(timeout_s)
            now = time.perf_counter()
            if step.accepted and nl_read_at[0] is not None:
                nl_cpu.append(time.thread_time() - nl_read_at[0])
            with arrived:
                visible.update((e.stream, now) for e in step.accepted)
                arrived.notify_all()
            return step

        nl_read_at: list[float | None] = [None]
        nl_read = fed_b.ingest.transport.read

        def read_at_nl(*args, **kwargs):  # type: ignore[no-untyped-def]
            batch = nl_read(*args, **kwargs)
            nl_read_at[0] = time.thread_time()
            return batch

        fed_b.ingest.transport.read = read_at_nl  # type: ignore[method-assign]

        fed_b.ingest.step = committed_at_nl  # type: ignore[method-assign]

        timeline = Timeline() if args.timeline else None
        if timeline is not None:
            timeline.wrap(relay.gossip, "due", after="BE gossip check done")
            timeline.wrap(relay, "_idle", after="BE idle check done")
            timeline.wrap(a.sealer, "seal", before="BE seal starts", after="BE sealed (committed)")
            timeline.wrap(a.sealer, "wait_for_mark", after="BE seal: previous mark waited for")
            timeline.wrap(a.sealer, "_follow", after="BE seal: log followed")
            timeline.wrap(a.sealer._tables, "store", after="BE seal: stored (committed)")
            timeline.wrap(a_transport, "publish_many", before="BE publish starts (records read, proved, encoded)",
                          after="BE publish acknowledged")
            timeline.wrap(a.inbox, "advance_all", after="BE positions saved (relay pass ends)")
            timeline.wrap(fed_b.ingest.transport, "read", after="NL read returns the record", only_if=len)
            # The checks of the bytes (parse, schema, the record's signature; here, in this thread, for a small batch)
            # come before the read of the chains' state: each its own step.
            timeline.wrap(fed_b.ingest, "_checks_later", before="NL checks the bytes",
                          after="NL bytes checked (check_messages)")
            timeline.wrap(b.inbox, "held", before="NL chain state read starts", after="NL chain state read (held)")
            timeline.wrap(b.inbox, "record", before="NL checked, recording", after="NL recorded (committed)")

        def ingest_at_nl() -> None:
            while not stop.is_set():
                fed_b.ingest_step(0.5, report)

        size = statistics.mean(len(v) for _, v in inbox_messages(bootstrap, prefix))

        nl_loop = threading.Thread(target=ingest_at_nl, name="NL ingest")
        nl_loop.start()
        relay_cpu: list[float] = []
        relay_wall: list[float] = []
        profile = cProfile.Profile() if args.profile else None
        try:
            for i in range(args.latency_samples):
                weapon = a.registry.manufacture(marking=Marking.read("Acme Arms", "BE", f"L{i:07d}"),
                                                occurred_on=int(time.time()) - 60, **FIELDS)
                appended = time.perf_counter()
                cpu = time.thread_time()
                if profile is not None:
                    profile.enable()
                relay.relay()
                if profile is not None:
                    profile.disable()
                relay_cpu.append(time.thread_time() - cpu)
                relay_wall.append(time.perf_counter() - appended)
                with arrived:
                    if not arrived.wait_for(lambda: str(weapon) in visible, timeout=30):
                        raise RuntimeError(f"record {i} not visible at NL after 30 s")
                    latencies.append(visible[str(weapon)] - appended)
                if timeline is not None:
                    timeline.sample(appended, visible[str(weapon)])
            quiet = quiet_latencies(a, bootstrap, prefix, arrived, visible, args.quiet_samples, args.quiet_after,
                                    timeline)
        finally:
            stop.set()
            nl_loop.join()
        raw = raw_latency(bootstrap, args.latency_samples, int(size), 10)
        print(f"append-to-visible  p50 {percentile(latencies, 50) * 1000:6.1f} ms   p99 "
              f"{percentile(latencies, 99) * 1000:6.1f} ms  ({len(latencies)} samples: relay seals and "
              f"publishes, NL ingests in its own thread; raw broker end to end p50 "
              f"{percentile(raw, 50) * 1000:.1f} ms, "
              f"p99 {percentile(raw, 99) * 1000:.1f} ms, same broker now; target <= {LATENCY_TARGET:g}x each)")
        print(f"relay pass CPU     p50 {percentile(relay_cpu, 50) * 1000:6.2f} ms   p90 "
              f"{percentile(relay_cpu, 90) * 1000:6.2f} ms  (the relaying thread's; wall p50 "
              f"{percentile(relay_wall, 50) * 1000:.2f} ms, p90 {percentile(relay_wall, 90) * 1000:.2f} ms: from "
              "the append to the broker's acknowledgement and the positions saved)")
        print(f"NL step CPU        p50 {percentile(nl_cpu, 50) * 1000:6.2f} ms   p90 "
              f"{percentile(nl_cpu, 90) * 1000:6.2f} ms  (NL's ingest thread's, from its read's return to its "
              "commit: the checks and the inbox's transaction)")
        if quiet:
            print(f"quiet append       p50 {percentile(quiet, 50) * 1000:6.1f} ms   max {max(quiet) * 1000:6.1f} ms  "
                  f"({len(quiet)} samples: appended after {args.quiet_after:g} s without a record, BE's "
                  "node run loop relays it, NL ingests in its own thread: to NL's commit)")
            report_figure("append on a quiet node to visible p50", backend, percentile(quiet, 50) * 1000, "ms")
        if profile is not None:
            profile.dump_stats(args.profile)
        if timeline is not None:
            timeline.report()
            timeline.report("quiet", f" of the quiet appends ({args.quiet_after:g} s quiet)")
        for q in (50, 99):
            report_figure(f"append to visible p{q}", backend, percentile(latencies, q) * 1000, "ms",
                          baseline=percentile(raw, q) * 1000, target=LATENCY_TARGET, target_of="ratio",
                          higher_is_better=False)
        fed_b.close()
        a_transport.close()
        b_transport.close()
        a.close()
        b.close()
    if broker is not None:
        broker.stop()


if __name__ == "__main__":
    main()
