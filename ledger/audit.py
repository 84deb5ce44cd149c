"""Offline audit of a node's log: every record by the acceptance rule, the chains, the checkpoints.

``audit_log`` is pure over the stored bytes: no database, no private key, no
clock; only the records in log order, the checkpoints, the node's public key
and the caller's ``Policy``. It runs ``ledger.acceptance`` on each record, checks
that every stream's versions run 1..n, and checks the log against its signed
checkpoints (``ledger.audit_checkpoints``). docs/verification.md tells the whole
protocol; every finding is a ``Problem`` naming the stream, version and position.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from itertools import islice

from ledger.acceptance import CertifiedKey, Policy
from ledger.audit_checkpoints import CheckpointCheck
from ledger.audit_records import RecordWalk, examined
from ledger.audit_report import AuditReport, LogRecord, Problem, ProblemKind, SealedLeaf
from ledger.checkpoint import Checkpoint
from ledger.keys import Ed25519PublicKey, key_id, public_bytes

__all__ = ["AuditReport", "LogRecord", "Problem", "ProblemKind", "SealedLeaf", "audit_log"]

POOL_THRESHOLD = 4000
"""Logs at least this long are worth verifying on worker processes (a caller's choice)."""


def audit_log(
    records: Iterable[LogRecord | tuple[object, ...]],
    checkpoints: Iterable[Checkpoint],
    node_public_key: Ed25519PublicKey | bytes,
    *,
    policy: Policy,
    origin: str | None = None,
    sealed: Sequence[SealedLeaf | tuple[object, ...]] | None = None,
    executor: Executor | None = None,
    witnessed: Sequence[tuple[str, Checkpoint]] = (),
    revocations: dict[str, CertifiedKey] | None = None,
    earlier_node_keys: Sequence[bytes] = (),
    since: Checkpoint | None = None,
) -> AuditReport:
    """Audit a log; see the module docstring for what is checked.

    ``records`` are in log order, as ``LogRecord`` or tuples ``(position,
    envelope bytes[, row stream, row version, row topic])``. ``policy`` decides
    which authority kind may record which type. ``origin``, when given, is the
    state every checkpoint must name. ``sealed`` is the sealer's leaf index:
    checked against the checkpoints, then used to name the records when the
    log disagrees with them. ``executor``: where chunks of records are parsed
    and their signatures verified (``None``: in this process); the caller owns it.
    ``witnessed``: (who holds it, checkpoint) for checkpoints of this log held outside
    the checkpoint table (the sealer's mark, partners' cosignatures): each must be signed
    by the node key, stored among ``checkpoints``, and reached by the log with its root.
    ``revocations``: the register's keys with every revocation it holds (read first,
    as ``nodes.registry.own_records.own_signers`` does); records signed by a key after
    the time it was revoked since are reported as ``flagged``, not as problems.
    ``earlier_node_keys``: the node keys before ``node_public_key``, oldest first: the walk
    starts with the oldest and follows the log's ``Authority.NodeKeyChanged`` records, which
    must lead to ``node_public_key``; each checkpoint is checked with the node key of its time.
    ``since``: a checkpoint verified before (``verify --since``): the records it covers are taken with
    their envelope hashes from ``sealed`` unparsed (``RecordWalk.add_vouched``; without ``sealed``:
    parsed, their signatures not verified again); it is checked as ``witnessed`` is, so the leaves
    taken must rebuild its root; and the latest checkpoint must be consistent with it (RFC 9162 section
    2.1.4, by a proof over the log as stored). Precondition: the caller has checked that the stored
    rows of those records are the ones verified then.

    Never raises for what it finds in the data: every finding is a ``Problem``.
    """
    raw = node_public_key if isinstance(node_public_key, bytes) else public_bytes(node_public_key)
    walk = RecordWalk(earlier_node_keys[0] if earlier_node_keys else raw, policy, revocations=revocations)
    stored = _as_records(records)
    vouched = 0
    if since is not None:
        hashes = _leaves_vouched(sealed, since.size)
        if hashes is None:  # no leaf index to take them from: parsed, their signatures not verified again
            vouched = since.size
        else:
            for record, envelope_hash in zip(islice(stored, since.size), hashes):
                walk.add_vouched(record, envelope_hash)
    for record, summary in examined(stored, walk.candidate_keys, executor, vouched):
        walk.add(record, summary)
    handed_over = _handed_over(walk, raw)
    checked = CheckpointCheck(walk, walk.signers.node_keys(), origin)
    checked.run(list(checkpoints))
    checked.check_witnessed([*witnessed, *([("the verified mark", since)] if since is not None else [])])
    if since is not None:
        checked.check_consistent_with(since)
    if sealed is not None:
        leaves = sorted((SealedLeaf(*leaf) for leaf in sealed), key=lambda leaf: leaf.index)
        if checked.index_rebuilds_checkpoints(leaves) and checked.disagrees:
            checked.name_records(leaves)
    latest = checked.latest_size
    return AuditReport(
        events_checked=len(walk.leaves),
        streams_checked=len(walk.heads),
        checkpoint_size=latest,
        checkpoints_checked=checked.count,
        unsealed=max(0, len(walk.leaves) - latest),
        problems=tuple(walk.problems + handed_over + checked.problems),
        flagged=tuple(walk.flagged),
    )


def _leaves_vouched(sealed: Sequence[SealedLeaf | tuple[object, ...]] | None, size: int) -> list[bytes] | None:
    """The envelope hashes of leaves 0..size-1 of the leaf index, or None when it lacks any of them."""
    if sealed is None:
        return None
    by_index = {leaf.index: leaf.envelope_hash for leaf in (SealedLeaf(*item) for item in sealed)
                if isinstance(leaf.index, int) and leaf.index < size}
    if len(by_index) != size:
        return None
    return [by_index[index] for index in range(size)]


def _as_records(records: Iterable[LogRecord | tuple[object, ...]]) -> Iterator[LogRecord]:
    for item in records:
        yield item if isinstance(item, LogRecord) else LogRecord(*item)  # type: ignore[arg-type]


def _handed_over(walk: RecordWalk, node_key: bytes) -> list[Problem]:
    """A problem when the log's node key changes do not lead to ``node_key``, the one the caller holds."""
    if walk.signers.node_key == node_key:
        return []
    return [Problem(None, None, None, ProblemKind.CERTIFICATE,
                    f"the node key is {key_id(node_key)}, but the log's node key changes (Authority.NodeKeyChanged) "
                    f"lead to {walk.signers.node_key_id}: a node key change is missing from the log, or the node "
                    "key file is not this log's (docs/keys.md)")]
