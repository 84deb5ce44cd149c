"""Signed checkpoints: a node's signed statement of its log's size and Merkle root.

A checkpoint commits to the first ``size`` records of the log of ``origin``
(the node's state): ``root`` is the RFC 9162 Merkle tree head (section 2.1.1)
over their leaves, where the leaf of a record is ``envelope_leaf(envelope.hash)``.
It is stored and sent as the canonical msgpack of
``{format, origin, size, root, timestamp, signer, sig}``.

Format ``armsledger-checkpoint/2`` (signed from now on): ``sig`` is the node key's
Ed25519 signature over the checkpoint's C2SP tlog-checkpoint note text
(``note_body``), so ``to_note`` prints the same checkpoint as a signed note that
any C2SP verifier checks. Format ``armsledger-checkpoint/1`` (older stores and
partners): ``sig`` covers the canonical msgpack of everything but ``sig``. Both
verify; docs/checkpoints.md describes them. Partners keep the checkpoints they
receive and demand a consistency proof (RFC 9162 section 2.1.4) for each newer one.

Pure: no I/O, no clock. The caller supplies ``timestamp``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ledger.encoding import canonical_decode, canonical_encode, check_map
from ledger.errors import CheckpointError, EncodingError, NoteError, SignatureError
from ledger.hashing import HASH_SIZE, leaf_hash
from ledger.keys import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    key_id,
    public_key_from_bytes,
    sign,
    verify_signature,
)
from ledger.note import ALG_ED25519, NoteSignature, Verifier, check_key_name, checkpoint_body, format_note, verifier

CHECKPOINT_FORMAT = "armsledger-checkpoint/2"
"""Version tag of the checkpoints signed now: the signature is a C2SP note signature."""
LEGACY_CHECKPOINT_FORMAT = "armsledger-checkpoint/1"
"""Version tag of the checkpoints signed before notes: the signature covers canonical msgpack."""
NOTE_ORIGIN_PREFIX = "armsledger/"
"""Before the origin (state) in a checkpoint note's origin line and in the node key's note name."""
TIMESTAMP_EXTENSION = "armsledger/timestamp-us"
"""Extension line of a checkpoint note carrying ``timestamp``: ``armsledger/timestamp-us <decimal>``."""

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
    format: str = CHECKPOINT_FORMAT

    def signed_bytes(self) -> bytes:
        """What the signature covers: the note text (format /2) or the canonical msgpack of all but ``sig`` (/1)."""
        if self.format == LEGACY_CHECKPOINT_FORMAT:
            return canonical_encode(self._unsigned())
        return self.note_body().encode()

    def note_body(self) -> str:
        """The C2SP tlog-checkpoint text: origin line ``armsledger/<origin>``, size, base64 root and the
        ``armsledger/timestamp-us`` extension line. ``CheckpointError`` if the fields cannot form one."""
        try:
            return checkpoint_body(note_origin(self.origin), self.size, self.root,
                                   (f"{TIMESTAMP_EXTENSION} {self.timestamp}",))
        except NoteError as e:
            raise CheckpointError(f"checkpoint: {e}") from None

    def to_note(self, public_key: Ed25519PublicKey, cosignatures: tuple[NoteSignature, ...] = ()) -> str:
        """This checkpoint as a C2SP signed note: the body, the node key's signature line, then ``cosignatures``.

        Requires format /2 (a /1 signature is not a note signature) and ``public_key`` the signer's
        (needed for the line's key hash); raises ``CheckpointError`` otherwise. Does not verify ``sig``.
        """
        if self.format != CHECKPOINT_FORMAT:
            raise CheckpointError(f"checkpoint of {self.origin} at size {self.size} is in format {self.format}, "
                                  "signed before checkpoints were notes: it has no note signature")
        if key_id(public_key) != self.signer:
            raise CheckpointError(f"checkpoint of {self.origin} at size {self.size} is signed by another key",
                                  expected=self.signer, calculated=key_id(public_key))
        own = checkpoint_verifier(self.origin, public_key)
        return format_note(self.note_body(), (NoteSignature(own.name, own.key_hash, self.sig), *cosignatures))

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
        if value["format"] not in (CHECKPOINT_FORMAT, LEGACY_CHECKPOINT_FORMAT):
            raise CheckpointError(
                f"checkpoint: field 'format' is {value['format']!r}, expected {CHECKPOINT_FORMAT!r} "
                f"or {LEGACY_CHECKPOINT_FORMAT!r}"
            )
        checkpoint = cls(**value)
        _check_fields(checkpoint)
        return checkpoint

    def _signed(self) -> dict[str, Any]:
        return {**self._unsigned(), "sig": self.sig}

    def _unsigned(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "origin": self.origin,
            "size": self.size,
            "root": self.root,
            "timestamp": self.timestamp,
            "signer": self.signer,
        }


def note_origin(origin: str) -> str:
    """The origin line of ``origin``'s checkpoint notes, also the note name of its node key: ``armsledger/<origin>``."""
    return NOTE_ORIGIN_PREFIX + origin


def checkpoint_verifier(origin: str, public_key: Ed25519PublicKey) -> Verifier:
    """The note verifier of ``origin``'s node key for its checkpoints (signature type 0x01).

    ``CheckpointError`` if ``origin`` cannot name a note key (spaces, '+', control characters).
    """
    try:
        return verifier(note_origin(origin), public_key, ALG_ED25519)
    except NoteError as e:
        raise CheckpointError(f"checkpoint origin {origin!r}: {e}") from None


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


def signing_key(checkpoint: Checkpoint, node_keys: Sequence[bytes]) -> Ed25519PublicKey:
    """The key among ``node_keys`` (raw, oldest first: an origin's node keys over its key changes) that
    ``checkpoint`` names as its signer; the newest when it names none of them, so ``verify_checkpoint``
    reports which key it names. Which node key was current when is ``ledger.audit``'s to check."""
    named = [raw for raw in node_keys if key_id(raw) == checkpoint.signer]
    return public_key_from_bytes(named[0] if named else node_keys[-1])


def _check_fields(checkpoint: Checkpoint, *, signed: bool = True) -> None:
    check_map(checkpoint._signed(), "checkpoint", _FIELD_TYPES, error=CheckpointError)
    if checkpoint.format not in (CHECKPOINT_FORMAT, LEGACY_CHECKPOINT_FORMAT):
        raise CheckpointError(f"checkpoint: field 'format' is {checkpoint.format!r}, expected {CHECKPOINT_FORMAT!r} "
                              f"or {LEGACY_CHECKPOINT_FORMAT!r}")
    if not checkpoint.origin:
        raise CheckpointError("checkpoint: field 'origin' must not be empty")
    if checkpoint.format == CHECKPOINT_FORMAT:
        try:
            check_key_name(note_origin(checkpoint.origin))
        except NoteError as e:
            raise CheckpointError(f"checkpoint: field 'origin': {e}") from None
    if checkpoint.size < 0:
        raise CheckpointError(f"checkpoint: field 'size' must be >= 0, got {checkpoint.size}")
    if len(checkpoint.root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint: field 'root' must be {HASH_SIZE} bytes, got {len(checkpoint.root)}")
    if signed and len(checkpoint.sig) != _SIGNATURE_SIZE:
        raise CheckpointError(
            f"checkpoint: field 'sig' must be {_SIGNATURE_SIZE} bytes, got {len(checkpoint.sig)}"
        )
