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
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.time import format_time
from ledger.audit import POOL_THRESHOLD, AuditReport, LogRecord, Problem, ProblemKind, audit_log
from ledger.checkpoint import Checkpoint
from ledger.errors import CheckpointError, LedgerError
from nodes.acceptance import DomainPolicy
from nodes.errors import NodeError
from nodes.federation.received_audit import audit_received
from nodes.federation.trust import TrustStore
from nodes.federation.trust_record import trust_problems
from nodes.registry.own_records import own_signers
from nodes.registry.verified_mark import RowsDigest, VerifiedMark, VerifiedMarkFile
from nodes.workers import start_pool
from projections.views import Progress

#: ``verify_store`` tells its progress every this many rows of the inbox.
RECEIVED_STEP = 1000
#: Rows of the own log fetched at a time.
READ_BATCH = 1000
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

if TYPE_CHECKING:
    from nodes.ports import Node
    from nodes.registry.application import Registry
    from nodes.registry.sealer import CheckpointRow


def verify_store(node: Node, *, workers: int | None = None, progress: Progress | None = None,
                 witnesses: Sequence[tuple[str, Checkpoint]] = (), since: VerifiedMark | None = None,
                 digest: RowsDigest | None = None) -> AuditReport:
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

    ``since``: a mark read (and checked) by ``VerifiedMarkFile.read``: the stored bytes of the records
    it covers must digest as they did, their signatures are not verified again, and the views are not
    compared (``verify --since``, docs/verification.md). ``digest`` is fed the stored rows, for
    ``record_verified``; with ``since``, it must be taken at ``since.size`` too (``ValueError`` if not).
    """
    inbox = node.inbox
    own, held = node.registry.recorder.max_notification_id() or 0, inbox.max_notification_id()
    if workers is None:  # with a mark, only the records after it are parsed and verified
        workers = _cpu_count() if own - (since.size if since else 0) + held >= POOL_THRESHOLD else 1
    checks = _Checks(progress, own, held, views=since is None)
    rows = digest if digest is not None else RowsDigest(*([since.size] if since is not None else []))
    if since is not None and since.size not in rows.sizes:
        raise ValueError(f"the digest of the rows must be taken at the mark's size {since.size} too")
    # The views are projected afresh and compared on a thread beside the audit, which mostly waits for
    # the workers' signature checks. Opened here first: two threads opening them at once race on SQLite.
    _read_ids_as_stored(node.registry.recorder)  # the projection reads the log through the library
    pool = start_pool(workers) if workers > 1 else None
    views = None
    try:
        views = _ViewsCompared(node, checks) if since is None else None
        report = _audit_own_log(node, pool, checks, witnesses, since, rows)
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
    projected = views.result() if views is not None else []
    if since is not None and rows.digest(since.size) != since.rows_digest:
        projected.append(Problem(None, None, None, ProblemKind.ALTERED,
                                 f"the stored bytes of the first {since.size} records are not those verified on "
                                 f"{format_time(since.verified_at // 1_000_000)}: a record before the mark was "
                                 "altered, deleted or inserted since (a full verify names it)"))
    checks.done()
    return report.with_problems([*received.problems, *trust, *projected, *reads], received_checked=received.checked,
                                flagged=received.flagged)


class _ViewsCompared:
    """The views compared with the log projected afresh (``_view_problems``), on a thread of its own."""

    def __init__(self, node: Node, checks: _Checks):
        node.views  # noqa: B018 (opened in this thread, before the other starts)
        self._problems: list[Problem] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(node, checks), name="verify-views", daemon=True)
        self._thread.start()

    def _run(self, node: Node, checks: _Checks) -> None:
        try:
            self._problems.extend(_view_problems(node, checks))
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

    def __init__(self, progress: Progress | None, own: int, held: int, views: bool = True):
        self.progress, self.own, self.held = progress, own, held
        self.total = (2 if views else 1) * own + held
        self._done = {"own": 0, "received": 0, "views": 0}
        self._lock = threading.Lock()

    def _tell(self, part: str, done: int) -> None:
        if self.progress is None:
            return
        with self._lock:
            self._done[part] = max(self._done[part], done)
            self.progress(sum(self._done.values()), self.total)

    def own_log(self, position: int) -> None:
        self._tell("own", min(position, self.own))

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


def _view_problems(node: Node, checks: _Checks) -> Iterator[Problem]:
    """Each row of the views that the log does not project (``search`` and ``stats`` serve them)."""
    from projections.compare import compare_views
    from projections.errors import UnreadableLog

    try:
        for mismatch in compare_views(node.views, node.registry, progress=checks.views):
            yield Problem(None, None, None, ProblemKind.PROJECTION, str(mismatch))
    except UnreadableLog as e:  # the damaged row is a problem of the log audit too
        yield Problem(None, None, None, ProblemKind.PROJECTION, str(e))


def _audit_own_log(node: Node, executor: Executor | None, checks: _Checks,
                   witnesses: Sequence[tuple[str, Checkpoint]], since: VerifiedMark | None,
                   rows: RowsDigest) -> AuditReport:
    from nodes.federation.witness import witnessed_checkpoints

    sealer = node.sealer
    checkpoints, row_problems = _checkpoints(sealer.checkpoint_rows())
    held, held_problems = witnessed_checkpoints(node)
    # The register read first, whole: a record signed after its key's revocation time is flagged even
    # when it precedes the revocation in the log (docs/keys.md).
    register, _ = own_signers(node.registry, node.identity)
    report = audit_log(
        _records(node.registry, checks, rows),
        checkpoints,
        node.identity.node_public_key,
        policy=DomainPolicy(node.identity.state),
        origin=node.identity.state,
        sealed=sealer.sealed_leaves(),
        executor=executor,
        witnessed=[*held, *witnesses],
        revocations=dict(register.certified),
        earlier_node_keys=node.identity.earlier_node_keys,
        since=since.checkpoint if since is not None else None,
    )
    return report.with_problems([*row_problems, *held_problems])


def _records(registry: Registry, checks: _Checks, rows: RowsDigest) -> Iterator[LogRecord]:
    # The row's own key and topic go along, so a row holding another row's
    # envelope, or naming another type, is named even when the envelope is intact.
    done = 0
    for record in _stored_records(registry.recorder):
        rows.add(record)
        yield record
        done += 1
        if done % READ_BATCH == 0:
            checks.own_log(record.position)
    if done:
        checks.own_log(record.position)


def _stored_records(recorder: Any) -> Iterator[LogRecord]:
    """Every row of the own log in log order, as stored: one read-only SELECT in one transaction, fetched
    a batch at a time (on PostgreSQL through a server-side cursor), without the library's conversion of
    each row to a notification.

    Each row is taken as eventsourcing's recorder would give it: an originator id that is a UUID as its
    canonical text, any other value as it is (possible in SQLite, where it is text: the audit then names
    the row as one whose stream differs from its signed envelope); a NULL state as None.
    """
    schema = getattr(recorder.datastore, "schema", None)
    if schema is not None:  # PostgreSQL: ids are of type uuid, printed canonically by the server
        table = f'"{schema}"."{recorder.events_table_name}"'
        with recorder.datastore.transaction(commit=False) as cursor, \
                cursor.connection.cursor(name="verify_rows") as rows:
            # Idle between batches while the audit waits for its workers, for longer than eventsourcing's
            # session timeout may allow on a busy machine.
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            rows.execute(f"SELECT notification_id, originator_id::text AS stream, originator_version, topic, state "
                         f"FROM {table} ORDER BY notification_id")
            while batch := rows.fetchmany(READ_BATCH):
                for r in batch:
                    state = r["state"]
                    yield LogRecord(r["notification_id"], None if state is None else bytes(state), r["stream"],
                                    r["originator_version"], r["topic"])
        return
    as_uuid = recorder.datastore.originator_id_type == "uuid"
    with recorder.datastore.transaction(commit=False) as cursor:
        sqlite = cursor.sqlite_cursor
        sqlite.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                       f"FROM {recorder.events_table_name} ORDER BY rowid")
        while batch := sqlite.fetchmany(READ_BATCH):
            for position, stream, version, topic, state in batch:
                yield LogRecord(position, state, _stream_as_read(stream) if as_uuid else str(stream), version, topic)


def _stream_as_read(value: object) -> str:
    """``value`` as eventsourcing's SQLite recorder reads it and ``str`` prints it: a UUID's canonical text."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
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


def record_verified(node: Node, report: AuditReport, digest: RowsDigest) -> VerifiedMark | str:
    """Record the latest checkpoint of a passing ``report`` as verified (``nodes.registry.verified_mark``),
    signed by the node key; or say why nothing was recorded. ``digest``: the one ``verify_store`` fed,
    sized to the newest checkpoint row before the audit."""
    if not report.ok:
        return "the verify failed"
    if report.checkpoint_size == 0:
        return "no checkpoint to record (the log is not sealed yet)"
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
    rows_digest = digest.digest(report.checkpoint_size)
    if rows_digest is None:
        return f"the checkpoint of size {report.checkpoint_size} was sealed while the verify ran: verify again"
    rows = [row for row in node.sealer.checkpoint_rows(after=report.checkpoint_size - 1)
            if row.size == report.checkpoint_size]
    checkpoint = Checkpoint.from_bytes(rows[0].bytes)
    verified_at = time.time_ns() // 1000
    VerifiedMarkFile(node.settings.home, node.identity.node_keys, node.identity.state).write(
        key, checkpoint, rows_digest, verified_at)
    return VerifiedMark(checkpoint, rows_digest, verified_at, node.identity.node_key_id)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
