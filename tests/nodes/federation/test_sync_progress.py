"""``sync`` of a backlog over the real broker: the pass tells its progress through its callback, and
``armsledger sync`` draws it on a terminal (with rate and time left) and nowhere else."""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from nodes.cli import progress
from nodes.cli.main import run
from nodes.federation.inbox import Inbox, InboxBatch, QuarantineEntry
from nodes.federation.sync import run as run_federation, sync

from federation_nodes import Cluster, publish
from terminal import Terminals

BACKLOG = 60


def junk(count: int, start: int = 0) -> list[tuple[bytes, bytes]]:
    """Messages that are no envelope: each is read, quarantined, and moves the inbox position on."""
    return [(b"k%d" % i, b"not an envelope %d" % i) for i in range(start, start + count)]


def test_sync_reports_the_backlog_read_of_the_backlog_there_was(tmp_path, kafka_bootstrap):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        publish(cluster, "NL", junk(BACKLOG))
        calls: list[tuple[int, int | None]] = []
        report = sync(cluster["NL"], cluster.transports["NL"], 30.0, progress=lambda done, total: calls.append(
            (done, total)))
        assert report.quiet and report.quarantined == BACKLOG
        assert calls[0] == (0, BACKLOG) and calls[-1] == (BACKLOG, BACKLOG)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        calls.clear()
        sync(cluster["NL"], cluster.transports["NL"], 30.0, progress=lambda done, total: calls.append((done, total)))
        assert all(done == 0 and total == 0 for done, total in calls)  # nothing to read: nothing to draw


def test_a_drain_takes_its_position_from_the_step_that_recorded_it(tmp_path, kafka_bootstrap):
    from nodes.federation.ingest import kafka_position
    from nodes.federation.sync import Federation

    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        nl = cluster["NL"]
        with Federation(nl, cluster.transports["NL"]) as fed:
            sync(nl, cluster.transports["NL"], 30.0, federation=fed)
            publish(cluster, "NL", junk(3))
            reads = []
            position = nl.inbox.position
            nl.inbox.position = lambda name: reads.append(name) or position(name)  # type: ignore[method-assign]
            try:
                report = sync(nl, cluster.transports["NL"], 30.0, federation=fed)
            finally:
                del nl.inbox.position
            name = kafka_position(fed.ingest.topic, fed.ingest.topic_id)
            assert report.quiet and report.quarantined == 3
            assert fed.ingest.reached == (name, position(name))
            # Where the last sync's steps left it: neither the drain nor its steps read it.
            assert reads.count(name) == 0
        with Federation(nl, cluster.transports["NL"]) as fresh:  # a new ingest reads it once, its steps never
            publish(cluster, "NL", junk(3, start=3))
            nl.inbox.position = lambda name: reads.append(name) or position(name)  # type: ignore[method-assign]
            try:
                report = sync(nl, cluster.transports["NL"], 30.0, federation=fresh)
            finally:
                del nl.inbox.position
            assert report.quiet and report.quarantined == 3 and reads.count(name) == 1
            assert fresh.ingest.reached == (name, position(name))


def test_a_sync_told_the_end_of_its_inbox_reads_to_it_without_asking_the_broker(tmp_path, kafka_bootstrap):
    from nodes.federation.sync import Federation

    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        nl, transport = cluster["NL"], cluster.transports["NL"]
        with Federation(nl, transport) as fed:
            sync(nl, transport, 30.0, federation=fed)
            asked = []
            end_offset = transport.end_offset
            transport.end_offset = lambda *a, **k: asked.append(a) or end_offset(*a, **k)  # type: ignore[method-assign]
            try:
                publish(cluster, "NL", junk(4))
                told = end_offset(fed.ingest.topic, beyond=fed.ingest.position())
                report = sync(nl, transport, 30.0, federation=fed, inbox_end=told)
                assert report.quiet and report.quarantined == 4 and asked == []
                assert fed.ingest.position() == end_offset(fed.ingest.topic)  # read on to the end its reads saw
                # An end at or before the position tells nothing: the broker is asked.
                publish(cluster, "NL", junk(2, start=4))
                report = sync(nl, transport, 30.0, federation=fed, inbox_end=fed.ingest.position())
                assert report.quarantined == 2 and len(asked) == 1
            finally:
                del transport.end_offset


