"""The verified mark file (``nodes.registry.verified_mark``): written and read back under the node key,
refused when altered, signed by another key or of another state; the rows digest tells rows apart."""

from __future__ import annotations

import pytest

from ledger.audit import LogRecord
from ledger.checkpoint import sign_checkpoint
from ledger.errors import CheckpointError
from ledger.keys import generate_key, public_bytes
from nodes.registry.verified_mark import MARK_FILE, RowsDigest, VerifiedMarkFile

ROOT = bytes(range(32))


def _written(tmp_path, key, origin="BE"):
    checkpoint = sign_checkpoint(key, origin, 7, ROOT, 1_700_000_000_000_000)
    VerifiedMarkFile(tmp_path, [public_bytes(key)], origin).write(key, checkpoint, b"d" * 32, 1_700_000_000_000_001)
    return checkpoint


def test_a_mark_reads_back_and_a_missing_one_is_none(tmp_path):
    key = generate_key()
    marks = VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE")
    assert marks.read() is None
    checkpoint = _written(tmp_path, key)
    mark = marks.read()
    assert mark is not None and mark.checkpoint == checkpoint and mark.size == 7
    assert mark.rows_digest == b"d" * 32 and mark.verified_at == 1_700_000_000_000_001


def test_a_mark_signed_by_an_earlier_node_key_still_reads(tmp_path):
    old, new = generate_key(), generate_key()
    _written(tmp_path, old)
    assert VerifiedMarkFile(tmp_path, [public_bytes(old), public_bytes(new)], "BE").read() is not None


@pytest.mark.parametrize("flip", [10, -1, -40])
def test_an_altered_mark_is_refused(tmp_path, flip):
    key = generate_key()
    _written(tmp_path, key)
    path = tmp_path / MARK_FILE
    data = bytearray(path.read_bytes())
    data[flip] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="verified mark"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()


def test_a_mark_of_another_key_or_state_is_refused(tmp_path):
    key, other = generate_key(), generate_key()
    _written(tmp_path, other)
    with pytest.raises(CheckpointError, match="no node key of this node"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()
    _written(tmp_path, key, origin="NL")
    with pytest.raises(CheckpointError, match="of 'NL', not of 'BE'"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()


def _digest(*records: LogRecord) -> bytes | None:
    rows = RowsDigest(len(records))
    for record in records:
        rows.add(record)
    return rows.digest(len(records))


def test_the_rows_digest_covers_every_column_and_is_taken_at_each_size():
    row = LogRecord(1, b"envelope", "stream", 1, "Weapon.Manufactured")
    assert _digest(row) == _digest(row._replace(position=9))  # positions are not evidence
    for changed in (row._replace(envelope=b"envelopf"), row._replace(stream="streaM"), row._replace(version=2),
                    row._replace(topic="Weapon.Exported"), row._replace(envelope=None)):
        assert _digest(changed) != _digest(row)
    # A byte moved from one field to the next packs differently (length prefixes).
    assert _digest(LogRecord(1, b"ab", "s", 1, "t")) != _digest(LogRecord(1, b"b", "s", 1, "ta"))
    rows = RowsDigest(1, 3)
    rows.add(row)
    rows.add(row)
    assert rows.digest(1) == _digest(row) and rows.digest(3) is None
    assert RowsDigest(2).digest(2) is None
