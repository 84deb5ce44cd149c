"""Records held back for a group commit, and seen by the later commands of the same batch.

While a thread has a batch open (``staged(batch)``), what the registry saves on that thread is
signed and kept in the batch instead of being stored, and every read of an aggregate through
the registry's repository (``repository.get``, ``in repository``) returns its stored state
(kept between batches by ``CommittedStreams``) with the staged events applied.
``StagedBatch.commit`` then stores the accepted commands' records in one transaction. Other
threads using the same registry see only what is stored: the batch lives in a context variable
of the thread that opened it. ``nodes.registry.group_commit`` drives this.
"""

from __future__ import annotations

import contextlib
import copy
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate
from eventsourcing.domain import CanMutateAggregate, DomainEventProtocol
from eventsourcing.persistence import (
    ApplicationRecorder,
    EventStore,
    Recording,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteDatastore

from nodes.errors import StorageError, VersionConflict
from nodes.registry.storage import sql_datastore, translated_errors, version_conflicts

Events = list[DomainEventProtocol[UUID]]
Aggregate = Any  # one of the registry's aggregates (Weapon, Licence, Shipment ...)


class CommittedStreams:
    """The stored state of the aggregates the writer has read (None: no such stream), kept from
    batch to batch (an LRU of ``size`` streams) and told of every write to the log.

    ``check`` before each batch reads the log's rows after the last position known (the writer's
    own commits and earlier checks): the streams of rows someone else stored (a shell, a partner's
    ingest, another service process on the same database) are forgotten, so a command never reads
    older state than it would from the database at the start of its batch. Everything is forgotten
    when that read cannot say: no position known, or more than ``CHANGES_READ`` rows since.

    This relies on the log's positions being committed in their order (every insert takes the
    table's lock on PostgreSQL; SQLite has one writer at a time): once a position is seen, no row
    before it can appear later.
    """

    #: How many of the latest landings (commits and forgettings) are remembered for ``unchanged_since``.
    LANDINGS_KEPT = 1_024
    #: Most rows of others read at a check; beyond, everything is forgotten (reading them would cost more).
    CHANGES_READ = 256

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._aggregates: OrderedDict[UUID, Aggregate | None] = OrderedDict()
        self._position: int | None = None
        #: Commits landed and forgettings so far; what each touched (None: everything), the latest ones.
        self.landings = 0
        self._landed: deque[tuple[int, frozenset[UUID] | None]] = deque(maxlen=self.LANDINGS_KEPT)

    def knows(self, stream: UUID) -> bool:
        """Whether the stream's stored state is kept (any thread may ask: a hint, not a promise)."""
        return stream in self._aggregates

    def unchanged_since(self, stream: UUID, landings: int) -> bool:
        """Whether nothing the writer knows of changed the stream since ``landings`` (the count read
        before a read of the stream): no commit of it landed and nothing was forgotten since."""
        if landings == self.landings:
            return True
        if not self._landed or self._landed[0][0] > landings + 1:
            return False  # not remembered that far back
        return all(touched is not None and stream not in touched
                   for count, touched in self._landed if count > landings)

    def check(self, recorder: ApplicationRecorder) -> frozenset[UUID] | None:
        """Forget the streams the log's rows after the last position known belong to (``StorageError``).

        Returns the streams forgotten; None when everything was (see the class docstring).
        """
        if self._position is not None:
            others = self._others(recorder, self._position, None)
            if others is not None:
                return others
        with translated_errors("group commit: reading the log's last position"):
            self._position = recorder.max_notification_id() or 0
        self.forget(keep_position=True)
        return None

    def read(self, stream: UUID, load: Callable[[], Aggregate | None]) -> Aggregate | None:
        """The stream's stored state (not a copy: never change it), from ``load()`` the first time."""
        if stream in self._aggregates:
            self._aggregates.move_to_end(stream)
            return self._aggregates[stream]
        found = self._aggregates[stream] = load()
        while len(self._aggregates) > self.size:
            self._aggregates.popitem(last=False)
        return found

    def stored(self, events: Events, positions: Sequence[int] | None,
               recorder: ApplicationRecorder | None = None) -> frozenset[UUID] | None:
        """After a commit of ``events`` at ``positions``: what is kept brought up to date.

        When others stored rows between the last position known and the commit's last, their
        streams are first forgotten (read from ``recorder``; without one, everything is). Returns
        the streams forgotten, None when everything was (also when that read fails: the records are
        stored, only what is kept is in doubt; the next ``check`` meets the failure again).
        """
        if not events or positions is None or self._position is None:
            self.forget()
            return None
        first = self._position + 1
        if list(positions) == list(range(first, first + len(events))):
            others: frozenset[UUID] | None = frozenset()
        elif recorder is None or min(positions) < first:
            others = None
        else:
            try:
                others = self._others(recorder, self._position, max(positions), own=positions)
            except StorageError:
                others = None
        if others is None:
            self.forget()
            return None
        self._position = max(positions)
        self._land(frozenset(event.originator_id for event in events))
        for event in events:
            stream = event.originator_id
            if stream in self._aggregates or event.originator_version == 1:
                self._aggregates[stream] = _mutated(self._aggregates.get(stream), event)
        return others

    def forget(self, *, keep_position: bool = False) -> None:
        self._aggregates.clear()
        if not keep_position:
            self._position = None
        self._land(None)

    def _others(self, recorder: ApplicationRecorder, after: int, upto: int | None,
                own: Sequence[int] = ()) -> frozenset[UUID] | None:
        """Forget the streams of the log's rows after position ``after`` (up to ``upto``) but ``own``;
        which they were (None: too many, everything forgotten)."""
        with translated_errors("group commit: reading the log's rows stored by others"):
            rows = rows_after(recorder, after, upto, self.CHANGES_READ + len(own) + 1)
        if len(rows) > self.CHANGES_READ + len(own):
            self.forget()
            return None
        if rows and upto is None:
            self._position = rows[-1][0]
        mine = set(own)
        others = frozenset(stream for position, stream in rows if position not in mine)
        if others:
            for stream in others:
                self._aggregates.pop(stream, None)
            self._land(others)
        return others

    def _land(self, touched: frozenset[UUID] | None) -> None:
        self._landed.append((self.landings + 1, touched))
        self.landings += 1


def rows_after(recorder: ApplicationRecorder, after: int, upto: int | None, limit: int) -> list[tuple[int, UUID]]:
    """The position and stream of the log's rows after position ``after`` (up to ``upto``), in order, at
    most ``limit``: one indexed range read (the position is the table's key on both backends)."""
    table = recorder.events_table_name  # type: ignore[attr-defined]
    datastore = sql_datastore(recorder)
    if isinstance(datastore, SQLiteDatastore):
        statement = (f"SELECT rowid, originator_id FROM {table} WHERE rowid > ?"
                     + (" AND rowid <= ?" if upto is not None else "") + " ORDER BY rowid LIMIT ?")
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (after, *(() if upto is None else (upto,)), limit))
            return [(row[0], UUID(row[1])) for row in cursor.fetchall()]
    from psycopg.sql import SQL, Identifier

    query = SQL("SELECT notification_id, originator_id FROM {table} WHERE notification_id > %s"
                + (" AND notification_id <= %s" if upto is not None else "")
                + " ORDER BY notification_id LIMIT %s").format(table=Identifier(datastore.schema, table))
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(query, (after, *(() if upto is None else (upto,)), limit), prepare=True)
        return [(row["notification_id"], row["originator_id"]) for row in cursor.fetchall()]


