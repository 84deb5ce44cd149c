"""The node's key-encryption key (KEK): 32 random bytes that wrap every holder's data key.

On disk (``HOME/keys/kek`` or ``Settings.kek_file``), mode 0600, sealed with the node passphrase
as the private keys are (``ledger.passphrase_seal``: scrypt, RFC 7914, with a random salt derives
the key that seals the KEK with AES-GCM). Without the file or the passphrase, no identity in the
vault can be read again (docs/personal-data.md says what to back up).

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

from ledger import passphrase_seal as seal
from ledger.errors import KeyStoreError
from nodes.errors import ConfigurationError, NodeFileDamaged
from nodes.settings import Settings

_MAGIC, _MAGIC_1 = b"armsledger-kek-2\n", b"armsledger-kek-1\n"
_KEY = 32
#: The cost of the first format's files (scrypt's log2 N, r, p).
_COST_1 = (15, seal.R, seal.P)


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
        return _create(path, settings.passphrase, settings.kek_cost)
    return _load(path, settings.passphrase)


def _create(path: Path, passphrase: str, log2_n: int) -> bytes:
    kek = secrets.token_bytes(_KEY)
    sealed = seal.seal(kek, passphrase, _MAGIC, log2_n)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use that one
        return _load(path, passphrase)
    except OSError as e:
        raise ConfigurationError(f"{path}: cannot create the key-encryption key: {e.strerror or e}") from None
    with os.fdopen(fd, "wb") as file:
        file.write(sealed)
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
    if data.startswith(_MAGIC):
        try:
            return seal.open_sealed(data, passphrase, _MAGIC, _KEY)
        except seal.NotSealed as e:
            raise NodeFileDamaged(f"{path}: the key-encryption key file {e}: restore it from backup") from None
        except seal.WrongPassphrase:
            raise KeyStoreError(f"{path}: wrong passphrase or damaged key-encryption key file") from None
    body = data[len(_MAGIC_1):]
    if not data.startswith(_MAGIC_1) or len(body) != seal.SALT + seal.NONCE + _KEY + 16:
        raise NodeFileDamaged(f"{path} is not a key-encryption key file: restore it from backup")
    try:
        return seal.unseal(_MAGIC_1, body, passphrase, _COST_1)
    except seal.WrongPassphrase:
        raise KeyStoreError(f"{path}: wrong passphrase or damaged key-encryption key file") from None
