"""``armsledger verify``: audit a node's whole store offline, own log and received partner records.

Reads every stored record in log order, the sealer's checkpoints and leaf index
straight from the database, and runs ``ledger.audit.audit_log`` with the node's
public key and the domain's permissions (``nodes.acceptance``); then audits the
partner records held in the inbox (``nodes.federation.received_audit``),
compares the projections with the log projected afresh (``projections.compare``) and
checks the read audit's chain and checkpoints (``nodes.readaudit``) and the trust
store's files against the node's record of them (``nodes.federation.trust_record``). No
passphrase is needed: a locked node can be verified, and so can a copy of its database.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger.audit import POOL_THRESHOLD, AuditReport, LogRecord, Problem, ProblemKind, Resumed, audit_log
from ledger.checkpoint import Checkpoint
from ledger.errors import CheckpointError, LedgerError
from nodes.acceptance import DomainPolicy
from nodes.errors import NodeError
from nodes.federation.received_audit import audit_received
from nodes.federation.trust import TrustStore
from nodes.federation.trust_record import trust_problems
from nodes.registry.identity import authorities_stream
from nodes.registry.own_records import own_signers
from nodes.registry.verified_mark import VerifiedMark, VerifiedMarkFile
from nodes.workers import start_pool
from projections.batch import cyclic_gc_paused
from projections.views import Progress

#: ``verify_store`` tells its progress every this many rows of the inbox.
RECEIVED_STEP = 1000
#: Rows of the own log fetched at a time.
READ_BATCH = 1000
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_HEX = re.compile(r"[0-9a-f]{32}")

if TYPE_CHECKING:
    from nodes.ports import Node
    from nodes.registry.sealer import CheckpointRow


def verify_store(node: Node, *, workers: int | None = None, progress: Progress | None = None,
                 witnesses: Sequence[tuple[str, Checkpoint]] = (), since: VerifiedMark | None = None) -> AuditReport:
    """Audit ``node``'s log, checkpoints, leaf index and received partner records.

    The log must also reach, with the same root, every checkpoint of ours held outside the
    checkpoint table: the sealer's mark, the newest each partner cosigned
    (``nodes.federation.witness.witnessed_checkpoints``), and ``witnesses`` ((who, checkpoint):
    what partners answered ``ask_witnesses``).

    ``workers``: processes that parse and verify signatures (``nodes.workers.start_pool``);
    default: every CPU for a log of ``POOL_THRESHOLD`` records or more, else none (1).
    ``progress(done, total)`` is told how many checks are done: one per record of the own log
    audited, one per row of the inbox read, one per record of the own log projected again to
    compare the views with. Raises ``StorageError`` if the database cannot be read; everything
    found in the data is a ``Problem`` of the report.

    ``since``: a mark read (and checked) by ``VerifiedMarkFile.read``: only the records after it are read
    and verified, the tree resuming from its frontier; the rows before it are not read (but for the
    register, and the last record before it of each stream continued after it), and the views are not
    compared (``verify --since``, docs/verification.md).
    """
    # The audit and the views' comparison make a few objects per record and no cycles: freed by their reference
    # counts, they also set off the cyclic collector every 700, whose older generations walk every object of the
    # process (about 6 % of this process's CPU, measured in pairs: docs/benchmarks.md, Verify).
    with cyclic_gc_paused():
        return _verify_store(node, workers, progress, witnesses, since)


def _verify_store(node: Node, workers: int | None, progress: Progress | None,
                  witnesses: Sequence[tuple[str, Checkpoint]], since: VerifiedMark | None) -> AuditReport:
    inbox = node.inbox
    own, held = node.registry.recorder.max_notification_id() or 0, inbox.max_notification_id()
    start = since.position if since is not None else 0
    if workers is None:  # with a mark, only the records after it are parsed and verified
        workers = _cpu_count() if own - start + held >= POOL_THRESHOLD else 1
    checks = _Checks(progress, own, held, views=since is None, start=start)
    # The views are projected afresh and compared on a thread beside the audit, which mostly waits for
    # the workers' signature checks. Opened here first: two threads opening them at once race on SQLite.
    _read_ids_as_stored(node.registry.recorder)  # the projection reads the log through the library
    # The workers start now, on the other core, while this one reads the register and the first rows.
    pool = start_pool(workers, now=True) if workers > 1 else None
    views = None
    try:
        views = _ViewsCompared(node, checks) if since is None else None
        report = _audit_own_log(node, pool, checks, witnesses, since)
        _read_ids_as_stored(getattr(inbox, "recorder", None))  # the adapter's; an in-memory inbox has none
        store = TrustStore(node.settings.home)
        received = audit_received(checks.received(inbox.stored_rows()), store.readable()[0], executor=pool)
        trust = trust_problems(node.registry, node.identity, store)
        reads = _read_audit_problems(node, pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if views is not None:
            views.join()  # not left running on a node about to be closed, whatever the audit raised
    if views is None:
        projected = []
    elif any(p.kind is ProblemKind.ENCODING for p in report.problems):
        # The views' rows were decoded on the log audit's word that every row is a canonical envelope, and some
        # are not: what that comparison found or raised is dropped, and the views compared again, each row parsed
        # as a rebuild parses it, which says what it cannot read.
        projected = list(_view_problems(node, checks, canonical_known=False))
    else:
        projected = views.result()
    checks.done()
    return report.with_problems([*received.problems, *trust, *projected, *reads], received_checked=received.checked,
                                flagged=received.flagged)


class _ViewsCompared:
    """The views compared with the log projected afresh (``_view_problems``), on a thread of its own, its rows
    decoded on the word of the log audit beside it that every row is a canonical envelope (``verify_store``
    compares them again when the audit finds one that is not)."""

    def __init__(self, node: Node, checks: _Checks):
        node.views  # noqa: B018 (opened in this thread, before the other starts)
        self._problems: list[Problem] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(node, checks), name="verify-views", daemon=True)
        self._thread.start()

    def _run(self, node: Node, checks: _Checks) -> None:
        try:
            self._problems.extend(_view_problems(node, checks, canonical_known=True))
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread by result()
            self._error = e

    def join(self) -> None:
        self._thread.join()

    def result(self) -> list[Problem]:
        """The problems found, once the comparison ended; what it raised is raised here."""
        self.join()
        if self._error is not None:
            raise self._error
        return self._problems


class _Checks:
    """How far the audit is, as one count of checks over its three passes (``verify_store``); the views'
    pass runs beside the others, so each pass counts on its own and the sum is told, under a lock."""

    def __init__(self, progress: Progress | None, own: int, held: int, views: bool = True, start: int = 0):
        # ``start``: the log position a verify from a mark starts after; the own log counts from there.
        self.progress, self.own, self.held, self.start = progress, own, held, start
        self.total = (own - start) + (own if views else 0) + held
        self._done = {"own": 0, "received": 0, "views": 0}
        self._lock = threading.Lock()

    def _tell(self, part: str, done: int) -> None:
        if self.progress is None:
            return
        with self._lock:
            self._done[part] = max(self._done[part], done)
            self.progress(sum(self._done.values()), self.total)

    def own_log(self, position: int) -> None:
        self._tell("own", min(position, self.own) - self.start)

    def received(self, rows: Iterable[Notification]) -> Iterator[Notification]:
        for row in rows:
            if self.progress is not None and row.id % RECEIVED_STEP == 0:
                self._tell("received", min(row.id, self.held))
            yield row

    def views(self, done: int, total: int | None) -> None:
        self._tell("views", min(done, self.own))

    def done(self) -> None:
        if self.progress is not None:
            with self._lock:
                self.progress(self.total, self.total)


def _read_audit_problems(node: Node, executor: Executor | None) -> list[Problem]:
    """The read audit's chain and seals (``nodes.readaudit``); none on a node from before it."""
    from nodes.readaudit.log import verify_read_audit

    return verify_read_audit(node.settings.db, node.identity, executor=executor)


