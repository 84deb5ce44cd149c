"""Offline audit of a node's log: every record by the acceptance rule, the chains, the checkpoints.

``audit_log`` is pure over the stored bytes: no database, no private key, no
clock; only the records in log order, the checkpoints, the node's public key
and the caller's ``Policy``. It runs ``ledger.acceptance`` on each record, checks
that every stream's versions run 1..n, and checks the log against its signed
checkpoints (``ledger.audit_checkpoints``). docs/verification.md tells the whole
protocol; every finding is a ``Problem`` naming the stream, version and position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from itertools import islice
from typing import NamedTuple

from ledger.acceptance import CertifiedKey, Policy
from ledger.audit_checkpoints import CheckpointCheck
from ledger.audit_chunks import Summary, Unreadable
from ledger.audit_records import CHUNK_SIZE, RecordWalk, examined
from ledger.audit_report import AuditReport, LogRecord, Problem, ProblemKind, SealedLeaf
from ledger.checkpoint import Checkpoint
from ledger.keys import Ed25519PublicKey, key_id, public_bytes

__all__ = ["AuditReport", "LogRecord", "Problem", "ProblemKind", "Resumed", "SealedLeaf", "audit_log"]

POOL_THRESHOLD = 4000
"""Logs at least this long are worth verifying on worker processes (a caller's choice)."""


class Resumed(NamedTuple):
    """Where an audit resumes instead of starting from the first record (``verify --since``).

    ``checkpoint``: one a verify passed before; ``frontier``: the Merkle frontier of the log at its size
    (``MerkleTree.frontier``); ``position``: the log position of the last record it covers;
    ``register``: the records before it that hold the register (``Authority.*``), in log order;
    ``heads(streams)``: for each of ``streams`` that has records before it, (version, stored bytes) of
    its last one (a read by stream, not of the whole log).
    """

    checkpoint: Checkpoint
    frontier: Sequence[bytes]
    position: int
    register: Iterable[LogRecord | tuple[object, ...]]
    heads: Callable[[Sequence[str]], Mapping[str, tuple[int, bytes | None]]]


LeafSource = Sequence[SealedLeaf | tuple[object, ...]] | Callable[[], Iterable[SealedLeaf]]
"""The sealer's leaf index: whole, in any order; or a callable that reads it afresh, in leaf index order."""

HashPages = Callable[[], Iterable[tuple[int, int, Sequence[bytes]]]]
"""The sealer's leaf index read afresh as pages in leaf index order: (first leaf index, last leaf index, the envelope
hashes of the page's leaves in leaf index order)."""


def audit_log(
    records: Iterable[LogRecord | tuple[object, ...]],
    checkpoints: Iterable[Checkpoint],
    node_public_key: Ed25519PublicKey | bytes,
    *,
    policy: Policy,
    origin: str | None = None,
    sealed: LeafSource | None = None,
    sealed_hashes: HashPages | None = None,
    executor: Executor | None = None,
    witnessed: Sequence[tuple[str, Checkpoint]] = (),
    revocations: dict[str, CertifiedKey] | None = None,
    earlier_node_keys: Sequence[bytes] = (),
    since: Resumed | None = None,
) -> AuditReport:
    """Audit a log; see the module docstring for what is checked.

    ``records`` are in log order, as ``LogRecord`` or tuples ``(position,
    envelope bytes[, row stream, row version, row topic])``. ``policy`` decides
    which authority kind may record which type. ``origin``, when given, is the
    state every checkpoint must name. ``sealed`` is the sealer's leaf index:
    checked against the checkpoints, then used to name the records when the
    log disagrees with them (a callable is called once, and once more only then). ``sealed_hashes``: the same
    index as hash pages, from the same start, compared with the log's leaves first when given (read without a
    ``SealedLeaf`` per row); ``sealed`` is then read only when they differ.
    ``executor``: where chunks of records are parsed
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

    ``since``: resume after a checkpoint verified before (``verify --since``): ``records`` and ``sealed``
    are then those from log index ``since.checkpoint.size`` on. The tree restarts from ``since.frontier``,
    which must rebuild the checkpoint's root (checked as ``witnessed`` is, with the table's checkpoint
    of that size); the walk first learns ``since.register``, and the first record of each stream links
    to its last record before the checkpoint (``since.heads``). Checkpoints and ``witnessed`` of smaller
    sizes are left out: the verify that passed the checkpoint checked them. Requires ``since.frontier``
    to hold one hash per set bit of the size (``ValueError`` otherwise).

    Never raises for what it finds in the data: every finding is a ``Problem``.
    """
    raw = node_public_key if isinstance(node_public_key, bytes) else public_bytes(node_public_key)
    start = since.checkpoint.size if since is not None else 0
    walk = RecordWalk(earlier_node_keys[0] if earlier_node_keys else raw, policy, revocations=revocations,
                      start=start, frontier=since.frontier if since is not None else ())
    stored = examined(_as_records(records), walk.candidate_keys, executor)
    if since is None:
        for record, summary in stored:
            walk.add(record, summary)
    else:
        for record in _as_records(since.register):
            walk.learn_earlier(record)
        for batch in _batches(stored):
            unknown = walk.streams_unknown(batch)
            if unknown:
                walk.adopt_heads(since.heads(unknown))
            for record, summary in batch:
                walk.add(record, summary)
    handed_over = _handed_over(walk, raw)
    checked = CheckpointCheck(walk, walk.signers.node_keys(), origin)
    checked.run([c for c in checkpoints if c.size >= start])
    checked.check_witnessed([*((who, c) for who, c in witnessed if c.size >= start),
                             *([("the verified mark", since.checkpoint)] if since is not None else [])])
    if since is not None:
        checked.check_consistent_with(since.checkpoint)
    if sealed is not None:
        leaves = _leaf_source(sealed, start)
        if checked.index_rebuilds_checkpoints(leaves, sealed_hashes) and checked.disagrees:
            checked.name_records(list(leaves()))
    latest = checked.latest_size
    return AuditReport(
        events_checked=walk.leaves.size,
        streams_checked=len(walk.heads),
        checkpoint_size=latest,
        checkpoints_checked=checked.count,
        unsealed=max(0, walk.leaves.size - latest),
        problems=tuple(walk.problems + handed_over + checked.problems),
        flagged=tuple(walk.flagged),
        frontier=tuple(walk.tree.frontier(latest)) if 0 < latest and start <= latest <= len(walk.tree) else (),
        covered_position=_covered_position(walk, latest, since),
    )


def _covered_position(walk: RecordWalk, size: int, since: Resumed | None) -> int | None:
    """The log position of the record at log index ``size - 1``, when the walk holds it."""
    if since is not None and size == since.checkpoint.size:
        return since.position
    leaves = walk.leaves
    return leaves.position(size - 1) if leaves.base < size <= leaves.size else None


def _batches(pairs: Iterator[tuple[LogRecord, Summary | Unreadable]]
             ) -> Iterator[list[tuple[LogRecord, Summary | Unreadable]]]:
    while batch := list(islice(pairs, CHUNK_SIZE)):
        yield batch


def _leaf_source(sealed: LeafSource, start: int) -> Callable[[], Iterable[SealedLeaf]]:
    """``sealed`` as a callable that reads the leaves from ``start`` on in leaf index order."""
    if callable(sealed):
        return sealed
    leaves = sorted((SealedLeaf(*leaf) for leaf in sealed), key=lambda leaf: leaf.index)
    return lambda: [leaf for leaf in leaves if leaf.index >= start]


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
