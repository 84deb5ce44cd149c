"""Signed envelopes: the unit that is stored, replicated and proved.

::

    {node, stream, version, type, occurred_on, recorded_at, authority, prev, body}
    hash = SHA-256(canonical bytes without sig)
    sig  = Ed25519(authority key, hash)

The stored form is the canonical msgpack of the same map with ``sig`` added, so
an envelope verifies anywhere from its bytes plus the signer's public key.
``prev`` is the hash of the previous envelope of the same stream
(``GENESIS_PREV`` for version 1): deleting, editing or reordering a record
breaks the chain of every later record of that stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, overload

import msgpack

from ledger.encoding import canonical_decode, canonical_encode, check_map, pack as _pack
from ledger.errors import ChainError, EncodingError

if TYPE_CHECKING:  # ``ledger.keys`` (and ``cryptography``) imported where a signature is made or checked: a reader
    # of envelopes, such as a rebuild's worker process (``projections.range_rows``), needs neither (9 ms at its start).
    from ledger.keys import Ed25519PrivateKey, Ed25519PublicKey

GENESIS_PREV = bytes(32)

REGISTER_PREFIX = "Authority."
"""The node key signs only records whose type starts with this: its register of authority keys
(``ledger.acceptance``)."""

# Every field of a stored envelope, with its type (the reference parser checks in this order).
_FIELD_TYPES = {"node": str, "stream": str, "version": int, "type": str, "occurred_on": int, "recorded_at": int,
                "authority": str, "prev": bytes, "body": dict, "sig": bytes}
# The fields in canonical order (sorted), each with its exact type for the fast path:
# ``type(x) is int`` also refuses ``bool``, as the reference check does.
_CANONICAL_NAMES = tuple(sorted(_FIELD_TYPES))
_CANONICAL_TYPES = tuple(_FIELD_TYPES[name] for name in _CANONICAL_NAMES)
# Set in an envelope's __dict__ by the fast path of ``from_bytes``: its maps are
# sorted and its values plain, so msgpack alone writes its canonical bytes.
_PARSED_CANONICAL = "_parsed_canonical"
# Set beside it by that fast path: the bytes parsed, which ``signed_bytes`` cuts instead of packing them again.
_STORED = "_stored"
# msgpack fixmap headers of the envelope without ``sig`` (9 entries) and with it (10), and the packed key.
_UNSIGNED_MAP_HEADER = 0x80 | (len(_FIELD_TYPES) - 1)
_SIGNED_MAP_HEADER = bytes([0x80 | len(_FIELD_TYPES)])
_UNSIGNED_MAP_HEADER_BYTE = bytes([_UNSIGNED_MAP_HEADER])
_SIG_KEY = msgpack.packb("sig")
# The packed keys of the entries after ``sig`` in sorted order: "stream", "type", "version".
_AFTER_SIG_KEYS = len(msgpack.packb("stream")) + len(msgpack.packb("type")) + len(msgpack.packb("version"))


class _Cached:
    """``functools.cached_property`` without its lock: the value is computed on first access and kept in the
    instance's ``__dict__``, where later accesses find it before this descriptor. On Python 3.11
    ``cached_property`` takes an ``RLock`` on every first access, a fifth of parsing an envelope; two threads
    that race here both compute the same value."""

    def __init__(self, compute: Callable[[Envelope], bytes]):
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _Cached: ...

    @overload
    def __get__(self, instance: Envelope, owner: type | None = None) -> bytes: ...

    def __get__(self, instance: Envelope | None, owner: type | None = None) -> bytes | _Cached:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


@dataclass(frozen=True)
class Envelope:
    """One signed record. Build with ``seal()`` or ``Envelope.from_bytes()``."""

    node: str
    stream: str
    version: int
    type: str
    occurred_on: int
    recorded_at: int
    authority: str
    prev: bytes
    body: Mapping[str, Any]
    sig: bytes = field(default=b"", repr=False)

    def unsigned(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "occurred_on": self.occurred_on,
            "recorded_at": self.recorded_at,
            "authority": self.authority,
            "prev": self.prev,
            "body": self.body,
        }

    @_Cached
    def signed_bytes(self) -> bytes:
        """Canonical bytes of everything but ``sig``: what the hash covers."""
        stored = self.__dict__.get(_STORED)
        if stored is not None:
            return _without_sig(stored, self.stream, self.type, self.version, self.sig)
        if self.__dict__.get(_PARSED_CANONICAL):
            # Parsed from canonical bytes: every map is sorted already, so packing
            # the header in sorted order gives canonical_encode's bytes, in C.
            return _pack({"authority": self.authority, "body": self.body, "node": self.node,
                          "occurred_on": self.occurred_on, "prev": self.prev, "recorded_at": self.recorded_at,
                          "stream": self.stream, "type": self.type, "version": self.version})
        return canonical_encode(self.unsigned())

    @_Cached
    def hash(self) -> bytes:
        """SHA-256 of ``signed_bytes``: the leaf data and the next ``prev``."""
        return hashlib.sha256(self.signed_bytes).digest()

    def to_bytes(self) -> bytes:
        """Canonical msgpack of the whole envelope including ``sig``.

        Built from ``signed_bytes`` (one canonical encoding per envelope): the same map with one
        more entry, ``sig``, whose place in the sorted keys is between ``recorded_at`` and ``stream``.
        """
        signed = self.signed_bytes
        # The entries after "sig" in sorted order, packed as msgpack packs them in signed_bytes.
        tail = msgpack.packb({"stream": self.stream, "type": self.type, "version": self.version},
                             use_bin_type=True)[1:]  # without the map header (one byte for 3 entries)
        if signed[0] != _UNSIGNED_MAP_HEADER or not signed.endswith(tail):
            return canonical_encode({**self.unsigned(), "sig": self.sig})  # not reached by canonical bytes
        return b"".join((_SIGNED_MAP_HEADER, signed[1:len(signed) - len(tail)], _SIG_KEY,
                         msgpack.packb(self.sig, use_bin_type=True), tail))

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse stored or received bytes.

        Raises ``EncodingError`` naming the field when the bytes are not a
        canonical envelope (not canonical msgpack, missing or extra fields,
        wrong types, ``version`` < 1, ``prev`` not 32 bytes). Does not check the
        signature: see ``verify_envelope``.

        The one parser of envelopes (storage, views, audit, ingest). Its fast
        path gives the verdict of ``_from_bytes_checked`` (the reference,
        ``canonical_decode`` then a check per field; a property test holds
        them equal) at C speed for well-formed bytes; anything it does not
        accept goes through the reference, which accepts or words the error.
        """
        if type(data) is not bytes:
            data = bytes(data)
        value = _canonical_value(data)
        if value is not None:
            # The fields were all checked: fill them in without the frozen
            # dataclass's __init__ (ten object.__setattr__ calls, a sixth of the parse).
            envelope = object.__new__(cls)
            envelope.__dict__.update(value)
            envelope.__dict__[_PARSED_CANONICAL] = True
            envelope.__dict__[_STORED] = data
            return envelope
        return cls._from_bytes_checked(data)

    @classmethod
    def from_checked_bytes(cls, data: bytes, envelope_hash: bytes) -> Envelope:
        """The envelope of ``data`` as ``from_bytes`` gives it, with ``envelope_hash`` as its hash, made unchecked.

        Requires that ``from_bytes(data)`` accepted ``data`` (in this process or another, e.g. a verifying
        process that sends back bytes it checked) and ``envelope_hash`` is its hash: nothing is checked
        again, so this is only for bytes whose check came from our own code.
        """
        envelope = object.__new__(cls)
        fields = envelope.__dict__
        fields.update(msgpack.unpackb(data, raw=False, use_list=False))
        fields[_PARSED_CANONICAL] = True
        fields[_STORED] = data
        fields["hash"] = envelope_hash
        return envelope

    @classmethod
    def _from_bytes_checked(cls, data: bytes) -> Envelope:
        """The reference parser: ``from_bytes``'s verdict, step by step, with the reason of a refusal."""
        value = check_map(canonical_decode(data), "envelope", _FIELD_TYPES)
        if value["version"] < 1:
            raise EncodingError("envelope: field 'version' must be >= 1")
        if len(value["prev"]) != 32:
            raise EncodingError("envelope: field 'prev' must be 32 bytes")
        envelope = cls(**value)
        envelope.__dict__[_PARSED_CANONICAL] = True
        return envelope


