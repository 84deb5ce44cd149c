"""Bulk migration of legacy (paper) registers: a CSV file becomes signed weapon records.

Layout (full description with examples in docs/csv-layout.md): UTF-8, comma
separated, header row required, one row per weapon; column names are matched
case-insensitively, in any order, and unknown columns refuse the file.

=================  ========  ====================================================
column             required  meaning
=================  ========  ====================================================
manufacturer       yes       manufacturer as marked on the weapon
country            yes       country of manufacture, ISO 3166-1 alpha-2
serial             yes       serial number as marked
type               yes       pistol, rifle, ...
make, model        no        trade name, model
calibre            yes       calibre as marked
year               yes       year of manufacture (1800 .. this year)
manufactured_on    yes       date of the manufacture record, YYYY-MM-DD
first_holder       yes       holder at manufacture (usually the manufacturer)
current_holder     no        holder today; with transferred_on and transfer_licence
transferred_on     no        date the current holder acquired it, YYYY-MM-DD
transfer_licence   no        reference of the current holder's paper licence
by                 no        recording authority kind: registry (default) or licensing
=================  ========  ====================================================

Each valid row becomes ``Weapon.Manufactured`` and, with a current holder,
``Weapon.Transferred`` (``Weapon.migrate_transfer``: the registry authority vouches
for the paper licence reference). A weapon's events are written in one
transaction with the other weapons of its batch, so a killed import leaves no
half-written weapon. A row whose weapon is stored with the same manufacture
record (and the same transfer) is *skipped*: re-running a file, or resuming an
interrupted run, records nothing twice. Anything else is reported per row (line,
column, reason) while the valid rows are recorded.

Speed: rows are validated by the domain and sealed in worker processes (both
cores) with the envelope mapper's conventions, and each batch is written with
one ``recorder.insert_events`` call (PostgreSQL: one ``COPY``): the records
``Registry.save`` would write, without mapping and signing in the writing
process. The file is streamed: memory holds a few batches, plus about 130 bytes
per imported row (the index that finds duplicates within the file) and the
refused rows' errors.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent

from domain.authority import Authority, AuthorityKind
from domain.errors import DomainError, InvalidField
from domain.marking import Marking
from domain.time import format_time, parse_time
from domain.weapon import Weapon
from ledger.envelope import GENESIS_PREV, Envelope, seal
from nodes.registry.mapper import _NOT_IN_BODY as NOT_IN_BODY  # the mapper's convention, shared
from nodes.registry.mapper import to_microseconds
from nodes.workers import start_pool
from nodes.errors import ConfigurationError, ImportFileError, StorageError
from nodes.registry.storage import translated_errors

if TYPE_CHECKING:  # imported where used: signing workers need neither psycopg nor the recorders
    from eventsourcing.postgres import PostgresApplicationRecorder

    from nodes.bootstrap import Node
    from nodes.registry.identity import NodeIdentity

REQUIRED_COLUMNS = ("manufacturer", "country", "serial", "type", "calibre", "year", "manufactured_on",
                    "first_holder")
OPTIONAL_COLUMNS = ("make", "model", "current_holder", "transferred_on", "transfer_licence", "by")
TRANSFER_COLUMNS = ("current_holder", "transferred_on", "transfer_licence")
DEFAULT_AUTHORITY = AuthorityKind.REGISTRY

# Domain error fields -> the CSV column the user has to fix.
_MANUFACTURE_COLUMNS = {"holder": "first_holder", "occurred_on": "manufactured_on", "authority": "by"}
_TRANSFER_COLUMNS = {"to": "current_holder", "licence": "transfer_licence", "occurred_on": "transferred_on",
                     "authority": "by", "weapon": "current_holder"}


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A refused row: physical ``line`` of the file (header is line 1), the column at
    fault (None when the row as a whole is malformed) and why."""

    line: int
    field: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class ImportReport:
    """Outcome of one ``import_csv`` run.

    ``rows`` data rows were read (blank lines excluded): ``imported`` were
    recorded now as ``events`` signed events, ``skipped`` were found recorded
    already (an earlier run of the file), the rest are in ``errors``.
    """

    file: str
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    events: int = 0
    errors: list[RowError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "imported": self.imported, "skipped": self.skipped,
                "events": self.events, "errors": [e.to_dict() for e in self.errors]}


# --- the entry point ----------------------------------------------------------------------


