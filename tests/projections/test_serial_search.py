"""projections.serial_search: the LIKE it builds finds exactly what the domain's pattern matches.

Checked on a SQLite table with the views' serial columns, against
``domain.marking.serial_pattern_to_regex`` as the reference (the PostgreSQL
side is covered by the contract tests).
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from domain.errors import InvalidField
from domain.marking import normalise, serial_pattern_to_regex
from projections.serial_search import SerialLike, serial_like


@pytest.mark.parametrize("pattern, expected", [
    ("AB?12*", SerialLike("serial_key", "AB_12%")),
    ("ab-12 3", SerialLike("serial_key", "AB123")),
    ("*3456", SerialLike("serial_key_reversed", "6543%")),        # leading wildcard: reversed column
    ("??34_5", SerialLike("serial_key_reversed", "5\\_43__")),
    ("*34*", SerialLike("serial_key", "%34%")),
    ("1%\\", SerialLike("serial_key", "1\\%")),                   # '\\' is removed by normalise
])
def test_patterns_translate_to_an_indexable_like(pattern, expected):
    assert serial_like(pattern) == expected


@pytest.mark.parametrize("pattern", ["", "   ", "-/.", "x" * 65])
def test_empty_or_overlong_patterns_are_refused(pattern):
    with pytest.raises(InvalidField, match="serial"):
        serial_like(pattern)


SERIAL_ALPHABET = "AB1_%\\-? ßé"
serials = st.lists(st.text(SERIAL_ALPHABET, min_size=1, max_size=6).filter(normalise), min_size=1, max_size=12)
patterns = st.text(SERIAL_ALPHABET + "*", min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(serials=serials, pattern=patterns)
def test_like_finds_what_the_domain_pattern_matches(serials, pattern):
    try:
        regex = serial_pattern_to_regex(pattern)
    except InvalidField:
        with pytest.raises(InvalidField):
            serial_like(pattern)
        return
    like = serial_like(pattern)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE w (serial TEXT, serial_key TEXT COLLATE NOCASE, serial_key_reversed TEXT COLLATE NOCASE)")
    db.executemany("INSERT INTO w VALUES (?, ?, ?)", [(s, normalise(s), normalise(s)[::-1]) for s in serials])
    found = {row[0] for row in db.execute(f"SELECT serial FROM w WHERE {like.column} LIKE ? ESCAPE '\\'",
                                          (like.pattern,))}
    assert found == {s for s in serials if regex.fullmatch(normalise(s))}


def test_a_prefix_or_suffix_search_uses_an_index_on_sqlite():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE w (serial_key TEXT COLLATE NOCASE, serial_key_reversed TEXT COLLATE NOCASE)")
    db.execute("CREATE INDEX w_serial ON w (serial_key)")
    db.execute("CREATE INDEX w_serial_reversed ON w (serial_key_reversed)")
    for pattern, index in (("AB?12*", "w_serial"), ("*3456", "w_serial_reversed")):
        like = serial_like(pattern)
        plan = db.execute(f"EXPLAIN QUERY PLAN SELECT * FROM w WHERE {like.column} LIKE ? ESCAPE '\\'",
                          (like.pattern,)).fetchall()
        assert f"USING INDEX {index}" in str(plan) or f"USING COVERING INDEX {index}" in str(plan), plan
