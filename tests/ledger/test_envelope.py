"""Signed envelopes: seal, verify, parse, and the per-stream ``prev`` hash chain."""

from __future__ import annotations

import dataclasses
import hashlib

import msgpack
import pytest
from hypothesis import given, settings, strategies as st

from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import (
    GENESIS_PREV,
    Envelope,
    envelope_fields,
    hashed_envelope_fields,
    seal,
    verify_chain,
    verify_envelope,
)
from ledger.errors import ChainError, EncodingError, LedgerError, SignatureError
from ledger.keys import generate_key, key_id

KEY = generate_key()
OTHER_KEY = generate_key()
STREAM = "6f1c7d52-3a0e-5b6e-9a43-0f9d7e1c2b11"


def make(version: int = 1, prev: bytes = GENESIS_PREV, body=None, key=KEY, **header) -> Envelope:
    fields = dict(node="BE", stream=STREAM, version=version, type="Weapon.Marked", occurred_on=1_700_000_000,
                  recorded_at=1_700_000_000_123_456, authority=key_id(key), prev=prev,
                  body={"mark": "BE-1", "reason": ""} if body is None else body)
    fields.update(header)
    return seal(key, **fields)


def chain(length: int) -> list[Envelope]:
    envelopes, prev = [], GENESIS_PREV
    for version in range(1, length + 1):
        envelope = make(version, prev, body={"n": version})
        envelopes.append(envelope)
        prev = envelope.hash
    return envelopes


# --- seal and verify ------------------------------------------------------------------------


def test_seal_verify_and_round_trip():
    envelope = make()
    assert verify_envelope(envelope, KEY.public_key()) is True
    assert len(envelope.sig) == 64
    parsed = Envelope.from_bytes(envelope.to_bytes())
    assert parsed == envelope and parsed.hash == envelope.hash
    assert verify_envelope(parsed, KEY.public_key()) is True


def test_hash_covers_everything_but_the_signature():
    envelope = make()
    unsigned = canonical_decode(envelope.to_bytes())
    del unsigned["sig"]
    assert envelope.hash == hashlib.sha256(canonical_encode(unsigned)).digest()
    assert dataclasses.replace(envelope, sig=bytes(64)).hash == envelope.hash


def test_hash_and_signed_bytes_are_computed_once_and_kept():
    parsed = Envelope.from_bytes(make().to_bytes())
    assert "hash" not in vars(parsed) and "signed_bytes" not in vars(parsed)
    first = parsed.hash
    assert vars(parsed)["hash"] is first and parsed.hash is first  # kept on the instance, not computed again
    assert vars(parsed)["signed_bytes"] == canonical_encode(parsed.unsigned())
    assert first == hashlib.sha256(canonical_encode(parsed.unsigned())).digest()
    assert "SHA-256" in (Envelope.hash.__doc__ or "")  # the class attribute is the descriptor, with its doc


@pytest.mark.parametrize(
    "change",
    [
        {"node": "NL"}, {"stream": STREAM.replace("6", "7")}, {"version": 2}, {"type": "Weapon.Destroyed"},
        {"occurred_on": 1_700_000_001}, {"recorded_at": 1}, {"authority": key_id(OTHER_KEY)},
        {"prev": b"\x01" * 32}, {"body": {"mark": "BE-2", "reason": ""}}, {"body": {"mark": "BE-1"}},
        {"body": {"mark": "BE-1", "reason": "", "extra": 0}},
    ],
    ids=lambda change: "-".join(f"{k}" for k in change) + ("-" + str(len(change["body"])) if "body" in change else ""),
)
def test_altered_envelope_fails_verification(change):
    envelope = make()
    altered = dataclasses.replace(envelope, **change)
    with pytest.raises(SignatureError):
        verify_envelope(altered, KEY.public_key())
    with pytest.raises(SignatureError):
        verify_envelope(Envelope.from_bytes(altered.to_bytes()), KEY.public_key())