def import_csv(node: Node, path: str | os.PathLike[str], *, batch_size: int = 1000,
               workers: int | None = None) -> ImportReport:
    """Record every valid row of the CSV file at ``path`` in ``node``'s registry.

    Requires an unlocked node (its private keys loaded) and ``batch_size >= 1``;
    ``batch_size`` rows are written per transaction. ``workers`` processes sign
    (default: one per CPU; 0 signs in this process; a file of one batch is
    always signed here). Raises ``ImportFileError`` when the file cannot be read
    as the layout (no header, unknown or missing column, not UTF-8): rows before
    an undecodable line are still recorded. Row failures are reported, not
    raised. Does not seal a checkpoint or update projections: call
    ``node.settle()`` afterwards.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    signer = RowSigner.for_identity(node.identity)
    report = ImportReport(file=str(path))
    writer = _BatchWriter(node.registry.recorder, report)
    if workers is None:
        workers = os.cpu_count() or 1
    rows = _CsvRows(Path(path))
    with rows:
        for signed in _signed_batches(rows, signer, batch_size, workers):
            writer.write(signed)
    if rows.failure is not None:
        raise rows.failure
    return report


# --- reading the file ---------------------------------------------------------------------


class _CsvRows:
    """Streams (line, {column: value}) from the file; checks the header on open.

    A decoding or CSV syntax failure ends the stream and is kept in ``failure``,
    so that the rows read before it can still be recorded.
    """

    def __init__(self, path: Path):
        self.path = path
        self.failure: ImportFileError | None = None
        try:
            self._file = open(path, "rb")
        except OSError as e:
            raise ImportFileError(f"{path}: cannot read the file: {e.strerror}") from e
        self._reader = csv.reader(self._decoded_lines(), strict=True)
        try:
            self.columns = self._header()
        except BaseException:
            self._file.close()
            raise

    def _decoded_lines(self) -> Iterator[str]:
        # Decoded line by line (not by the file's 8 KiB chunks) so that a bad byte
        # is reported on its own line, after the rows before it. Splitting bytes
        # at b"\n" is safe: no UTF-8 multi-byte sequence contains that byte.
        for number, raw in enumerate(self._file, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]  # spreadsheets write one
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _Undecodable(number) from e

    def _header(self) -> tuple[str, ...]:
        try:
            header = next(self._reader, None)
        except (_Undecodable, csv.Error) as e:
            raise ImportFileError(f"{self.path} line 1: {_unreadable(e)}") from e
        if not header or not any(name.strip() for name in header):
            raise ImportFileError(f"{self.path}: the header row is missing (line 1 must name the columns)")
        columns = tuple(name.strip().lower() for name in header)
        known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        for position, name in enumerate(columns, start=1):
            if not name:
                raise ImportFileError(f"{self.path} line 1: column {position} has no name")
            if name not in known:
                raise ImportFileError(f"{self.path} line 1: unknown column {name!r} (known: {', '.join(known)})")
            if columns.count(name) > 1:
                raise ImportFileError(f"{self.path} line 1: column {name!r} appears twice")
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ImportFileError(f"{self.path} line 1: missing required column {missing[0]!r} "
                                  f"(required: {', '.join(REQUIRED_COLUMNS)})")
        return columns

    def __iter__(self) -> Iterator[tuple[int, dict[str, str] | RowError]]:
        line = self._reader.line_num
        try:
            for values in self._reader:
                start, line = line + 1, self._reader.line_num
                if not any(v.strip() for v in values):
                    continue  # blank line
                if len(values) != len(self.columns):
                    yield start, RowError(start, None, f"has {len(values)} values where the header has "
                                                       f"{len(self.columns)} columns")
                    continue
                yield start, dict(zip(self.columns, values))
        except (_Undecodable, csv.Error) as e:
            number = e.line if isinstance(e, _Undecodable) else self._reader.line_num
            self.failure = ImportFileError(f"{self.path} line {number}: {_unreadable(e)}; "
                                           "the rows before it were processed (re-run after fixing the file: "
                                           "rows already imported are skipped)")

    def __enter__(self) -> _CsvRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class _Undecodable(Exception):
    def __init__(self, line: int):
        super().__init__(f"line {line} is not UTF-8")
        self.line = line


def _unreadable(e: Exception) -> str:
    if isinstance(e, _Undecodable):
        return "the file is not UTF-8 text"
    return f"not valid CSV: {e}"


# --- validating and signing rows ----------------------------------------------------------


@dataclass(frozen=True)
class SignedRow:
    """A valid row: its weapon id (16 bytes) and signed records (version, type, envelope bytes).

    Plain values, so that worker processes hand rows back cheaply.
    """

    line: int
    weapon_id: bytes
    records: tuple[tuple[int, str, bytes], ...]

    @property
    def marking_key(self) -> str:
        marking = Envelope.from_bytes(self.records[0][2]).body["marking"]
        return Marking(marking["manufacturer"], marking["country"], marking["serial"]).key


class RowSigner:
    """Turns rows into signed records: the domain validates, the mapper's conventions seal.

    Picklable so worker processes can sign: it carries the raw private keys of
    the node's authorities, in memory only (never store an instance).
    """

    def __init__(self, state: str, authorities: dict[AuthorityKind, Authority], private_keys: dict[str, bytes]):
        self.state = state
        self.authorities = authorities
        self._raw_keys = private_keys
        self._keys = {k: Ed25519PrivateKey.from_private_bytes(raw) for k, raw in private_keys.items()}

    @classmethod
    def for_identity(cls, identity: NodeIdentity) -> RowSigner:
        """Signer for a node identity; ``ConfigurationError`` if its keys are locked."""
        authorities = {kind: identity.authority(kind) for kind in (AuthorityKind.REGISTRY, AuthorityKind.LICENSING)}
        try:
            keys = {a.key_id: identity.private_keys[a.key_id].private_bytes_raw() for a in authorities.values()}
        except KeyError:
            raise ConfigurationError("the node is locked: set ARMSLEDGER_PASSPHRASE to sign imported records") from None
        return cls(identity.state, authorities, keys)

    def __getstate__(self) -> dict[str, Any]:
        return {"state": self.state, "authorities": self.authorities, "private_keys": self._raw_keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def sign_batch(self, rows: list[tuple[int, dict[str, str] | RowError]]) -> list[SignedRow | RowError]:
        """Validate and sign each row; a refused row becomes its ``RowError``."""
        signed: list[SignedRow | RowError] = []
        for line, row in rows:
            if isinstance(row, RowError):
                signed.append(row)
                continue
            try:
                weapon = self.weapon_of(row)
            except RowRefused as refusal:
                signed.append(RowError(line, refusal.field, refusal.reason))
                continue
            signed.append(SignedRow(line, weapon.id.bytes, self.sealed(weapon)))
        return signed

    def sealed(self, weapon: Weapon) -> tuple[tuple[int, str, bytes], ...]:
        """A new weapon's pending events as stored records (version, type, envelope bytes).

        Exactly what ``EnvelopeMapper.to_stored_event`` makes of them (same
        header, body and topic), in one pass: a new stream's ``prev`` is the
        previous envelope in hand, so the mapper's hash cache and its lock are
        not needed (measured: about a fifth of the signing time).
        """
        records = []
        prev = GENESIS_PREV
        for event in weapon.collect_events():
            fields = vars(event)
            envelope = seal(
                self._keys[fields["authority"]],
                node=self.state,
                stream=str(fields["originator_id"]),
                version=fields["originator_version"],
                type=type(event).TOPIC,
                occurred_on=fields["occurred_on"],
                recorded_at=to_microseconds(fields["timestamp"]),
                authority=fields["authority"],
                prev=prev,
                body={k: v for k, v in fields.items() if k not in NOT_IN_BODY},
            )
            records.append((envelope.version, envelope.type, envelope.to_bytes()))
            prev = envelope.hash
        return tuple(records)

    def weapon_of(self, row: dict[str, str]) -> Weapon:
        """The weapon a row describes, with its pending events; raises ``RowRefused``."""
        with _refusals_named(_MANUFACTURE_COLUMNS):
            kind = AuthorityKind.parse((row.get("by") or "").strip().lower() or DEFAULT_AUTHORITY.value, field="by")
            authority = self.authorities.get(kind)
            marking = Marking.read(row["manufacturer"], row["country"], row["serial"])
            year = _whole_number(row["year"], "year")
            manufactured_on = _date(row["manufactured_on"], "manufactured_on")
            if authority is None:  # kinds that may not record a manufacture: let the domain say so
                authority = Authority(key_id="", kind=kind, state=self.state)
            weapon = Weapon.manufacture(
                authority=authority, marking=marking, type=row["type"], make=row.get("make", ""),
                model=row.get("model", ""), calibre=row["calibre"], year=year, holder=row["first_holder"],
                occurred_on=manufactured_on,
            )
            if manufactured_on < int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp()):
                raise InvalidField(f"{format_time(manufactured_on)[:10]} is before the year of manufacture {year}",
                                   field="manufactured_on")
        transfer = {name: (row.get(name) or "").strip() for name in TRANSFER_COLUMNS}
        if any(transfer.values()):
            for name in TRANSFER_COLUMNS:
                if not transfer[name]:
                    raise RowRefused(name, "is required with a current holder (current_holder, transferred_on "
                                           "and transfer_licence go together)")
            with _refusals_named(_TRANSFER_COLUMNS):
                transferred_on = _date(transfer["transferred_on"], "transferred_on")
                if transferred_on < manufactured_on:
                    raise InvalidField("is before manufactured_on", field="transferred_on")
                weapon.migrate_transfer(authority=authority, to_holder=transfer["current_holder"],
                                        licence_reference=transfer["transfer_licence"], occurred_on=transferred_on)
        return weapon


class RowRefused(Exception):
    """A row fails validation: ``field`` is the CSV column at fault."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@contextlib.contextmanager
