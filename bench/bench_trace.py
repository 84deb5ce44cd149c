"""Three-hop trace round trip to verdict, over a real Kafka-protocol broker (target: median <= 300 ms).

    .venv/bin/python bench/bench_trace.py [--rounds 5] [--kafka HOST:PORT] [--backend sqlite|postgres]
                                          [--kept 1000] [--reads 20]

Four national nodes (BE, NL, DE, FR) in this process, each on its own database
(SQLite files, or fresh PostgreSQL databases with --backend postgres and
ARMSLEDGER_TEST_PG_DSN), federated through a local Tansu broker (started here
unless --kafka is given). Untimed setup, per round, with a pistol of its own:
BE makes it and exports it to NL under NL's import authorization, NL confirms
receipt, NL exports it to DE (never confirmed), FR seizes it.

Timed: FR submits a trace request to BE; sync passes are driven in-process
(``nodes.federation.sync.sync`` on every node whose inbox topic holds unread
messages, as its own loop would; no knowledge of the route; each node's read position
in its topic as the node knows it, where its ingest's last step left it, not read from
its database at every sweep; each pass handed the end its wake-up check was told
(``inbox_end``), as a loop woken by it would, instead of asking the broker again; FR's
hops read after each sweep in which FR made a pass, since only its passes change them) until the
third hop is answered (BE responds showing the export
to NL, FR forwards to NL, NL responds showing the export to DE, FR forwards to
DE, DE answers untraceable); then FR computes the point-of-diversion verdict.
Prints the time per round (and this process's CPU, one after another), the time at which
each hop's answer was visible on FR, the sync passes used, and the verdict's rule. Asserts nothing.

Two ways, each on weapons of its own, ``--rounds`` rounds each: first the sync
passes of the four nodes one after another in this thread (the driver above), then,
as real nodes run, each node's loop in a thread of its own (``NodeLoop``: it syncs when
its inbox topic holds unread messages or its log grew, looking every ``LOOK_EVERY_S``),
the main thread only submitting, and reading FR's hops after each of FR's passes. The
figure is the sequential median; the threaded one is printed beside it as context: the
threads share one interpreter, and on a lightly loaded machine they took about twice the
sync passes (some 43 against 19) and twice the time, so they are no truer to separate
node processes than the passes one after another.

Then, untimed by the figure above: the CPU of reading the first trace on FR and of its verdict
with the BE checkpoints FR kept in the rounds, then with ``--kept`` (1,000) kept in all
(``kept_history``): a read compares with the kept checkpoints at the sizes its answer cites,
and should not grow with the partner's history.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from common import fresh_database, machine_note, report_figure  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402

from domain.licence import LicenceKind  # noqa: E402
from domain.marking import Marking  # noqa: E402
from domain.time import SECONDS_PER_DAY as DAY  # noqa: E402
from ledger.checkpoint import sign_checkpoint  # noqa: E402
from nodes.bootstrap import init_node  # noqa: E402
from nodes.federation import crossborder  # noqa: E402
from nodes.federation.inbox_records import InboxBatch  # noqa: E402
from nodes.federation.kafka_transport import KafkaTransport  # noqa: E402
from nodes.federation.sync import Federation, sync  # noqa: E402
from nodes.federation.trust import trust_each_other  # noqa: E402
from nodes.settings import Settings  # noqa: E402
from nodes.tracing import service as tracing  # noqa: E402

STATES = ("BE", "NL", "DE", "FR")
MEDIAN_TARGET_MS = 300.0  # both backends
ANSWERED = {"TRACED", "PARTIAL", "FORWARDED", "UNTRACEABLE", "RESTRICTED", "REFUSED"}
#: A node's own loop looks at its inbox topic's end and its log's size this often when it has nothing to do.
LOOK_EVERY_S = 0.005


class Federated:
    """The four nodes, their transports and federations."""

    def __init__(self, root: Path, bootstrap: str, databases: dict[str, str]):
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        self.nodes, self.feds, self.transports = {}, {}, []
        for state in STATES:
            settings = Settings.load(environ={}, home=root / state, db=databases[state], passphrase="bench",
                                     kafka=bootstrap)
            self.nodes[state] = init_node(settings, state)
        trust_each_other(self.nodes.values())
        for state, node in self.nodes.items():
            transport = KafkaTransport(bootstrap, prefix, timeout_s=10.0)
            self.transports.append(transport)
            self.feds[state] = Federation(node, transport)
        self.passes = 0
        self.counting = threading.Lock()  # the nodes' own loops count their passes from their threads
        # Asks the ends of all inbox topics in one ListOffsets request.
        self.offsets = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    def __getitem__(self, state: str):
        return self.nodes[state]

    def sync(self, state: str, end: int | None = None) -> bool:
        """One sync pass of ``state``; True if it moved anything. ``end``: its inbox topic's end as the broker
        just told it (beyond its position), which the pass reads to without asking again, as a node's own loop
        woken by it would."""
        with self.counting:
            self.passes += 1
        report = sync(self.nodes[state], self.feds[state].transport, 30.0, federation=self.feds[state],
                      inbox_end=end)
        return bool(report.published or report.read or report.checkpoints_sent)

    def waiting(self, state: str) -> int | None:
        """The end of ``state``'s inbox topic when it holds messages its node has not read yet, else None
        (``topic_id`` unknown yet: 0).

        How a node's own loop knows it has work; the driver below uses it instead of
        knowing the route, so every node is treated alike.
        """
        ingest = self.feds[state].ingest
        if ingest.topic_id is None:
            return 0
        end = self.feds[state].transport.end_offset(ingest.topic)
        return end if end > self.position(state) else None

    def busy(self) -> dict[str, int]:
        """The states whose inbox topic holds messages their node has not read yet, asked in one request, with
        the end told (a pass woken by it reads to it without asking again).

        Tansu answers ListOffsets with the offset after the first record of the topic's last
        batch, not after its last record: a listed end beyond our position means work for sure,
        one at or before it (or none, from a client still learning the topics) may hide the rest
        of a batch read in part, so when no state is listed as busy each is asked exactly
        (``waiting``).
        """
        topics = {state: TopicPartition(self.feds[state].ingest.topic, 0) for state in STATES}
        try:
            listed = self.offsets.end_offsets(list(topics.values()))
        except KeyError:  # kafka-python, when the answer lacks a partition it asked about: ask each node
            listed = {}
        busy = {state: listed[topics[state]] for state in STATES
                if listed.get(topics[state], 0) > self.position(state)}
        return busy or {state: end for state in STATES if (end := self.waiting(state)) is not None}

    def position(self, state: str) -> int:
        """``state``'s read position in its inbox topic, as its node knows it: where its ingest's last step left
        it (``Ingest.position``), read from its inbox only when the ingest cannot say, as the node's own loop
        would; only its passes move it."""
        return self.feds[state].ingest.position()

    def settle(self) -> None:
        for _ in range(10):
            if not any([self.sync(s) for s in STATES]):
                return

    def close(self) -> None:
        self.offsets.close()
        for fed in self.feds.values():
            fed.close()
        for transport in self.transports:
            transport.close()
        for node in self.nodes.values():
            node.close()


def setup(fed: Federated, rounds: int) -> list[Marking]:
    """Licences once, then per round a pistol made in BE, exported to NL (confirmed), then to DE, seized in FR."""
    now = int(time.time()) - 60
    be, nl, de, fr = (fed[s] for s in STATES)
    window = dict(valid_from=now - 500 * DAY, valid_until=now + 500 * DAY, occurred_on=now - 450 * DAY)
    be.registry.issue_licence(number="BE-EL-1", kind=LicenceKind.EXPORT_LICENCE, holder="FN Herstal",
                              export_state="BE", import_state="NL", **window)
    nl.registry.issue_licence(number="NL-IA-1", kind=LicenceKind.IMPORT_AUTHORIZATION, holder="Wapenhandel BV",
                              export_state="BE", import_state="NL", **window)
    nl.registry.issue_licence(number="NL-EL-2", kind=LicenceKind.EXPORT_LICENCE, holder="Wapenhandel BV",
                              export_state="NL", import_state="DE", **window)
    de.registry.issue_licence(number="DE-IA-3", kind=LicenceKind.IMPORT_AUTHORIZATION, holder="Waffen Schmidt",
                              export_state="NL", import_state="DE", **window)
    fed.settle()
    markings = [Marking.read("FN Herstal", "BE", f"BENCH-{i:04d}") for i in range(rounds)]
    shipments = []
    for marking in markings:
        weapon = be.registry.manufacture(marking=marking, type="pistol", make="FN", model="Five-seveN",
                                         calibre="5.7x28", year=2020, holder="FN Herstal",
                                         occurred_on=now - 400 * DAY)
        shipments.append(be.registry.export(weapon_ids=[weapon], licence="BE-EL-1", import_authorization="NL-IA-1",
                                            to_state="NL", consignee="Wapenhandel BV", occurred_on=now - 300 * DAY))
    fed.settle()
    for shipment in shipments:
        crossborder.confirm_receipt(nl, shipment=str(shipment), occurred_on=now - 290 * DAY)
    for marking in markings:
        nl.registry.export(weapon_ids=[marking.weapon_id()], licence="NL-EL-2", import_authorization="DE-IA-3",
                           to_state="DE", consignee="Waffen Schmidt", occurred_on=now - 200 * DAY)
        fr.registry.seize(marking=marking, place="Lille", circumstances="found in a car", occurred_on=now - 5 * DAY)
    fed.settle()
    return markings


def trace_round(fed: Federated, marking: Marking) -> tuple[float, list[float], int, str]:
    """Submit, drive sync passes until three hops are answered, compute the verdict."""
    fr = fed["FR"]
    passes = fed.passes
    started = time.perf_counter()
    first = tracing.submit(fr, to="BE", marking=marking, circumstances="found in a car after a shooting",
                           legal_basis="CPP art 60", intended_use="criminal prosecution")
    fed.sync("FR")   # publish the request
    answered_at: list[float] = []
    idle = 0
    hops = []
    while len(answered_at) < 3:
        busy = fed.busy()
        for state, end in busy.items():
            fed.sync(state, end)
        if "FR" in busy:  # FR's records change only in FR's passes: its hops are read after those
            hops = tracing.hops(fr, first, verify=False)
            done = sum(1 for h in hops if h.status.value in ANSWERED)
            while len(answered_at) < min(done, 3):
                answered_at.append(time.perf_counter() - started)
        idle = 0 if busy else idle + 1
        if idle > 50:
            raise RuntimeError(f"trace stuck after {len(answered_at)} answers: {[h.status for h in hops]}")
    verdict, _ = tracing.diversion_verdict(fr, marking.weapon_id())
    return time.perf_counter() - started, answered_at, fed.passes - passes, verdict.rule.value


class NodeLoop(threading.Thread):
    """One node's own loop, as ``node run`` runs it in a process of its own: a sync pass whenever its inbox topic
    holds messages it has not read (its end asked with a client of its own) or its log grew, else a look again
    after ``LOOK_EVERY_S``. ``passed`` is notified after each pass."""

    def __init__(self, fed: Federated, state: str, bootstrap: str, stop: threading.Event):
        super().__init__(name=f"{state} loop", daemon=True)
        self.fed, self.state, self.stop = fed, state, stop
        self.offsets = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.passed = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        federation = self.fed.feds[self.state]
        relayed = federation.log_size()
        position = self.fed.position(self.state)  # only this loop's passes move it
        topic = TopicPartition(federation.ingest.topic, 0)
        looks = 0
        try:
            while not self.stop.is_set():
                looks += 1
                listed = self.offsets.end_offsets([topic]).get(topic, 0)
                # Tansu's end may stop short of a batch's last record (``Federated.busy``): now and then, exactly.
                told = listed if listed > position else (self.fed.waiting(self.state) if looks % 50 == 0 else None)
                if told is not None or federation.log_size() != relayed:
                    relayed = federation.log_size()
                    self.fed.sync(self.state, told or None)
                    position = self.fed.position(self.state)
                    with self.passed:
                        self.passed.notify_all()
                else:
                    self.stop.wait(LOOK_EVERY_S)
        except BaseException as e:  # told to the main thread, which stops the bench
            self.error = e
            with self.passed:
                self.passed.notify_all()
        finally:
            self.offsets.close()


def trace_round_parallel(fed: Federated, loops: dict[str, NodeLoop], marking: Marking,
                         ) -> tuple[float, list[float], int, str]:
    """``trace_round`` with every node's own loop running: submit, then read FR's hops after each of FR's passes."""
    fr, fr_loop = fed["FR"], loops["FR"]
    passes = fed.passes
    started = time.perf_counter()
    first = tracing.submit(fr, to="BE", marking=marking, circumstances="found in a car after a shooting",
                           legal_basis="CPP art 60", intended_use="criminal prosecution")
    answered_at: list[float] = []
    while len(answered_at) < 3:
        with fr_loop.passed:
            fr_loop.passed.wait(timeout=1.0)
        for loop in loops.values():
            if loop.error is not None:
                raise RuntimeError(f"{loop.name} failed") from loop.error
        if time.perf_counter() - started > 60:
            raise RuntimeError(f"trace stuck after {len(answered_at)} answers")
        hops = tracing.hops(fr, first, verify=False)
        done = sum(1 for h in hops if h.status.value in ANSWERED)
        while len(answered_at) < min(done, 3):
            answered_at.append(time.perf_counter() - started)
    verdict, _ = tracing.diversion_verdict(fr, marking.weapon_id())
    elapsed = time.perf_counter() - started
    quiet(fed)
    return elapsed, answered_at, fed.passes - passes, verdict.rule.value


