"""The group committer on both backends: many threads through one writer, refusals that fail
alone, a lost race with an outside writer, a failing database, and closing with work queued."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.errors import DuplicateMarking, LicenceRefused
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from ledger.envelope import verify_chain
from nodes.bootstrap import Node, init_node, open_node
from nodes.cli.main import run
from nodes.errors import StorageError
from nodes.registry.application import Registry
from nodes.registry.group_commit import GroupCommitter
from nodes.registry.staging import CommittedStreams
from nodes.settings import Settings

PASSPHRASE = "group commit tests"
THREADS = 16
NOW = int(time.time()) - 60


@pytest.fixture
def node(tmp_path, db_url) -> Iterator[Node]:
    """A BE node with transfer licences for holders A, B and one per thread."""
    with init_node(Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE), "BE") as node:
        for number, holder in [("TL-A", "holder A"), ("TL-B", "holder B"),
                               *((f"TL-{t}", f"holder {t}") for t in range(THREADS))]:
            node.registry.issue_licence(number=number, kind=LicenceKind.TRANSFER_LICENCE, holder=holder,
                                        valid_from=NOW - 30 * DAY, valid_until=NOW + 30 * DAY, occurred_on=NOW - DAY)
        node.settle()
        yield node


def manufacture(serial: str) -> Callable[[Registry], UUID]:
    return lambda r: r.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                   model="Five-seveN", calibre="5.7x28", year=2020, holder="FN Herstal",
                                   occurred_on=NOW - DAY)


def transfer(weapon: UUID, holder: str, licence: str) -> Callable[[Registry], None]:
    return lambda r: r.transfer(weapon_id=weapon, to_holder=holder, licence=licence, occurred_on=NOW)


def valid_stream(registry: Registry, stream: UUID) -> list[Any]:
    envelopes = registry.envelopes(stream)
    assert [e.version for e in envelopes] == list(range(1, len(envelopes) + 1))
    assert verify_chain(envelopes)
    return envelopes


def holders(envelopes: list[Any]) -> list[str]:
    return [e.body["to_holder"] for e in envelopes if e.type == "Weapon.Transferred"]


def hold_the_writer(committer: GroupCommitter) -> tuple[threading.Event, threading.Thread]:
    """Keep the writer busy with one command until the returned event is set, so that what is
    submitted meanwhile is queued and taken as one batch."""
    running, release = threading.Event(), threading.Event()

    def blocker(_registry: Registry) -> None:
        running.set()
        assert release.wait(30)

    thread = threading.Thread(target=committer.submit, args=(blocker,))
    thread.start()
    assert running.wait(30)
    return release, thread


def wait_queued(committer: GroupCommitter, count: int) -> None:
    deadline = time.monotonic() + 30
    while committer.queued() < count:
        assert time.monotonic() < deadline, f"only {committer.queued()} of {count} commands queued"
        time.sleep(0.005)


def test_sixteen_threads_lose_nothing_duplicate_nothing_and_every_chain_verifies(node, tmp_path, db_url):
    shared = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "SHARED-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    count = 6

    officers = [str(UUID(int=t + 1)) for t in range(THREADS)]  # one officer's account per client

    def client(t: int) -> UUID:
        writes: Callable[[UUID], tuple[UUID, ...]] = (lambda w: (w,)) if t % 2 else (lambda w: ())
        weapon = committer.submit(manufacture(f"GC{t:04d}"), officer_id=officers[t])
        for i in range(count):
            holder = "AB"[i % 2]
            committer.submit(transfer(weapon, f"holder {holder}", f"TL-{holder}"), officer_id=officers[t],
                             writes=writes(weapon))
        committer.submit(transfer(shared, f"holder {t}", f"TL-{t}"), officer_id=officers[t], writes=writes(shared))
        return weapon

    with GroupCommitter(node, read_ahead=True) as committer, ThreadPoolExecutor(THREADS) as pool:
        weapons = list(pool.map(client, range(THREADS)))
    assert len(set(weapons)) == THREADS
    for officer, weapon in zip(officers, weapons):
        assert holders(valid_stream(node.registry, weapon)) == ["holder A", "holder B"] * (count // 2)
        assert {e.body["officer"] for e in node.registry.envelopes(weapon)} == {officer}  # each names its own
    assert sorted(holders(valid_stream(node.registry, shared))) == sorted(f"holder {t}" for t in range(THREADS))
    commands = THREADS * (count + 2)
    assert committer.stats.commands == committer.stats.records == commands
    assert committer.stats.batches < commands  # commands were grouped
    node.settle()
    assert run(["--home", str(tmp_path / "be"), "--db", db_url, "verify"], {"ARMSLEDGER_PASSPHRASE": PASSPHRASE}) == 0


def test_a_refused_command_fails_alone_and_the_next_in_its_batch_sees_the_earlier_ones(node):
    stored = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "STORED-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)

    def change_then_fail(r: Registry) -> None:  # changes the weapon it read, then gives up
        r.weapon(stored).transfer(authority=r.authority("licensing"), to_holder="holder B", occurred_on=NOW,
                                  licence=r.licence("TL-B", LicenceKind.TRANSFER_LICENCE, field="licence"))
        raise RuntimeError("changed its mind")

    def save_then_fail(r: Registry) -> None:  # saves a transfer, then fails
        r.transfer(weapon_id=stored, to_holder="holder B", licence="TL-B", occurred_on=NOW)
        raise RuntimeError("failed after saving")

    with GroupCommitter(node) as committer:
        release, blocker = hold_the_writer(committer)
        commands = [
            manufacture("NEW-1"),                      # a new weapon ...
            manufacture("NEW-1"),                      # ... manufactured twice in the batch: refused
            manufacture("STORED-1"),                   # stored before: refused (found at the commit)
            transfer(stored, "holder A", "TL-A"),
            transfer(stored, "holder X", "TL-NONE"),   # no such licence: refused
            change_then_fail,
            save_then_fail,
            transfer(stored, "holder B", "TL-B"),      # chains on the first transfer, nothing else
        ]
        with ThreadPoolExecutor(len(commands)) as pool:
            futures = []
            for n, command in enumerate(commands):  # queued in this order
                futures.append(pool.submit(committer.submit, command))
                wait_queued(committer, n + 1)
            release.set()
            blocker.join()
            outcomes = [f.exception() or f.result() for f in futures]
    new = outcomes[0]
    assert isinstance(new, UUID)
    assert isinstance(outcomes[1], DuplicateMarking) and isinstance(outcomes[2], DuplicateMarking)
    assert isinstance(outcomes[4], LicenceRefused)
    assert [str(e) for e in outcomes[5:7]] == ["changed its mind", "failed after saving"]
    assert outcomes[3] is None and outcomes[7] is None
    assert holders(valid_stream(node.registry, stored)) == ["holder A", "holder B"]
    assert len(valid_stream(node.registry, new)) == 1
    assert committer.stats.conflicts == 1  # the stored STORED-1 was found by the commit, then refused alone


def test_a_batch_that_loses_the_race_to_an_outside_writer_runs_again_on_fresh_state(node, db_url):
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "RACE-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    outside = Registry(db_url, node.identity)  # another process's registry, say a shell's
    runs = []

    def transfer_while_a_shell_does(registry: Registry) -> None:
        registry.transfer(weapon_id=weapon, to_holder="holder A", licence="TL-A", occurred_on=NOW)
        runs.append(1)
        if len(runs) == 1:  # the shell stores its transfer between this run and the commit
            shell = threading.Thread(target=outside.transfer, kwargs=dict(
                weapon_id=weapon, to_holder="holder B", licence="TL-B", occurred_on=NOW))
            shell.start()
            shell.join()

    try:
        with GroupCommitter(node) as committer:
            committer.submit(transfer_while_a_shell_does)
    finally:
        outside.close()
    assert len(runs) == 2 and committer.stats.conflicts == 1
    assert holders(valid_stream(node.registry, weapon)) == ["holder B", "holder A"]


def test_what_another_writer_stores_between_batches_is_seen_by_the_next_batch(node, db_url):
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "SEEN-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    outside = Registry(db_url, node.identity)
    try:
        with GroupCommitter(node) as committer:
            committer.submit(transfer(weapon, "holder A", "TL-A"))  # the committer has read licence TL-A ...
            outside.revoke_licence(number="TL-B", kind="transfer_licence", reason="holder convicted",
                                   occurred_on=NOW - 10)  # ... and a shell revokes TL-B, then TL-A
            outside.revoke_licence(number="TL-A", kind="transfer_licence", reason="holder convicted",
                                   occurred_on=NOW - 10)
            with pytest.raises(LicenceRefused, match="revoked"):
                committer.submit(transfer(weapon, "holder A", "TL-A"))
    finally:
        outside.close()
    assert holders(valid_stream(node.registry, weapon)) == ["holder A"]


def fail_inserts(node: Node, stream: UUID) -> Callable[[], None]:
    """Make the database fail (not refuse) every insert of ``stream``'s records; returns the undo."""
    recorder: Any = node.registry.recorder
    table = recorder.events_table_name
    if hasattr(recorder.datastore, "schema"):  # PostgreSQL
        statements = [
            "CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full (test)' USING ERRCODE = 'disk_full'; END $$",
            f"CREATE TRIGGER fail_insert BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN (NEW.originator_id = '{stream}') EXECUTE FUNCTION fail_insert()",
        ]
        undo = [f"DROP TRIGGER fail_insert ON {table}", "DROP FUNCTION fail_insert()"]
    else:  # SQLite (ids stored as hex): an integer overflow inside the trigger
        statements = [f"CREATE TRIGGER fail_insert BEFORE INSERT ON {table} WHEN NEW.originator_id = '{stream.hex}' "
                      "BEGIN SELECT abs(-9223372036854775807 - 1); END"]
        undo = ["DROP TRIGGER fail_insert"]

    def execute(sql: list[str]) -> None:
        with recorder.datastore.transaction(commit=True) as cursor:
            for statement in sql:
                cursor.execute(statement)

    execute(statements)
    return lambda: execute(undo)