def _view_problems(node: Node, checks: _Checks, canonical_known: bool) -> Iterator[Problem]:
    """Each row of the views that the log does not project (``search`` and ``stats`` serve them).
    ``canonical_known``: as ``compare_views`` takes it (the log audit checks every row)."""
    from projections.compare import compare_views
    from projections.errors import UnreadableLog

    try:
        for mismatch in compare_views(node.views, node.registry, progress=checks.views,
                                      canonical_known=canonical_known):
            yield Problem(None, None, None, ProblemKind.PROJECTION, str(mismatch))
    except UnreadableLog as e:  # the damaged row is a problem of the log audit too
        yield Problem(None, None, None, ProblemKind.PROJECTION, str(e))


def _audit_own_log(node: Node, executor: Executor | None, checks: _Checks,
                   witnesses: Sequence[tuple[str, Checkpoint]], since: VerifiedMark | None) -> AuditReport:
    from nodes.federation.witness import witnessed_checkpoints

    sealer = node.sealer
    first = since.size if since is not None else 0
    # With a mark, the checkpoints from its size on: those before were checked by the verify that made it.
    checkpoints, row_problems = _checkpoints(sealer.checkpoint_rows(after=max(0, first - 1)))
    held, held_problems = witnessed_checkpoints(node)
    # The register read first, whole: a record signed after its key's revocation time is flagged even
    # when it precedes the revocation in the log (docs/keys.md).
    register, _ = own_signers(node.registry, node.identity)
    with _OwnLog(node.registry.recorder) as log:
        resumed = None
        if since is not None:
            resumed = Resumed(since.checkpoint, since.frontier, since.position,
                              log.stream_until(authorities_stream(node.identity.state), since.position),
                              lambda streams: log.heads(streams, since.position))
        report = audit_log(
            _counted(log.records(after=since.position if since is not None else 0), checks),
            checkpoints,
            node.identity.node_public_key,
            policy=DomainPolicy(node.identity.state),
            origin=node.identity.state,
            sealed=lambda: sealer.sealed_leaves_from(first),
            sealed_hashes=lambda: sealer.sealed_hash_pages(first),
            executor=executor,
            witnessed=[*held, *witnesses],
            revocations=dict(register.certified),
            earlier_node_keys=node.identity.earlier_node_keys,
            since=resumed,
        )
    return report.with_problems([*row_problems, *held_problems])


