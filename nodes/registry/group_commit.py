"""One writer for many concurrent commands: each is checked against the state its batch has
reached, and the batch's accepted records are stored in one transaction (docs/group-commit.md).

    with GroupCommitter(node) as committer:          # started; closed at the end
        weapon_id = committer.submit(lambda r: r.manufacture(...), officer_id=officer.user_id)

``submit`` blocks until the command's records are stored (committed), then returns the command's
result or raises the command's own error. The node is settled (checkpoint, projections) after
each stored batch by a second thread, so callers do not wait for it.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.sqlite import SQLiteDatastore

from nodes.errors import StorageError, VersionConflict
from nodes.registry.application import CONFLICT_ATTEMPTS, Registry
from nodes.registry.settling import BackgroundSettler
from nodes.registry.staging import CommittedStreams, ReadAhead, StagedBatch, staged
from nodes.registry.storage import sql_datastore

if TYPE_CHECKING:
    from nodes.bootstrap import Node

log = logging.getLogger(__name__)

#: Most commands in one batch (one transaction).
BATCH_LIMIT = 256
#: How long ``close`` waits for the queued commands to be run.
CLOSE_TIMEOUT_S = 60.0

_T = TypeVar("_T")


@dataclass
class CommitStats:
    """Counts since the committer started (for metrics and benchmarks)."""

    batches: int = 0           # transactions committed
    commands: int = 0          # commands answered, refused ones included
    records: int = 0           # records stored
    conflicts: int = 0         # batches run again after another writer stored first
    failed_batches: int = 0    # batches whose commit failed (every caller got the error)
    read_ahead: int = 0        # streams read by the reader thread for the writer
    runs_again: int = 0        # batches run while the one before was stored, run again (it read a stream
                               # someone else wrote meanwhile, or that one was not stored)


@dataclass
class _Request:
    command: Callable[[Registry], Any]
    officer_id: str
    reads: tuple[UUID, ...] = ()
    read_ahead: dict[UUID, ReadAhead] = field(default_factory=dict)
    answer: Future[Any] = field(default_factory=Future)


#: A command's result, or the error it raised.
_Outcome = tuple[Any, Exception | None]


@dataclass
class _Flight:
    """A batch whose records are being stored by the store thread."""

    batch: list[_Request]
    outcomes: list[_Outcome]
    records: StagedBatch
    stored: Future[Sequence[int] | None]


_STOP = object()
#: Put in the queue when a batch in flight has been stored (or failed), to wake the writer.
_LANDED = object()


class GroupCommitter:
    """Runs commands submitted from many threads on one writer thread, a batch at a time.

    ``acting_as(officer_id)`` (default ``Registry.acting_as``) is entered around each command,
    so that its records name the officer. ``settle`` (default True) settles the node after each
    stored batch. ``read_ahead`` (default: on PostgreSQL only): read the streams a command names in
    ``writes`` on another thread (``submit``).
    """

    def __init__(self, node: Node, *, batch_limit: int = BATCH_LIMIT,
                 acting_as: Callable[[str], AbstractContextManager[object]] | None = None,
                 settle: bool = True, read_ahead: bool | None = None) -> None:
        if batch_limit < 1:
            raise ValueError("batch_limit must be at least 1")
        self.node = node
        self.registry = node.registry
        self.batch_limit = batch_limit
        # A read on SQLite is no round trip: there the thread hop cost more than it saved (bench_group_commit).
        self.read_ahead = (read_ahead if read_ahead is not None
                           else not isinstance(sql_datastore(node.registry.recorder), SQLiteDatastore))
        self._acting_as = acting_as or node.registry.acting_as
        self.stats = CommitStats()
        self._committed = CommittedStreams()  # used by the writer thread only
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._state_lock = threading.Lock()
        self._started = self._closed = False
        self._landings = 0  # _LANDED marks in the queue
        self._writer = threading.Thread(target=self._write, name="group-commit writer", daemon=True)
        self._reading: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read_ahead, name="group-commit reader", daemon=True)
        self._settler = BackgroundSettler(node, "group-commit settler") if settle else None
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="group-commit store")

    # --- callers ----------------------------------------------------------------------

    def start(self) -> None:
        with self._state_lock:
            if self._closed:
                raise StorageError("the group committer is closed: it cannot start again")
            if self._started:
                return
            self._started = True
        self._writer.start()
        self._reader.start()
        if self._settler is not None:
            self._settler.start()

    def submit(self, command: Callable[[Registry], _T], *, officer_id: str = "", writes: Sequence[UUID] = ()) -> _T:
        """Run ``command(registry)`` in the next batch; return its result once its records are stored.

        ``writes``: streams the command reads and then writes (a transfer's weapon). Those the writer
        does not keep are read ahead, by another thread, before the command reaches the writer; a
        stream changed since by the writer is read again. (A stream read ahead that someone else wrote
        meanwhile makes the command's write lose the race for its version: the batch runs again on
        fresh state. Streams a command only reads are read by the writer, as before.)

        Raises the command's own error when it is refused (nothing of it is stored), the batch's
        ``StorageError`` (``VersionConflict`` after too many lost races) when the commit fails
        (nothing of the batch is stored), ``StorageError`` when the committer is not running.
        """
        result: _T = self.enqueue(command, officer_id=officer_id, writes=writes).result()
        return result

    def enqueue(self, command: Callable[[Registry], _T], *, officer_id: str = "",
                writes: Sequence[UUID] = ()) -> Future[_T]:
        """``submit`` without waiting: the future of the command's answer (for an event loop to await)."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("a command run by the group committer cannot submit another command")
        unknown = tuple(stream for stream in writes if not self._committed.knows(stream)) if self.read_ahead else ()
        request = _Request(command, officer_id, unknown)
        with self._state_lock:
            if not self._started or self._closed:
                raise StorageError("the group committer is " + ("closed" if self._closed else "not started"))
            (self._reading if unknown else self._queue).put(request)
        return request.answer

    def queued(self) -> int:
        """How many submitted commands wait for the writer (approximate)."""
        with self._state_lock:
            return max(0, self._queue.qsize() - self._landings)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Run and answer every command submitted before, then stop (idempotent); later submits fail.

        If the writer is still busy after ``timeout`` seconds (a command or the database hangs),
        the commands it has not taken yet are answered with ``StorageError`` and close returns;
        the batch it is running is answered when it ends.
        """
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            started = self._started
        deadline = time.monotonic() + timeout
        if started:  # what the reader holds goes to the writer first
            self._reading.put(_STOP)
            self._reader.join(timeout)
        self._queue.put(_STOP)
        if started:
            self._writer.join(max(0.0, deadline - time.monotonic()))
            self._store_thread.shutdown(wait=not self._writer.is_alive())
            settled = self._settler is None or self._settler.stop(max(0.0, deadline - time.monotonic()))
            if self._writer.is_alive() or not settled:
                log.warning("the group committer did not stop within %s s", timeout)
        self._fail_queued(StorageError("the group committer closed before running this command"))
        if started:
            self._queue.put(_STOP)  # the drain took the first one: a writer still busy must still stop

    def join(self, timeout: float) -> bool:
        """After ``close``, wait until the writer and the settler have ended; False if one still runs.

        A ``close`` that gave up on a hung command returns while they run: the node must not be
        closed under them (its connections are theirs too).
        """
        deadline = time.monotonic() + timeout
        for thread in (self._writer, self._settler.thread if self._settler is not None else None):
            if thread is not None and thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        return not self._writer.is_alive() and (self._settler is None or not self._settler.thread.is_alive())

    def __enter__(self) -> GroupCommitter:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the writer thread ------------------------------------------------------------

    def _write(self) -> None:
        """Take batches until stopped. While one batch is being stored (on the store thread), the
        commands that arrive meanwhile run as the next one, against the stored state plus the first
        one's records; it is stored only if the first was stored and nothing else was written
        meanwhile, else it runs again."""
        held: list[_Request] = []  # every request taken and not yet answered, for a crash
        try:
            flight: _Flight | None = None
            stop = False
            while not (stop and flight is None):
                if flight is None:
                    batch, stop = self._take()
                    held = list(batch)
                    flight = self._launch(batch) if batch else None
                    continue
                held = list(flight.batch)
                following = None if stop else self._follow(flight, held)
                others = self._land(flight)
                flight = None
                if following is None:
                    continue
                batch, outcomes, records, stop = following
                # Kept when it read nothing another writer stored meanwhile (another process on the database).
                if batch and others is not None and others.isdisjoint(records.read):
                    flight = self._store(batch, outcomes, records)
                elif batch:
                    self.stats.runs_again += 1
                    flight = self._launch(batch)
        except BaseException as e:  # a bug or an interrupt: never leave a caller waiting
            log.error("the group commit writer stopped: %s", e)
            with self._state_lock:
                self._closed = True
            self._reading.put(_STOP)
            stopped = StorageError(f"the group committer stopped: {e}")
            for request in held:
                if not request.answer.done():
                    request.answer.set_exception(stopped)
            self._fail_queued(stopped)

    def _take(self) -> tuple[list[_Request], bool]:
        """The queued requests (up to the limit; waits for one), and whether to stop."""
        batch: list[_Request] = []
        while len(batch) < self.batch_limit:
            try:
                item = self._queue.get_nowait() if batch else self._queue.get()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            if isinstance(item, _Request):
                batch.append(item)
            else:
                self._landing_taken()
        return batch, False

    def _follow(self, flight: _Flight, held: list[_Request],
                ) -> tuple[list[_Request], list[_Outcome], StagedBatch, bool]:
        """The next batch: the requests that arrive while ``flight`` is being stored, each run as it
        comes against the stored state plus the flight's records, until the flight has landed and
        nothing more is queued, or the batch is full. Also whether to stop. (Running them only after
        the landing left the writer waiting for the store and the batches small.)"""
        batch: list[_Request] = []
        outcomes: list[_Outcome] = []
        records = StagedBatch(self._committed, {}, parent=flight.records)
        flight.stored.add_done_callback(self._landed)
        while len(batch) < self.batch_limit:
            try:
                item = self._queue.get_nowait() if flight.stored.done() else self._queue.get()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, outcomes, records, True
            if not isinstance(item, _Request):  # a landing, this flight's or an earlier one's
                self._landing_taken()
                continue
            batch.append(item)
            held.append(item)
            outcomes += self._run_into(records, [item])
        return batch, outcomes, records, False

    def _landed(self, _stored: Future[Sequence[int] | None]) -> None:
        """On the store thread, when a batch has been stored or failed: wake the writer."""
        with self._state_lock:
            self._landings += 1
        self._queue.put(_LANDED)

    def _landing_taken(self) -> None:
        with self._state_lock:
            self._landings -= 1

    def _launch(self, batch: list[_Request]) -> _Flight | None:
        """Check what the writer keeps, run the batch and start storing it (None: answered already)."""
        try:
            self._committed.check(self.registry.recorder)
        except StorageError as e:
            self._fail(batch, e)
            return None
        outcomes, records = self._run(batch, {})
        return self._store(batch, outcomes, records)

    def _store(self, batch: list[_Request], outcomes: list[_Outcome], records: StagedBatch) -> _Flight | None:
        if not records.accepted:
            self._answer(batch, outcomes, records)
            return None
        return _Flight(batch, outcomes, records, self._store_thread.submit(records.store, self.registry.recorder))

    def _land(self, flight: _Flight) -> frozenset[UUID] | None:
        """Wait for the batch in flight to be stored and answer it: the streams others stored meanwhile
        (those of the next batch's reads that no longer hold), None when it failed or everything was forgotten."""
        try:
            positions = flight.stored.result()
        except VersionConflict:
            self._committed.forget()
            self.stats.conflicts += 1
            try:
                stored_versions = flight.records.stored_versions_now(self.registry.recorder)
            except StorageError as e:
                self._fail(flight.batch, e)
                return None
            self._commit(flight.batch, stored_versions)  # run again on fresh state, with the usual retries
            return None
        except Exception as e:
            self._committed.forget()
            self._fail(flight.batch, e)
            return None
        others = self._committed.stored(flight.records.accepted_events, positions, self.registry.recorder)
        self._answer(flight.batch, flight.outcomes, flight.records)
        return others

    def _commit(self, batch: list[_Request], stored_versions: dict[UUID, int]) -> None:
        """Run the batch's commands and store their records, retrying lost races; answer every caller.

        ``stored_versions``: the last stored version of streams an earlier attempt lost (see
        ``StagedBatch.stored_versions_now``).
        """
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                self._committed.check(self.registry.recorder)
            except StorageError as e:
                self._fail(batch, e)
                return
            outcomes, records = self._run(batch, stored_versions)
            try:
                records.commit(self.registry.recorder)
            except VersionConflict as e:
                self._committed.forget()
                self.stats.conflicts += 1
                if attempt == CONFLICT_ATTEMPTS:
                    self._fail(batch, e)
                    return
                # Another writer (a shell) stored first: run every command again on fresh state.
                try:
                    stored_versions.update(records.stored_versions_now(self.registry.recorder))
                except StorageError as failed:
                    self._fail(batch, failed)
                    return
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
                continue
            except Exception as e:
                self._committed.forget()
                self._fail(batch, e)
                return
            break
        self._answer(batch, outcomes, records)

    def _answer(self, batch: list[_Request], outcomes: list[_Outcome], records: StagedBatch) -> None:
        """After the batch's records are stored: each caller gets its command's result or error."""
        if records.accepted:
            self.stats.batches += 1
            self.stats.records += len(records.accepted)
            if self._settler is not None:
                self._settler.wanted()
        self.stats.commands += len(batch)
        for request, (value, error) in zip(batch, outcomes, strict=True):
            if error is None:
                request.answer.set_result(value)
            else:
                request.answer.set_exception(error)

    def _run(self, batch: list[_Request], stored_versions: dict[UUID, int]) -> tuple[list[_Outcome], StagedBatch]:
        """Each command against the stored state plus the records of the batch's earlier commands."""
        records = StagedBatch(self._committed, stored_versions)
        return self._run_into(records, batch), records

    def _run_into(self, records: StagedBatch, batch: list[_Request]) -> list[_Outcome]:
        """Run each command with ``records`` open; its records join them if it returns."""
        outcomes: list[_Outcome] = []
        with staged(records):
            for request in batch:
                records.read_ahead = request.read_ahead
                try:
                    with records.command(), self._acting_as(request.officer_id):
                        outcomes.append((request.command(self.registry), None))
                except Exception as e:  # the command's own refusal: it fails alone
                    outcomes.append((None, e))
            records.read_ahead = {}
        return outcomes

    def _fail(self, batch: list[_Request], error: Exception) -> None:
        self.stats.failed_batches += 1
        self.stats.commands += len(batch)
        for request in batch:
            request.answer.set_exception(error)

    def _fail_queued(self, error: Exception) -> None:
        for waiting in (self._reading, self._queue):
            while True:
                try:
                    item = waiting.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Request):
                    item.answer.set_exception(error)

    # --- the reader thread ------------------------------------------------------------

    def _read_ahead(self) -> None:
        """Read the streams of each request that the writer does not keep, then hand it to the writer.
        A read that fails is left to the writer (which reads again and reports it); nothing is answered here."""
        while (request := self._reading.get()) is not _STOP:
            assert isinstance(request, _Request)
            try:
                for stream in request.reads:
                    landings = self._committed.landings
                    state: Any
                    try:
                        state = self.registry.repository.get(stream)
                    except AggregateNotFoundError:
                        state = None
                    request.read_ahead[stream] = ReadAhead(landings, state)
                    self.stats.read_ahead += 1
            except Exception as e:  # the writer's own read will meet it again
                log.debug("reading ahead for the group committer: %s", e)
            finally:
                self._queue.put(request)
                if not self._writer.is_alive():  # stopped while this was read (a hung read at close, a crash)
                    self._fail_queued(StorageError("the group committer stopped before running this command"))
