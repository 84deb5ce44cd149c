"""The origin's signature over a consistency proof it sends with a checkpoint.

A partner raises a fork alarm only on evidence the origin signed. The checkpoint is
signed already; the consistency proof that links it to an older one is signed too,
over the canonical msgpack of::

    {format, checkpoint (its bytes as signed), previous_size, consistency (the hashes)}

``format`` is the constant ``PROOF_FORMAT``: it separates this statement from every
other thing a node key signs (envelopes sign a bare 32-byte hash, checkpoints a map
whose format is ``CHECKPOINT_FORMAT``, cosignatures the SHA-256 of checkpoint bytes),
so none can be passed off as another. A proof that fails under a valid signature is
the origin's own statement of two histories (RFC 9162 section 2.1.4).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ledger.encoding import canonical_encode
from ledger.errors import SignatureError
from ledger.keys import Ed25519PrivateKey, Ed25519PublicKey, sign, verify_signature

PROOF_FORMAT = "armsledger-consistency-proof/1"
"""Version tag inside every signed consistency-proof statement."""


def proof_statement(checkpoint: bytes, previous_size: int, consistency: Sequence[bytes]) -> bytes:
    """The bytes the origin signs for the proof from ``previous_size`` to ``checkpoint``.

    Requires ``previous_size >= 0`` and ``consistency`` a sequence of bytes (not checked here:
    the statement only names them; ``verify_consistency`` judges them).
    """
    return canonical_encode({"format": PROOF_FORMAT, "checkpoint": bytes(checkpoint),
                             "previous_size": previous_size, "consistency": [bytes(h) for h in consistency]})


def sign_proof(key: Ed25519PrivateKey, checkpoint: bytes, previous_size: int,
               consistency: Sequence[bytes]) -> bytes:
    """The origin node key's Ed25519 signature (64 bytes) over ``proof_statement``."""
    return sign(key, proof_statement(checkpoint, previous_size, consistency))


def verify_proof_signature(public_key: Ed25519PublicKey, sig: bytes, checkpoint: bytes, previous_size: int,
                           consistency: Sequence[bytes]) -> Literal[True]:
    """Return True, or raise ``SignatureError`` when ``sig`` is not ``public_key``'s signature
    over ``proof_statement`` (an empty ``sig``: the proof is unsigned)."""
    if not sig:
        raise SignatureError("the consistency proof is not signed")
    verify_signature(public_key, sig, proof_statement(checkpoint, previous_size, consistency))
    return True
