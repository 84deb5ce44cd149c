"""Messages between national nodes on Kafka (one inbox topic per state).

Every message is the canonical msgpack of a map with a ``kind``; the Kafka key
is the stream id (records) or the origin state (checkpoints, cosignatures).
Kafka is transport only: everything a message asserts is checked on ingest
from the bytes themselves plus the trust store.

``record``       one signed envelope of the origin's log, with the checkpoint it
                 is proved against (by size) and its RFC 9162 inclusion proof.
``checkpoint``   a signed checkpoint of the origin's log, with a consistency
                 proof from the last checkpoint the origin sent this partner
                 (``previous_size``; 0 when none), so a partner can demand that
                 the log only grew (RFC 9162 section 2.1.4); ``proof_sig`` is the
                 origin node key's signature over the proof (``ledger.signed_proof``),
                 so that only the origin's own statement can raise a fork alarm.
                 Messages of nodes that did not sign it yet decode with an empty
                 ``proof_sig``: their proofs are unsigned (docs/federation.md).
``cosignature``  a witness's signature over a checkpoint it verified, sent back
                 to the checkpoint's origin.
``gossip``       the newest checkpoint the sender holds of another origin, signed by
                 that origin, so partners shown different histories find out.
``witness-request``  asks a partner which checkpoint of ours it holds (``verify --witnesses``).
``witness-reply``    the answer: that checkpoint, signed by us, with the partner's cosignature
                 (all empty when it holds none), echoing the request's ``nonce``.
                 to the checkpoint's origin: a C2SP cosignature/v1 (72 bytes), or
                 the older Ed25519 over SHA-256 of the checkpoint bytes (64 bytes)
                 (``ledger.cosignature``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import msgpack

from ledger.encoding import canonical_decode, canonical_encode, pack
from ledger.errors import EncodingError
from nodes.errors import ConfigurationError

WIRE_VERSION = 1

_STATE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def check_topic_prefix(prefix: str) -> str:
    """``prefix`` if it can start a topic name (letters, digits, '.', '_', '-'); else ``ConfigurationError``."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ConfigurationError(f"topic prefix {prefix!r}: use letters, digits, '.', '_' or '-'")
    return prefix


def inbox_topic(prefix: str, state: str) -> str:
    """The inbox topic of ``state``: ``<prefix>.inbox.<STATE>`` (DESIGN.md, "Federation over Kafka").

    ``ConfigurationError`` if ``state`` cannot name a topic (letters, digits, '_', '-').
    """
    if not isinstance(state, str) or not _STATE.fullmatch(state):
        raise ConfigurationError(f"state {state!r}: expected a state code of letters, digits, '_' or '-'")
    return f"{check_topic_prefix(prefix)}.inbox.{state.upper()}"


@dataclass(frozen=True)
class RecordMessage:
    origin: str
    envelope: bytes
    checkpoint_size: int
    index: int
    proof: tuple[bytes, ...]

    kind = "record"


@dataclass(frozen=True)
class CheckpointMessage:
    origin: str
    checkpoint: bytes
    previous_size: int
    consistency: tuple[bytes, ...]
    proof_sig: bytes = b""  # the origin's signature over the proof; b"": unsigned

    kind = "checkpoint"


@dataclass(frozen=True)
class CosignatureMessage:
    origin: str          # the witness state that cosigns
    checkpoint: bytes    # the checkpoint cosigned (of the receiving node)
    witness_key: str     # key id of the witness's node key
    sig: bytes           # cosignature/v1 (72 bytes) or older Ed25519 over SHA-256 of the bytes (64)

    kind = "cosignature"


@dataclass(frozen=True)
class GossipMessage:
    origin: str          # the state that gossips
    checkpoint: bytes    # a checkpoint of a third state, as that state signed it

    kind = "gossip"


@dataclass(frozen=True)
class WitnessRequest:
    origin: str          # the state whose checkpoints are asked about
    nonce: bytes         # echoed by the reply (16 random bytes)

    kind = "witness-request"


