"""The origin's signature over a consistency proof: it verifies for exactly the statement signed,
with the origin's key only, and is told apart from the other things a node key signs."""

from __future__ import annotations

import hashlib

import pytest

from ledger.checkpoint import sign_checkpoint
from ledger.errors import SignatureError
from ledger.keys import generate_key, sign
from ledger.signed_proof import PROOF_FORMAT, proof_statement, sign_proof, verify_proof_signature

KEY = generate_key()
CHECKPOINT = sign_checkpoint(KEY, "BE", 7, bytes(range(32)), 1_700_000_000_000_000).to_bytes()
PROOF = (b"\x01" * 32, b"\x02" * 32)


def test_a_signed_proof_verifies_with_the_origin_key():
    sig = sign_proof(KEY, CHECKPOINT, 3, PROOF)
    assert verify_proof_signature(KEY.public_key(), sig, CHECKPOINT, 3, list(PROOF)) is True


@pytest.mark.parametrize(("checkpoint", "previous_size", "proof"), [
    (CHECKPOINT + b"x", 3, PROOF),            # another checkpoint
    (CHECKPOINT, 4, PROOF),                   # another starting size
    (CHECKPOINT, 3, PROOF[::-1]),             # hashes reordered
    (CHECKPOINT, 3, PROOF[:1]),               # a hash dropped
    (CHECKPOINT, 3, (*PROOF, b"\x03" * 32)),  # a hash added
], ids=["checkpoint", "previous_size", "reordered", "shorter", "longer"])
def test_any_change_to_the_statement_fails(checkpoint, previous_size, proof):
    sig = sign_proof(KEY, CHECKPOINT, 3, PROOF)
    with pytest.raises(SignatureError):
        verify_proof_signature(KEY.public_key(), sig, checkpoint, previous_size, proof)


def test_unsigned_foreign_and_cross_purpose_signatures_fail():
    with pytest.raises(SignatureError, match="not signed"):
        verify_proof_signature(KEY.public_key(), b"", CHECKPOINT, 3, PROOF)
    with pytest.raises(SignatureError):
        verify_proof_signature(KEY.public_key(), sign_proof(generate_key(), CHECKPOINT, 3, PROOF), CHECKPOINT, 3, PROOF)
    # A cosignature by the same key (over SHA-256 of the checkpoint) is no signature of a proof.
    cosignature = sign(KEY, hashlib.sha256(CHECKPOINT).digest())
    with pytest.raises(SignatureError):
        verify_proof_signature(KEY.public_key(), cosignature, CHECKPOINT, 0, ())


def test_the_statement_is_domain_separated_and_canonical():
    statement = proof_statement(CHECKPOINT, 3, PROOF)
    assert PROOF_FORMAT.encode() in statement and len(statement) > 32  # never a bare 32-byte envelope hash
    assert statement == proof_statement(bytearray(CHECKPOINT), 3, list(PROOF))
