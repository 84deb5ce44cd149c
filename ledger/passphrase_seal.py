"""A small secret sealed with a key derived from the node passphrase: the private key files and the KEK.

Sealed bytes: a format's magic (a line), scrypt's cost (one byte each: log2 N, r, p), a 16-byte salt, a
12-byte nonce, then the secret encrypted with AES-256-GCM under scrypt(passphrase, salt) (RFC 7914); the
magic and the cost are the associated data, so a file of one format or cost does not open as another.
Every primitive is ``cryptography``'s; this module only composes them.

scrypt is slow on purpose (N = 2^15, r = 8: 32 MiB and ~80 ms of CPU per derivation): a stolen file
costs an attacker that much per passphrase tried. A node keeps several such files (the node key, one
key per authority kind, the KEK), all under the one passphrase, so a process seals the files it writes
with one salt of its own and keeps the keys it derived: unlocking a node derives once, not once per
file. That gives an attacker nothing: the files share the passphrase anyway, and each node's salt is
random.
"""

from __future__ import annotations

import secrets
import threading

# ``cryptography``'s AES-GCM and scrypt are imported where a file is sealed or opened: ``ledger.keys`` imports this
# module, and the workers that only verify signatures never seal anything.

#: log2 of scrypt's N for a new file, and the range a file may record (2^20: 1 GiB of memory per unlock).
DEFAULT_COST = 15
COSTS = (10, 20)
#: scrypt's r and p (RFC 7914 section 2), and the largest a file may record (with N at most 2^20, 1 GiB at r = 8).
R, P = 8, 1
_MOST_R, _MOST_P = 8, 4
SALT, NONCE, KEY = 16, 12, 32
_TAG = 16

_lock = threading.Lock()
_salts: dict[tuple[str, tuple[int, int, int]], bytes] = {}   # the salt this process seals with, per passphrase
_derived: dict[tuple[str, bytes, tuple[int, int, int]], bytes] = {}
_KEPT = 64


class WrongPassphrase(Exception):
    """The sealed bytes do not open with this passphrase (or were altered)."""


class NotSealed(Exception):
    """The bytes are not of the format asked for, or record a cost this node does not accept."""


def derive(passphrase: str, salt: bytes, cost: tuple[int, int, int]) -> bytes:
    """scrypt(passphrase, salt) at ``cost`` (log2 N, r, p), 32 bytes; kept for the life of the process."""
    kept = (passphrase, salt, cost)
    with _lock:
        key = _derived.get(kept)
    if key is None:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        log2_n, r, p = cost
        key = Scrypt(salt=salt, length=KEY, n=1 << log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))
        with _lock:
            if len(_derived) >= _KEPT:
                _derived.clear()
            _derived[kept] = key
    return key


def forget_derived() -> None:
    """Drop the keys derived so far: the next opening derives again (a test of an opening's time, or a
    process that wants them out of its memory once its files are open)."""
    with _lock:
        _derived.clear()


def seal(secret: bytes, passphrase: str, magic: bytes, log2_n: int = DEFAULT_COST) -> bytes:
    """``secret`` sealed under ``passphrase`` in the format named by ``magic`` (see the module's text)."""
    if not COSTS[0] <= log2_n <= COSTS[1]:
        raise ValueError(f"scrypt cost 2^{log2_n} is outside 2^{COSTS[0]} to 2^{COSTS[1]}")
    cost = (log2_n, R, P)
    with _lock:
        salt = _salts.setdefault((passphrase, cost), secrets.token_bytes(SALT))
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = magic + bytes(cost)
    nonce = secrets.token_bytes(NONCE)
    return header + salt + nonce + AESGCM(derive(passphrase, salt, cost)).encrypt(nonce, secret, header)


def sealed_cost(data: bytes, magic: bytes, size: int) -> int | None:
    """log2 N of the bytes ``seal`` made with ``magic`` over a ``size``-byte secret; None when they are not such."""
    if not data.startswith(magic) or len(data) != len(magic) + 3 + SALT + NONCE + size + _TAG:
        return None
    return data[len(magic)]


def open_sealed(data: bytes, passphrase: str, magic: bytes, size: int) -> bytes:
    """The ``size``-byte secret ``seal`` sealed in ``data`` with ``magic``.

    ``NotSealed`` when the bytes are of another format or length, or record a cost outside ``COSTS`` (a
    damaged or forged file must not make the node spend gigabytes); ``WrongPassphrase`` when they do not open.
    """
    if sealed_cost(data, magic, size) is None:
        raise NotSealed("is not of its format (its length or its first line)")
    header = data[:len(magic) + 3]
    cost = (header[-3], header[-2], header[-1])
    if not (COSTS[0] <= cost[0] <= COSTS[1] and 1 <= cost[1] <= _MOST_R and 1 <= cost[2] <= _MOST_P):
        raise NotSealed(f"records a cost this node does not accept (log2 N {cost[0]}, r {cost[1]}, p {cost[2]})")
    return unseal(header, data[len(header):], passphrase, cost)


def unseal(header: bytes, body: bytes, passphrase: str, cost: tuple[int, int, int]) -> bytes:
    """The secret in ``body`` (salt, nonce, ciphertext and tag) sealed at ``cost`` with ``header`` as associated data;
    ``WrongPassphrase`` when it does not open. ``open_sealed`` checks the format first; a caller reading an older
    format (the KEK's first) checks its own."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce, sealed = body[:SALT], body[SALT:SALT + NONCE], body[SALT + NONCE:]
    try:
        return AESGCM(derive(passphrase, salt, cost)).decrypt(nonce, sealed, header)
    except InvalidTag:
        raise WrongPassphrase("does not open with this passphrase") from None