def test_a_database_failure_fails_every_caller_of_the_batch_and_writes_nothing(node):
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "FAIL-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    poisoned = Marking.read("FN Herstal", "BE", "POISON-1").weapon_id()
    undo = fail_inserts(node, poisoned)
    with GroupCommitter(node) as committer:
        release, blocker = hold_the_writer(committer)
        commands = [transfer(weapon, "holder A", "TL-A"), manufacture("POISON-1"), manufacture("FINE-1")]
        with ThreadPoolExecutor(len(commands)) as pool:
            futures = [pool.submit(committer.submit, c) for c in commands]
            wait_queued(committer, len(commands))
            release.set()
            blocker.join()
            errors = [f.exception(timeout=60) for f in futures]
        assert all(isinstance(e, StorageError) and ("disk full" in str(e) or "overflow" in str(e)) for e in errors)
        assert len(node.registry.envelopes(weapon)) == 1
        assert node.registry.envelopes(poisoned) == []
        assert node.registry.envelopes(Marking.read("FN Herstal", "BE", "FINE-1").weapon_id()) == []
        undo()
        committer.submit(transfer(weapon, "holder A", "TL-A"))  # the committer carries on
    assert holders(valid_stream(node.registry, weapon)) == ["holder A"]


def test_a_batch_run_while_the_one_before_is_stored_runs_again_when_that_one_fails(node):
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "NEXT-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    undo = fail_inserts(node, Marking.read("FN Herstal", "BE", "POISON-2").weapon_id())
    queued, release = threading.Event(), threading.Event()

    def transfer_and_poison(r: Registry) -> None:  # its batch will fail in the database
        r.transfer(weapon_id=weapon, to_holder="holder A", licence="TL-A", occurred_on=NOW)
        manufacture("POISON-2")(r)
        queued.set()
        assert release.wait(30)

    with GroupCommitter(node) as committer, ThreadPoolExecutor(2) as pool:
        first = pool.submit(committer.submit, transfer_and_poison)
        assert queued.wait(30)
        # Taken while the first batch is stored: it runs on the first one's transfer ...
        second = pool.submit(committer.submit, transfer(weapon, "holder B", "TL-B"))
        wait_queued(committer, 1)
        release.set()
        with pytest.raises(StorageError):
            first.result(timeout=60)
        second.result(timeout=60)  # ... which was never stored: it ran again, on what was stored
    undo()
    assert holders(valid_stream(node.registry, weapon)) == ["holder B"]


