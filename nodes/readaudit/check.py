"""Offline check of the read audit: the chain of entries and the node-signed checkpoints over them.

``check_read_audit`` is pure over what is stored: entries in ``seq`` order, checkpoint rows, the
node's public key and the log's origin. Every finding is a ``ledger.audit.Problem`` naming the
entry (its ``seq``): a deleted, edited, reordered or inserted entry; a sealed tail cut off; a
checkpoint that is not the node's. docs/read-audit.md tells what each one means.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future

from ledger.audit import Problem, ProblemKind
from ledger.checkpoint import Checkpoint, signing_key, verify_checkpoint
from ledger.errors import CheckpointError
from ledger.hashing import leaf_hash
from ledger.merkle import MerkleTree
from nodes.readaudit.entry import GENESIS_PREV, ReadEntry, rehashed

NodeKeys = bytes | tuple[bytes, ...]
"""The node key (raw), or every node key the node has had, oldest first (``NodeIdentity.node_keys``)."""

WHERE = "read audit"

_AHEAD = 8
"""Chunks of checkpoints handed to the executor ahead of the one being read."""


def read_audit_origin(state: str) -> str:
    """The ``origin`` of the read audit's checkpoints: never the node's log's own (``state``), so a
    checkpoint of one log cannot be passed off as one of the other."""
    return f"{state}/read-audit"


def check_read_audit(entries: Iterable[ReadEntry], checkpoint_chunks: Iterable[Sequence[tuple[int, bytes]]],
                     node_public_key: NodeKeys, origin: str, *, executor: Executor | None = None) -> list[Problem]:
    """Every problem of the stored read audit (empty: intact).

    ``entries`` in ``seq`` order; ``checkpoint_chunks``: the checkpoint rows ``(size, bytes)`` by size,
    in chunks; ``executor``: where the chunks' signatures are verified (None: here; the caller owns
    it). Never raises for what it finds in the data.
    """
    tree = MerkleTree()
    problems, last_seq = _chain(entries, origin, tree)
    roots = _signed_roots(checkpoint_chunks, node_public_key, origin, executor)
    return problems + list(_seals(roots, tree, last_seq))


def _chain(entries: Iterable[ReadEntry], origin: str, tree: MerkleTree) -> tuple[list[Problem], int]:
    """Each entry against its own hash, its predecessor and its place; appends each entry's leaf to
    ``tree``. Returns the problems and the last entry's ``seq``."""
    problems = []
    expected_seq, prev = 1, GENESIS_PREV
    for entry in entries:
        if entry.seq != expected_seq:  # entries come in seq order: a larger one means some are gone
            problems.append(_problem(ProblemKind.DELETED, f"{_span(expected_seq, entry.seq - 1)} missing: "
                                     f"entry {entry.seq} comes next"))
        digest = rehashed(origin, entry)
        if digest != entry.hash:
            problems.append(_problem(ProblemKind.ALTERED, f"entry {entry.seq}'s fields do not give its stored "
                                     "hash: the entry was edited"))
        if entry.prev != prev:
            problems.append(_problem(ProblemKind.CHAIN, f"entry {entry.seq} does not link to the entry before "
                                     "it (prev hash differs): an entry before it was deleted, edited, inserted "
                                     "or moved"))
        # The leaf is the hash the fields give, so an edit that kept the stored hash changes the roots.
        tree.append(leaf_hash(digest))
        expected_seq, prev = entry.seq + 1, entry.hash
    return problems, expected_seq - 1


def signed_roots(rows: Sequence[tuple[int, bytes]], node_public_key: NodeKeys,
                 origin: str) -> list[tuple[int, bytes | None, str]]:
    """For each checkpoint row ``(size, bytes)``: ``(size, root, "")`` when the bytes are a checkpoint the
    node key signed for ``origin`` at that size, else ``(size, None, reason)``. Pure (it runs on workers)."""
    keys = (node_public_key,) if isinstance(node_public_key, bytes) else node_public_key
    found: list[tuple[int, bytes | None, str]] = []
    for size, data in rows:
        try:
            checkpoint = Checkpoint.from_bytes(data)
            verify_checkpoint(checkpoint, signing_key(checkpoint, keys))
        except CheckpointError as e:
            found.append((size, None, f"checkpoint row of size {size} is not one the node signed: {e}"))
            continue
        if checkpoint.origin != origin or checkpoint.size != size:
            found.append((size, None, f"checkpoint row of size {size} holds a checkpoint of {checkpoint.origin!r} "
                                      f"at size {checkpoint.size}, not of {origin!r} at size {size}"))
        else:
            found.append((size, checkpoint.root, ""))
    return found


def _signed_roots(chunks: Iterable[Sequence[tuple[int, bytes]]], node_public_key: NodeKeys, origin: str,
                  executor: Executor | None) -> Iterator[tuple[int, bytes | None, str]]:
    """``signed_roots`` of each chunk, in order; on ``executor`` with a few chunks ahead (bounded memory)."""
    if executor is None:
        for chunk in chunks:
            yield from signed_roots(chunk, node_public_key, origin)
        return
    pending: deque[Future[list[tuple[int, bytes | None, str]]]] = deque()
    for chunk in chunks:
        pending.append(executor.submit(signed_roots, chunk, node_public_key, origin))
        if len(pending) > _AHEAD:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def _seals(roots: Iterable[tuple[int, bytes | None, str]], tree: MerkleTree, last_seq: int) -> Iterator[Problem]:
    """Each checkpoint: the node's signature, its origin, and its root over the entries as stored.

    Only the first checkpoint the entries disagree with, and the largest one beyond them, are
    reported: every later one follows from the same damage.
    """
    agreed = 0  # the largest checkpointed size whose root the stored entries give
    unlike: list[int] = []  # sizes whose root the stored entries do not give
    beyond = 0  # the largest checkpointed size past the stored entries
    for size, root, reason in roots:
        if root is None:
            yield _problem(ProblemKind.CHECKPOINT, reason)
        elif size > last_seq:
            beyond = size
        elif size > len(tree) or tree.root(size) != root:
            unlike.append(size)
        elif not unlike:
            agreed = size
    if unlike:
        first = unlike[0]
        suspects = f"entry {first}" if agreed == first - 1 else f"one of {_span(agreed + 1, first)}"
        later = f" ({len(unlike) - 1} later checkpoints disagree too)" if len(unlike) > 1 else ""
        yield _problem(ProblemKind.ROOT, f"the entries up to {first} do not give the root the node signed at "
                       f"that size: {suspects} was edited, inserted, moved or deleted after it was sealed{later}")
    if beyond:
        yield _problem(ProblemKind.DELETED, f"{_span(last_seq + 1, beyond)} sealed by the checkpoint at size "
                       f"{beyond} missing: the sealed tail was cut off")


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


def _problem(kind: ProblemKind, reason: str) -> Problem:
    # The reason names the entry; ``position`` is a place in the node's log, not in this one.
    return Problem(WHERE, None, None, kind, reason)
