"""Witness cosignatures of checkpoints: C2SP tlog-cosignature/v1, and the older form still stored.

A partner that verified one of our checkpoints cosigns it as a witness. Now: a
cosignature/v1 (``timestamped_signature``, 72 bytes) over the checkpoint's note text
(``Checkpoint.note_body``), printable as a signature line of the checkpoint note.
Before: an Ed25519 signature (64 bytes) over SHA-256 of the checkpoint's stored bytes.
The length tells them apart. docs/checkpoints.md.
"""

from __future__ import annotations

import hashlib

from ledger.checkpoint import Checkpoint, note_origin
from ledger.errors import CheckpointError, NoteError, SignatureError
from ledger.keys import Ed25519PrivateKey, Ed25519PublicKey, verify_signature
from ledger.note import ALG_COSIGNATURE_V1, NoteSignature, Verifier, cosign, verifier, verify_cosignature

LEGACY_COSIGNATURE_SIZE = 64
"""Bytes of a cosignature of the older form (Ed25519 over SHA-256 of the checkpoint bytes)."""


def cosign_checkpoint(key: Ed25519PrivateKey, checkpoint: Checkpoint, timestamp: int) -> bytes:
    """The witness ``key``'s cosignature/v1 of ``checkpoint`` at ``timestamp`` (POSIX seconds): 72 bytes.

    Requires a well-formed checkpoint (any format: the note text is computed from its fields).
    """
    try:
        return cosign(key, checkpoint.note_body(), timestamp)
    except NoteError as e:
        raise CheckpointError(f"cannot cosign the checkpoint of {checkpoint.origin} at size {checkpoint.size}: {e}"
                              ) from None


def verify_checkpoint_cosignature(public_key: Ed25519PublicKey, checkpoint: Checkpoint, sig: bytes) -> int | None:
    """Return the cosignature's time (POSIX seconds; None for the older form, which has none), or raise
    ``CheckpointError``: ``sig`` must be ``public_key``'s cosignature of ``checkpoint`` in either form."""
    what = f"cosignature of the checkpoint of {checkpoint.origin} at size {checkpoint.size}"
    if len(sig) == LEGACY_COSIGNATURE_SIZE:
        try:
            verify_signature(public_key, sig, hashlib.sha256(checkpoint.to_bytes()).digest())
        except SignatureError as e:
            raise CheckpointError(f"{what} does not verify: {e}") from None
        return None
    try:
        return verify_cosignature(public_key, checkpoint.note_body(), sig)
    except NoteError as e:
        raise CheckpointError(f"{what}: {e}") from None


def witness_verifier(witness: str, public_key: Ed25519PublicKey) -> Verifier:
    """The note verifier of state ``witness``'s node key as a cosigner (signature type 0x04, name
    ``armsledger/<witness>``); ``CheckpointError`` if ``witness`` cannot name a note key."""
    try:
        return verifier(note_origin(witness), public_key, ALG_COSIGNATURE_V1)
    except NoteError as e:
        raise CheckpointError(f"witness {witness!r}: {e}") from None


def cosignature_line(witness: str, public_key: Ed25519PublicKey, sig: bytes) -> NoteSignature:
    """The signature line of ``witness``'s cosignature/v1 ``sig`` (to append to the checkpoint's note).

    Requires a 72-byte cosignature/v1; the older form has no line (``CheckpointError``).
    """
    if len(sig) == LEGACY_COSIGNATURE_SIZE:
        raise CheckpointError(f"{witness}'s cosignature is of the older form: it has no note signature line")
    key = witness_verifier(witness, public_key)
    return NoteSignature(key.name, key.key_hash, bytes(sig))
