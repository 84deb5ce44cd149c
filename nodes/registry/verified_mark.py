"""The verified mark: the newest checkpoint a ``verify`` passed, signed by the node key, kept in the home.

``verify --since`` starts from it instead of from the first record. The file
(``verified.checkpoint``) holds the checkpoint's own signed bytes, a SHA-256 digest of the stored
bytes of every record it covers (``RowsDigest``), the time of the verify, and the node key's
signature over all three. Editing the file breaks that signature; a database insider who alters
a covered row changes the digest; neither can sign a new mark without the node key.
docs/verification.md ("Verifying from a mark") tells the whole argument.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.checkpoint import Checkpoint, signing_key, verify_checkpoint
from ledger.encoding import canonical_decode, canonical_encode, check_map
from ledger.errors import CheckpointError, LedgerError, SignatureError
from ledger.keys import Ed25519PrivateKey, key_id, public_key_from_bytes, sign, verify_signature

MARK_FILE = "verified.checkpoint"
PURPOSE = "armsledger verified checkpoint v1"
"""Signed with the fields, so that no other signature of the node key reads as a mark."""

_FIELDS = {"purpose": str, "checkpoint": bytes, "rows_digest": bytes, "verified_at": int, "signer": str,
           "sig": bytes}


class RowsDigest:
    """SHA-256 over the stored envelope bytes of the first ``size`` records, each prefixed by its length.

    The leaf hashes of the Merkle tree cover what a record signs, not its signature: this digest covers
    every stored byte, so a row altered in any way after the mark was recorded shows.
    """

    def __init__(self, size: int):
        self.size, self.count = size, 0
        self._hash = hashlib.sha256()

    def add(self, envelope: bytes | None) -> None:
        """Take the next record's stored bytes (None: a row that holds none) while fewer than ``size`` are taken."""
        if self.count >= self.size:
            return
        data = envelope if isinstance(envelope, (bytes, bytearray)) else b""
        self._hash.update(len(data).to_bytes(8, "big") + (b"\x01" if envelope is not None else b"\x00") + data)
        self.count += 1

    def digest(self) -> bytes | None:
        """The digest, or None when the log held fewer than ``size`` records."""
        return self._hash.digest() if self.count == self.size else None


@dataclass(frozen=True)
class VerifiedMark:
    """What a passing verify recorded: ``checkpoint``, the digest of the rows it covers, when (microseconds)."""

    checkpoint: Checkpoint
    rows_digest: bytes
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

        Raises ``CheckpointError`` naming what is wrong when the file is unreadable, altered, signed by a key
        that is no node key of this node, or holds a checkpoint that is not this node's.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise CheckpointError(f"the verified mark {self.path} cannot be read: {e}") from e
        try:
            value = canonical_decode(data)
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
        return VerifiedMark(checkpoint, value["rows_digest"], value["verified_at"], value["signer"])

    def write(self, key: Ed25519PrivateKey, checkpoint: Checkpoint, rows_digest: bytes, verified_at: int) -> None:
        """Record ``checkpoint`` as verified, signed by the node ``key``; replaced atomically (a crash leaves the
        old mark or the new one)."""
        value = {"purpose": PURPOSE, "checkpoint": checkpoint.to_bytes(), "rows_digest": rows_digest,
                 "verified_at": verified_at, "signer": key_id(key)}
        value["sig"] = sign(key, _signed(value))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".new")
        with open(scratch, "wb") as out:
            out.write(canonical_encode(value))
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, self.path)


def _signed(value: dict[str, object]) -> bytes:
    return canonical_encode({name: value[name] for name in _FIELDS if name != "sig"})