def envelope_fields(data: bytes) -> dict[str, Any]:
    """The fields of the envelope ``data`` by name (``sig`` included), as ``Envelope.from_bytes(data)`` has
    them, for a reader of every record that needs their values and no ``Envelope`` (a rebuild of the views):
    making the object was a sixth of the parse.

    Raises ``EncodingError`` exactly when ``Envelope.from_bytes`` does, with its words: the same check.
    The dict is the caller's.
    """
    if type(data) is not bytes:
        data = bytes(data)
    value = _canonical_value(data)
    if value is not None:
        return value
    envelope = Envelope._from_bytes_checked(data)
    return {name: getattr(envelope, name) for name in _CANONICAL_NAMES}


def hashed_envelope_fields(data: bytes) -> tuple[dict[str, Any], bytes]:
    """``envelope_fields(data)`` and the envelope's ``hash``, as ``Envelope.from_bytes(data)`` has it, for a reader
    that checks every record's signature and needs no ``Envelope`` (``verify``'s workers): making the object and
    reading its hash through it was a quarter of the parse.

    Raises ``EncodingError`` exactly when ``Envelope.from_bytes`` does, with its words. The dict is the caller's.
    """
    if type(data) is not bytes:
        data = bytes(data)
    value = _canonical_value(data)
    if value is None:
        envelope = Envelope._from_bytes_checked(data)
        return {name: getattr(envelope, name) for name in _CANONICAL_NAMES}, envelope.hash
    return value, hashlib.sha256(_without_sig(data, value["stream"], value["type"], value["version"],
                                              value["sig"])).digest()