def while_a_shell_moves(committer: GroupCommitter, outside: Registry, first: UUID, moved: UUID,
                        then: Callable[[Registry], None]) -> None:
    """Submit a transfer of ``first`` to holder A, during whose first run ``outside`` (a shell) transfers ``moved``
    to holder B (after the batch's check, before its commit); then ``then``, queued while that batch runs, so
    that it runs while the first is stored. Returns when both are answered."""
    queued, release = threading.Event(), threading.Event()

    def transfer_while_a_shell_does(r: Registry) -> None:
        r.transfer(weapon_id=first, to_holder="holder A", licence="TL-A", occurred_on=NOW)
        if not queued.is_set():
            shell = threading.Thread(target=outside.transfer, kwargs=dict(
                weapon_id=moved, to_holder="holder B", licence="TL-B", occurred_on=NOW))
            shell.start()
            shell.join()
            queued.set()
            assert release.wait(30)

    with ThreadPoolExecutor(2) as pool:
        first_answer = pool.submit(committer.submit, transfer_while_a_shell_does)
        assert queued.wait(30)
        then_answer = pool.submit(committer.submit, then)
        wait_queued(committer, 1)
        release.set()
        first_answer.result(timeout=60)
        then_answer.result(timeout=60)


def test_a_batch_run_while_the_one_before_is_stored_runs_again_when_that_one_loses_a_race(node, db_url):
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "NEXT-2"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    outside = Registry(db_url, node.identity)
    try:
        with GroupCommitter(node) as committer:  # the first run loses the race to the shell
            while_a_shell_moves(committer, outside, weapon, weapon, transfer(weapon, "holder B", "TL-B"))
    finally:
        outside.close()
    assert holders(valid_stream(node.registry, weapon)) == ["holder B", "holder A", "holder B"]
    assert committer.stats.conflicts == 1