@dataclass(frozen=True)
class ReadAhead:
    """A stream's stored state read off the writer's thread, and ``CommittedStreams.landings`` before the read."""

    landings: int
    state: Aggregate | None

    def stored_state(self) -> Aggregate | None:
        return self.state


class StagedBatch:
    """The records of a batch: those of its accepted commands, in order, and those of the command
    running now (kept apart until it ends, so that a refused command leaves nothing behind)."""

    def __init__(self, committed: CommittedStreams, stored_versions: dict[UUID, int] | None = None,
                 parent: StagedBatch | None = None) -> None:
        self.committed = committed
        #: The batch being stored while this one runs: its records come before this one's.
        self.parent = parent
        #: Last stored version of streams a lost commit wrote to (see ``stored_versions_now``).
        self.stored_versions = stored_versions or {}
        self.accepted: list[StoredEvent] = []
        self.accepted_events: Events = []
        self._running: list[tuple[StoredEvent, DomainEventProtocol[UUID]]] = []
        self._streams: dict[UUID, Events] = {}
        #: The streams read ahead for the command running now (``group_commit``), by stream.
        self.read_ahead: dict[UUID, ReadAhead] = {}
        #: Every stream the batch's commands read through the repository.
        self.read: set[UUID] = set()

    @contextlib.contextmanager
    def command(self) -> Iterator[None]:
        """Around one command: its records join the batch if it returns, are dropped if it raises."""
        self._running = []
        try:
            yield
        except BaseException:
            for _record, event in self._running:
                self._streams[event.originator_id].pop()
            raise
        finally:
            running, self._running = self._running, []
        self.accepted.extend(record for record, _event in running)
        self.accepted_events.extend(event for _record, event in running)

    def stage(self, records: Sequence[tuple[StoredEvent, DomainEventProtocol[UUID]]]) -> None:
        """Hold ``records`` (each mapped and signed, with its event as read back) for the commit.

        Raises ``VersionConflict`` when one does not follow the stream's last staged record (the
        command saved a stream it read before an earlier save of its own), or when a lost commit
        found its version stored already.
        """
        for record, event in records:
            stream_id, version = event.originator_id, event.originator_version
            stream = self._streams.setdefault(stream_id, [])
            before = stream or (self.parent.records_of(stream_id) if self.parent is not None else [])
            if before and version != before[-1].originator_version + 1:
                raise VersionConflict(f"stream {stream_id}: version {version} does not "
                                      f"follow version {before[-1].originator_version} staged before")
            if version <= self.stored_versions.get(stream_id, 0):
                raise VersionConflict(f"stream {stream_id}: version {version} is stored already")
            stream.append(event)
            self._running.append((record, event))

    def aggregate(self, stream: UUID, load: Callable[[], Aggregate | None]) -> Aggregate | None:
        """A fresh copy of the stream's aggregate: stored state (``load()`` unless known), then the
        batch's staged events; None when there is neither."""
        self.read.add(stream)
        ahead = self.read_ahead.get(stream)
        if ahead is not None and self.committed.unchanged_since(stream, ahead.landings) and not (
                self.parent is not None and self.parent.records_of(stream)):
            load = ahead.stored_state  # read by the committer's reader thread, still what is stored
        aggregate = fresh_copy(self.committed.read(stream, load))
        for event in [*(self.parent.records_of(stream) if self.parent is not None else ()), *self.records_of(stream)]:
            aggregate = _mutated(aggregate, event)
        return aggregate

    def records_of(self, stream: UUID) -> Events:
        """The stream's staged events (those of accepted commands, then of the running one)."""
        return self._streams.get(stream, [])

    def stored_versions_now(self, recorder: ApplicationRecorder) -> dict[UUID, int]:
        """The last stored version of each stream this batch writes to (after a lost commit).

        A command that writes a new stream without reading it first (a manufacture relies on the
        store's uniqueness) would lose the same race on every re-run; with these versions known,
        its re-run is refused by ``stage`` instead, and the command says why (``DuplicateMarking``).
        """
        found = {}
        with translated_errors("group commit: reading the streams of a lost commit"):
            for stream in self._streams:
                last = recorder.select_events(stream, desc=True, limit=1)
                if last:
                    found[stream] = last[0].originator_version
        return found

    def commit(self, recorder: ApplicationRecorder) -> bool:
        """``store``, then bring the writer's kept aggregates up to date (False: they were forgotten)."""
        return self.committed.stored(self.accepted_events, self.store(recorder), recorder) is not None \
            if self.accepted else True

    def store(self, recorder: ApplicationRecorder) -> Sequence[int] | None:
        """Store the accepted commands' records in one transaction: all of them, or none; their positions.

        Raises ``VersionConflict`` when another writer stored one of their (stream, version) first,
        ``StorageError`` when the database fails otherwise. Touches nothing but the database, so it
        may run on another thread while the next batch runs.
        """
        action = f"group commit of {len(self.accepted)} records"
        # A lost race (the event store's IntegrityError) passes on to version_conflicts.
        with version_conflicts(action), translated_errors(action, integrity_passes=True):
            return recorder.insert_events(self.accepted)


