"""Signed checkpoints: a node's signed statement of its log's size and Merkle root.

A checkpoint commits to the first ``size`` records of the log of ``origin``
(the node's state): ``root`` is the RFC 9162 Merkle tree head (section 2.1.1)
over their leaves, where the leaf of a record is ``envelope_leaf(envelope.hash)``.
The node key signs the canonical msgpack of::

    {format, origin, size, root, timestamp, signer}

``format`` is the constant ``CHECKPOINT_FORMAT``: it separates checkpoint
signatures from every other thing the node key signs (envelopes sign a bare
32-byte hash), so neither can be passed off as the other. Partners keep the
checkpoints they receive and demand a consistency proof (RFC 9162 section
2.1.4) for each newer one (DESIGN.md, "The log").

Pure: no I/O, no clock. The caller supplies ``timestamp``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ledger.encoding import canonical_decode, canonical_encode, check_map
from ledger.errors import CheckpointError, EncodingError, SignatureError
from ledger.hashing import HASH_SIZE, leaf_hash
from ledger.keys import Ed25519PrivateKey, Ed25519PublicKey, key_id, sign, verify_signature

CHECKPOINT_FORMAT = "armsledger-checkpoint/1"
"""Version tag inside every signed checkpoint."""

_SIGNATURE_SIZE = 64
_FIELD_TYPES = {"format": str, "origin": str, "size": int, "root": bytes, "timestamp": int, "signer": str,
                "sig": bytes}


def envelope_leaf(envelope_hash: bytes) -> bytes:
    """The Merkle leaf hash of a record: ``leaf_hash(envelope.hash)`` (RFC 9162 section 2.1.1).

    The leaf data is the envelope's 32-byte hash, which excludes ``sig``: a
    checkpoint proves what was recorded; the signature proves who recorded it.
    Requires a 32-byte ``envelope_hash`` (not checked, for speed).
    """
    return leaf_hash(envelope_hash)


@dataclass(frozen=True)
class Checkpoint:
    """A signed (origin, size, root) of a log; ``timestamp`` in microseconds since the epoch, UTC.

    Build with ``sign_checkpoint`` or ``Checkpoint.from_bytes``; check with
    ``verify_checkpoint``.
    """

    origin: str
    size: int
    root: bytes
    timestamp: int
    signer: str
    sig: bytes = field(default=b"", repr=False)

    def signed_bytes(self) -> bytes:
        """Canonical bytes of everything but ``sig``: what the signature covers."""
        return canonical_encode(self._unsigned())

    def to_bytes(self) -> bytes:
        """Canonical msgpack of the whole checkpoint, ``sig`` included."""
        return canonical_encode(self._signed())

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        """Parse a stored or received checkpoint.

        Raises ``CheckpointError`` naming the field when ``data`` is not a
        canonical checkpoint of this format. Does not check the signature: see
        ``verify_checkpoint``.
        """
        try:
            value = canonical_decode(data)
        except EncodingError as e:
            raise CheckpointError(f"checkpoint: {e}") from e
        check_map(value, "checkpoint", _FIELD_TYPES, error=CheckpointError)
        if value["format"] != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"checkpoint: field 'format' is {value['format']!r}, expected {CHECKPOINT_FORMAT!r}"
            )
        del value["format"]
        checkpoint = cls(**value)
        _check_fields(checkpoint)
        return checkpoint

    def _signed(self) -> dict[str, Any]:
        return {**self._unsigned(), "sig": self.sig}

    def _unsigned(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "origin": self.origin,
            "size": self.size,
            "root": self.root,
            "timestamp": self.timestamp,
            "signer": self.signer,
        }


def sign_checkpoint(key: Ed25519PrivateKey, origin: str, size: int, root: bytes, timestamp: int) -> Checkpoint:
    """Sign a checkpoint of ``origin``'s log at ``size`` with ``root``, dated ``timestamp`` (microseconds).

    Requires ``size >= 0``, a 32-byte ``root`` (``EMPTY_ROOT`` for size 0) and
    a non-empty ``origin``; raises ``CheckpointError`` naming the field
    otherwise. ``signer`` is the key id of ``key``.
    """
    unsigned = Checkpoint(origin=origin, size=size, root=bytes(root), timestamp=timestamp, signer=key_id(key))
    _check_fields(unsigned, signed=False)
    return Checkpoint(
        origin=origin, size=size, root=bytes(root), timestamp=timestamp, signer=unsigned.signer,
        sig=sign(key, unsigned.signed_bytes()),
    )


def verify_checkpoint(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> Literal[True]:
    """Return True, or raise ``CheckpointError``.

    Checks the fields are well formed, that ``signer`` names ``public_key``
    and that ``sig`` is its Ed25519 signature over ``signed_bytes()``. The
    error carries ``expected`` and ``calculated`` key ids when the signer is
    another key.
    """
    _check_fields(checkpoint)
    expected_signer = key_id(public_key)
    if checkpoint.signer != expected_signer:
        raise CheckpointError(
            f"checkpoint of {checkpoint.origin} at size {checkpoint.size} is signed by another key",
            expected=expected_signer,
            calculated=checkpoint.signer,
        )
    try:
        verify_signature(public_key, checkpoint.sig, checkpoint.signed_bytes())
    except SignatureError as e:
        raise CheckpointError(
            f"checkpoint of {checkpoint.origin} at size {checkpoint.size}: signature does not verify "
            f"for key {expected_signer}"
        ) from e
    return True


def _check_fields(checkpoint: Checkpoint, *, signed: bool = True) -> None:
    check_map(checkpoint._signed(), "checkpoint", _FIELD_TYPES, error=CheckpointError)
    if not checkpoint.origin:
        raise CheckpointError("checkpoint: field 'origin' must not be empty")
    if checkpoint.size < 0:
        raise CheckpointError(f"checkpoint: field 'size' must be >= 0, got {checkpoint.size}")
    if len(checkpoint.root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint: field 'root' must be {HASH_SIZE} bytes, got {len(checkpoint.root)}")
    if signed and len(checkpoint.sig) != _SIGNATURE_SIZE:
        raise CheckpointError(
            f"checkpoint: field 'sig' must be {_SIGNATURE_SIZE} bytes, got {len(checkpoint.sig)}"
        )