@contextlib.contextmanager
def log_held(node: Node, db_url: str) -> Iterator[None]:
    """Another connection holds the log's write lock: an insert waits until the block ends."""
    recorder: Any = node.registry.recorder
    if db_url.startswith("postgresql://"):
        with psycopg.connect(db_url, autocommit=True) as connection:
            connection.execute("BEGIN")
            for statement in recorder.lock_table_statements:
                connection.execute(statement)
            yield
            connection.execute("COMMIT")
        return
    connection = sqlite3.connect(db_url, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_commands_that_arrive_while_a_batch_is_stored_run_before_it_lands(node, db_url):
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "FLIGHT-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    first_ran, second_ran = threading.Event(), threading.Event()

    def then(event: threading.Event, command: Callable[[Registry], None]) -> Callable[[Registry], None]:
        def run(r: Registry) -> None:
            command(r)
            event.set()
        return run

    with GroupCommitter(node) as committer, ThreadPoolExecutor(2) as pool:
        with log_held(node, db_url):
            first = pool.submit(committer.submit, then(first_ran, transfer(weapon, "holder A", "TL-A")))
            assert first_ran.wait(30)
            time.sleep(0.2)  # the first batch is being stored, its insert waiting for the lock
            second = pool.submit(committer.submit, then(second_ran, transfer(weapon, "holder B", "TL-B")))
            # Run while the first batch is still in flight (the writer used to wait for its landing first).
            assert second_ran.wait(3)
            assert not first.done() and not second.done()
        first.result(timeout=60)
        second.result(timeout=60)
        assert committer.stats.batches == 2
    assert holders(valid_stream(node.registry, weapon)) == ["holder A", "holder B"]


def test_a_weapon_read_ahead_and_changed_meanwhile_by_another_writer_gets_its_record_after_that_one(node, db_url):
    """The reader thread reads the weapon before the writer runs the transfer; a shell transfers it in between.
    The transfer is stored after the shell's record (its first try loses the race, or the writer sees the
    log moved and reads again), never on the state read ahead."""
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "AHEAD-1"), type="pistol",
                                       make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                       holder="FN Herstal", occurred_on=NOW - DAY)
    outside = Registry(db_url, node.identity)
    try:
        with GroupCommitter(node, read_ahead=True) as committer, ThreadPoolExecutor(1) as pool:
            release, blocker = hold_the_writer(committer)
            ahead = pool.submit(committer.submit, transfer(weapon, "holder A", "TL-A"), writes=(weapon,))
            deadline = time.monotonic() + 30
            while committer.stats.read_ahead < 1 or committer.queued() < 1:
                assert time.monotonic() < deadline, "the weapon was not read ahead"
                time.sleep(0.005)
            outside.transfer(weapon_id=weapon, to_holder="holder B", licence="TL-B", occurred_on=NOW)
            release.set()
            blocker.join()
            ahead.result(timeout=60)
    finally:
        outside.close()
    assert holders(valid_stream(node.registry, weapon)) == ["holder B", "holder A"]


