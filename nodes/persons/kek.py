"""The node's key-encryption key (KEK): 32 random bytes that wrap every holder's data key.

On disk (``HOME/keys/kek`` or ``Settings.kek_file``), mode 0600, encrypted with the node passphrase
like the private keys (``ledger.keys``): a key derived from the passphrase with scrypt (RFC 7914)
and a random salt seals the KEK with AES-GCM. Without the file or the passphrase, no identity in
the vault can be read again (docs/personal-data.md says what to back up).

The file: ``armsledger-kek-2\n``, scrypt's cost (one byte each: log2 N, r, p), salt, nonce, the sealed
KEK; the magic and the cost are the AES-GCM associated data. A file is created at
``Settings.kek_cost`` and opened at the cost it records, so the cost of new files can change
without making older ones unreadable. Files of the first format (``armsledger-kek-1\n``, no cost
recorded: N=2^15, r=8, p=1) still open.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.errors import KeyStoreError
from nodes.errors import ConfigurationError, NodeFileDamaged
from nodes.settings import KEK_COSTS, Settings

_MAGIC, _MAGIC_1 = b"armsledger-kek-2\n", b"armsledger-kek-1\n"
_SALT, _NONCE, _KEY = 16, 12, 32
#: scrypt's r and p (N from ``Settings.kek_cost``: 2^15 x 8 x 128 bytes = 32 MiB and tens of
#: milliseconds per unlock, RFC 7914 section 2); the cost of the first format's files.
_SCRYPT_R, _SCRYPT_P = 8, 1
_COST_1 = (15, _SCRYPT_R, _SCRYPT_P)
#: The largest r and p a file may record: with N at most 2^20, 1 GiB per unlock at r = 8.
_MOST_R, _MOST_P = 8, 4


def kek_path(settings: Settings) -> Path:
    """Where the node's KEK is kept: ``settings.kek_file`` or ``HOME/keys/kek``."""
    return Path(settings.kek_file) if settings.kek_file else settings.home / "keys" / "kek"


def load_or_create_kek(settings: Settings) -> bytes:
    """The node's KEK, created (and stored encrypted) when the node has none yet.

    ``ConfigurationError`` without a passphrase or when the file cannot be written; ``KeyStoreError`` (as for
    the signing keys) when the file is readable by others or the passphrase does not open it;
    ``NodeFileDamaged`` when it is no KEK file.
    """
    if not settings.passphrase:
        raise ConfigurationError("ARMSLEDGER_PASSPHRASE is not set: it unlocks the key that encrypts "
                                 "holders' identities")
    path = kek_path(settings)
    if not path.exists():
        return _create(path, settings.passphrase, (settings.kek_cost, _SCRYPT_R, _SCRYPT_P))
    return _load(path, settings.passphrase)


def _derive(passphrase: str, salt: bytes, cost: tuple[int, int, int]) -> bytes:
    log2_n, r, p = cost
    return Scrypt(salt=salt, length=_KEY, n=1 << log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _create(path: Path, passphrase: str, cost: tuple[int, int, int]) -> bytes:
    kek, salt, nonce = secrets.token_bytes(_KEY), secrets.token_bytes(_SALT), secrets.token_bytes(_NONCE)
    header = _MAGIC + bytes(cost)
    sealed = AESGCM(_derive(passphrase, salt, cost)).encrypt(nonce, kek, header)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use that one
        return _load(path, passphrase)
    except OSError as e:
        raise ConfigurationError(f"{path}: cannot create the key-encryption key: {e.strerror or e}") from None
    with os.fdopen(fd, "wb") as file:
        file.write(header + salt + nonce + sealed)
        file.flush()
        os.fsync(file.fileno())
    return kek


def _load(path: Path, passphrase: str) -> bytes:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as e:
        raise ConfigurationError(f"{path}: cannot read the key-encryption key: {e.strerror or e}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(f"{path}: the key-encryption key is accessible by group or others (chmod 600)")
    if data.startswith(_MAGIC) and len(data) > len(_MAGIC) + 3:
        header = data[:len(_MAGIC) + 3]
        cost = (header[-3], header[-2], header[-1])
        if not (KEK_COSTS[0] <= cost[0] <= KEK_COSTS[1] and 1 <= cost[1] <= _MOST_R and 1 <= cost[2] <= _MOST_P):
            raise NodeFileDamaged(f"{path}: the key-encryption key file records a cost this node does not "
                                  f"accept (log2 N {cost[0]}, r {cost[1]}, p {cost[2]}): restore it from backup")
    elif data.startswith(_MAGIC_1):
        header, cost = _MAGIC_1, _COST_1
    else:
        header, cost = b"", _COST_1
    body = data[len(header):]
    if not header or len(body) != _SALT + _NONCE + _KEY + 16:
        raise NodeFileDamaged(f"{path} is not a key-encryption key file: restore it from backup")
    salt, nonce, sealed = body[:_SALT], body[_SALT:_SALT + _NONCE], body[_SALT + _NONCE:]
    try:
        return AESGCM(_derive(passphrase, salt, cost)).decrypt(nonce, sealed, header)
    except InvalidTag:
        raise KeyStoreError(f"{path}: wrong passphrase or damaged key-encryption key file") from None