def _counted(records: Iterator[LogRecord], checks: _Checks) -> Iterator[LogRecord]:
    done = 0
    for record in records:
        yield record
        done += 1
        if done % READ_BATCH == 0:
            checks.own_log(record.position)
    if done:
        checks.own_log(record.position)


class _OwnLog:
    """Reads of the own log as stored, in one read-only transaction (on PostgreSQL one snapshot), without the
    library's conversion of each row to a notification.

    Each row is taken as eventsourcing's recorder would give it: an originator id that is a UUID as its
    canonical text, any other value as it is (possible in SQLite, where it is text: the audit then names
    the row as one whose stream differs from its signed envelope); a NULL state as None.
    """

    def __init__(self, recorder: Any):
        self._recorder = recorder
        self._schema = getattr(recorder.datastore, "schema", None)  # PostgreSQL's: ids of type uuid
        self._as_uuid = recorder.datastore.originator_id_type == "uuid"
        self._transaction: Any = None
        self._cursor: Any = None

    def __enter__(self) -> _OwnLog:
        self._transaction = self._recorder.datastore.transaction(commit=False)
        self._cursor = self._transaction.__enter__()
        if self._schema is not None:
            self._table = f'"{self._schema}"."{self._recorder.events_table_name}"'
            # Idle between batches while the audit waits for its workers, for longer than eventsourcing's
            # session timeout may allow on a busy machine.
            self._cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        else:
            self._table = self._recorder.events_table_name
            self._sqlite = self._cursor.sqlite_cursor.connection
        return self

    def __exit__(self, *exc: object) -> None:
        self._transaction.__exit__(*exc)

    def records(self, after: int = 0) -> Iterator[LogRecord]:
        """Every row after log position ``after``, in log order, fetched a batch at a time (on PostgreSQL
        through a server-side cursor)."""
        if self._schema is not None:
            from psycopg.rows import tuple_row  # imported here: a SQLite node needs no psycopg

            # Tuples, not the library's dicts: a dict per row was a third of reading it. Binary: the envelopes come
            # as they are stored, not hex-encoded by the server and decoded here.
            with self._cursor.connection.cursor(name="verify_rows", row_factory=tuple_row, binary=True) as rows:
                # In LogRecord's order, the envelope as bytes (binary), so each row becomes one in C.
                rows.execute(f"SELECT notification_id, state, originator_id::text AS stream, originator_version, "
                             f"topic FROM {self._table} WHERE notification_id > %s ORDER BY notification_id",
                             (after,))
                while batch := rows.fetchmany(READ_BATCH):
                    yield from map(_as_log_record, batch)
            return
        rows = self._sqlite.cursor()
        rows.row_factory = None  # plain tuples, not the connection's sqlite3.Row (a sixth of reading a row)
        rows.execute(f"SELECT rowid, state, originator_id, originator_version, topic "
                     f"FROM {self._table} WHERE rowid > ? ORDER BY rowid", (after,))
        as_uuid, hex_id = self._as_uuid, _UUID_HEX.fullmatch
        while batch := rows.fetchmany(READ_BATCH):
            for position, state, stream, version, topic in batch:
                if as_uuid and type(stream) is str and hex_id(stream):  # as the library writes a UUID: inline
                    yield _as_log_record((position, state, f"{stream[:8]}-{stream[8:12]}-{stream[12:16]}-"
                                          f"{stream[16:20]}-{stream[20:]}", version, topic))
                else:
                    yield LogRecord(position, state, self._stream(stream), version, topic)

    def stream_until(self, stream: UUID, position: int) -> list[LogRecord]:
        """The rows of ``stream`` at log positions up to ``position``, in log order (read by stream)."""
        if self._schema is not None:
            self._cursor.execute(f"SELECT notification_id, originator_version, topic, state FROM {self._table} "
                                 "WHERE originator_id = %s AND notification_id <= %s ORDER BY notification_id",
                                 (stream, position))
            return [LogRecord(r["notification_id"], None if r["state"] is None else bytes(r["state"]), str(stream),
                              r["originator_version"], r["topic"]) for r in self._cursor.fetchall()]
        rows = self._sqlite.execute(f"SELECT rowid, originator_version, topic, state FROM {self._table} "
                                    "WHERE originator_id = ? AND rowid <= ? ORDER BY rowid",
                                    (self._stored_id(str(stream)), position))
        return [LogRecord(p, state, str(stream), version, topic) for p, version, topic, state in rows.fetchall()]

    def heads(self, streams: Sequence[str], position: int) -> dict[str, tuple[int, bytes | None]]:
        """For each of ``streams`` that has rows at log positions up to ``position``: (version, stored bytes)
        of its highest version there (read by stream and version, through the table's key)."""
        found: dict[str, tuple[int, bytes | None]] = {}
        if self._schema is not None:
            ids = [UUID(s) for s in streams if _CANONICAL_UUID.fullmatch(s)]
            if ids:
                self._cursor.execute(f"SELECT DISTINCT ON (originator_id) originator_id::text AS stream, "
                                     f"originator_version, state FROM {self._table} WHERE originator_id = ANY(%s) "
                                     "AND notification_id <= %s ORDER BY originator_id, originator_version DESC",
                                     (ids, position))
                for r in self._cursor.fetchall():
                    found[r["stream"]] = (r["originator_version"], None if r["state"] is None else bytes(r["state"]))
            return found
        for stream in streams:
            row = self._sqlite.execute(f"SELECT originator_version, state FROM {self._table} WHERE originator_id = ? "
                                       "AND rowid <= ? ORDER BY originator_version DESC LIMIT 1",
                                       (self._stored_id(stream), position)).fetchone()
            if row is not None:
                found[stream] = (row[0], row[1])
        return found

    def _stream(self, value: object) -> str:
        return _stream_as_read(value) if self._as_uuid else str(value)

    def _stored_id(self, stream: str) -> str:
        """``stream`` as eventsourcing's SQLite recorder stores a UUID id: its 32 hex digits."""
        if self._as_uuid and _CANONICAL_UUID.fullmatch(stream):
            return UUID(stream).hex
        return stream