def manufactured(node: Node, *serials: str) -> list[UUID]:
    return [manufacture(serial)(node.registry) for serial in serials]


def test_a_check_forgets_only_the_streams_written_since_unless_it_cannot_say_which(node, db_url):
    recorder = node.registry.recorder
    kept = CommittedStreams()
    assert kept.check(recorder) is None  # no position known yet: everything is forgotten
    moved, still = manufactured(node, "CHECK-1", "CHECK-2")
    assert kept.check(recorder) == {moved, still}  # the two manufactures
    for stream in (moved, still):
        kept.read(stream, lambda stream=stream: node.registry.repository.get(stream))
    outside = Registry(db_url, node.identity)  # another process on the same database
    try:
        outside.transfer(weapon_id=moved, to_holder="holder B", licence="TL-B", occurred_on=NOW)
        assert kept.check(recorder) == {moved}
        assert not kept.knows(moved) and kept.knows(still)
        assert kept.check(recorder) == frozenset()  # nothing since
        kept.CHANGES_READ = 1
        outside.transfer(weapon_id=moved, to_holder="holder A", licence="TL-A", occurred_on=NOW)
        outside.transfer(weapon_id=still, to_holder="holder A", licence="TL-A", occurred_on=NOW)
        assert kept.check(recorder) is None  # more rows than it reads: everything is forgotten
        assert not kept.knows(still)
        assert kept.check(recorder) == frozenset()  # and the position is the log's last
    finally:
        outside.close()


def test_two_service_processes_on_one_database_record_each_transfer_after_the_others(node, tmp_path, db_url):
    """Each writer learns which weapons the other moved and reads only those again: no transfer is
    recorded on a version the other process replaced, and none loses a race it did not cause."""
    moved, still = manufactured(node, "TWO-1", "TWO-2")
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE)
    with open_node(settings) as other, GroupCommitter(node) as mine, GroupCommitter(other) as theirs:
        mine.submit(transfer(still, "holder A", "TL-A"))
        for n, holder in enumerate(["holder A", "holder B", "holder 0", "holder 1", "holder 2", "holder 3"]):
            (mine if n % 2 == 0 else theirs).submit(transfer(moved, holder, "TL-" + holder.split()[-1]))
        assert mine._committed.knows(still)  # the other's transfers of ``moved`` did not make it forget all
    assert holders(valid_stream(node.registry, moved)) == ["holder A", "holder B", "holder 0", "holder 1",
                                                           "holder 2", "holder 3"]
    assert mine.stats.conflicts == theirs.stats.conflicts == 0


@pytest.mark.parametrize("reads_what_the_other_wrote", [True, False])
def test_a_batch_run_while_the_one_before_is_stored_runs_again_only_if_it_read_what_another_wrote(
        node, db_url, reads_what_the_other_wrote):
    first_weapon, moved, still = manufactured(node, "FOLLOW-1", "FOLLOW-2", "FOLLOW-3")
    outside = Registry(db_url, node.identity)
    runs = []
    following = moved if reads_what_the_other_wrote else still

    def counted(r: Registry) -> None:
        runs.append(1)
        r.transfer(weapon_id=following, to_holder="holder 0", licence="TL-0", occurred_on=NOW)

    try:
        with GroupCommitter(node) as committer:
            for weapon in (moved, still):  # both kept by the writer
                committer.submit(transfer(weapon, "holder A", "TL-A"))
            while_a_shell_moves(committer, outside, first_weapon, moved, counted)
    finally:
        outside.close()
    # Read stale: run again on what is stored (not stored to lose the race). Else stored as it ran.
    assert len(runs) == (2 if reads_what_the_other_wrote else 1)
    assert committer.stats.conflicts == 0
    assert holders(valid_stream(node.registry, moved)) == ["holder A", "holder B"] + (
        ["holder 0"] if reads_what_the_other_wrote else [])
    assert holders(valid_stream(node.registry, still)) == ["holder A"] + (
        [] if reads_what_the_other_wrote else ["holder 0"])