@dataclass(frozen=True)
class WitnessReply:
    origin: str          # the witness that answers
    nonce: bytes         # the request's
    checkpoint: bytes    # the newest checkpoint of the requester it holds (b"" if none)
    witness_key: str     # key id of the witness's node key ("" if none)
    sig: bytes           # the witness's cosignature of ``checkpoint`` (b"" if none)

    kind = "witness-reply"


Message = Union[RecordMessage, CheckpointMessage, CosignatureMessage, GossipMessage, WitnessRequest, WitnessReply]

_KINDS = {cls.kind: cls for cls in (RecordMessage, CheckpointMessage, CosignatureMessage, GossipMessage,
                                    WitnessRequest, WitnessReply)}
_TYPES = {
    "origin": str, "envelope": bytes, "checkpoint_size": int, "index": int, "proof": tuple,
    "checkpoint": bytes, "previous_size": int, "consistency": tuple, "witness_key": str, "sig": bytes,
    "nonce": bytes,
    "proof_sig": bytes,
}
#: Fields a message may lack, with the value it then has: added to a kind after nodes sent it without.
_OPTIONAL = {"proof_sig": b""}


def encode_message(message: Message) -> bytes:
    """The canonical msgpack of ``message`` (``ledger.encoding``). Raises ``EncodingError`` for a field
    that has no canonical form."""
    if type(message) is RecordMessage:
        packed = _packed_record(message.origin, message.envelope, message.checkpoint_size, message.index,
                                message.proof)
        if packed is not None:
            return packed
    fields = {name: getattr(message, name) for name in message.__dataclass_fields__}
    return canonical_encode({"v": WIRE_VERSION, "kind": message.kind, **fields})


#: A record message's keys in canonical (sorted) order, "kind" and "v" among them.
_RECORD_KEYS = ("checkpoint_size", "envelope", "index", "kind", "origin", "proof", "v")
_RECORD_TYPES = (int, bytes, int, str, str, tuple, int)
_BYTES, _HASH_LENGTH = {bytes}, {32}


def encode_record(origin: str, envelope: bytes, checkpoint_size: int, index: int, proof: Sequence[bytes]) -> bytes:
    """``encode_message`` of the ``RecordMessage`` of these fields, made without the message (the relay
    encodes one per record it publishes). Raises ``EncodingError`` as ``encode_message`` does."""
    packed = _packed_record(origin, envelope, checkpoint_size, index, proof)
    if packed is not None:
        return packed
    return encode_message(RecordMessage(origin=origin, envelope=envelope, checkpoint_size=checkpoint_size,
                                        index=index, proof=tuple(proof)))


def _packed_record(origin: str, envelope: bytes, checkpoint_size: int, index: int,
                   proof: Sequence[bytes]) -> bytes | None:
    """``canonical_encode``'s bytes for a record message whose fields have their exact types (no bool,
    float or nested map: msgpack alone then packs canonically once the keys are sorted); None otherwise."""
    if not (type(origin) is str and type(envelope) is bytes and type(checkpoint_size) is int
            and type(index) is int and type(proof) in (tuple, list) and set(map(type, proof)) <= _BYTES):
        return None
    try:
        packed = pack({"checkpoint_size": checkpoint_size, "envelope": envelope, "index": index,
                       "kind": RecordMessage.kind, "origin": origin, "proof": proof, "v": WIRE_VERSION})
    except OverflowError:  # an integer beyond msgpack's: canonical_encode words the error
        return None
    return packed


#: A request's nonce has this many bytes.
NONCE_SIZE = 16


def decode_message(data: bytes) -> Message:
    """Parse a message; raises ``EncodingError`` naming what is wrong (it is quarantined).

    A record message in canonical form takes a fast path (``_parsed_record``); everything else is
    parsed by the reference (``_decode_checked``), which a property test holds to the same verdicts."""
    record = _parsed_record(data)
    if record is not None:
        return record
    return _decode_checked(data)


