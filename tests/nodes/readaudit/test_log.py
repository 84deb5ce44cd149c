"""The read audit on both backends: appending, sealing, filtering, refusals, concurrent appenders."""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading

import pytest

from domain.errors import InvalidField
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.envelope import GENESIS_PREV
from ledger.hashing import leaf_hash
from ledger.merkle import merkle_root
from nodes.readaudit.log import ReadAudit, verify_read_audit
from nodes.readaudit.tables import Tables

from officers import ANNA, BERT, WEAPON


@pytest.fixture
def audit(db_url, identity, clock):
    with ReadAudit.open(db_url, identity, clock=clock) as log:
        yield log


def checkpoints(db_url) -> list[Checkpoint]:
    tables = Tables(db_url)
    try:
        with tables.transaction(commit=False) as cursor:
            return [Checkpoint.from_bytes(data) for _, data in tables.checkpoints_page(cursor, 0, 1000)]
    finally:
        tables.close()


def test_append_chains_each_entry_and_seals_it_at_once(audit, db_url, identity):
    first = audit.append(ANNA, "history", WEAPON, "case 12/2026")
    second = audit.append(BERT, "search", "AB?12*")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev == GENESIS_PREV and second.prev == first.hash
    assert (first.user_id, first.user_name, first.role, first.purpose) == (ANNA.user_id, "anna", "police",
                                                                           "case 12/2026")
    sealed = checkpoints(db_url)
    assert [c.size for c in sealed] == [1, 2]
    assert sealed[-1].origin == "BE/read-audit"
    assert verify_checkpoint(sealed[-1], identity.node_public)
    assert sealed[-1].root == merkle_root([leaf_hash(first.hash), leaf_hash(second.hash)])
    assert audit.verify() == []


def test_a_locked_node_appends_chained_entries_that_the_next_key_holder_seals(db_url, identity, locked):
    with ReadAudit.open(db_url, locked) as cli_read:
        cli_read.append(ANNA, "history", WEAPON)
        cli_read.append(ANNA, "trace", "trace-1")
        with pytest.raises(KeyError, match="locked"):
            cli_read.seal()
        assert cli_read.verify() == []
    assert checkpoints(db_url) == []
    with ReadAudit.open(db_url, identity) as service:
        assert service.seal().size == 2
        assert service.seal() is None
        service.append(BERT, "verdict", WEAPON)
    assert [c.size for c in checkpoints(db_url)] == [2, 3]


def test_entries_filter_by_user_weapon_period_and_page_newest_first(audit, clock):
    start = clock.now
    audit.append(ANNA, "history", WEAPON)                    # at start + 1 s
    audit.append(BERT, "history", "another-weapon")          # + 2 s
    audit.append(BERT, "verdict", WEAPON)                    # + 3 s
    audit.append(ANNA, "search", "AB12")                     # + 4 s
    assert [e.seq for e in audit.entries()] == [4, 3, 2, 1]
    assert [e.seq for e in audit.entries(user="anna")] == [4, 1]
    assert [e.seq for e in audit.entries(user=BERT.user_id)] == [3, 2]
    assert [e.seq for e in audit.entries(weapon=WEAPON)] == [3, 1]
    assert [e.seq for e in audit.entries(weapon=WEAPON.upper())] == [3, 1]  # a weapon id as typed
    assert [e.seq for e in audit.entries(since=start + 2_000_000, until=start + 4_000_000)] == [3, 2]
    assert [e.seq for e in audit.entries(limit=2)] == [4, 3]
    assert [e.seq for e in audit.entries(limit=2, before=3)] == [2, 1]
    assert audit.entries(user="nobody") == []


@pytest.mark.parametrize(("action", "subject", "purpose", "field"), [
    ("browse", WEAPON, "", "action"),
    ("history", "  ", "", "subject"),
    ("history", WEAPON, "x" * 1001, "purpose"),
    ("history", "a\nb", "", "subject"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(audit, action, subject, purpose, field):
    with pytest.raises(InvalidField) as refused:
        audit.append(ANNA, action, subject, purpose)
    assert refused.value.field == field
    assert audit.entries() == []


def test_a_limit_out_of_range_is_refused(audit):
    with pytest.raises(InvalidField) as refused:
        audit.entries(limit=0)
    assert refused.value.field == "limit"


def test_a_node_without_the_tables_verifies_as_before(db_url, identity):
    assert verify_read_audit(db_url, identity) == []
    tables = Tables(db_url)
    try:
        assert not tables.exist()  # verifying created nothing
    finally:
        tables.close()


def test_threads_appending_at_once_make_one_gapless_sealed_chain(db_url, identity):
    with ReadAudit.open(db_url, identity) as log:
        def read(n: int) -> None:
            for i in range(10):
                log.append(ANNA, "history", f"weapon-{n}-{i}")

        threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(e.seq for e in log.entries(limit=100)) == list(range(1, 41))
        assert log.verify() == []
    assert checkpoints(db_url)[-1].size == 40


def _append_in_another_process(db_url: str, identity, raw_key: bytes | None, count: int, name: str) -> None:
    """Append ``count`` entries as officer ``name``; sealing them when given the node key (Ed25519 keys do
    not pickle: the raw bytes do)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain.roles import Role
    from nodes.accounts.officer import Officer

    if raw_key is not None:
        identity = dataclasses.replace(identity, private_keys={
            identity.node_key_id: Ed25519PrivateKey.from_private_bytes(raw_key)})
    with ReadAudit.open(db_url, identity) as log:
        for i in range(count):
            log.append(Officer(user_id=name, name=name, role=Role.POLICE), "search", f"{name}-{i}")


def test_two_processes_appending_at_once_make_one_gapless_sealed_chain(db_url, identity, locked):
    # One seals as it appends (the service), the other cannot (a CLI read on a locked node).
    context = multiprocessing.get_context("spawn")
    raw_key = identity.private_keys[identity.node_key_id].private_bytes_raw()
    processes = [context.Process(target=_append_in_another_process, args=(db_url, locked, key, 15, name))
                 for key, name in ((raw_key, "one"), (None, "two"))]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    with ReadAudit.open(db_url, identity) as log:
        found = log.entries(limit=100)
        assert sorted(e.seq for e in found) == list(range(1, 31))
        assert {e.user_name for e in found} == {"one", "two"}
        log.seal()
        assert log.verify() == []
    assert checkpoints(db_url)[-1].size == 30