def test_close_answers_the_queued_commands_and_refuses_later_ones(node):
    committer = GroupCommitter(node, read_ahead=True)
    with pytest.raises(StorageError, match="not started"):
        committer.submit(manufacture("EARLY-1"))
    committer.start()
    release, blocker = hold_the_writer(committer)
    with ThreadPoolExecutor(4) as pool:
        # Half of them through the reader thread (the stream a manufacture writes, unknown to the writer).
        futures = [pool.submit(committer.submit, manufacture(f"QUEUED-{i}"),
                               writes=(Marking.read("FN Herstal", "BE", f"QUEUED-{i}").weapon_id(),) if i % 2 else ())
                   for i in range(4)]
        wait_queued(committer, 4)
        assert committer.stats.read_ahead == 2
        closing = threading.Thread(target=committer.close)
        closing.start()
        release.set()
        closing.join(60)
        assert not closing.is_alive()
        weapons = [f.result(timeout=60) for f in futures]
    blocker.join()
    for weapon in weapons:
        assert len(valid_stream(node.registry, weapon)) == 1
    with pytest.raises(StorageError, match="closed"):
        committer.submit(manufacture("LATE-1"))
    committer.close()  # again: nothing to do


def test_streams_are_read_ahead_on_postgresql_only_unless_asked(node, db_url):
    with GroupCommitter(node) as committer:
        assert committer.read_ahead == db_url.startswith("postgresql://")
        weapon = committer.submit(manufacture("DEFAULT-1"))
        committer.submit(transfer(weapon, "holder A", "TL-A"), writes=(Marking.read("FN", "BE", "X").weapon_id(),))
        assert committer.stats.read_ahead == (1 if committer.read_ahead else 0)


def test_close_gives_up_on_a_hung_command_and_answers_what_waits_behind_it(node):
    committer = GroupCommitter(node)
    committer.start()
    release, blocker = hold_the_writer(committer)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(committer.submit, manufacture(f"BEHIND-{i}")) for i in range(2)]
        wait_queued(committer, 2)
        closing = threading.Thread(target=committer.close, kwargs={"timeout": 0.5})
        closing.start()
        closing.join(60)
        assert not closing.is_alive()
        assert blocker.is_alive()  # close returned while the hung command still holds the writer
        for future in futures:
            with pytest.raises(StorageError, match="closed before running"):
                future.result(timeout=10)
    release.set()
    blocker.join(30)
    assert not blocker.is_alive()  # the hung command was answered once it ended
    assert committer.join(30)  # and the writer and settler end: the node may be closed after them
    assert node.registry.envelopes(Marking.read("FN Herstal", "BE", "BEHIND-0").weapon_id()) == []


def test_a_writer_stopped_by_a_bug_answers_its_callers_and_refuses_later_ones(node):
    def exits(_registry: Registry) -> None:
        raise SystemExit("a bug")

    with GroupCommitter(node) as committer:
        with pytest.raises(StorageError, match="stopped: a bug"):
            committer.submit(exits)
        with pytest.raises(StorageError, match="closed"):
            committer.submit(manufacture("AFTER-1"))


def test_stored_batches_are_settled_in_the_background(node):
    with GroupCommitter(node) as committer:
        weapon = committer.submit(manufacture("SETTLED-1"))
        committer.submit(transfer(weapon, "holder A", "TL-A"))
    # close settled a last time: the checkpoint covers the new records, the views show them
    assert node.sealer.latest_checkpoint().size == node.registry.recorder.max_notification_id()
    assert node.views.lifecycle(weapon) is not None


def test_each_command_runs_as_its_officer(node):
    seen: list[tuple[str, str]] = []
    acting = threading.local()

    class ActingAs:
        def __init__(self, officer_id: str) -> None:
            self.officer_id = officer_id

        def __enter__(self) -> None:
            acting.officer = self.officer_id

        def __exit__(self, *exc: object) -> None:
            acting.officer = None

    def who(name: str) -> Callable[[Registry], None]:
        return lambda _r: seen.append((name, acting.officer))

    with GroupCommitter(node, acting_as=ActingAs) as committer:
        committer.submit(who("first"), officer_id="u-1")
        committer.submit(who("second"), officer_id="u-2")
    assert seen == [("first", "u-1"), ("second", "u-2")]