def test_altered_signature_fails_verification():
    envelope = make()
    for sig in (bytes(64), envelope.sig[:-1] + bytes([envelope.sig[-1] ^ 1]), envelope.sig[:63], b""):
        with pytest.raises(SignatureError):
            verify_envelope(dataclasses.replace(envelope, sig=sig), KEY.public_key())


def test_signature_of_another_key_fails_verification():
    with pytest.raises(SignatureError):
        verify_envelope(make(), OTHER_KEY.public_key())


def test_every_flipped_bit_of_the_stored_bytes_is_caught():
    data = make().to_bytes()
    for position in range(len(data)):
        for bit in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= bit
            with pytest.raises(LedgerError):  # EncodingError when unparseable, else SignatureError
                verify_envelope(Envelope.from_bytes(bytes(tampered)), KEY.public_key())


# --- parsing ------------------------------------------------------------------------------


def _whole(**change) -> dict:
    value = dict(canonical_decode(make().to_bytes()))
    value.update(change)
    return value


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({k: v for k, v in _whole().items() if k != "body"}, "body"),
        ({k: v for k, v in _whole().items() if k != "sig"}, "sig"),
        ({k: v for k, v in _whole().items() if k != "node"}, "node"),
        (_whole(extra=1), "extra"),
        (_whole(node=1), "node"),
        (_whole(stream=b"x"), "stream"),
        (_whole(version="1"), "version"),
        (_whole(version=True), "version"),
        (_whole(version=0), "version"),
        (_whole(type=None), "type"),
        (_whole(occurred_on="2024-01-01"), "occurred_on"),
        (_whole(recorded_at=None), "recorded_at"),
        (_whole(authority=b"k"), "authority"),
        (_whole(prev="00" * 32), "prev"),
        (_whole(prev=bytes(31)), "prev"),
        (_whole(body=[1, 2]), "body"),
        (_whole(sig="sig"), "sig"),
    ],
)
def test_from_bytes_names_the_bad_field(value, field):
    with pytest.raises(EncodingError) as info:
        Envelope.from_bytes(canonical_encode(value))
    assert repr(field) in str(info.value)


@pytest.mark.parametrize("data", [canonical_encode([1, 2]), canonical_encode("envelope"), b"\x81\xa1a"])
def test_from_bytes_refuses_what_is_not_an_envelope(data):
    with pytest.raises(EncodingError):
        Envelope.from_bytes(data)


def test_from_bytes_refuses_non_canonical_bytes():
    value = _whole()
    # The same map with keys in reverse order: same meaning, other bytes.
    reordered = msgpack.packb(dict(reversed(list(value.items()))), use_bin_type=True)
    assert reordered != canonical_encode(value)
    with pytest.raises(EncodingError):
        Envelope.from_bytes(reordered)


# --- chains -------------------------------------------------------------------------------


def test_chain_verifies():
    assert verify_chain(chain(5)) is True
    assert verify_chain([]) is True


def test_chain_gap_is_detected():
    envelopes = chain(4)
    with pytest.raises(ChainError) as info:
        verify_chain([envelopes[0], envelopes[2], envelopes[3]])
    assert (info.value.expected, info.value.calculated) == (2, 3)


def test_chain_reorder_is_detected():
    envelopes = chain(3)
    with pytest.raises(ChainError):
        verify_chain([envelopes[1], envelopes[0], envelopes[2]])
    with pytest.raises(ChainError):
        verify_chain([envelopes[0], envelopes[2], envelopes[1]])


def test_chain_missing_first_record_is_detected():
    with pytest.raises(ChainError) as info:
        verify_chain(chain(3)[1:])
    assert (info.value.expected, info.value.calculated) == (1, 2)


def test_chain_edited_prev_is_detected():
    envelopes = chain(3)
    forged = make(2, prev=b"\x07" * 32, body={"n": 2})  # validly signed, wrong link
    with pytest.raises(ChainError) as info:
        verify_chain([envelopes[0], forged, envelopes[2]])
    assert info.value.expected == envelopes[0].hash and info.value.calculated == b"\x07" * 32


