"""``check_read_audit`` without a database: every tampering of a sealed audit is found, an intact one passes."""

from __future__ import annotations

import dataclasses

from hypothesis import given, strategies as st

from ledger.audit import ProblemKind
from ledger.checkpoint import sign_checkpoint
from ledger.hashing import leaf_hash
from ledger.keys import generate_key, public_bytes
from ledger.merkle import merkle_root
from nodes.readaudit.check import check_read_audit
from nodes.readaudit.entry import GENESIS_PREV, ReadEntry, new_entry

ORIGIN = "BE/read-audit"
KEY = generate_key()


def sealed_audit(count: int, seal_every: int = 1) -> tuple[list[ReadEntry], list[tuple[int, bytes]]]:
    """``count`` chained entries and a checkpoint every ``seal_every`` entries (and at the end)."""
    entries, rows, prev = [], [], GENESIS_PREV
    for seq in range(1, count + 1):
        entry = new_entry(ORIGIN, seq, seq * 1000, f"user-{seq % 3}", f"name-{seq % 3}", "police", "history",
                          f"weapon-{seq}", "", prev)
        entries.append(entry)
        prev = entry.hash
        if seq % seal_every == 0 or seq == count:
            root = merkle_root([leaf_hash(e.hash) for e in entries])
            rows.append((seq, sign_checkpoint(KEY, ORIGIN, seq, root, seq).to_bytes()))
    return entries, rows


def problems(entries, rows, executor=None):
    chunks = [rows[i:i + 3] for i in range(0, len(rows), 3)]
    return check_read_audit(entries, chunks, public_bytes(KEY), ORIGIN, executor=executor)


@given(count=st.integers(1, 12), seal_every=st.integers(1, 5))
def test_an_intact_audit_has_no_problem(count, seal_every):
    assert problems(*sealed_audit(count, seal_every)) == []


@given(count=st.integers(1, 12), seal_every=st.integers(1, 5), data=st.data())
def test_deleting_any_entries_is_found(count, seal_every, data):
    entries, rows = sealed_audit(count, seal_every)
    first = data.draw(st.integers(0, count - 1))
    last = data.draw(st.integers(first, count - 1))
    found = problems(entries[:first] + entries[last + 1:], rows)
    assert ProblemKind.DELETED in {p.kind for p in found}


@given(count=st.integers(1, 12), seal_every=st.integers(1, 5), data=st.data())
def test_editing_any_entry_is_found_even_with_the_chain_recomputed(count, seal_every, data):
    entries, rows = sealed_audit(count, seal_every)
    at = data.draw(st.integers(0, count - 1))
    edited = dataclasses.replace(entries[at], subject="elsewhere")
    assert problems([*entries[:at], edited, *entries[at + 1:]], rows) != []
    rechained, prev = list(entries[:at]), entries[at - 1].hash if at else GENESIS_PREV
    for e in [edited, *entries[at + 1:]]:
        e = new_entry(ORIGIN, e.seq, e.at, e.user_id, e.user_name, e.role, e.action, e.subject, e.purpose, prev)
        rechained.append(e)
        prev = e.hash
    assert {p.kind for p in problems(rechained, rows)} == {ProblemKind.ROOT}


@given(count=st.integers(2, 12), data=st.data())
def test_swapping_two_entries_is_found(count, data):
    entries, rows = sealed_audit(count)
    i = data.draw(st.integers(0, count - 2))
    j = data.draw(st.integers(i + 1, count - 1))
    swapped = list(entries)
    swapped[i] = dataclasses.replace(entries[j], seq=entries[i].seq)
    swapped[j] = dataclasses.replace(entries[i], seq=entries[j].seq)
    assert {ProblemKind.ALTERED, ProblemKind.ROOT} <= {p.kind for p in problems(swapped, rows)}


def test_each_sealed_entry_is_named_exactly_when_every_append_was_sealed():
    entries, rows = sealed_audit(8)
    edited = dataclasses.replace(entries[4], purpose="x")
    found = [p for p in problems([*entries[:4], edited, *entries[5:]], rows) if p.kind is ProblemKind.ROOT]
    assert len(found) == 1 and "entry 5 was" in found[0].reason and "(3 later checkpoints disagree too)" in \
        found[0].reason


def test_with_sparser_seals_the_range_since_the_last_agreeing_checkpoint_is_named():
    entries, rows = sealed_audit(8, seal_every=4)
    edited = dataclasses.replace(entries[5], purpose="x")
    found = [p for p in problems([*entries[:5], edited, *entries[6:]], rows) if p.kind is ProblemKind.ROOT]
    assert len(found) == 1 and "one of entries 5..8" in found[0].reason


def test_checkpoints_verified_on_worker_processes_give_the_same_findings():
    from nodes.workers import start_pool

    entries, rows = sealed_audit(30)
    rows[7] = (rows[7][0], sign_checkpoint(generate_key(), ORIGIN, 8, bytes(32), 0).to_bytes())
    with start_pool(1) as executor:
        assert problems(entries, rows, executor) == problems(entries, rows)
    assert [p.kind for p in problems(entries, rows)] == [ProblemKind.CHECKPOINT]
