"""Federation messages on the wire: the record message's fast encoder and parser give the bytes and
the verdicts of the reference (``canonical_encode`` of the whole map; ``_decode_checked``)."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, strategies as st

from ledger.encoding import canonical_decode, canonical_encode
from ledger.errors import EncodingError
from nodes.federation import wire
from nodes.federation.wire import (
    CheckpointMessage,
    CosignatureMessage,
    RecordMessage,
    WitnessRequest,
    decode_message,
    encode_message,
)

HASH = bytes(range(32))


def record(**fields) -> RecordMessage:
    values = dict(origin="BE", envelope=b"\x81\xa1a\x01", checkpoint_size=12, index=3, proof=(HASH, HASH[::-1]))
    values.update(fields)
    return RecordMessage(**values)


def reference_bytes(message) -> bytes:
    """The definition: the canonical encoding of the message's map with its version and kind."""
    fields = {name: getattr(message, name) for name in message.__dataclass_fields__}
    return canonical_encode({"v": wire.WIRE_VERSION, "kind": message.kind, **fields})


def verdict(parse, data: bytes):
    try:
        return parse(data)
    except EncodingError as e:
        return f"refused: {e}"


@pytest.mark.parametrize("message", [
    record(),
    record(proof=()),
    record(proof=[HASH]),  # a list packs as the tuple does
    record(checkpoint_size=2**64 - 1, index=2**63),
    record(index=0, origin="é" * 40, envelope=b"x" * 70_000),
    CheckpointMessage(origin="BE", checkpoint=b"c", previous_size=3, consistency=(HASH,), proof_sig=b"s"),
    CosignatureMessage(origin="NL", checkpoint=b"c", witness_key="k", sig=b"s" * 72),
    WitnessRequest(origin="BE", nonce=b"n" * 16),
])
def test_encode_gives_the_canonical_bytes_of_the_whole_map(message):
    assert encode_message(message) == reference_bytes(message)
    assert encode_message(decode_message(encode_message(message))) == encode_message(message)


@pytest.mark.parametrize("message", [
    record(index=True),  # a bool: canonical_encode packs it as msgpack true, as the definition says
    record(checkpoint_size=2**64),  # beyond msgpack: the same error as canonical_encode's
    record(proof=(1.5,)),  # a float: refused
    record(proof=("x",)),
])
def test_encode_of_other_values_is_the_definitions(message):
    assert verdict(encode_message, message) == verdict(reference_bytes, message)


@pytest.mark.parametrize("message", [
    record(), record(proof=()), record(proof=[HASH]), record(checkpoint_size=2**64 - 1, index=2**63),
    record(index=True), record(checkpoint_size=2**64), record(proof=(1.5,)), record(proof=("x",)),
])
def test_a_record_encoded_from_its_fields_is_its_message_encoded(message):
    fields = (message.origin, message.envelope, message.checkpoint_size, message.index, message.proof)
    assert verdict(lambda m: wire.encode_record(*fields), message) == verdict(reference_bytes, message)


def test_records_take_the_fast_path(monkeypatch):
    # Otherwise the agreement below would hold trivially, every parse being the reference's.
    def refuse(data):
        raise AssertionError("the reference parser was used for a canonical record message")

    monkeypatch.setattr(wire, "_decode_checked", refuse)
    assert decode_message(encode_message(record())) == record()


def _spoilt(data: bytes) -> list[bytes]:
    """Record messages the reference refuses, each for another reason."""
    value = dict(canonical_decode(data))

    def pack(v) -> bytes:
        return msgpack.packb(v, use_bin_type=True)

    def without(name):
        return {k: v for k, v in value.items() if k != name}

    return [
        pack(dict(reversed(value.items()))),  # keys unsorted
        pack(without("index")), pack(value | {"zz": 1}), pack(without("v")),
        pack(value | {"v": 2}), pack(value | {"kind": "recordx"}), pack(value | {"index": True}),
        pack(value | {"index": 1.0}), pack(value | {"checkpoint_size": "12"}), pack(value | {"origin": b"BE"}),
        pack(value | {"proof": (HASH[:31],)}), pack(value | {"proof": (1,)}), pack(value | {"proof": HASH}),
        pack(value | {"envelope": "e"}), pack(value | {"proof": ({"a": 1},)}),
        pack(value | {"proof": (msgpack.ExtType(5, b"x"),)}),
        pack(value | {"index": msgpack.Timestamp(1, 0)}),
        data + b"\x00",  # trailing byte
        data[:-1],  # truncated
        data.replace(b"\xa6origin", b"\xd9\x06origin", 1),  # non-minimal string length
        b"\x88" + data[1:] + b"\xa1v\x01",  # a repeated key
        pack([value]), b"", b"\xc1",
    ]


def test_every_spoilt_variant_is_refused():
    # Guards the table: each variant is a refusal for the reference itself.
    for variant in _spoilt(encode_message(record())):
        assert verdict(wire._decode_checked, variant).startswith("refused"), variant


@given(origin=st.text(max_size=10), envelope=st.binary(max_size=300),
       checkpoint_size=st.integers(0, 2**64 - 1), index=st.integers(0, 2**64 - 1),
       proof=st.lists(st.binary(min_size=31, max_size=33), max_size=4), data=st.data())
def test_decode_agrees_with_the_reference(origin, envelope, checkpoint_size, index, proof, data):
    canonical = encode_message(record(origin=origin, envelope=envelope, checkpoint_size=checkpoint_size,
                                      index=index, proof=tuple(proof)))
    variants = [canonical, *_spoilt(canonical)]
    position = data.draw(st.integers(0, len(canonical) - 1), label="position")
    variants.append(canonical[:position] + bytes([canonical[position] ^ data.draw(st.integers(1, 255))])
                    + canonical[position + 1:])
    for variant in variants:
        assert verdict(decode_message, variant) == verdict(wire._decode_checked, variant), variant


@given(origin=st.text(max_size=10), envelope=st.binary(max_size=300),
       checkpoint_size=st.integers(0, 2**64 - 1), index=st.integers(0, 2**64 - 1),
       proof=st.lists(st.binary(min_size=31, max_size=33), max_size=4), data=st.data())
def test_a_record_made_again_from_checked_bytes_is_the_one_decoded(origin, envelope, checkpoint_size, index, proof,
                                                                    data):
    # Ingest's verifying processes send back the bytes they accepted; the message made of them again, unchecked,
    # must be the one decode_message made, whichever of its parsers accepted them.
    canonical = encode_message(record(origin=origin, envelope=envelope, checkpoint_size=checkpoint_size,
                                      index=index, proof=tuple(proof)))
    position = data.draw(st.integers(0, len(canonical) - 1), label="position")
    variants = [canonical, *_spoilt(canonical), canonical[:position] + bytes(
        [canonical[position] ^ data.draw(st.integers(1, 255))]) + canonical[position + 1:]]
    for variant in variants:
        decoded = verdict(decode_message, variant)
        if isinstance(decoded, RecordMessage):
            again = wire.record_from_checked_bytes(variant)
            assert again == decoded and type(again.proof) is tuple
            assert encode_message(again) == variant