#: A row (position, envelope, stream, version, topic) as a ``LogRecord``, made in C.
_as_log_record = partial(tuple.__new__, LogRecord)


def _stream_as_read(value: object) -> str:
    """``value`` as eventsourcing's SQLite recorder reads it and ``str`` prints it: a UUID's canonical text."""
    if type(value) is str:
        if _UUID_HEX.fullmatch(value):  # as the library writes a UUID: str(UUID(value)) without making one
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        if _CANONICAL_UUID.fullmatch(value):
            return value
    try:
        return str(UUID(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return str(value)


def _read_ids_as_stored(recorder: Any) -> None:
    """Let the audit read a row whose originator id is not a UUID (possible in SQLite, where it is text).

    eventsourcing's SQLite recorder converts each id it reads to a UUID and fails on the
    first that is not one, which would stop the audit at the damaged row; read as text
    instead, the row is named as one whose stream differs from its signed envelope.
    PostgreSQL stores ids as uuid, so no row there can hold another value. ``recorder``:
    the own log's or the inbox's.
    """
    convert = getattr(recorder, "convert_originator_id", None)
    if convert is None:
        return

    def as_stored(originator_id: str) -> object:
        try:
            return convert(originator_id)
        except (TypeError, ValueError):
            return originator_id

    recorder.convert_originator_id = as_stored


def _checkpoints(rows: list[CheckpointRow]) -> tuple[list[Checkpoint], list[Problem]]:
    """Parse the signed bytes of each row, and check that the plain columns repeat them."""
    checkpoints, problems = [], []
    for row in rows:
        try:
            checkpoint = Checkpoint.from_bytes(row.bytes)
        except CheckpointError as e:
            problems.append(Problem(None, None, None, ProblemKind.CHECKPOINT,
                                    f"checkpoint row of size {row.size} is unreadable: {e}"))
            continue
        differing = [name for name in ("size", "root", "timestamp", "signer", "sig")
                     if getattr(row, name) != getattr(checkpoint, name)]
        if differing:
            problems.append(Problem(None, None, None, ProblemKind.CHECKPOINT,
                                    f"checkpoint row of size {row.size}: column {', '.join(differing)} "
                                    "differs from the signed checkpoint bytes"))
        checkpoints.append(checkpoint)
    return checkpoints, problems


def record_verified(node: Node, report: AuditReport) -> VerifiedMark | str:
    """Record the latest checkpoint of a passing ``report`` as verified (``nodes.registry.verified_mark``),
    with the log's frontier at its size, signed by the node key; or say why nothing was recorded."""
    if not report.ok:
        return "the verify failed"
    if report.checkpoint_size == 0:
        return "no checkpoint to record (the log is not sealed yet)"
    if not report.frontier or report.covered_position is None:
        return f"the log does not reach the checkpoint of size {report.checkpoint_size}"
    key = node.identity.private_keys.get(node.identity.node_key_id)
    if key is None and node.settings.passphrase:
        # Unlocked only now, for a log that passed: opening it unlocked checks node.json against the log,
        # which would stop the audit of a damaged one before it named anything.
        from nodes.registry.identity import load_identity

        try:
            unlocked = load_identity(node.settings.home, node.settings.passphrase)
            key = unlocked.private_keys.get(node.identity.node_key_id)
        except (LedgerError, NodeError) as e:
            return f"the node key cannot be unlocked: {e}"
    if key is None:
        return "the node is locked (set ARMSLEDGER_PASSPHRASE to sign the mark with the node key)"
    rows = [row for row in node.sealer.checkpoint_rows(after=report.checkpoint_size - 1)
            if row.size == report.checkpoint_size]
    checkpoint = Checkpoint.from_bytes(rows[0].bytes)
    verified_at = time.time_ns() // 1000
    VerifiedMarkFile(node.settings.home, node.identity.node_keys, node.identity.state).write(
        key, checkpoint, report.frontier, report.covered_position, verified_at)
    return VerifiedMark(checkpoint, report.frontier, report.covered_position, verified_at, node.identity.node_key_id)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
