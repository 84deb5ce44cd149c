"""Each way an administrator with database access could change the read audit is found by verify,
naming the entry, on both backends."""

from __future__ import annotations

import pytest

from ledger.audit import ProblemKind
from ledger.checkpoint import sign_checkpoint
from ledger.errors import CheckpointError
from ledger.keys import generate_key
from nodes.readaudit.entry import entry_hash
from nodes.readaudit.log import ReadAudit, verify_read_audit
from nodes.readaudit.tables import Tables

from officers import ANNA, BERT, WEAPON

ORIGIN = "BE/read-audit"


@pytest.fixture
def six(db_url, identity, clock):
    """A read audit of six entries, each sealed as it was written."""
    with ReadAudit.open(db_url, identity, clock=clock) as log:
        for n in range(1, 7):
            log.append(ANNA if n % 2 else BERT, "history", f"{WEAPON[:-1]}{n}", f"case {n}")
    return db_url


def sql(db_url: str, statement: str, params: tuple[object, ...] = ()) -> list:
    """Run ``statement`` (``?`` placeholders, ``{entries}`` and ``{checkpoints}`` for the tables) as
    an insider would, committed."""
    tables = Tables(db_url)
    try:
        statement = statement.format(entries=tables.entries, checkpoints=tables.checkpoints)
        with tables.transaction(commit=True) as cursor:
            cursor.execute(statement if tables.sqlite else statement.replace("?", "%s"), params)
            return cursor.fetchall() if statement.lstrip().upper().startswith("SELECT") else []
    finally:
        tables.close()


def found(db_url, identity) -> list[tuple[ProblemKind, str]]:
    problems = verify_read_audit(db_url, identity)
    assert all(p.stream == "read audit" for p in problems)
    return [(p.kind, p.reason) for p in problems]


def kinds(problems) -> set[ProblemKind]:
    return {kind for kind, _ in problems}


def rechain_from(db_url: str, seq: int) -> None:
    """Recompute ``prev`` and ``hash`` of every entry from ``seq`` on, as a careful insider would."""
    rows = sql(db_url, "SELECT * FROM {entries} ORDER BY seq")
    prev = next((bytes(r["hash"]) for r in rows if r["seq"] == seq - 1), bytes(32))
    for r in rows:
        if r["seq"] < seq:
            continue
        digest = entry_hash(ORIGIN, r["seq"], r["at"], r["user_id"], r["user_name"], r["role"], r["action"],
                            r["subject"], r["purpose"], prev)
        sql(db_url, "UPDATE {entries} SET prev = ?, hash = ? WHERE seq = ?", (prev, digest, r["seq"]))
        prev = digest


def test_an_intact_audit_has_no_problem(six, identity):
    assert found(six, identity) == []


def test_a_deleted_middle_entry_is_named(six, identity):
    sql(six, "DELETE FROM {entries} WHERE seq = 3")
    problems = found(six, identity)
    assert (ProblemKind.DELETED, "entry 3 missing: entry 4 comes next") in problems
    assert any(kind is ProblemKind.CHAIN and reason.startswith("entry 4 ") for kind, reason in problems)
    assert any(kind is ProblemKind.ROOT and "up to 3 " in reason and "entry 3 was" in reason
               for kind, reason in problems)


def test_the_newest_sealed_entries_cut_off_are_named(six, identity):
    sql(six, "DELETE FROM {entries} WHERE seq >= 5")
    assert found(six, identity) == [
        (ProblemKind.DELETED, "entries 5..6 sealed by the checkpoint at size 6 missing: the sealed tail was cut off")]


def test_an_edited_subject_is_named(six, identity):
    sql(six, "UPDATE {entries} SET subject = ? WHERE seq = 2", ("someone-else",))
    problems = found(six, identity)
    assert (ProblemKind.ALTERED, "entry 2's fields do not give its stored hash: the entry was edited") in problems
    assert any(kind is ProblemKind.ROOT and "entry 2 was edited" in reason for kind, reason in problems)