_OPEN_BATCH: ContextVar[StagedBatch | None] = ContextVar("armsledger_staged_batch", default=None)


@contextlib.contextmanager
def staged(batch: StagedBatch) -> Iterator[StagedBatch]:
    """Within this block, the registry's saves on this thread go to ``batch`` (see the module docstring)."""
    token = _OPEN_BATCH.set(batch)
    try:
        yield batch
    finally:
        _OPEN_BATCH.reset(token)


class StagingEventStore(EventStore[UUID]):
    """The library's event store, staging writes while a batch is open."""

    def put(self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> list[Recording[UUID]]:
        batch = _OPEN_BATCH.get()
        if batch is None:
            return super().put(domain_events, **kwargs)
        # Mapped now, in the command's context (its officer, its authority key), so that a
        # record that cannot be signed refuses its own command only.
        records = [self.mapper.to_stored_event(event) for event in domain_events]
        batch.stage([(record, self.mapper.to_domain_event(record)) for record in records])
        return []  # no notification ids before the commit


class StagingRepository(Repository[UUID]):
    """The library's repository, reading through the open batch (see the module docstring)."""

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        batch = _OPEN_BATCH.get()
        if batch is None or version is not None or kwargs:
            return super().get(aggregate_id, version=version, **{"projector_func": projected, **kwargs})
        stream = _as_uuid(aggregate_id)
        found = batch.aggregate(stream, lambda: self._stored(stream))
        if found is None:
            raise AggregateNotFoundError(f"Aggregate {stream!r} not found.")
        return found

    def _stored(self, stream: UUID) -> Aggregate | None:
        try:
            return super().get(stream, projector_func=projected)
        except AggregateNotFoundError:
            return None


#: Attribute values a command can only replace, never change in place.
_VALUES = (str, int, float, bytes, type(None), UUID, datetime, Enum)


def fresh_copy(aggregate: Aggregate | None) -> Aggregate | None:
    """A copy of a stored aggregate that a command may change without changing the stored one.

    Shallow when every attribute is a value the domain can only replace (strings, numbers, ids,
    times, enumerations, tuples of them, frozen dataclasses such as ``WeaponState``, whose
    mappings ``domain/`` types read-only and mypy --strict holds it to), deep otherwise: a copy
    costs a few microseconds instead of a few hundred.
    """
    if aggregate is None:
        return None
    attributes = vars(aggregate)
    if attributes.get("_pending_events") or not all(
            _is_value(value) for name, value in attributes.items() if name != "_pending_events"):
        return copy.deepcopy(aggregate)
    fresh = copy.copy(aggregate)
    fresh._pending_events = []
    return fresh


def _is_value(value: object) -> bool:
    if isinstance(value, _VALUES):
        return True
    if type(value) is tuple:
        return all(_is_value(item) for item in value)
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and params.frozen


def projected(aggregate: Aggregate | None, events: Iterable[DomainEventProtocol[UUID]]) -> Aggregate | None:
    """The library's ``project_aggregate``, but for its check of each event: an ``isinstance`` of a runtime
    protocol, which on Python 3.11 walks the protocol's members (about 10 µs an event read). An aggregate's
    event is told by its class here; anything else (a snapshot) goes the library's way."""
    for event in events:
        if isinstance(event, CanMutateAggregate):
            aggregate = event.mutate(aggregate)
        else:
            aggregate = project_aggregate(aggregate, (event,))
    return aggregate


def _mutated(aggregate: Aggregate | None, event: DomainEventProtocol[UUID]) -> Aggregate:
    assert isinstance(event, CanMutateAggregate)
    return event.mutate(aggregate)


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