def _decode_checked(data: bytes) -> Message:
    """The reference parser: ``decode_message``'s verdict, step by step, with the reason of a refusal."""
    value = canonical_decode(data)
    if not isinstance(value, dict):
        raise EncodingError("message: not a map")
    if value.get("v") != WIRE_VERSION:
        raise EncodingError(f"message: unsupported wire version {value.get('v')!r}")
    cls = _KINDS.get(value.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise EncodingError(f"message: unknown kind {value.get('kind')!r}")
    names = set(cls.__dataclass_fields__)
    value = {**{name: default for name, default in _OPTIONAL.items() if name in names}, **value}
    given = set(value) - {"v", "kind"}
    if given != names:
        problem = sorted(names - given) or sorted(given - names)
        raise EncodingError(f"message {cls.kind}: missing or unexpected field {problem[0]!r}")
    for name in names:
        if not isinstance(value[name], _TYPES[name]) or isinstance(value[name], bool):
            raise EncodingError(f"message {cls.kind}: field {name!r} must be {_TYPES[name].__name__}")
    if "proof" in names and not all(isinstance(p, bytes) and len(p) == 32 for p in value["proof"]):
        raise EncodingError("message record: proof elements must be 32-byte hashes")
    if "consistency" in names and not all(isinstance(p, bytes) and len(p) == 32 for p in value["consistency"]):
        raise EncodingError("message checkpoint: consistency proof elements must be 32-byte hashes")
    if "nonce" in names and len(value["nonce"]) != NONCE_SIZE:
        raise EncodingError(f"message {cls.kind}: field 'nonce' must be {NONCE_SIZE} bytes")
    return cls(**{name: value[name] for name in names})


def claimed_origin(data: bytes) -> str:
    """The ``origin`` a message names, read without decoding its other fields ("" if none can be read).

    For a message too large to decode: its bulky fields are skipped, never built.
    """
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(data), 1), strict_map_key=True)
    unpacker.feed(data)
    try:
        for _ in range(min(unpacker.read_map_header(), 16)):
            name = unpacker.unpack()
            if name == "origin":
                value = unpacker.unpack()
                return value if isinstance(value, str) and _STATE.fullmatch(value) else ""
            unpacker.skip()
    except Exception:  # msgpack raises several unrelated types; an unreadable origin is just unknown
        return ""
    return ""


def _parsed_record(data: bytes) -> RecordMessage | None:
    """The record message ``data`` holds, if it is one in exactly the canonical form ``decode_message``
    accepts (checked in C: msgpack parses it and re-packs it to the same bytes); None for anything else,
    which ``decode_message`` then parses step by step, accepting or naming the error as it always did."""
    try:
        value = msgpack.unpackb(data, raw=False, use_list=False, strict_map_key=True, ext_hook=_no_extension,
                                timestamp=1)  # a timestamp comes back as a float: refused below
    except Exception:  # msgpack raises several unrelated types; the step-by-step parse words the error
        return None
    if not (type(value) is dict and tuple(value) == _RECORD_KEYS  # each key once, in sorted order
            and tuple(map(type, value.values())) == _RECORD_TYPES  # no float, bool or nested map
            and value["v"] == WIRE_VERSION and value["kind"] == RecordMessage.kind
            # Every element bytes of 32 (two loops in C: a third of the time of one in Python per element).
            and set(map(type, value["proof"])) <= _BYTES and set(map(len, value["proof"])) <= _HASH_LENGTH
            # Sorted keys and plain values: re-packing gives the input back exactly when it is
            # canonical (minimal widths, bin for bytes, no trailing data).
            and pack(value) == data):
        return None
    # Every field was checked above: fill them in without the frozen dataclass's __init__ (five
    # object.__setattr__ calls, two fifths of this parse), as ``Envelope.from_bytes`` does.
    message = object.__new__(RecordMessage)
    fields = message.__dict__
    fields.update(value)
    del fields["kind"], fields["v"]
    return message


def record_from_checked_bytes(data: bytes) -> RecordMessage:
    """The ``RecordMessage`` that ``decode_message(data)`` gives, made without checking.

    Requires that ``decode_message`` accepted ``data`` as a record message (in this process or another: a
    verifying process sends back the bytes it checked), so msgpack alone gives its fields.
    """
    message = object.__new__(RecordMessage)
    fields = message.__dict__
    fields.update(msgpack.unpackb(data, raw=False, use_list=False))
    del fields["kind"], fields["v"]
    return message


def _no_extension(code: int, data: bytes) -> object:
    raise ValueError("msgpack extension types are not canonical")
