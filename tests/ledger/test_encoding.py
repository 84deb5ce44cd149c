"""Canonical msgpack encoding: one byte string per value, and only that one is accepted."""

from __future__ import annotations

from collections import OrderedDict

import msgpack
import pytest
from hypothesis import given, strategies as st

from ledger.encoding import canonical_decode, canonical_encode, check_map
from ledger.errors import CheckpointError, EncodingError

# --- encoding -------------------------------------------------------------------------


def test_known_bytes():
    # fixmap(2) "a"->1 "b"->[true, nil, bin 0x00]
    assert canonical_encode({"b": [True, None, b"\x00"], "a": 1}) == (
        b"\x82\xa1a\x01\xa1b\x93\xc3\xc0\xc4\x01\x00")


def test_map_keys_are_sorted_by_utf8_bytes_whatever_the_insertion_order():
    keys = ["b", "a", "aa", "B", "", "é", "z", "\U0001f52b", "\uffff"]
    forward = canonical_encode({k: 1 for k in keys})
    backward = canonical_encode({k: 1 for k in reversed(keys)})
    assert forward == backward
    decoded = list(msgpack.unpackb(forward, raw=False))
    assert decoded == sorted(keys, key=lambda k: k.encode("utf-8"))
    assert decoded[:4] == ["", "B", "a", "aa"]  # upper case first, prefix before longer key


def test_nested_maps_are_sorted_too():
    assert canonical_encode({"x": {"b": 1, "a": 2}}) == canonical_encode({"x": {"a": 2, "b": 1}})


def test_tuples_and_lists_encode_alike():
    assert canonical_encode((1, (2, 3))) == canonical_encode([1, [2, 3]])


@pytest.mark.parametrize("value", [0, 127, 128, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -1, -32, -33, -(2**63)])
def test_integers_use_the_smallest_width(value):
    data = canonical_encode(value)
    assert canonical_decode(data) == value
    widths = {range(-32, 128): 1, range(-128, 256): 2, range(-(2**15), 2**16): 3, range(-(2**31), 2**32): 5}
    expected = next((size for r, size in widths.items() if value in r), 9)
    assert len(data) == expected


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (1.5, "$"),
        ({"a": 1.0}, "$.a"),
        ({"a": [1, {"b": 2.5}]}, "$.a[1].b"),
        ((0, 0, float("nan")), "$[2]"),
    ],
)
def test_floats_are_refused_with_their_path(value, path):
    with pytest.raises(EncodingError) as info:
        canonical_encode(value)
    assert str(info.value).startswith(f"{path}:")
    assert "float" in str(info.value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({1: "x"}, "$"),
        ({"a": {b"k": 1}}, "$.a"),
        ({"s": {1, 2}}, "$.s"),
        ({"o": object()}, "$.o"),
        ({"n": 2**64}, "$.n"),         # beyond msgpack's uint64
        ({"n": [-(2**63) - 1]}, "$.n[0]"),
    ],
)
def test_unencodable_values_are_refused_with_their_path(value, path):
    with pytest.raises(EncodingError) as info:
        canonical_encode(value)
    assert str(info.value).startswith(f"{path}:"), str(info.value)


def test_mapping_subclasses_encode_like_dicts():
    assert canonical_encode(OrderedDict([("b", 1), ("a", 2)])) == canonical_encode({"a": 2, "b": 1})


# --- decoding: only the canonical form is accepted ---------------------------------------------


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x82\xa1b\x01\xa1a\x02", "unsorted map"),
        (b"\xcc\x01", "uint8 for a fixint"),
        (b"\xcd\x00\x01", "uint16 for a fixint"),
        (b"\xd0\x01", "int8 for a positive fixint"),
        (b"\xd9\x01a", "str8 for a fixstr"),
        (b"\xdc\x00\x01\x01", "array16 for a fixarray"),
        (b"\xde\x00\x01\xa1a\x01", "map16 for a fixmap"),
        (b"\x82\xa1a\x01\xa1a\x02", "duplicate key"),
        (b"\xcb" + bytes(8), "float64"),
        (b"\xca" + bytes(4), "float32"),
        (b"\x01\x02", "trailing bytes"),
        (b"\x92\x01", "truncated"),
        (b"", "empty"),
        (b"\xa2\xff\xfe", "invalid UTF-8"),
        (b"\x81\x01\x02", "integer map key"),
        (b"\x81\xc4\x01k\x01", "bin map key"),
        (b"\xd4\x01\x00", "extension type"),
        (b"\xc1", "reserved byte"),
    ],
)
def test_non_canonical_bytes_are_rejected(data, why):
    with pytest.raises(EncodingError):
        canonical_decode(data)


def test_decoding_gives_tuples_and_dicts():
    assert canonical_decode(canonical_encode({"a": [1, [2]], "b": b"x"})) == {"a": (1, (2,)), "b": b"x"}


# --- properties ---------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
           | st.text(max_size=20) | st.binary(max_size=20))
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def _as_decoded(value):
    if isinstance(value, dict):
        return {k: _as_decoded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_as_decoded(v) for v in value)
    return value


@given(values)
def test_round_trip(value):
    data = canonical_encode(value)
    decoded = canonical_decode(data)
    assert decoded == _as_decoded(value)
    assert canonical_encode(decoded) == data


@given(st.dictionaries(st.text(max_size=8), scalars, max_size=8))
def test_insertion_order_does_not_matter(mapping):
    assert canonical_encode(dict(reversed(list(mapping.items())))) == canonical_encode(mapping)


@given(values)
def test_plain_msgpack_of_a_value_decodes_only_if_it_is_the_canonical_bytes(value):
    plain = msgpack.packb(value, use_bin_type=True)
    if plain == canonical_encode(value):
        assert canonical_decode(plain) == _as_decoded(value)
    else:
        with pytest.raises(EncodingError):
            canonical_decode(plain)


# --- check_map: a decoded record with exactly its fields, each of its type ---------------------

_TYPES = {"name": str, "size": int, "data": bytes}


def test_check_map_returns_a_well_formed_map():
    value = {"data": b"x", "name": "a", "size": 0}
    assert check_map(value, "thing", _TYPES) is value


@pytest.mark.parametrize("value, message", [
    (("name", "a"), "thing: not a map"),
    ({"name": "a", "data": b""}, "thing: missing field 'size'"),
    ({"name": "a"}, "thing: missing field 'data'"),
    ({"name": "a", "size": 1, "data": b"", "zz": 1, "extra": 2}, "thing: unexpected field 'extra'"),
    ({"name": "a", "size": True, "data": b""}, "thing: field 'size' must be int"),
    ({"name": 1, "size": "1", "data": b""}, "thing: field 'name' must be str"),
])
def test_check_map_names_the_first_problem(value, message):
    with pytest.raises(EncodingError) as raised:
        check_map(value, "thing", _TYPES)
    assert str(raised.value) == message


def test_check_map_raises_the_error_asked_for():
    with pytest.raises(CheckpointError, match="checkpoint: not a map"):
        check_map([], "checkpoint", _TYPES, error=CheckpointError)
