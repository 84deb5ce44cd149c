"""Canonical msgpack encoding (DESIGN.md, "The signed envelope").

Canonical means: one byte string per value, so that two nodes hashing the same
record get the same hash. Rules: map keys are ``str`` and sorted by their UTF-8
bytes; no floats (amounts and times are integers); tuples and lists both encode
as msgpack arrays; ``bytes`` as msgpack bin; the smallest integer width is used
(msgpack does that itself).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import msgpack

from ledger.errors import EncodingError, LedgerError

_PLAIN_SCALARS = (str, int, bytes, bool, type(None))
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1
# One packer per thread, reused: ``msgpack.packb`` makes a Packer (and its buffer) per call,
# which was 40 % of re-packing an envelope. A Packer is not safe to share between threads.
_packers = threading.local()


def pack(value: Any) -> bytes:
    """``msgpack.packb(value, use_bin_type=True)``, by this thread's packer (the canonical bytes only of a
    value whose maps are sorted already: ``canonical_encode`` sorts them). Raises as ``packb`` does, and the
    packer is left ready for the next value."""
    try:
        packer = _packers.packer
    except AttributeError:
        packer = _packers.packer = msgpack.Packer(use_bin_type=True)
    packed: bytes = packer.pack(value)
    return packed


def canonical_encode(value: Any) -> bytes:
    """Encode ``value`` canonically.

    Requires a tree of ``str``, ``int``, ``bytes``, ``bool``, ``None``, lists or
    tuples, and dicts with ``str`` keys. Raises ``EncodingError`` naming the
    offending path otherwise (floats included: they have no canonical form).
    """
    try:
        return pack(_sorted(value))
    except (_Unencodable, TypeError, OverflowError):
        # OverflowError: msgpack has no integers outside [-2**63, 2**64).
        raise EncodingError(_first_problem(value, "$") or "$: cannot be encoded") from None


def canonical_decode(data: bytes) -> Any:
    """Decode canonical msgpack; arrays come back as tuples, maps as dicts.

    Raises ``EncodingError`` if ``data`` is not msgpack, or if it is msgpack but
    not the canonical encoding of what it holds (unsorted keys, floats,
    non-minimal integers, trailing bytes): accepting a non-canonical form would
    let two byte strings carry one signed meaning.
    """
    try:
        value = msgpack.unpackb(
            data, raw=False, use_list=False, strict_map_key=True, object_pairs_hook=_sorted_map,
            ext_hook=_refuse_extension, timestamp=1,  # timestamps come back as floats: refused below
        )
    except _Unencodable:
        raise EncodingError(
            "msgpack is not in canonical form (map keys unsorted, repeated or not str, or an extension type)"
        ) from None
    except Exception as e:  # msgpack raises several unrelated exception types
        raise EncodingError(f"not valid msgpack: {e}") from e
    # Maps were checked while unpacking, so plain packing reproduces the bytes
    # exactly when they are canonical (minimal integer and length widths, bin
    # for bytes, no trailing data). This runs in C; re-sorting in Python made
    # parsing the dominant cost of verify and of projection rebuilds.
    # Floats: a float32 re-packs as float64 and a float64 as float32, so packing
    # both ways equal to the input means there is no float at all.
    data = bytes(data)
    if pack(value) != data or msgpack.packb(
        value, use_bin_type=True, use_single_float=True
    ) != data:
        raise EncodingError("msgpack is not in canonical form")
    return value


def check_map(value: Any, what: str, fields: Mapping[str, type], error: type[LedgerError] = EncodingError,
              ) -> dict[str, Any]:
    """``value``, if it is a map with exactly the keys of ``fields`` and each value of its type.

    A ``bool`` is not taken for an ``int``. Raises ``error`` with a message
    "``what``: ..." naming the first problem: not a map, a missing field (first
    in sorted order), an unexpected field, or a field of another type (in the
    order of ``fields``).
    """
    if not isinstance(value, dict):
        raise error(f"{what}: not a map")
    missing = sorted(fields.keys() - value.keys())
    if missing:
        raise error(f"{what}: missing field {missing[0]!r}")
    extra = sorted(value.keys() - fields.keys())
    if extra:
        raise error(f"{what}: unexpected field {extra[0]!r}")
    for name, kind in fields.items():
        if not isinstance(value[name], kind) or isinstance(value[name], bool):
            raise error(f"{what}: field {name!r} must be {kind.__name__}")
    return value


def _refuse_extension(code: int, data: bytes) -> Any:
    raise _Unencodable


def _sorted_map(pairs: Any) -> dict[str, Any]:
    previous = None
    for key, _ in pairs:
        if type(key) is not str or (previous is not None and key <= previous):
            # Python orders str by code point, which is the order of their UTF-8 bytes.
            raise _Unencodable
        previous = key
    return dict(pairs)


class _Unencodable(Exception):
    pass


def _sorted(value: Any) -> Any:
    # Hot path (every envelope is encoded at least twice): no path bookkeeping
    # here; _first_problem() finds and names the culprit only on failure.
    kind = type(value)
    if kind is dict:
        return {key: _sorted(value[key]) for key in sorted(value, key=_utf8)}
    if kind is list or kind is tuple:
        return [_sorted(item) for item in value]
    if isinstance(value, _PLAIN_SCALARS):
        return value
    # Subclasses (OrderedDict, named tuples) encode like their base type.
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value, key=_utf8)}
    if isinstance(value, (list, tuple)):
        return [_sorted(item) for item in value]
    raise _Unencodable


def _utf8(key: Any) -> bytes:
    if type(key) is not str:
        raise _Unencodable
    return key.encode("utf-8")


def _first_problem(value: Any, path: str) -> str:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}: map key {key!r} is not a str"
            problem = _first_problem(item, f"{path}.{key}")
            if problem:
                return problem
        return ""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = _first_problem(item, f"{path}[{i}]")
            if problem:
                return problem
        return ""
    if isinstance(value, float):
        return f"{path}: floats are not allowed (use integers)"
    if isinstance(value, int) and not _MIN_INT <= value <= _MAX_INT:
        return f"{path}: integer {value} is outside msgpack's 64-bit range"
    if isinstance(value, _PLAIN_SCALARS):
        return ""
    return f"{path}: {type(value).__name__} cannot be encoded"
