"""One read-audit entry: its fields, its canonical bytes and its place in the hash chain.

An entry's hash is SHA-256 over the canonical msgpack (``ledger.encoding``) of its fields,
the log's origin and the previous entry's hash (``prev``, ``GENESIS_PREV`` for the first),
like an envelope's ``prev`` (``ledger.envelope``): deleting, editing, reordering or inserting
an entry breaks the chain at the next one. The leaf of an entry in the read audit's RFC 9162
tree is ``leaf_hash(entry.hash)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from domain.errors import InvalidField
from ledger.encoding import canonical_encode
from ledger.envelope import GENESIS_PREV
from ledger.hashing import leaf_hash

ENTRY_FORMAT = "armsledger-read/1"
"""Version tag inside every hashed entry: an entry's hash is never that of anything else."""

READ_ACTIONS = ("history", "search", "trace", "licence", "verdict", "shipment", "component", "person", "disclosure")
"""What was read: a weapon's history, a serial search, a trace, a licence, a diversion verdict, a shipment,
an essential component's life, a private holder's identity and records (subject access), an identity
released to a partner or received from one (docs/personal-data.md, "Disclosure to a partner")."""

MAX_TEXT = 1000
"""Longest subject or purpose kept (characters)."""


@dataclass(frozen=True)
class ReadEntry:
    """One read: entry ``seq`` (1, 2, ...) at ``at`` (µs since the epoch, UTC) by an officer."""

    seq: int
    at: int
    user_id: str      # "" for the node operator at the shell
    user_name: str
    role: str
    action: str       # one of READ_ACTIONS
    subject: str      # weapon id, search text, trace id, licence number, shipment id
    purpose: str
    prev: bytes
    hash: bytes

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON data (hashes in hex)."""
        return {**asdict(self), "prev": self.prev.hex(), "hash": self.hash.hex()}

    @property
    def leaf(self) -> bytes:
        """The entry's RFC 9162 leaf hash (section 2.1.1)."""
        return leaf_hash(self.hash)


def entry_hash(origin: str, seq: int, at: int, user_id: str, user_name: str, role: str, action: str,
               subject: str, purpose: str, prev: bytes) -> bytes:
    """SHA-256 of the canonical bytes of an entry of ``origin``'s read audit (see the module docstring)."""
    return hashlib.sha256(canonical_encode({
        "format": ENTRY_FORMAT, "origin": origin, "seq": seq, "at": at, "user_id": user_id,
        "user_name": user_name, "role": role, "action": action, "subject": subject, "purpose": purpose,
        "prev": prev,
    })).digest()


def new_entry(origin: str, seq: int, at: int, user_id: str, user_name: str, role: str, action: str,
              subject: str, purpose: str, prev: bytes) -> ReadEntry:
    """The entry after ``prev``, hashed. Requires a checked action, subject and purpose (``check_read``)."""
    digest = entry_hash(origin, seq, at, user_id, user_name, role, action, subject, purpose, prev)
    return ReadEntry(seq, at, user_id, user_name, role, action, subject, purpose, prev, digest)


def rehashed(origin: str, entry: ReadEntry) -> bytes:
    """The hash ``entry``'s stored fields give (differs from ``entry.hash`` when a field was edited)."""
    return entry_hash(origin, entry.seq, entry.at, entry.user_id, entry.user_name, entry.role, entry.action,
                      entry.subject, entry.purpose, entry.prev)


def check_read(action: str, subject: str, purpose: str) -> tuple[str, str, str]:
    """``(action, subject, purpose)`` stripped; ``InvalidField`` naming the field when one is not acceptable."""
    if action not in READ_ACTIONS:
        raise InvalidField(f"{action!r} is not a read action: one of {', '.join(READ_ACTIONS)}", field="action")
    subject, purpose = subject.strip(), purpose.strip()
    if not subject:
        raise InvalidField("say what was read", field="subject")
    for name, text in (("subject", subject), ("purpose", purpose)):
        if len(text) > MAX_TEXT:
            raise InvalidField(f"at most {MAX_TEXT} characters, got {len(text)}", field=name)
        if any(ord(c) < 32 for c in text):
            raise InvalidField("must not hold control characters", field=name)
    return action, subject, purpose


__all__ = ["ENTRY_FORMAT", "GENESIS_PREV", "MAX_TEXT", "READ_ACTIONS", "ReadEntry", "check_read", "entry_hash",
           "new_entry", "rehashed"]
