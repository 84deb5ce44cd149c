"""The verified mark: the newest checkpoint a ``verify`` passed, signed by the node key, kept in the home.

``verify --since`` starts from it instead of from the first record. The file
(``verified.checkpoint``) holds the checkpoint's own signed bytes, the Merkle frontier of the log at
its size (``MerkleTree.frontier``: the roots of its complete subtrees, which must rebuild its root),
the log position of the last record it covers, the time of the verify, and the node key's signature
over all of them. Editing the file breaks that signature; nobody can sign a new mark without the node
key. docs/verification.md ("Verifying from a mark") tells the whole argument, and what a verify from
a mark no longer checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.checkpoint import Checkpoint, signing_key, verify_checkpoint
from ledger.encoding import canonical_decode, canonical_encode, check_map
from ledger.errors import CheckpointError, LedgerError, SignatureError
from ledger.keys import Ed25519PrivateKey, key_id, public_key_from_bytes, sign, verify_signature
from ledger.merkle import MerkleTree
from nodes.registry.home_file import read_mark, replace_mark

MARK_FILE = "verified.checkpoint"
PURPOSE = "armsledger verified checkpoint v2"
"""Signed with the fields, so that no other signature of the node key reads as a mark."""
OLDER_PURPOSES = frozenset({"armsledger verified checkpoint v1"})
"""Marks of older versions (v1: a digest of the rows before the mark, no frontier): read as made by them."""

_FIELDS = {"purpose": str, "checkpoint": bytes, "frontier": tuple, "position": int, "verified_at": int,
           "signer": str, "sig": bytes}


@dataclass(frozen=True)
class VerifiedMark:
    """What a passing verify recorded: ``checkpoint``, the ``frontier`` of the log at its size (rebuilds its
    root), the log ``position`` of the last record it covers, when (``verified_at``, microseconds), by which
    node key (``signer``)."""

    checkpoint: Checkpoint
    frontier: tuple[bytes, ...]
    position: int
    verified_at: int
    signer: str

    @property
    def size(self) -> int:
        return self.checkpoint.size


class VerifiedMarkFile:
    """The mark file of the node whose home is ``home``; checked against ``node_keys`` (raw, oldest first:
    a mark signed before a ``key rotate --node`` still reads)."""

    def __init__(self, home: Path, node_keys: Sequence[bytes], origin: str):
        self.path = Path(home) / MARK_FILE
        self.node_keys = tuple(node_keys)
        self.origin = origin

    def read(self) -> VerifiedMark | None:
        """The mark, or None when no verify ever recorded one.

        Raises ``CheckpointError`` naming what is wrong when the file is unreadable, altered, made by an older
        version, signed by a key that is no node key of this node, holds a checkpoint that is not this node's,
        or a frontier that does not rebuild its checkpoint's root.
        """
        data = read_mark(self.path, "the verified mark")
        if data is None:
            return None
        try:
            value = canonical_decode(data)
        except LedgerError as e:
            raise CheckpointError(f"the verified mark {self.path} is not a mark signed by this node: {e}") from e
        if isinstance(value, dict) and value.get("purpose") in OLDER_PURPOSES:
            raise CheckpointError(f"the verified mark {self.path} was made by an older version of armsledger "
                                  "(it holds no Merkle frontier to resume from)")
        try:
            check_map(value, "verified mark", _FIELDS, error=CheckpointError)
            if value["purpose"] != PURPOSE:
                raise CheckpointError(f"field 'purpose' is {value['purpose']!r}, not {PURPOSE!r}")
            keys = {key_id(raw): raw for raw in self.node_keys}
            raw = keys.get(value["signer"])
            if raw is None:
                raise CheckpointError(f"signed by key {value['signer']!r}, which is no node key of this node "
                                      f"({', '.join(keys)})")
            verify_signature(public_key_from_bytes(raw), value["sig"], _signed(value))
            checkpoint = Checkpoint.from_bytes(value["checkpoint"])
            verify_checkpoint(checkpoint, signing_key(checkpoint, self.node_keys))
        except SignatureError as e:
            raise CheckpointError(f"the verified mark {self.path} was altered: {e}") from e
        except LedgerError as e:
            raise CheckpointError(f"the verified mark {self.path} is not a mark signed by this node: {e}") from e
        if checkpoint.origin != self.origin:
            raise CheckpointError(f"the verified mark {self.path} names a checkpoint of {checkpoint.origin!r}, "
                                  f"not of {self.origin!r}")
        frontier = tuple(value["frontier"])
        if not _rebuilds(checkpoint, frontier):
            raise CheckpointError(f"the verified mark {self.path} holds a Merkle frontier that does not rebuild the "
                                  f"root of its checkpoint of size {checkpoint.size}")
        return VerifiedMark(checkpoint, frontier, value["position"], value["verified_at"], value["signer"])

    def write(self, key: Ed25519PrivateKey, checkpoint: Checkpoint, frontier: Sequence[bytes], position: int,
              verified_at: int) -> None:
        """Record ``checkpoint`` as verified, with the log's ``frontier`` at its size and the ``position`` of the
        last record it covers, signed by the node ``key``; replaced atomically (a crash leaves the old mark or
        the new one). Raises ``ValueError`` when ``frontier`` does not rebuild the checkpoint's root."""
        if not _rebuilds(checkpoint, tuple(frontier)):
            raise ValueError(f"the frontier does not rebuild the root of the checkpoint of size {checkpoint.size}")
        value = {"purpose": PURPOSE, "checkpoint": checkpoint.to_bytes(), "frontier": list(frontier),
                 "position": position, "verified_at": verified_at, "signer": key_id(key)}
        value["sig"] = sign(key, _signed(value))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_mark(self.path, canonical_encode(value))


def _rebuilds(checkpoint: Checkpoint, frontier: tuple[bytes, ...]) -> bool:
    if not all(isinstance(node, bytes) for node in frontier):
        return False
    try:
        return MerkleTree.resume(checkpoint.size, frontier).root() == checkpoint.root
    except ValueError:  # not one 32-byte hash per set bit of the size
        return False


def _signed(value: dict[str, object]) -> bytes:
    return canonical_encode({name: value[name] for name in _FIELDS if name != "sig"})