def test_chain_first_record_must_link_to_genesis():
    with pytest.raises(ChainError) as info:
        verify_chain([make(1, prev=b"\x01" * 32)])
    assert info.value.expected == GENESIS_PREV


def test_chain_edited_earlier_record_breaks_the_next_link():
    envelopes = chain(3)
    edited = make(1, body={"n": "edited"})  # re-signed by the same key: its own signature verifies
    assert verify_envelope(edited, KEY.public_key())
    with pytest.raises(ChainError) as info:
        verify_chain([edited, *envelopes[1:]])
    assert info.value.expected == edited.hash and info.value.calculated == envelopes[0].hash


# --- properties ---------------------------------------------------------------------------

body_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(max_size=12)
    | st.binary(max_size=12),
    lambda children: st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)
bodies = st.dictionaries(st.text(max_size=10), body_values, max_size=6)


@given(body=bodies, version=st.integers(min_value=1, max_value=2**32), occurred_on=st.integers(-(2**40), 2**40),
       prev=st.binary(min_size=32, max_size=32), type_=st.text(min_size=1, max_size=20))
def test_random_envelopes_round_trip_and_verify(body, version, occurred_on, prev, type_):
    envelope = make(version, prev, body=body, occurred_on=occurred_on, type=type_)
    parsed = Envelope.from_bytes(envelope.to_bytes())
    assert parsed == envelope
    assert parsed.hash == envelope.hash
    assert verify_envelope(parsed, KEY.public_key())


@given(body=bodies, version=st.integers(min_value=1, max_value=2**64 - 1), stream=st.text(max_size=40),
       type_=st.text(min_size=1, max_size=40), sig=st.binary(max_size=300))
def test_bytes_are_the_canonical_encoding_of_the_whole_map(body, version, stream, type_, sig):
    # to_bytes splices sig into signed_bytes (one encoding per envelope): the reference is the definition.
    envelope = dataclasses.replace(make(version, body=body, stream=stream, type=type_), sig=sig)
    assert envelope.to_bytes() == canonical_encode({**envelope.unsigned(), "sig": sig})
    parsed = Envelope._from_bytes_checked(envelope.to_bytes())  # parsed again: signed_bytes by the fast path
    assert parsed.to_bytes() == envelope.to_bytes()
    # from_bytes's fast path cuts signed_bytes out of the bytes it parsed (sig of any length, any stream and type).
    fast = Envelope.from_bytes(envelope.to_bytes())
    assert fast.signed_bytes == canonical_encode(envelope.unsigned())
    assert fast.hash == hashlib.sha256(canonical_encode(envelope.unsigned())).digest()


@settings(max_examples=50)
@given(bodies, bodies)
def test_different_bodies_have_different_hashes(first, second):
    if canonical_encode(first) != canonical_encode(second):
        assert make(body=first).hash != make(body=second).hash


# --- the fast parser against a straightforward reference ----------------------------------


def _reference(data: bytes):
    """The verdict of the definition: canonical msgpack, then each field and its type; and the hash."""
    try:
        value = canonical_decode(data)
    except EncodingError:
        return "refused"
    types = {"node": str, "stream": str, "version": int, "type": str, "occurred_on": int, "recorded_at": int,
             "authority": str, "prev": bytes, "body": dict, "sig": bytes}
    if not isinstance(value, dict) or value.keys() != types.keys() or any(
            not isinstance(value[name], kind) or isinstance(value[name], bool) for name, kind in types.items()):
        return "refused"
    if value["version"] < 1 or len(value["prev"]) != 32:
        return "refused"
    unsigned = {name: item for name, item in value.items() if name != "sig"}
    return value, hashlib.sha256(canonical_encode(unsigned)).digest()


def _parsed(data: bytes):
    try:
        envelope = Envelope.from_bytes(data)
    except EncodingError:
        return "refused"
    return {**envelope.unsigned(), "sig": envelope.sig}, envelope.hash