def quiet(fed: Federated, for_s: float = 0.3) -> None:
    """Wait until no node made a pass for ``for_s`` (what a round set going has settled), at most 10 s."""
    deadline = time.monotonic() + 10
    seen, since = fed.passes, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < for_s:
        time.sleep(0.05)
        if fed.passes != seen:
            seen, since = fed.passes, time.monotonic()


def kept_history(fed: Federated, backend: str, trace_id: uuid.UUID, weapon_id: uuid.UUID, kept: int,
                 reads: int) -> None:
    """CPU and wall time of reading a trace answered by BE on FR (``trace show``'s read, fragment verified) and of the
    verdict, with the BE checkpoints FR kept so far, then with ``kept`` kept in all.

    The further checkpoints are signed with BE's node key at sizes beyond its log (later history), and
    written to FR's inbox as ingest writes them (``InboxBatch``); the answer cites none of them, so they
    change what the read costs, not what it finds. ``reads`` reads each way; the medians are printed: the
    CPU of this process, and the wall time, which holds PostgreSQL's work too (its server is another process).
    """
    fr, be = fed["FR"], fed["BE"]

    def timed(what) -> tuple[float, float]:
        """Median CPU time of this process and median wall time of ``reads`` calls, in ms."""
        cpu, wall = [], []
        for _ in range(reads):
            started, clock = time.process_time(), time.perf_counter()
            what()
            cpu.append(time.process_time() - started)
            wall.append(time.perf_counter() - clock)
        return statistics.median(cpu) * 1000, statistics.median(wall) * 1000

    def measure(label: str) -> None:
        count = len(fr.inbox.partner_checkpoints("BE"))
        show, show_wall = timed(lambda: tracing.trace(fr, trace_id))
        verdict, verdict_wall = timed(lambda: tracing.diversion_verdict(fr, weapon_id))
        print(f"  {count:6d} BE checkpoints kept on FR ({label}): trace read {show:6.2f} ms CPU "
              f"({show_wall:6.2f} ms wall), verdict {verdict:6.2f} ms CPU ({verdict_wall:6.2f} ms wall); "
              f"medians of {reads}")
        report_figure(f"trace read on FR, {label}", backend, show, "ms CPU", higher_is_better=False)

    print(f"a trace answered by BE, read on FR as the history kept from BE grows (load {os.getloadavg()[0]:.1f}):")
    measure("as kept by the rounds")
    held = fr.inbox.partner_checkpoints("BE")
    newest = held[-1]
    key = be.identity.private_keys[be.identity.node_key_id]
    padding = [(sign_checkpoint(key, "BE", newest.size + 1000 * i, os.urandom(32), newest.timestamp + i), version)
               for i, version in enumerate(range(len(held) + 1, kept + 1), start=1)]
    for start in range(0, len(padding), 500):
        assert fr.inbox.record(InboxBatch(checkpoints=padding[start:start + 500]))
    measure(f"{kept} kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="traces to time, one weapon each (default 5)")
    parser.add_argument("--kafka", default="", help="bootstrap servers of a running broker (default: start one)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--kept", type=int, default=1000,
                        help="BE checkpoints kept on FR for the trace read's second measure (default 1,000; 0: none)")
    parser.add_argument("--reads", type=int, default=20, help="reads per measure of the trace read (default 20)")
    args = parser.parse_args()
    print(machine_note())
    with contextlib.ExitStack() as stack:
        bootstrap = args.kafka
        if not bootstrap:
            from nodes.federation.broker import LocalBroker

            bootstrap = stack.enter_context(LocalBroker()).bootstrap_servers
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="armsledger-bench-trace-")))
        databases = {s: stack.enter_context(fresh_database(args.backend))[0] for s in STATES}
        fed = Federated(root, bootstrap, databases)
        stack.callback(fed.close)
        started = time.perf_counter()
        markings = setup(fed, 2 * args.rounds)
        print(f"setup: {2 * args.rounds} weapons through BE -> NL -> DE, seized in FR, in "
              f"{time.perf_counter() - started:.1f} s ({args.backend}, broker {bootstrap})")

        def show(number: int, total: float, hops: list[float], passes: int, rule: str,
                 cpu: float | None = None) -> None:
            print(f"round {number}: trace to verdict {total * 1000:7.0f} ms  (hop answers visible on FR at "
                  + ", ".join(f"{h * 1000:.0f}" for h in hops) + f" ms; {passes} sync passes; verdict {rule}"
                  + ("" if cpu is None else f"; {cpu * 1000:.0f} ms of this process's CPU") + ")")

        print("the nodes' sync passes one after another, in this thread:")
        sequential, cpus, first = [], [], None
        for number, marking in enumerate(markings[:args.rounds], start=1):
            cpu = time.process_time()
            total, hops, passes, rule = trace_round(fed, marking)
            cpus.append(time.process_time() - cpu)
            first = first or marking
            sequential.append(total)
            show(number, total, hops, passes, rule, cpus[-1])
        print("each node's own loop in a thread of its own, as nodes run:")
        stop = threading.Event()
        loops = {state: NodeLoop(fed, state, bootstrap, stop) for state in STATES}
        for loop in loops.values():
            loop.start()
        parallel = []
        try:
            for number, marking in enumerate(markings[args.rounds:], start=1):
                total, hops, passes, rule = trace_round_parallel(fed, loops, marking)
                parallel.append(total)
                show(number, total, hops, passes, rule)
        finally:
            stop.set()
            for loop in loops.values():
                loop.join()
        median = statistics.median(sequential) * 1000
        print(f"three-hop trace round trip to verdict: median {median:.0f} ms, max {max(sequential) * 1000:.0f} ms "
              f"over {len(sequential)} rounds, the passes one after another (target <= {MEDIAN_TARGET_MS:.0f} ms); "
              f"the nodes' loops in threads: median {statistics.median(parallel) * 1000:.0f} ms; this process's CPU "
              f"a round, one after another: median {statistics.median(cpus) * 1000:.0f} ms (the nodes' work and the "
              "broker clients', not the broker's nor PostgreSQL's)")
        report_figure("three-hop trace to verdict, median", args.backend, median, "ms",
                      target=MEDIAN_TARGET_MS, higher_is_better=False)
        if args.kept and first is not None:
            weapon_id = first.weapon_id()
            trace_id = uuid.UUID(tracing.traces_about(fed["FR"], weapon_id)[0].stream)
            kept_history(fed, args.backend, trace_id, weapon_id, args.kept, args.reads)


if __name__ == "__main__":
    main()