def _refusals_named(columns: dict[str, str]) -> Iterator[None]:
    """Re-raise ``DomainError`` as ``RowRefused`` naming the CSV column, not the domain field."""
    try:
        yield
    except DomainError as error:
        column = columns.get(error.field or "", error.field)
        raise RowRefused(column, error.args[0] if error.args else str(error)) from error


def _whole_number(text: str, field: str) -> int:
    value = (text or "").strip()
    if not value:
        raise InvalidField("is required", field=field)
    try:
        return int(value)
    except ValueError:
        raise InvalidField(f"{text!r} is not a whole number", field=field) from None


def _date(text: str, field: str) -> int:
    if not (text or "").strip():
        raise InvalidField("is required (YYYY-MM-DD)", field=field)
    return parse_time(text, field=field)


def _signed_batches(rows: _CsvRows, signer: RowSigner, batch_size: int,
                    workers: int) -> Iterator[list[SignedRow | RowError]]:
    """Sign the file batch by batch, in file order; in ``workers`` processes when
    there is more than one batch (starting processes costs more than one batch)."""
    batches = _chunks(iter(rows), batch_size)
    first = next(batches, None)
    second = next(batches, None) if first is not None else None
    if workers < 1 or second is None:
        for batch in (first, second):
            if batch is not None:
                yield signer.sign_batch(batch)
        for batch in batches:
            yield signer.sign_batch(batch)
        return
    pool = start_pool(workers)
    try:
        in_flight: list[Future[list[SignedRow | RowError]]] = [pool.submit(signer.sign_batch, first),
                                                                pool.submit(signer.sign_batch, second)]
        for batch in batches:
            # Bounded look-ahead keeps memory flat while both cores stay busy.
            while len(in_flight) >= 2 * workers:
                yield in_flight.pop(0).result()
            in_flight.append(pool.submit(signer.sign_batch, batch))
        while in_flight:
            yield in_flight.pop(0).result()
    finally:
        pool.shutdown(cancel_futures=True)  # after a failure, do not sign what will not be written


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- writing batches ----------------------------------------------------------------------


