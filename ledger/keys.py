"""Ed25519 keys: generation, key ids, and encrypted storage at rest.

A key id is the first 16 bytes of SHA-256 over the raw 32-byte public key, in
hex. A private key is stored in a file of mode 0600, sealed with a key derived from the node
passphrase by scrypt (``ledger.passphrase_seal``; the file: ``armsledger-key-1\n``, the cost, salt,
nonce, the raw 32-byte key under AES-256-GCM).

Files of the first format, PKCS#8 PEM encrypted by ``cryptography``'s BestAvailableEncryption, still
open. That format derives its key with 2,048 rounds of PBKDF2-HMAC-SHA256, about a third of a
millisecond of one core per passphrase an attacker tries with a stolen file (scrypt at 2^15: ~80 ms and
32 MiB, and no cheap hardware for it): ``reseal_private_key``
(``armsledger key reseal``) rewrites such a file in the sealed format.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger import passphrase_seal
from ledger.errors import KeyStoreError, LedgerError, SignatureError

# ``cryptography``'s serialization (PEM, PKCS#8) is imported where a key is stored or read: the workers that verify
# signatures (``verify_signatures``) never need it, and it was a fifth of their imports.

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "generate_key",
    "key_id",
    "fingerprint",
    "public_bytes",
    "public_key_from_bytes",
    "save_private_key",
    "load_private_key",
    "reseal_private_key",
    "sign",
    "verify_signature",
    "verify_signatures",
]


def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key from the operating system's CSPRNG."""
    return Ed25519PrivateKey.generate()


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key of ``key``."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes_raw()


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """Requires ``len(raw) == 32``; raises ``KeyStoreError`` otherwise."""
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != 32:
        raise KeyStoreError("an Ed25519 public key is exactly 32 bytes")
    return Ed25519PublicKey.from_public_bytes(bytes(raw))


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | bytes) -> str:
    """Hex of the first 16 bytes of SHA-256(raw public key)."""
    raw = key if isinstance(key, (bytes, bytearray)) else public_bytes(key)
    return hashlib.sha256(bytes(raw)).digest()[:16].hex()


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw public key in upper-case hex, in groups of four, as read aloud over a phone."""
    digest = hashlib.sha256(public_key).hexdigest().upper()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    """Ed25519 signature (64 bytes) over ``message``."""
    return key.sign(message)


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Return True or raise ``SignatureError``."""
    try:
        public_key.verify(bytes(signature), bytes(message))
    except (InvalidSignature, ValueError, TypeError) as e:
        raise SignatureError(
            f"Ed25519 signature does not verify for key {key_id(public_key)}"
        ) from e
    return True


_keys: dict[bytes, Ed25519PublicKey] = {}  # parsed keys, per process
_KEYS_KEPT = 4096


def verify_signatures(tasks: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """For each (raw public key, signature, message): whether the Ed25519 signature verifies.

    The one bulk verifier (it runs in worker processes too): never raises for bad input.
    """
    results = []
    for public, sig, message in tasks:
        try:
            key = _keys.get(public)
            if key is None:
                if len(_keys) >= _KEYS_KEPT:
                    _keys.clear()
                key = _keys[public] = public_key_from_bytes(public)
            key.verify(sig, message)
        except (InvalidSignature, LedgerError, TypeError, ValueError):  # a bad signature, key or value
            results.append(False)
        else:
            results.append(True)
    return results


#: The sealed format's first line; files without it are of the first format (PKCS#8 PEM).
KEY_FILE_MAGIC = b"armsledger-key-1\n"
_PRIVATE = 32   # a raw Ed25519 private key


def save_private_key(path: Path, key: Ed25519PrivateKey, passphrase: str, *,
                     cost: int = passphrase_seal.DEFAULT_COST) -> None:
    """Write ``key`` sealed with ``passphrase`` (scrypt's N = 2^``cost``) to a new 0600 file.

    Requires a non-empty passphrase and that ``path`` does not exist yet (keys are
    never silently replaced). Raises ``KeyStoreError`` otherwise.
    """
    if not passphrase:
        raise KeyStoreError("a passphrase is required to store private keys (ARMSLEDGER_PASSPHRASE)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise KeyStoreError(f"{path}: key file exists already, refusing to overwrite") from e
    with os.fdopen(fd, "wb") as f:
        f.write(_sealed(key, passphrase, cost))
        f.flush()
        os.fsync(f.fileno())


def _sealed(key: Ed25519PrivateKey, passphrase: str, cost: int) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return passphrase_seal.seal(raw, passphrase, KEY_FILE_MAGIC, cost)


def load_private_key(path: Path, passphrase: str) -> Ed25519PrivateKey:
    """Read and decrypt a key written by ``save_private_key`` (either format).

    Raises ``KeyStoreError`` if the file is missing, readable by group or others
    (a leaked key signs anything), or the passphrase is wrong.
    """
    return _read_key_file(Path(path), passphrase)[0]


def reseal_private_key(path: Path, passphrase: str, *, cost: int = passphrase_seal.DEFAULT_COST) -> bool:
    """Rewrite the key file ``path`` sealed at ``cost`` when it is of the first format or sealed at another
    cost; False when it is already as asked.

    The new file is written beside the old one, read back and checked to hold the same key before it
    replaces the old one in one rename: a crash leaves the old file or the new one, never neither.
    Raises ``KeyStoreError`` as ``load_private_key`` does.
    """
    path = Path(path)
    key, file_cost = _read_key_file(path, passphrase)
    if file_cost == cost:
        return False
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)  # left by a rewrite cut short: the old file is still whole
    save_private_key(fresh, key, passphrase, cost=cost)
    if key_id(_read_key_file(fresh, passphrase)[0]) != key_id(key):
        fresh.unlink()
        raise KeyStoreError(f"{path}: the rewritten key file does not hold the same key; the old file is kept")
    os.replace(fresh, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return True


def _read_key_file(path: Path, passphrase: str) -> tuple[Ed25519PrivateKey, int | None]:
    """The key in ``path`` and the scrypt cost its file records (None: the first format, PKCS#8 PEM)."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as e:
        raise KeyStoreError(f"{path}: cannot read key file: {e.strerror}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(f"{path}: key file is accessible by group or others (chmod 600)")
    if not passphrase:
        raise KeyStoreError("ARMSLEDGER_PASSPHRASE is not set: cannot unlock private keys")
    if data.startswith(KEY_FILE_MAGIC):
        try:
            raw = passphrase_seal.open_sealed(data, passphrase, KEY_FILE_MAGIC, _PRIVATE)
        except passphrase_seal.NotSealed as e:
            raise KeyStoreError(f"{path}: damaged key file: {e}") from None
        except passphrase_seal.WrongPassphrase:
            raise KeyStoreError(f"{path}: wrong passphrase or damaged key file") from None
        return Ed25519PrivateKey.from_private_bytes(raw), passphrase_seal.sealed_cost(data, KEY_FILE_MAGIC, _PRIVATE)
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(data, passphrase.encode("utf-8"))
    except (ValueError, TypeError) as e:
        raise KeyStoreError(f"{path}: wrong passphrase or damaged key file") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyStoreError(f"{path}: not an Ed25519 key")
    return key, None