def _spoilt(value: dict, body: dict) -> list[bytes]:
    """Non-canonical or non-envelope variants of ``value``, each of a kind the fast path must see."""
    pack = lambda v: msgpack.packb(v, use_bin_type=True)  # noqa: E731 (keeps the insertion order)
    nested = {"a": {"y": 1, "x": 2}}
    return [
        pack(dict(reversed(value.items()))),  # unsorted header
        pack(value | {"body": dict(reversed(list(body.items())))}),  # unsorted body
        pack(value | {"body": nested}),  # unsorted nested map
        pack(value | {"body": {"a": ({"y": 1, "x": 2},)}}),  # unsorted map inside an array
        pack(value | {"body": {"f": 1.5}}),  # float64
        msgpack.packb(value | {"body": {"f": 1.5}}, use_bin_type=True, use_single_float=True),  # float32
        pack(value | {"body": {"t": msgpack.Timestamp(1, 0)}}),  # timestamp extension
        pack(value | {"body": {"e": msgpack.ExtType(5, b"x")}}),  # other extension
        pack(value | {"body": {b"k": 1}}),  # bytes map key
        pack(value | {"body": {"a": {b"k": 1}}}),  # nested bytes map key
        pack(value | {"version": 0}), pack(value | {"version": True}), pack(value | {"occurred_on": False}),
        pack(value | {"prev": bytes(31)}), pack(value | {"prev": "x" * 32}), pack(value | {"sig": "s"}),
        pack(value | {"body": (1, 2)}), pack({k: v for k, v in value.items() if k != "node"}),
        pack(value | {"zz": 1}),
        canonical_encode(value) + b"\x00",  # trailing byte
        canonical_encode(value)[:-1],  # truncated
        pack(value).replace(b"\xa7version", b"\xd9\x07version", 1),  # non-minimal string length
        pack(value)[:-1] + b"\xcc" + pack(value)[-1:] if value["version"] < 128 else b"",  # non-minimal int
        b"\x8b" + pack(value)[1:] + b"\xa4node\xa2BE",  # a repeated key
        pack((value,)),
    ]


@given(body=bodies, version=st.integers(min_value=1, max_value=200), prev=st.binary(min_size=32, max_size=32),
       data=st.data())
def test_from_bytes_agrees_with_the_reference(body, version, prev, data):
    # from_bytes checks canonical form by re-packing in C, not by the
    # definition: both must accept and refuse the same bytes, with the same hash.
    envelope = make(version, prev, body=body)
    canonical = envelope.to_bytes()
    assert _parsed(canonical) == _reference(canonical) != "refused"
    assert _parsed(canonical)[1] == envelope.hash
    value = canonical_decode(canonical)
    variants = _spoilt(value, body)
    position = data.draw(st.integers(0, len(canonical) - 1), label="position")
    variants.append(canonical[:position] + bytes([canonical[position] ^ data.draw(st.integers(1, 255))])
                    + canonical[position + 1:])
    for variant in variants:
        assert _parsed(variant) == _reference(variant), variant


def test_every_spoilt_variant_is_refused():
    # Guards the table above: each variant is a refusal for the reference itself.
    value = canonical_decode(make(body={"a": 1, "b": 2}).to_bytes())
    for variant in _spoilt(value, {"a": 1, "b": 2}):
        assert _reference(variant) == "refused", variant


def test_canonical_bytes_take_the_fast_path(monkeypatch):
    # Otherwise the agreement above would hold trivially, every parse being the reference's.
    def refuse(data):
        raise AssertionError("the reference parser was used for canonical bytes")

    monkeypatch.setattr(Envelope, "_from_bytes_checked", refuse)
    envelope = make(body={"marking": {"country": "BE", "serial": "1"}, "weapons": ("a", {"b": b"c"}), "n": -1})
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


# --- the fields without an Envelope (a rebuild of the views) ----------------------------------


def _fields_or_refusal(parse, data: bytes):
    try:
        return parse(data)
    except EncodingError as e:
        return "refused", str(e)


