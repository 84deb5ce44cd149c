"""``ledger.sealed_box``: encryption to an X25519 public key (ephemeral X25519, HKDF-SHA256, AES-256-GCM).

No third-party vectors exist for this composition (the primitives are ``cryptography``'s, tested there):
the table checks what must open and what must not, a reference decryption spelled out step by step
checks the layout, and hypothesis checks the round trip for any plaintext and context.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, strategies as st

from ledger.errors import VerificationError
from ledger.sealed_box import PUBLIC_KEY_BYTES, new_box_key, open_box, public_key_of, seal

KEY = new_box_key()
OTHER = new_box_key()
BOX = seal(public_key_of(KEY), b"Anna Verhoeven", b"request-1")


def test_a_box_opens_with_its_key_and_context():
    assert open_box(KEY, BOX, b"request-1") == b"Anna Verhoeven"


def _flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


REFUSED = [
    ("another key", OTHER, BOX, b"request-1"),
    ("another context", KEY, BOX, b"request-2"),
    ("ephemeral key altered", KEY, _flipped(BOX, 0), b"request-1"),
    ("nonce altered", KEY, _flipped(BOX, PUBLIC_KEY_BYTES), b"request-1"),
    ("ciphertext altered", KEY, _flipped(BOX, PUBLIC_KEY_BYTES + 12), b"request-1"),
    ("tag altered", KEY, _flipped(BOX, len(BOX) - 1), b"request-1"),
    ("truncated", KEY, BOX[:-1], b"request-1"),
    ("too short to be a box", KEY, BOX[:59], b"request-1"),
    ("empty", KEY, b"", b"request-1"),
    ("low-order ephemeral key", KEY, bytes(32) + BOX[32:], b"request-1"),
]


@pytest.mark.parametrize(("case", "key", "box", "context"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_box_that_must_not_open_raises_verification_error(case, key, box, context):
    with pytest.raises(VerificationError, match="sealed box"):
        open_box(key, box, context)


def test_each_box_has_its_own_ephemeral_key_and_nonce():
    again = seal(public_key_of(KEY), b"Anna Verhoeven", b"request-1")
    assert again[:PUBLIC_KEY_BYTES] != BOX[:PUBLIC_KEY_BYTES] and again[32:44] != BOX[32:44] and again != BOX


def test_a_public_key_of_the_wrong_length_or_of_low_order_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"\x01" * 31, b"x", b"")
    with pytest.raises(ValueError):  # RFC 7748 section 6.1: the all-zero shared secret is refused
        seal(bytes(32), b"x", b"")


def _reference_open(private: bytes, box: bytes, context: bytes) -> bytes:
    """The layout written out: ephemeral public key, nonce, AES-GCM; HKDF info binds both public keys."""
    recipient = X25519PrivateKey.from_private_bytes(private)
    ephemeral, nonce, ciphertext = box[:32], box[32:44], box[44:]
    shared = recipient.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    info = b"armsledger sealed box v1" + ephemeral + public_key_of(private)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)
    return AESGCM(key).decrypt(nonce, ciphertext, context)


@given(plaintext=st.binary(max_size=512), context=st.binary(max_size=64))
def test_any_plaintext_round_trips_and_matches_the_reference(plaintext, context):
    box = seal(public_key_of(KEY), plaintext, context)
    assert len(box) == 32 + 12 + len(plaintext) + 16
    assert open_box(KEY, box, context) == plaintext == _reference_open(KEY, box, context)