def test_an_edit_with_the_chain_recomputed_is_named_by_the_seals(six, identity):
    sql(six, "UPDATE {entries} SET purpose = ? WHERE seq = 4", ("nothing to see",))
    rechain_from(six, 4)
    problems = found(six, identity)
    assert kinds(problems) == {ProblemKind.ROOT}
    assert "up to 4 " in problems[0][1] and "entry 4 was" in problems[0][1]


def test_reordered_entries_are_named(six, identity):
    rows = {r["seq"]: r for r in sql(six, "SELECT * FROM {entries} WHERE seq IN (2, 3)")}
    for seq, other in ((2, 3), (3, 2)):
        r = rows[other]
        sql(six, "UPDATE {entries} SET at = ?, user_id = ?, user_name = ?, role = ?, subject = ?, purpose = ?, "
                 "prev = ?, hash = ? WHERE seq = ?",
            (r["at"], r["user_id"], r["user_name"], r["role"], r["subject"], r["purpose"], bytes(r["prev"]),
             bytes(r["hash"]), seq))
    problems = found(six, identity)
    altered = {reason.split("'")[0] for kind, reason in problems if kind is ProblemKind.ALTERED}
    assert altered == {"entry 2", "entry 3"}
    assert any(kind is ProblemKind.ROOT and "entry 2 was" in reason for kind, reason in problems)


def test_an_inserted_entry_is_named_even_with_the_chain_recomputed(six, identity):
    # Make room after entry 2 (from the top, so the primary key never collides) and forge entry 3.
    for seq in range(6, 2, -1):
        sql(six, "UPDATE {entries} SET seq = ? WHERE seq = ?", (seq + 1, seq))
    sql(six, "INSERT INTO {entries} (seq, at, user_id, user_name, role, action, subject, purpose, prev, hash) "
             "VALUES (3, 0, '', 'ghost', 'police', 'history', 'w', '', ?, ?)", (bytes(32), bytes(32)))
    rechain_from(six, 3)
    problems = found(six, identity)
    assert kinds(problems) == {ProblemKind.ROOT}
    assert "up to 3 " in problems[0][1] and "entry 3 was" in problems[0][1]


def test_a_replaced_checkpoint_is_named(six, identity):
    forged = sign_checkpoint(generate_key(), ORIGIN, 4, bytes(32), 0)
    sql(six, "UPDATE {checkpoints} SET bytes = ? WHERE size = 4", (forged.to_bytes(),))
    problems = found(six, identity)
    assert [kind for kind, _ in problems] == [ProblemKind.CHECKPOINT]
    assert problems[0][1].startswith("checkpoint row of size 4 is not one the node signed")


def test_a_checkpoint_of_the_nodes_own_log_does_not_pass_for_one_of_the_read_audit(six, identity):
    key = identity.private_keys[identity.node_key_id]
    rows = sql(six, "SELECT * FROM {entries} ORDER BY seq")
    from ledger.hashing import leaf_hash
    from ledger.merkle import merkle_root

    of_the_log = sign_checkpoint(key, "BE", 4, merkle_root([leaf_hash(bytes(r["hash"])) for r in rows[:4]]), 0)
    sql(six, "UPDATE {checkpoints} SET bytes = ? WHERE size = 4", (of_the_log.to_bytes(),))
    problems = found(six, identity)
    assert [kind for kind, _ in problems] == [ProblemKind.CHECKPOINT]
    assert "'BE' at size 4, not of 'BE/read-audit'" in problems[0][1]


def test_an_append_after_sealed_entries_were_rewritten_is_refused(six, identity):
    sql(six, "UPDATE {entries} SET subject = ? WHERE seq = 1", ("elsewhere",))
    rechain_from(six, 1)
    with ReadAudit.open(six, identity) as log, pytest.raises(CheckpointError, match="run armsledger verify"):
        log.append(ANNA, "search", "AB12")
    assert len(sql(six, "SELECT seq FROM {entries}")) == 6  # nothing written
