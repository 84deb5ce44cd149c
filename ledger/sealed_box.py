"""Encryption to a recipient's X25519 public key: an ephemeral key agreement, HKDF-SHA256, AES-256-GCM.

``seal`` draws a fresh X25519 key pair (RFC 7748), derives a 256-bit key from the shared secret with
HKDF-SHA256 (RFC 5869; the info binds both public keys) and encrypts with AES-256-GCM under a random
96-bit nonce; ``context`` is the associated data, so a box copied into another context does not open.
Sealed bytes: ephemeral public key (32) || nonce (12) || ciphertext and tag. All primitives are those of
``cryptography``; this module only composes them (the shape of HPKE's base mode, RFC 9180).
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ledger.errors import VerificationError

PUBLIC_KEY_BYTES = 32
_NONCE = 12
_TAG = 16
_INFO = b"armsledger sealed box v1"

__all__ = ["PUBLIC_KEY_BYTES", "new_box_key", "open_box", "public_key_of", "seal"]


def new_box_key() -> bytes:
    """A fresh X25519 private key, as its 32 raw bytes."""
    return X25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_key_of(private_key: bytes) -> bytes:
    """The raw public key of the raw X25519 private key ``private_key``; ``ValueError`` unless 32 bytes."""
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def seal(recipient: bytes, plaintext: bytes, context: bytes) -> bytes:
    """``plaintext`` encrypted to the raw X25519 public key ``recipient``, bound to ``context``.

    ``ValueError`` unless ``recipient`` is 32 bytes, or when it is a low-order point (no shared secret)."""
    if len(recipient) != PUBLIC_KEY_BYTES:
        raise ValueError(f"an X25519 public key is {PUBLIC_KEY_BYTES} bytes")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    nonce = secrets.token_bytes(_NONCE)
    key = _derive(shared, ephemeral_public, recipient)
    return ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_box(private_key: bytes, sealed: bytes, context: bytes) -> bytes:
    """The plaintext ``seal`` encrypted to the public key of ``private_key`` under ``context``.

    ``VerificationError`` when the box is too short, was sealed to another key or under another
    context, or was altered (the AES-GCM tag does not verify, or the key agreement is degenerate)."""
    if len(sealed) < PUBLIC_KEY_BYTES + _NONCE + _TAG:
        raise VerificationError(f"a sealed box is at least {PUBLIC_KEY_BYTES + _NONCE + _TAG} bytes",
                                expected=PUBLIC_KEY_BYTES + _NONCE + _TAG, calculated=len(sealed))
    ephemeral_public = sealed[:PUBLIC_KEY_BYTES]
    nonce, ciphertext = sealed[PUBLIC_KEY_BYTES:PUBLIC_KEY_BYTES + _NONCE], sealed[PUBLIC_KEY_BYTES + _NONCE:]
    recipient = X25519PrivateKey.from_private_bytes(private_key)
    recipient_public = recipient.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        shared = recipient.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        return AESGCM(_derive(shared, ephemeral_public, recipient_public)).decrypt(nonce, ciphertext, context)
    except (InvalidTag, ValueError):  # ValueError: a low-order ephemeral key (all-zero shared secret)
        raise VerificationError("the sealed box does not open: sealed to another key or context, or altered") \
            from None


def _derive(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_INFO + ephemeral_public + recipient_public).derive(shared)