def _without_sig(stored: bytes, stream: str, record_type: str, version: int, sig: bytes) -> bytes:
    """The signed bytes of the canonical envelope ``stored`` whose fields these are.

    ``stored`` is the canonical map with ``sig`` (``_canonical_value`` packed its value again and found them
    equal), and msgpack packs a map entry after entry: it is the unsigned map's bytes with the header of one
    more entry and the ``sig`` entry inserted before the entries "stream", "type" and "version". That entry is
    cut out again instead of packing the whole map.
    """
    after = _AFTER_SIG_KEYS + len(_pack((stream, record_type, version))) - 1  # minus the array header
    sig_entry = len(_SIG_KEY) + len(_pack(sig))
    end = len(stored) - after
    return b"".join((_UNSIGNED_MAP_HEADER_BYTE, stored[1:end - sig_entry], stored[end:]))


def _canonical_value(data: bytes) -> dict[str, Any] | None:
    """``from_bytes``'s fast path: the decoded map of ``data`` when it is a canonical envelope, else None
    (then the reference parser gives the verdict, and words a refusal)."""
    try:
        value = msgpack.unpackb(data, raw=False, use_list=False, strict_map_key=True,
                                ext_hook=_refuse_extension, timestamp=1)  # timestamps as floats: refused
    except Exception:  # msgpack raises several unrelated types; the reference words the error
        return None
    if (
        type(value) is dict
        and tuple(value) == _CANONICAL_NAMES  # the fields, each once, in sorted order
        and tuple(map(type, value.values())) == _CANONICAL_TYPES
        and value["version"] >= 1
        and len(value["prev"]) == 32
        and _sorted_without_floats(value["body"])
        # With every map sorted and no float, re-packing reproduces the bytes
        # exactly when they are canonical (minimal widths, bin for bytes, no
        # trailing data, no repeated key).
        and _pack(value) == data
    ):
        return value
    return None


def _refuse_extension(code: int, data: bytes) -> Any:
    raise EncodingError("msgpack extension types are not canonical")


def _sorted_without_floats(value: dict[Any, Any] | tuple[Any, ...]) -> bool:
    """Whether every map in ``value`` has only ``str`` keys, sorted by code point (= by UTF-8 bytes),
    and no value is a float (which has no canonical form)."""
    if type(value) is dict:
        keys = list(value)
        try:
            "".join(keys)  # raises TypeError unless every key is a str (msgpack may also give bytes)
        except TypeError:
            return False
        if keys != sorted(keys):
            return False
        children: Any = value.values()
    else:
        children = value
    for child in children:
        kind = type(child)
        if kind is dict or kind is tuple:
            if not _sorted_without_floats(child):
                return False
        elif kind is float:
            return False
    return True


def seal(key: Ed25519PrivateKey, **fields: Any) -> Envelope:
    """Sign a new envelope with ``key``; ``fields`` are the header and ``body``.

    Requires every field of the header; ``authority`` must be the key id of
    ``key`` (the caller knows it; it is not recomputed here for speed).
    """
    from ledger.keys import sign

    unsigned = Envelope(**fields)
    sealed = Envelope(**fields, sig=sign(key, unsigned.hash))
    # ``sig`` is not hashed: hand the sealed envelope the bytes and hash already
    # computed instead of encoding again (every append needs its hash for ``prev``).
    sealed.__dict__.update(signed_bytes=unsigned.signed_bytes, hash=unsigned.hash)
    return sealed


def verify_envelope(envelope: Envelope, public_key: Ed25519PublicKey) -> bool:
    """Return True or raise ``SignatureError``: ``sig`` is Ed25519 over ``hash``."""
    from ledger.keys import verify_signature

    return verify_signature(public_key, envelope.sig, envelope.hash)


def verify_chain(envelopes: list[Envelope]) -> bool:
    """Check that ``envelopes`` are one stream's versions 1..n, each linked by ``prev``.

    Returns True or raises ``ChainError`` naming the first bad version with the
    expected and calculated hashes.
    """
    expected_prev = GENESIS_PREV
    for position, envelope in enumerate(envelopes, start=1):
        if envelope.version != position:
            raise ChainError(
                f"stream {envelope.stream}: version {envelope.version} where {position} was expected "
                "(a record is missing or out of order)",
                expected=position,
                calculated=envelope.version,
            )
        if envelope.prev != expected_prev:
            raise ChainError(
                f"stream {envelope.stream} version {envelope.version}: prev does not match "
                "the hash of the previous record",
                expected=expected_prev,
                calculated=envelope.prev,
            )
        expected_prev = envelope.hash
    return True
