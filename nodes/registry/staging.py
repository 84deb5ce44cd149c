"""Records held back for a group commit, and seen by the later commands of the same batch.

While a thread has a batch open (``staged(batch)``), what the registry saves on that thread is
signed and kept in the batch instead of being stored, and every read of a stream through the
registry's event store (``repository.get``, ``in repository``) returns the stored records
followed by the staged ones. ``StagedBatch.commit`` then stores the accepted commands' records in
one transaction. Other threads using the same registry see only what is stored: the batch lives
in a context variable of the thread that opened it. ``nodes.registry.group_commit`` drives this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import ApplicationRecorder, EventStore, PersistenceError, Recording, StoredEvent

from nodes.errors import StorageError, VersionConflict
from nodes.registry.storage import translated_errors, version_conflicts


class StagedBatch:
    """The records of a batch: those of its accepted commands, in order, and those of the command
    running now (kept apart until it ends, so that a refused command leaves nothing behind)."""

    def __init__(self, stored_versions: dict[UUID, int] | None = None) -> None:
        #: Last stored version of streams a lost commit wrote to (see ``stored_versions``).
        self.stored_versions = stored_versions or {}
        self.accepted: list[StoredEvent] = []
        self._running: list[StoredEvent] = []
        self._streams: dict[UUID, list[StoredEvent]] = {}

    @contextlib.contextmanager
    def command(self) -> Iterator[None]:
        """Around one command: its records join the batch if it returns, are dropped if it raises."""
        self._running = []
        try:
            yield
        except BaseException:
            for record in self._running:
                self._streams[_as_uuid(record.originator_id)].pop()
            raise
        finally:
            running, self._running = self._running, []
        self.accepted.extend(running)

    def stage(self, records: Sequence[StoredEvent]) -> None:
        """Hold ``records`` (mapped and signed) for the commit.

        Raises ``VersionConflict`` when one does not follow the stream's last staged record: the
        command saved a stream it read before an earlier save of the same command.
        """
        for record in records:
            stream_id = _as_uuid(record.originator_id)
            stream = self._streams.setdefault(stream_id, [])
            if stream and record.originator_version != stream[-1].originator_version + 1:
                raise VersionConflict(f"stream {stream_id}: version {record.originator_version} does not "
                                      f"follow version {stream[-1].originator_version} staged in this batch")
            if record.originator_version <= self.stored_versions.get(stream_id, 0):
                raise VersionConflict(f"stream {stream_id}: version {record.originator_version} is stored already")
            stream.append(record)
            self._running.append(record)

    def records_of(self, stream: UUID) -> list[StoredEvent]:
        """The stream's staged records (accepted, then those of the running command), in version order."""
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

    def commit(self, recorder: ApplicationRecorder) -> None:
        """Store the accepted commands' records in one transaction: all of them, or none.

        Raises ``VersionConflict`` when another writer stored one of their (stream, version) first,
        ``StorageError`` when the database fails otherwise.
        """
        if not self.accepted:
            return
        action = f"group commit of {len(self.accepted)} records"
        try:
            with version_conflicts(action), translated_errors(action):
                recorder.insert_events(self.accepted)
        except PersistenceError as e:  # the event store's own errors (the conflict is translated above)
            raise StorageError(f"{action}: {e}") from e


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
    """The library's event store, staging writes and overlaying reads while a batch is open."""

    def put(self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> list[Recording[UUID]]:
        batch = _OPEN_BATCH.get()
        if batch is None:
            return super().put(domain_events, **kwargs)
        # Mapped now, in the command's context (its officer, its authority key), so that a
        # record that cannot be signed refuses its own command only.
        batch.stage([self.mapper.to_stored_event(event) for event in domain_events])
        return []  # no notification ids before the commit

    def get(self, originator_id: UUID, *, gt: int | None = None, lte: int | None = None, desc: bool = False,
            limit: int | None = None) -> Iterator[DomainEventProtocol[UUID]]:
        batch = _OPEN_BATCH.get()
        staged_records = batch.records_of(_as_uuid(originator_id)) if batch is not None else []
        if not staged_records:
            return super().get(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        rows = [*self.recorder.select_events(originator_id, gt=gt, lte=lte),
                *(r for r in staged_records if (gt is None or r.originator_version > gt)
                  and (lte is None or r.originator_version <= lte))]
        if desc:
            rows.reverse()
        return map(self.mapper.to_domain_event, rows[:limit] if limit is not None else rows)


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
