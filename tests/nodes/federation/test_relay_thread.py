"""``node run``'s relay on a thread of its own, over the real broker, on both backends: a record committed by
another process leaves without waiting for a timer, a failing relay does not stop the node, nothing is
published twice, and the thread ends with the run."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from ledger.envelope import Envelope
from ledger.errors import ChainError
from nodes.errors import StorageError
from nodes.federation import log_watch, relay_thread
from nodes.federation.relay import Relay
from nodes.federation.sync import SyncReport, run
from nodes.federation.wire import RecordMessage, decode_message

from federation_nodes import Cluster, manufacture, raw_messages

CLI = [sys.executable, "-c", "import sys; from nodes.cli.main import main; sys.exit(main())"]
#: Every wait below is bounded by this; the outcome is asserted, never the time it took.
BOUND_S = 60.0


@pytest.fixture(autouse=True)
def _quiet_kafka_logs():
    logging.getLogger("kafka").setLevel(logging.CRITICAL)


@pytest.fixture
def no_timers(monkeypatch):
    """The relay's timers so long that only a watched commit (or the bell) can make it pass within a test."""
    monkeypatch.setattr(relay_thread, "RELAY_EVERY_S", 3600.0)
    monkeypatch.setattr(relay_thread, "LOOK_EVERY_S", 3600.0)
    monkeypatch.setattr(log_watch.SQLiteLogWatch, "look_every_s", None)


class Running:
    """``run`` of one node in a thread, until ``stop``."""

    def __init__(self, cluster: Cluster, state: str):
        self.stop_event = threading.Event()
        self.ended: dict[str, SyncReport | BaseException] = {}
        self.thread = threading.Thread(target=self._run, args=(cluster, state), name=f"{state} node run")

    def _run(self, cluster: Cluster, state: str) -> None:
        try:
            self.ended["report"] = run(cluster[state], cluster.transports[state], self.stop_event)
        except BaseException as e:  # noqa: BLE001  (reported by ``stop``)
            self.ended["error"] = e

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> SyncReport:
        self.stop_event.set()
        self.thread.join(BOUND_S)
        assert not self.thread.is_alive(), "node run did not end"
        assert "error" not in self.ended, self.ended.get("error")
        report = self.ended["report"]
        assert isinstance(report, SyncReport)
        return report


def sharing_every_manufacture(cluster: Cluster) -> Cluster:
    """The cluster, each node sharing its manufactures with every partner (the default shares none)."""
    for node in cluster.nodes.values():
        (node.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all"}}))
    return cluster


def published(cluster: Cluster, state: str) -> Counter[str]:
    """How many times each stream's records were published to ``state``'s inbox topic, by stream."""
    counts: Counter[str] = Counter()
    for _, _, value in raw_messages(cluster, state):
        message = decode_message(value)
        if isinstance(message, RecordMessage):
            counts[str(Envelope.from_bytes(message.envelope).stream)] += 1
    return counts


def wait_until(what: str, check) -> None:
    deadline = time.monotonic() + BOUND_S
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {BOUND_S:g} s"
        time.sleep(0.05)


def manufacture_in_another_process(cluster: Cluster, state: str, serial: str) -> str:
    """``armsledger record manufacture`` run as ``state``'s node, in a process of its own: its weapon's id."""
    settings = cluster[state].settings
    done = subprocess.run([*CLI, "record", "manufacture", "--manufacturer", "Acme Arms", "--country", state,
                           "--serial", serial, "--type", "pistol", "--make", "Acme", "--model", "A1",
                           "--calibre", "9mm", "--year", "2020", "--holder", "Acme Arms", "--json"],
                          env={**os.environ, **cluster.environ(settings)}, capture_output=True, text=True,
                          timeout=BOUND_S)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["weapon_id"])


def test_a_record_another_process_commits_on_a_quiet_node_leaves_without_a_timer(tmp_path, kafka_bootstrap,
                                                                                   db_url, no_timers):
    with sharing_every_manufacture(Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"BE": db_url})) as cluster:
        before = manufacture(cluster["BE"], "BEFORE")
        with Running(cluster, "BE"):
            # The first pass, at the start, relays what was there; then the node is quiet, its timers an hour away.
            wait_until("BE's first pass", lambda: str(before) in published(cluster, "NL"))
            weapon = manufacture_in_another_process(cluster, "BE", "OTHER-PROCESS")
            wait_until("the record of another process published", lambda: weapon in published(cluster, "NL"))
            # And one this process commits (another connection of the node's store) goes the same way.
            ours = str(manufacture(cluster["BE"], "THIS-PROCESS"))
            wait_until("the record of this process published", lambda: ours in published(cluster, "NL"))


