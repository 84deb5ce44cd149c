"""The sealer's mark: what was sealed is known outside the database, so emptying or truncating the
checkpoint table neither lets the sealer sign the same records again nor lets ``verify`` say "ok".

Runs on SQLite and on PostgreSQL; the tampering is SQL behind the node's back (tests/support/insider.py).
"""

from __future__ import annotations

import pytest

from ledger.audit import ProblemKind
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.errors import CheckpointError
from ledger.keys import generate_key
from nodes.bootstrap import init_node, open_node
from nodes.registry.sealed_mark import MARK_FILE
from nodes.registry.sealer import CHECKPOINTS_TABLE, LEAVES_TABLE
from nodes.registry.verify import verify_store
from nodes.settings import Settings

from federation_nodes import manufacture
from inprocess_cli import Cli
from insider import events_table, sql


@pytest.fixture
def node(db_url, tmp_path):
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="pw")
    node = init_node(settings, "BE")
    for serial in ("M-1", "M-2", "M-3"):
        manufacture(node, serial)
        assert node.sealer.seal() is not None
    yield node
    node.close()


def reopened(node):
    """The node opened afresh (a restarted process: no tree, no checkpoint in memory)."""
    settings = node.settings
    node.close()
    return open_node(settings)


def witness_problems(report) -> list[str]:
    return [p.reason for p in report.problems if p.kind is ProblemKind.WITNESS]


def test_the_mark_follows_the_newest_checkpoint_and_never_goes_back(node):
    mark = node.sealer.mark
    newest = node.sealer.latest_checkpoint()
    assert mark.read() == newest
    older = node.sealer.checkpoints()[0]
    mark.advance(older)
    assert mark.read() == newest  # an older checkpoint never replaces a newer mark
    assert verify_store(node).ok


def test_after_the_checkpoint_table_is_emptied_nothing_is_sealed_again_and_verify_fails(node):
    sealed = node.sealer.latest_checkpoint()
    sql(node.settings.db, f"DELETE FROM {CHECKPOINTS_TABLE}")
    sql(node.settings.db, f"DELETE FROM {LEAVES_TABLE}")
    node = reopened(node)
    manufacture(node, "M-4")
    with pytest.raises(CheckpointError, match=f"checkpoint at size {sealed.size} that this node signed"):
        node.sealer.seal()
    assert node.sealer.latest_checkpoint() is None  # nothing was signed from size 0 again
    report = verify_store(node)
    assert not report.ok
    [problem] = witness_problems(report)
    assert f"holds our checkpoint at size {sealed.size}" in problem and "table lacks" in problem
    node.close()


def test_deleting_the_newest_records_with_their_checkpoints_fails_verify(node, capsys):
    sealed = node.sealer.latest_checkpoint()
    db = node.settings.db
    position = "notification_id" if db.startswith("postgresql://") else "rowid"
    table = events_table(db)
    [(newest,)] = sql(db, f"SELECT MAX({position}) FROM {table}")
    sql(db, f"DELETE FROM {table} WHERE {position} = ?", newest)
    sql(db, f"DELETE FROM {CHECKPOINTS_TABLE} WHERE size = ?", sealed.size)
    sql(db, f"DELETE FROM {LEAVES_TABLE} WHERE leaf_index = ?", sealed.size - 1)
    node = reopened(node)
    problems = witness_problems(verify_store(node))
    assert any(f"size {sealed.size} but the log holds only {sealed.size - 1} records" in p for p in problems)
    assert any("which the checkpoint table lacks" in p for p in problems)
    node.close()
    # The operator's command says so: exit 1, naming the mark and the sizes.
    result = Cli(capsys, node.settings.home, db)("verify")
    assert result.code == 1
    assert MARK_FILE in result.err and f"size {sealed.size}" in result.err


def test_a_mark_not_signed_by_the_node_key_stops_the_sealer_and_fails_verify(node):
    forged = sign_checkpoint(generate_key(), "BE", 1000, bytes(32), 1)
    (node.settings.home / MARK_FILE).write_bytes(forged.to_bytes())
    manufacture(node, "M-5")
    with pytest.raises(CheckpointError, match="not a checkpoint signed by this node"):
        node.sealer.seal()
    report = verify_store(node)
    assert any("not a checkpoint signed by this node" in p for p in witness_problems(report))


def test_a_node_from_before_the_mark_gets_one_at_its_next_seal(node):
    (node.settings.home / MARK_FILE).unlink()
    node = reopened(node)
    assert verify_store(node).ok
    manufacture(node, "M-6")
    sealed = node.sealer.seal()
    assert Checkpoint.from_bytes((node.settings.home / MARK_FILE).read_bytes()) == sealed
    node.close()


def test_the_mark_this_process_wrote_is_checked_again_once_its_bytes_change(node):
    # The sealer keeps the mark it wrote in memory instead of verifying it before every seal;
    # a file whose bytes differ from those in any way is verified again, and refused.
    path = node.settings.home / MARK_FILE
    written = path.read_bytes()
    assert node.sealer.mark.read() == Checkpoint.from_bytes(written)
    altered = bytearray(written)
    altered[-3] = ord("A") if altered[-3] != ord("A") else ord("B")  # a character of the base64 signature
    path.write_bytes(bytes(altered))
    manufacture(node, "M-7")
    with pytest.raises(CheckpointError, match="not a checkpoint signed by this node"):
        node.sealer.seal()
    path.write_bytes(written)  # put back: the mark is good again
    assert node.sealer.seal() is not None


def test_a_mark_written_later_is_on_disk_once_waited_for(node):
    manufacture(node, "M-8")
    sealed = node.sealer.seal(mark_later=True)
    node.sealer.wait_for_mark()
    assert Checkpoint.from_bytes((node.settings.home / MARK_FILE).read_bytes()) == sealed
    assert node.sealer.mark.read() == sealed


def test_the_seal_after_a_mark_that_could_not_be_written_fails_with_its_error(node):
    # A directory where the new mark's scratch file goes: writing the mark fails in the background.
    (node.settings.home / MARK_FILE).with_suffix(".new").mkdir()
    manufacture(node, "M-9")
    sealed = node.sealer.seal(mark_later=True)
    assert sealed is not None and node.sealer.latest_checkpoint() == sealed  # the checkpoint is stored
    manufacture(node, "M-10")
    with pytest.raises(IsADirectoryError):
        node.sealer.seal()
    (node.settings.home / MARK_FILE).with_suffix(".new").rmdir()
    assert node.sealer.seal() is not None  # the error is raised once; the next seal goes on


def test_with_nothing_new_to_seal_the_deleted_checkpoint_rows_are_still_refused(node):
    # The sealer skips its lock when the log has not grown, never the checks against the mark.
    assert node.sealer.seal() is None
    sql(node.settings.db, f"DELETE FROM {CHECKPOINTS_TABLE}")
    with pytest.raises(CheckpointError, match="refusing to seal"):
        node.sealer.seal()
