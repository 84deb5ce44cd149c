"""Officers' passwords: what a password must be, how it is hashed (argon2id), and generated ones.

The hash parameters are OWASP's Password Storage Cheat Sheet minimum for argon2id (19 MiB,
2 passes, 1 lane) rather than argon2-cffi's 64 MiB default: a service answering several
sign-ins at once on a small machine must stay within its memory budget. Stored hashes carry
their parameters, so raising them later rehashes each password at its next sign-in.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import InvalidField

MIN_LENGTH = 12
#: Longest password accepted: hashing cost grows with the input, and no one types more.
MAX_LENGTH = 1024

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _decoy() -> str:
    """A hash verified when the name is unknown, so that an unknown name takes as long as a wrong password."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def check_password(password: str) -> str:
    """``password`` if it is acceptable; ``InvalidField`` (field ``password``) otherwise."""
    if type(password) is not str or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidField(f"a password must be {MIN_LENGTH} to {MAX_LENGTH} characters long", field="password")
    if password.strip() != password or any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise InvalidField("a password must not start or end with spaces nor hold control characters",
                           field="password")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of an acceptable ``password`` (see ``check_password``)."""
    return _HASHER.hash(check_password(password))


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from; None: no such user (same cost)."""
    try:
        matches = _HASHER.verify(stored_hash if stored_hash is not None else _decoy(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)


def generated_password() -> str:
    """A random password of 20 characters (120 bits), to be shown once."""
    return secrets.token_urlsafe(15)
