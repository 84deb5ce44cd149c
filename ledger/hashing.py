"""Hashes of the ledger's Merkle tree (RFC 9162 section 2.1.1, same as RFC 6962 section 2.1).

Leaves and interior nodes are hashed with different one-byte prefixes so that a
leaf can never be passed off as an interior node (second-preimage protection).
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
"""Size in bytes of every leaf hash, node hash and root (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the tree with no leaves, SHA-256 of the empty string."""

LEAF_PREFIX = b"\x00"
"""Domain-separation prefix of leaf hashes (RFC 9162 section 2.1.1)."""

NODE_PREFIX = b"\x01"
"""Domain-separation prefix of interior node hashes (RFC 9162 section 2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the hash of a leaf holding ``data``.

    Accepts any bytes-like ``data``, including empty.
    """
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the hash of an interior node.

    ``left`` and ``right`` are the children's hashes; in a tree they are 32 bytes,
    but no length is enforced here (the verifiers in ``ledger.proofs`` check
    lengths of untrusted input before hashing).
    """
    return hashlib.sha256(NODE_PREFIX + left + right).digest()
