"""What a worker runs for the log audit (``ledger.audit_records``): parse, hash and verify a chunk of stored envelopes.

A module of its own, so that a worker process imports only it and what it needs (the envelope parser and the
Ed25519 verifier), not the audit, the Merkle tree and the checks that run in the main process
(``nodes.workers``: a worker's start is a fixed cost of every verify).
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from ledger.envelope import GENESIS_PREV, REGISTER_PREFIX, hashed_envelope_fields
from ledger.errors import LedgerError
from ledger.keys import verify_signatures


class Summary(NamedTuple):
    """A parsed record, as a worker returns it (a ``SignedRecord``); ``sig_ok`` None: key unknown there.
    ``sig`` is empty once ``sig_ok`` says whether it verifies: nothing reads it again."""

    stream: str
    version: int
    type: str
    authority: str
    recorded_at: int
    prev: bytes
    hash: bytes
    sig: bytes
    sig_ok: bool | None
    register: dict[str, Any] | None  # the body of a register record (``Authority.*``), else None


class Unreadable(NamedTuple):
    reason: str
    hash: bytes  # SHA-256 of the stored bytes: a stand-in leaf


def examine_chunk(chunk: list[bytes | None], keys: dict[str, bytes]) -> list[Summary | Unreadable]:
    """Parse, hash and verify one chunk of envelopes with the candidate ``keys`` (key id -> raw key)."""
    return as_examined(examine_chunk_plain(chunk, keys))


def examine_chunk_plain(chunk: list[bytes | None], keys: dict[str, bytes]) -> list[tuple[Any, ...]]:
    """``examine_chunk``'s results as plain tuples (``as_examined`` makes them its named tuples again): what a
    worker returns, as a named tuple is pickled and unpickled through Python calls (about 3 us a record),
    a plain tuple in C."""
    results: list[tuple[Any, ...]] = []
    parsed: list[tuple[int, dict[str, Any], bytes]] = []  # (place in results, fields, hash) of each envelope
    for data in chunk:
        if not isinstance(data, (bytes, bytearray)):  # a damaged row: NULL or another type
            results.append((f"the row holds {type(data).__name__}, not bytes", hashlib.sha256(b"").digest()))
            continue
        try:
            fields, digest = hashed_envelope_fields(data)  # parsed and hashed here, on the worker
        except LedgerError as e:
            results.append((str(e), hashlib.sha256(data).digest()))
            continue
        parsed.append((len(results), fields, digest))
        results.append(())  # its summary, below
    known = [(at, keys[fields["authority"]], fields["sig"], digest) for at, fields, digest in parsed
             if fields["authority"] in keys]
    verified = dict(zip((at for at, *_ in known), verify_signatures([task[1:] for task in known])))
    # One object for each value repeated in the chunk (a type, an authority, the first prev): pickled once and
    # referred to after, fewer bytes and objects to unpickle.
    shared: dict[Any, Any] = {GENESIS_PREV: GENESIS_PREV}
    for at, fields, digest in parsed:
        results[at] = _summary(fields, digest, verified.get(at), shared)
    return results


def as_examined(plain: list[tuple[Any, ...]]) -> list[Summary | Unreadable]:
    """The results of ``examine_chunk_plain`` as ``examine_chunk`` gives them."""
    new = tuple.__new__
    return [new(Summary, item) if len(item) == _SUMMARY_FIELDS else new(Unreadable, item) for item in plain]


_SUMMARY_FIELDS = len(Summary._fields)


def _summary(fields: dict[str, Any], digest: bytes, sig_ok: bool | None, shared: dict[Any, Any]) -> tuple[Any, ...]:
    """The ``Summary`` of the envelope of ``fields`` and hash ``digest``, its type, authority and a genesis prev
    the ``shared`` object of that value."""
    record_type, authority, prev = fields["type"], fields["authority"], fields["prev"]
    return (fields["stream"], fields["version"], shared.setdefault(record_type, record_type),
            shared.setdefault(authority, authority), fields["recorded_at"], shared.get(prev, prev), digest,
            fields["sig"] if sig_ok is None else b"", sig_ok,
            dict(fields["body"]) if record_type.startswith(REGISTER_PREFIX) else None)