def _variants(canonical: bytes, body: dict, data) -> list[bytes]:
    """``canonical``, its spoilt variants and one with a byte flipped where ``data`` draws."""
    position = data.draw(st.integers(0, len(canonical) - 1), label="position")
    flipped = canonical[:position] + bytes([canonical[position] ^ data.draw(st.integers(1, 255))]) \
        + canonical[position + 1:]
    return [canonical, *_spoilt(canonical_decode(canonical), body), flipped]


def _envelope_as_fields(data: bytes) -> dict:
    envelope = Envelope.from_bytes(data)
    return {**envelope.unsigned(), "sig": envelope.sig}


@given(body=bodies, version=st.integers(min_value=1, max_value=200), prev=st.binary(min_size=32, max_size=32),
       data=st.data())
def test_envelope_fields_give_the_verdict_and_values_of_from_bytes(body, version, prev, data):
    # A rebuild reads its records with envelope_fields: it must refuse, with the same words, every byte string
    # from_bytes refuses (a non-canonical record is skipped by a catch-up), and give the same values otherwise.
    canonical = make(version, prev, body=body).to_bytes()
    for variant in _variants(canonical, body, data):
        assert _fields_or_refusal(envelope_fields, variant) == _fields_or_refusal(_envelope_as_fields, variant), \
            variant
    assert _fields_or_refusal(envelope_fields, canonical) == {**canonical_decode(canonical)}


def _envelope_as_fields_and_hash(data: bytes) -> tuple[dict, bytes]:
    envelope = Envelope.from_bytes(data)
    return {**envelope.unsigned(), "sig": envelope.sig}, envelope.hash


@given(body=bodies, version=st.integers(min_value=1, max_value=200), prev=st.binary(min_size=32, max_size=32),
       data=st.data())
def test_hashed_envelope_fields_give_the_verdict_values_and_hash_of_from_bytes(body, version, prev, data):
    # verify's workers parse with hashed_envelope_fields: the same refusals, values and hash as from_bytes, and
    # the hash the signer signed (computed from the fields, not from the stored bytes).
    sealed = make(version, prev, body=body)
    canonical = sealed.to_bytes()
    for variant in _variants(canonical, body, data):
        assert (_fields_or_refusal(hashed_envelope_fields, variant)
                == _fields_or_refusal(_envelope_as_fields_and_hash, variant)), variant
    assert hashed_envelope_fields(canonical) == ({**canonical_decode(canonical)}, sealed.hash)
    assert hashed_envelope_fields(memoryview(canonical))[1] == sealed.hash


@given(body=bodies, version=st.integers(min_value=1, max_value=200), prev=st.binary(min_size=32, max_size=32),
       data=st.data())
def test_from_checked_bytes_gives_what_from_bytes_gave(body, version, prev, data):
    # Ingest's verifying processes send back the bytes they accepted and their hash; the envelope made of them
    # again, unchecked, must be the one from_bytes made, whichever of its parsers accepted them.
    canonical = make(version, prev, body=body).to_bytes()
    for variant in _variants(canonical, body, data):
        try:
            checked = Envelope.from_bytes(variant)
        except EncodingError:
            continue
        again = Envelope.from_checked_bytes(variant, checked.hash)
        assert again == checked and again.hash == checked.hash
        assert again.to_bytes() == checked.to_bytes() == variant
        assert Envelope.from_checked_bytes(variant, b"h").signed_bytes == checked.signed_bytes


def test_envelope_fields_of_a_buffer_and_the_words_of_a_refusal():
    envelope = make(body={"marking": {"country": "BE", "serial": "1"}, "n": -1})
    data = envelope.to_bytes()
    expected = {**envelope.unsigned(), "sig": envelope.sig}
    assert envelope_fields(memoryview(data)) == expected
    assert envelope_fields(bytearray(data)) == expected
    with pytest.raises(EncodingError, match="not in canonical form"):
        envelope_fields(msgpack.packb(dict(reversed(canonical_decode(data).items())), use_bin_type=True))