def test_armsledger_sync_draws_the_backlog_on_a_terminal_only(tmp_path, kafka_bootstrap, monkeypatch, capsys):
    monkeypatch.setattr(progress, "DELAY_S", 0)  # the backlog is read in less than the delay
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        environ = cluster.environ(cluster["NL"].settings)
        publish(cluster, "NL", junk(BACKLOG))
        terminals = Terminals()
        try:
            with monkeypatch.context() as patched:
                patched.setattr(sys, "stdout", terminals.out)
                patched.setattr(sys, "stderr", terminals.err)
                code = run(["sync"], environ)
        finally:
            out, err = terminals.close()
        assert code == 0 and f"read {BACKLOG} messages".encode() in out and b"%|" not in out
        assert b"sync: inbox: 100%|" in err and f"{BACKLOG}/{BACKLOG} messages".encode() in err
        assert re.search(rb"\d\d:\d\d left", err) and re.search(rb"[\d.]+ messages/s", err)

        publish(cluster, "NL", junk(BACKLOG, start=BACKLOG))
        capsys.readouterr()
        assert run(["sync"], environ) == 0  # piped (captured): the same work, no bar
        piped = capsys.readouterr()
        assert f"read {BACKLOG} messages" in piped.out and "sync: inbox" not in piped.err and "\r" not in piped.err

        publish(cluster, "NL", junk(1, start=2 * BACKLOG))
        terminals = Terminals()
        try:
            with monkeypatch.context() as patched:
                patched.setattr(sys, "stdout", terminals.out)
                patched.setattr(sys, "stderr", terminals.err)
                code = run(["sync", "--json"], environ)
        finally:
            out, err = terminals.close()
        assert code == 0 and b'"read": 1' in out and err == b""


@pytest.mark.parametrize("count, words", [(1, "read 1 message: 0 accepted, 0 duplicates, 1 quarantined (0 alarms)"),
                                          (2, "read 2 messages: 0 accepted, 0 duplicates, 2 quarantined (0 alarms)")])
def test_sync_counts_in_words(tmp_path, kafka_bootstrap, capsys, count, words):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        publish(cluster, "NL", junk(count))
        assert run(["sync"], cluster.environ(cluster["NL"].settings)) == 0
        assert words in capsys.readouterr().out


def test_node_run_tells_its_first_catch_up_and_then_nothing(tmp_path, kafka_bootstrap):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        publish(cluster, "NL", junk(BACKLOG))
        calls: list[tuple[int, int | None]] = []
        stop = threading.Event()
        runner = threading.Thread(target=run_federation, args=(cluster["NL"], cluster.transports["NL"], stop),
                                  kwargs={"idle_wait_s": 0.1, "progress": lambda done, total: calls.append(
                                      (done, total))})
        runner.start()
        try:
            deadline = time.monotonic() + 60
            while (BACKLOG, BACKLOG) not in calls and time.monotonic() < deadline:
                time.sleep(0.1)
            assert calls[-1] == (BACKLOG, BACKLOG), calls
            told = len(calls)
            publish(cluster, "NL", junk(5, start=BACKLOG))  # after the catch-up: ingested, not told
            deadline = time.monotonic() + 30
            with Inbox.open(cluster["NL"].settings.db) as inbox:  # its own connection: the runner uses the node's
                while len(inbox.quarantined()) < BACKLOG + 5 and time.monotonic() < deadline:
                    time.sleep(0.1)
        finally:
            stop.set()
            runner.join(timeout=60)
        assert len(calls) == told and [d for d, _ in calls] == sorted(d for d, _ in calls)
        with Inbox.open(cluster["NL"].settings.db) as inbox:
            assert len(inbox.quarantined()) == BACKLOG + 5


def test_the_reactions_position_covers_what_the_sync_accepted_and_no_row_recorded_after(tmp_path, kafka_bootstrap,
                                                                                       db_url):
    from domain.marking import Marking
    from nodes.federation.sync import REACTIONS_POSITION
    from nodes.registry.paging import received

    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        (cluster["BE"].settings.home / "sharing.json").write_text('{"share": {"Weapon.Manufactured": "all"}}')
        be.registry.manufacture(marking=Marking.read("Acme Arms", "BE", "R-1"), type="pistol", make="Acme",
                                model="M1", calibre="9mm", year=2020, holder="Acme Arms", occurred_on=int(time.time()))
        sync(be, cluster.transports["BE"], 30.0)
        report = sync(nl, cluster.transports["NL"], 30.0)
        assert report.accepted >= 1
        accepted = [n for n, _ in received(nl.inbox)]
        with Inbox.open(nl.settings.db) as other:  # a row another process records after the sync
            assert other.record(InboxBatch(quarantined=[QuarantineEntry(
                received_at=0, topic="elsewhere", offset=0, origin="BE", reason="malformed", kind="error",
                detail="later", key=b"", message=b"later")]))

        saved = nl.inbox.position(REACTIONS_POSITION)

        assert max(accepted) <= saved < nl.inbox.max_notification_id()
