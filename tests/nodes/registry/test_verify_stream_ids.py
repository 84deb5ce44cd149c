"""verify reads each own log row's stream id as eventsourcing's SQLite recorder reads it and ``str`` prints it."""

from __future__ import annotations

import uuid

from hypothesis import given, strategies as st

from nodes.registry.verify import _stream_as_read


def as_the_library_reads(value: object) -> str:
    try:
        return str(uuid.UUID(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return str(value)


@given(st.uuids())
def test_a_uuid_as_the_library_writes_it_or_as_text_reads_as_its_canonical_text(value):
    assert _stream_as_read(value.hex) == _stream_as_read(str(value)) == str(value)


@given(st.one_of(st.text(alphabet="0123456789abcdefABCDEF-{}", max_size=40), st.text(max_size=40),
                 st.integers(), st.none()))
def test_any_other_value_reads_as_the_library_reads_it(value):
    assert _stream_as_read(value) == as_the_library_reads(value)
