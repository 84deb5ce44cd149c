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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.audit import LogRecord
from ledger.checkpoint import Checkpoint, signing_key, verify_checkpoint
from ledger.encoding import canonical_decode, canonical_encode, check_map
from ledger.errors import CheckpointError, LedgerError, SignatureError
from ledger.keys import Ed25519PrivateKey, key_id, public_key_from_bytes, sign, verify_signature
from nodes.registry.home_file import read_mark, replace_mark

MARK_FILE = "verified.checkpoint"
PURPOSE = "armsledger verified checkpoint v1"
"""Signed with the fields, so that no other signature of the node key reads as a mark."""

_FIELDS = {"purpose": str, "checkpoint": bytes, "rows_digest": bytes, "verified_at": int, "signer": str,
           "sig": bytes}


class RowsDigest:
    """SHA-256 over the first stored rows of the log, in log order: each row's stream, version, topic and
    envelope bytes, each prefixed by its length; taken at each of ``sizes`` (numbers of rows).

    The leaf hashes of the Merkle tree cover what a record signs, not its signature nor the row's columns:
    this digest covers every stored byte the audit reads, so a row altered in any way after the mark was
    recorded shows.
    """

    def __init__(self, *sizes: int):
        self.sizes, self.count = frozenset(sizes), 0
        self._last = max(sizes, default=0)
        self._hash = hashlib.sha256()
        self._taken: dict[int, bytes] = {0: self._hash.digest()} if 0 in self.sizes else {}

    def add(self, record: LogRecord) -> None:
        """Take the next stored row (until the largest size is reached)."""
        if self.count >= self._last:
            return
        envelope = record.envelope
        data = bytes(envelope) if isinstance(envelope, (bytes, bytearray)) else b""
        # Each text field and the envelope prefixed by its length: no two different rows pack alike.
        stream, topic = str(record.stream), str(record.topic)
        head = (f"{len(stream)}:{stream}{record.version!r};{len(topic)}:{topic}"
                f"{len(data) if envelope is not None else -1}:")
        self._hash.update(head.encode("utf-8", "surrogatepass") + data)
        self.count += 1
        if self.count in self.sizes:
            self._taken[self.count] = self._hash.copy().digest()

    def digest(self, size: int) -> bytes | None:
        """The digest of the first ``size`` rows (one of ``sizes``), or None when the log held fewer."""
        return self._taken.get(size)


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
        data = read_mark(self.path, "the verified mark")
        if data is None:
            return None
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
        replace_mark(self.path, canonical_encode(value))


def _signed(value: dict[str, object]) -> bytes:
    return canonical_encode({name: value[name] for name in _FIELDS if name != "sig"})