def test_quiet_records_are_published_once_each_and_held_once(tmp_path, kafka_bootstrap, db_url):
    with sharing_every_manufacture(Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"BE": db_url})) as cluster:
        weapons = []
        with Running(cluster, "BE"):
            for i in range(4):  # one at a time, each relayed on its own wake (and some after the pass gap)
                weapons.append(str(manufacture(cluster["BE"], f"Q{i}")))
                wait_until(f"record {i} published", lambda: weapons[-1] in published(cluster, "NL"))
            weapons += [str(manufacture(cluster["BE"], f"B{i}")) for i in range(3)]  # a burst
            wait_until("the burst published", lambda: set(weapons) <= set(published(cluster, "NL")))
        counts = published(cluster, "NL")
        assert all(counts[w] == 1 for w in weapons), counts
        cluster.sync("NL")
        held = Counter(e.stream for _, e in cluster["NL"].inbox.received_notifications(1, 10_000))
        assert all(held[w] == 1 for w in weapons), held


def test_a_failing_relay_does_not_stop_ingest_and_passes_again(tmp_path, kafka_bootstrap, db_url, monkeypatch,
                                                               caplog):
    monkeypatch.setattr(relay_thread, "RETRY_PAUSES_S", (0.05, 0.2))
    failing = threading.Event()
    failing.set()
    relay = Relay.relay

    def relay_unless_failing(self, **kwargs):  # type: ignore[no-untyped-def]
        if failing.is_set() and self.node.identity.state == "BE":
            raise StorageError("the relay's database is away (planted)")
        return relay(self, **kwargs)

    monkeypatch.setattr(Relay, "relay", relay_unless_failing)
    with sharing_every_manufacture(Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"BE": db_url})) as cluster:
        weapon = str(manufacture(cluster["BE"], "HELD-BACK"))
        nl_weapon = str(manufacture(cluster["NL"], "FROM-NL"))
        with Running(cluster, "BE") as running:
            cluster.sync("NL")  # NL publishes its record to BE, whose relay fails meanwhile
            received = lambda: cluster["BE"].inbox.received(node="NL", stream=nl_weapon)  # noqa: E731
            wait_until("BE's ingest holds NL's record while its relay fails", received)
            assert running.thread.is_alive() and weapon not in published(cluster, "NL")
            failing.clear()
            wait_until("BE's record published once its relay passes again", lambda: weapon in published(cluster, "NL"))
        failures = [r for r in caplog.records if "relay pass failed" in r.getMessage()]
        assert failures and all(r.levelno == logging.ERROR for r in failures)


def test_the_relay_thread_and_its_clients_end_with_the_run(tmp_path, kafka_bootstrap, db_url):
    with sharing_every_manufacture(Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"BE": db_url})) as cluster:
        manufacture(cluster["BE"], "ONE")
        before = ours()  # other tests' clients in this process, if any
        with Running(cluster, "BE") as running:
            wait_until("a relay thread", lambda: "relay" in {t.name for t in threading.enumerate()})
            wait_until("BE's record published", lambda: published(cluster, "NL"))
            assert len(ours() - before) >= 3  # the relay's thread, ingest's clients and the relay's
        report = running.stop()
        assert report.passes >= 1 and report.published >= 1
        cluster.transports["BE"].close()  # ingest's clients (the relay's own were closed by the run)
        wait_until("the relay's thread and every Kafka client of the run gone", lambda: ours() <= before)


def ours() -> set[int | None]:
    """The relay's thread and every Kafka client's IO thread, alive now."""
    return {t.ident for t in threading.enumerate()
            if t.is_alive() and (t.name == "relay" or t.name.startswith("kafka-io"))}


def test_a_relay_refusing_the_nodes_own_log_ends_the_run_with_its_error(tmp_path, kafka_bootstrap, db_url):
    """A damaged store (here the sealer's refusal of a log changed under it, planted) is not retried: the run
    ends and raises it, so that ``node run`` says what is wrong and exits 1, as before the relay had a thread."""
    refused = ChainError("the log's record at position 1 is not the one sealed (planted)")
    relay = Relay.relay

    def refusing(self, **kwargs):  # type: ignore[no-untyped-def]
        if self.node.identity.state == "BE":
            raise refused
        return relay(self, **kwargs)

    with sharing_every_manufacture(Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"BE": db_url})) as cluster:
        manufacture(cluster["BE"], "REFUSED")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Relay, "relay", refusing)
            running = Running(cluster, "BE")
            running.thread.start()
            running.thread.join(BOUND_S)
            assert not running.thread.is_alive(), "node run went on after its relay refused the log"
        assert running.ended.get("error") is refused
        assert "relay" not in {t.name for t in threading.enumerate()}