class _BatchWriter:
    """Writes each batch's new weapons in one transaction and sorts out the rest.

    A duplicate within the file is found in ``first_line`` (weapon id -> line of
    its first valid row). A weapon already stored is found by the database's
    uniqueness of (stream, version): only then are the batch's weapons looked up
    one by one, so a fresh import pays for no lookups.
    """

    def __init__(self, recorder: Any, report: ImportReport):
        self.recorder = recorder
        self.report = report
        self.first_line: dict[bytes, int] = {}
        from eventsourcing.postgres import PostgresApplicationRecorder

        self.insert = _copy_into_postgres if isinstance(recorder, PostgresApplicationRecorder) else _insert_events

    def write(self, batch: list[SignedRow | RowError]) -> None:
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
            try:
                with _database("import-csv: writing a batch"):
                    self.insert(self.recorder, fresh)
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
            break
        report.errors.extend(sorted(errors, key=lambda error: error.line))

    def _without_stored(self, rows: list[SignedRow], errors: list[RowError]) -> list[SignedRow]:
        """The rows whose weapon has no record yet; the others are skipped or refused."""
        unstored = []
        for row in rows:
            with _database("import-csv: reading a stored weapon"):
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


@contextlib.contextmanager
def _database(action: str) -> Iterator[None]:
    """``StorageError`` for database failures, the event store's included; ``IntegrityError``
    (a weapon is stored already) passes: the writer handles it."""
    try:
        with translated_errors(action):
            yield
    except IntegrityError:
        raise
    except PersistenceError as e:
        raise StorageError(f"{action}: {e}") from e


def _insert_events(recorder: Any, rows: list[SignedRow]) -> None:
    """One transaction through the recorder: what ``Registry.save`` does after mapping."""
    recorder.insert_events([StoredEvent(originator_id=UUID(bytes=row.weapon_id), originator_version=version,
                                        topic=topic, state=state)
                            for row in rows for version, topic, state in row.records])


def _copy_into_postgres(recorder: PostgresApplicationRecorder, rows: list[SignedRow]) -> None:
    """One transaction with COPY: the recorder's INSERT adapts each row in Python and
    tops out near 10k events/s; COPY in binary format does not.

    Takes the recorder's table lock and sends its NOTIFY first, exactly as its
    ``insert_events`` does, so notification ids are committed in order and
    followers wake up. A duplicate (stream, version) raises ``IntegrityError``
    (translated by the recorder's datastore) and writes nothing.
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


def _difference(stored: list[StoredEvent], row: SignedRow) -> RowError | None:
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
    return (found.type, found.occurred_on, dict(found.body)) == (wanted.type, wanted.occurred_on, dict(wanted.body))
