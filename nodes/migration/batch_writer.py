"""Writing signed rows: one transaction per batch (PostgreSQL: COPY), duplicates sorted out, re-runs resumed.

A weapon's records are written with the other new weapons of its batch in one
transaction, so a killed import leaves no half-written weapon; a weapon stored
already with the same records (an earlier run of the file) is skipped, one
stored with other records is refused (docs/csv-layout.md, "Errors, re-runs and
interruptions"). The identities of the new private holders its rows name are
written in the same transaction (``nodes.migration.private_holders``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from domain.time import format_time
from ledger.envelope import Envelope
from nodes.accounts.database import Statements
from nodes.errors import StorageError
from nodes.migration.private_holders import NewHolders
from nodes.migration.report import ImportReport, RowError
from nodes.migration.signer_pool import SignedRow
from nodes.persons.vault import SealedIdentity, store_sealed
from nodes.registry.storage import translated_errors

if TYPE_CHECKING:  # imported where used: SQLite nodes need no psycopg
    from eventsourcing.postgres import PostgresApplicationRecorder


class BatchWriter:
    """Writes each batch's new weapons in one transaction and counts the outcome in ``report``.

    A duplicate within the file is found in ``first_line`` (weapon id -> line of
    its first valid row). A weapon already stored is found by the database's
    uniqueness of (stream, version): only then are the batch's weapons looked up
    one by one, so a fresh import pays for no lookups.
    """

    def __init__(self, recorder: ApplicationRecorder, report: ImportReport, holders: NewHolders | None = None):
        self.recorder = recorder
        self.report = report
        self.holders = holders if holders is not None else NewHolders()
        self.first_line: dict[bytes, int] = {}
        self._postgres: PostgresApplicationRecorder | None = None
        if not isinstance(recorder, SQLiteApplicationRecorder):  # a SQLite import loads no psycopg (0.15-0.2 s)
            from eventsourcing.postgres import PostgresApplicationRecorder

            self._postgres = recorder if isinstance(recorder, PostgresApplicationRecorder) else None

    def write(self, batch: list[SignedRow | RowError]) -> None:
        """Record the batch's new weapons; add its refused rows to the report, in line order.

        Raises ``StorageError`` when the database fails (nothing of the batch is then written: neither its
        records nor the identities of the new holders they name).
        """
        report = self.report
        errors: list[RowError] = []
        fresh: list[SignedRow] = []
        in_batch: dict[bytes, int] = {}
        for row in batch:
            report.rows += 1
            if isinstance(row, RowError):
                errors.append(row)
                continue
            first = self.first_line.get(row.weapon_id) or in_batch.get(row.weapon_id)
            if first is not None:
                errors.append(RowError(row.line, "serial", f"marking {row.marking_key} is on line {first} "
                                                           "already: one weapon, one row"))
                continue
            in_batch[row.weapon_id] = row.line
            fresh.append(row)
        while fresh:
            identities = self.holders.to_store(row.line for row in fresh)
            try:
                with translated_errors("import-csv: writing a batch", integrity_passes=True):
                    self._insert(fresh, identities)
            except IntegrityError:
                unstored = self._without_stored(fresh, errors)
                if len(unstored) == len(fresh):
                    raise StorageError("import-csv: the database refused a batch of new weapons as duplicates, "
                                       "yet none of them is stored") from None
                fresh = unstored
                continue
            for row in fresh:
                self.first_line[row.weapon_id] = row.line
                report.imported += 1
                report.events += len(row.records)
            self.holders.stored(identities)
            break
        self.holders.done(row.line for row in batch)
        report.errors.extend(sorted(errors, key=lambda error: error.line))

    def refresh_statistics(self) -> None:
        """PostgreSQL, once something was written: ANALYZE the events table, as PostgreSQL advises after a bulk
        load. Autovacuum's own analyze gives way to the table lock every batch takes, so after a long import
        the planner had no statistics: it guessed 0.5 % of the table per stream, planned a bitmap scan and a
        sort, and compiled it with JIT; at 10,000,000 events a history read's p50 was 3.0 ms instead of 0.22.
        A quick ANALYZE (samples of 3,000 rows): 9 ms instead of 55 at 40,000 events.
        Raises ``StorageError`` when the database fails (what was imported stays)."""
        if self._postgres is None or self.report.events == 0:
            return
        from psycopg.sql import Identifier

        from projections.postgres_store import analyze_quickly

        recorder = self._postgres
        with translated_errors("import-csv: refreshing the planner's statistics"), \
                recorder.datastore.transaction(commit=True) as cursor:
            analyze_quickly(cursor, [Identifier(recorder.datastore.schema, recorder.events_table_name)])

    def _insert(self, rows: list[SignedRow], identities: list[SealedIdentity]) -> None:
        if self._postgres is not None:
            _copy_into_postgres(self._postgres, rows, identities)
        else:
            _insert_events(self.recorder, rows, identities)

    def _without_stored(self, rows: list[SignedRow], errors: list[RowError]) -> list[SignedRow]:
        """The rows whose weapon has no record yet; the others are skipped or refused."""
        unstored = []
        for row in rows:
            with translated_errors("import-csv: reading a stored weapon", integrity_passes=True):
                stored = self.recorder.select_events(UUID(bytes=row.weapon_id), lte=len(row.records))
            if not stored:
                unstored.append(row)
                continue
            refusal = _difference(stored, row)
            if refusal is None:
                self.first_line[row.weapon_id] = row.line
                self.report.skipped += 1
            else:
                errors.append(refusal)
        return unstored




def _insert_events(recorder: ApplicationRecorder, rows: list[SignedRow], identities: list[SealedIdentity]) -> None:
    """One transaction through the recorder, what ``Registry.save`` does after mapping, with the identities."""
    events = [StoredEvent(originator_id=UUID(bytes=row.weapon_id), originator_version=version, topic=topic,
                          state=state) for row in rows for version, topic, state in row.records]
    if not identities:
        recorder.insert_events(events)
        return
    assert isinstance(recorder, SQLiteApplicationRecorder), type(recorder)
    # The library's insert_events is this transaction around _insert_events (the hook the inbox's recorder
    # extends too): the identities join it, so the batch's records and new holders are stored together.
    with recorder.datastore.transaction(commit=True) as cursor:
        recorder._insert_events(cursor, events)
        store_sealed(Statements(cursor, postgres=False), identities)


def _copy_into_postgres(recorder: PostgresApplicationRecorder, rows: list[SignedRow],
                        identities: list[SealedIdentity]) -> None:
    """One transaction with COPY: the recorder's INSERT adapts each row in Python and
    tops out near 10k events/s; COPY in binary format does not.

    Takes the recorder's table lock and sends its NOTIFY first, exactly as its
    ``insert_events`` does, so notification ids are committed in order and
    followers wake up; then the new holders' identities. A duplicate (stream,
    version) raises ``IntegrityError`` (translated by the recorder's datastore)
    and writes nothing.
    """
    from psycopg.sql import SQL, Identifier

    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    with recorder.datastore.transaction(commit=True) as cursor:
        for statement in recorder.lock_table_statements:
            cursor.execute(statement)
        cursor.execute(SQL("NOTIFY {}").format(Identifier(recorder.channel_name)))
        copy_statement = SQL("COPY {} (originator_id, originator_version, topic, state) "
                             "FROM STDIN (FORMAT BINARY)").format(table)
        with cursor.copy(copy_statement) as copy:
            copy.set_types(["uuid", "int8", "text", "bytea"])
            for row in rows:
                weapon_id = UUID(bytes=row.weapon_id)
                for version, topic, state in row.records:
                    copy.write_row((weapon_id, version, topic, state))
        store_sealed(Statements(cursor, postgres=True), identities)


def _difference(stored: Sequence[StoredEvent], row: SignedRow) -> RowError | None:
    """None when the stored weapon is this row's import (same records but for their
    recording time, signer and signature); else why the row is refused."""
    wanted = [Envelope.from_bytes(state) for _version, _topic, state in row.records]
    found = [Envelope.from_bytes(s.state) for s in stored]
    weapon_id = UUID(bytes=row.weapon_id)
    if not _same_record(found[0], wanted[0]):
        return RowError(row.line, "serial", f"marking {row.marking_key} is registered already with another record "
                                            f"(weapon {weapon_id}: {found[0].type} of "
                                            f"{format_time(found[0].occurred_on)[:10]})")
    if len(wanted) > 1 and (len(found) < 2 or not _same_record(found[1], wanted[1])):
        what = f"its version 2 is {found[1].type}" if len(found) > 1 else "it has no later record"
        return RowError(row.line, "current_holder", f"weapon {weapon_id} was imported already without this "
                                                    f"transfer ({what}): record later changes with "
                                                    "'armsledger record transfer'")
    return None


def _same_record(found: Envelope, wanted: Envelope) -> bool:
    """Same type, date and fields; the officer who recorded it does not count (records made
    before records named their officer have no such field)."""
    return (found.type, found.occurred_on, _without_officer(found)) == (wanted.type, wanted.occurred_on,
                                                                          _without_officer(wanted))


def _without_officer(envelope: Envelope) -> dict[str, object]:
    return {name: value for name, value in envelope.body.items() if name != "officer"}
