"""A restarted sealer resumes from the frontier stored with the latest checkpoint, on both backends, and
proves older leaves from the subtree roots stored with the checkpoints.

What a cold sealer must not read is made unreadable behind its back (tests/support/insider.py): leaf
rows below the latest checkpoint get hashes that rebuild no signed root, so a sealer that read them
would refuse to seal. Proofs that need those old nodes still read them, once, and check them.
"""

from __future__ import annotations

from uuid import UUID, uuid5

import pytest

from ledger.checkpoint import envelope_leaf
from ledger.envelope import Envelope
from ledger.errors import CheckpointError
from ledger.merkle import MerkleTree
from ledger.proofs import verify_consistency, verify_inclusion
from nodes.bootstrap import init_node, open_node
from nodes.registry import sealer as sealer_module
from nodes.registry.sealer import FRONTIERS_TABLE, LEAVES_TABLE, NODES_TABLE
from nodes.settings import Settings

from federation_nodes import manufacture, manufacture_many
from insider import sql


@pytest.fixture
def node(db_url, tmp_path):
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="pw")
    node = init_node(settings, "BE")
    yield node
    node.close()


def logged(node) -> list[tuple[int, bytes]]:
    """(log position, leaf hash) of every record, in log order."""
    return [(position, envelope_leaf(Envelope.from_bytes(stored.state).hash))
            for position, stored in node.registry.stored_notifications()]


def grow_and_seal(node, *serials: str):
    for serial in serials:
        manufacture(node, serial)
    return node.sealer.seal()


def spoil_leaf_hashes_below(db: str, index: int) -> None:
    """Give leaf rows below ``index`` a hash no checkpoint signed: only a sealer that reads them notices."""
    sql(db, f"UPDATE {LEAVES_TABLE} SET envelope_hash = ? WHERE leaf_index < ?", bytes(32), index)


def test_a_cold_seal_reads_no_leaf_below_the_latest_checkpoint(node):
    sealed = grow_and_seal(node, "C-1", "C-2", "C-3")
    spoil_leaf_hashes_below(node.settings.db, sealed.size - 1)
    manufacture(node, "C-4")
    with open_node(node.settings) as restarted:
        again = restarted.sealer.seal()
        assert again.size == sealed.size + 1
        proof = restarted.sealer.consistency_proof(sealed.size, again.size)
        assert verify_consistency(sealed.size, again.size, sealed.root, again.root, proof)
        # A proof of an old leaf needs the old nodes: the leaf index is read then, and checked.
        with pytest.raises(CheckpointError, match=f"leaf index does not rebuild the checkpoint at size {sealed.size}"):
            restarted.sealer.inclusion_proof(0, again.size)


def test_proofs_and_leaf_indexes_after_a_cold_start_equal_those_of_the_whole_tree(node):
    sizes = [grow_and_seal(node, "P-1").size, grow_and_seal(node, "P-2", "P-3").size]
    manufacture(node, "P-4")
    with open_node(node.settings) as restarted:
        sizes.append(restarted.sealer.seal().size)
        records = logged(restarted)
        whole = MerkleTree(leaf for _, leaf in records)
        assert len(whole) == sizes[-1]
        for index, (position, _) in enumerate(records):
            assert restarted.sealer.leaf_index(position) == index
        with pytest.raises(KeyError):
            restarted.sealer.leaf_index(records[-1][0] + 1)
        for size in sizes:
            assert [restarted.sealer.inclusion_proof(i, size) for i in range(size)] == \
                   [whole.inclusion_proof(i, size) for i in range(size)]
            assert restarted.sealer.inclusion_proofs(range(size), size) == whole.inclusion_proofs(range(size), size)
            for size1 in range(1, size + 1):
                assert restarted.sealer.consistency_proof(size1, size) == whole.consistency_proof(size1, size)
        # The whole tree, read once, keeps growing with the log.
        manufacture(restarted, "P-5")
        newest = restarted.sealer.seal()
        whole = MerkleTree(leaf for _, leaf in logged(restarted))
        assert newest.root == whole.root()
        assert restarted.sealer.inclusion_proof(0) == whole.inclusion_proof(0)


@pytest.mark.parametrize("spoil", ["a flipped bit", "a hash short"])
def test_a_tampered_frontier_is_refused_and_without_it_the_whole_leaf_index_is_read(node, spoil):
    sealed = grow_and_seal(node, "F-1", "F-2")
    db = node.settings.db
    [(stored,)] = sql(db, f"SELECT frontier FROM {FRONTIERS_TABLE} WHERE size = ?", sealed.size)
    stored = bytes(stored)
    spoiled = stored[:-1] + bytes([stored[-1] ^ 1]) if spoil == "a flipped bit" else stored[:-1]
    sql(db, f"UPDATE {FRONTIERS_TABLE} SET frontier = ? WHERE size = ?", spoiled, sealed.size)
    manufacture(node, "F-3")
    with open_node(node.settings) as restarted, \
            pytest.raises(CheckpointError, match=f"frontier stored with the checkpoint at size {sealed.size}"):
        restarted.sealer.seal()
    sql(db, f"DELETE FROM {FRONTIERS_TABLE} WHERE size = ?", sealed.size)
    with open_node(node.settings) as restarted:
        assert restarted.sealer.seal().size == sealed.size + 1


def test_an_altered_checkpoint_root_is_refused_by_a_cold_sealer(node):
    sealed = grow_and_seal(node, "R-1")
    sql(node.settings.db, "UPDATE armsledger_checkpoints SET root = ? WHERE size = ?", bytes(32), sealed.size)
    manufacture(node, "R-2")
    with open_node(node.settings) as restarted, pytest.raises(CheckpointError, match="does not rebuild"):
        restarted.sealer.seal()


def test_a_store_from_before_frontiers_is_loaded_whole_and_gets_one_at_its_next_seal(node):
    older = grow_and_seal(node, "U-1", "U-2")
    db = node.settings.db
    node.close()
    sql(db, f"DROP TABLE {FRONTIERS_TABLE}")
    sql(db, f"DROP INDEX {LEAVES_TABLE}_position")
    [(first_hash,)] = sql(db, f"SELECT envelope_hash FROM {LEAVES_TABLE} WHERE leaf_index = 0")
    spoil_leaf_hashes_below(db, 1)
    with open_node(node.settings) as upgraded:
        manufacture(upgraded, "U-3")
        # No frontier: the whole leaf index is read and checked, as before frontiers were stored.
        with pytest.raises(CheckpointError, match=f"leaf index does not rebuild the checkpoint at size {older.size}"):
            upgraded.sealer.seal()
    sql(db, f"UPDATE {LEAVES_TABLE} SET envelope_hash = ? WHERE leaf_index = 0", bytes(first_hash))
    with open_node(node.settings) as upgraded:
        newer = upgraded.sealer.seal()
        assert newer.size == older.size + 1
        whole = MerkleTree(leaf for _, leaf in logged(upgraded))
        assert upgraded.sealer.inclusion_proof(0, older.size) == whole.inclusion_proof(0, older.size)
    assert [size for size, in sql(db, f"SELECT size FROM {FRONTIERS_TABLE}")] == [newer.size]
    spoil_leaf_hashes_below(db, newer.size - 1)
    with open_node(node.settings) as resumed:
        manufacture(resumed, "U-4")
        assert resumed.sealer.seal().size == newer.size + 1  # resumed from the frontier stored since


def test_a_sealer_following_another_ones_checkpoint_writes_only_the_leaves_it_adds(node, monkeypatch):
    grow_and_seal(node, "W-1")
    with open_node(node.settings) as other:
        by_other = grow_and_seal(other, "W-2", "W-3")
    assert node.sealer.seal() is None  # follows the records the other process sealed: nothing to sign
    written: list[int] = []
    store = sealer_module._Tables.store

    def recording(tables, cursor, over, checkpoint, leaves, frontier, nodes):
        leaves = list(leaves)
        written.extend(leaf[0] for leaf in leaves)
        return store(tables, cursor, over, checkpoint, leaves, frontier, nodes)

    monkeypatch.setattr(sealer_module._Tables, "store", recording)
    newest = grow_and_seal(node, "W-4")
    assert written == list(range(by_other.size, newest.size))


def test_pending_leaves_give_back_each_stream_as_appended_uuid_or_not():
    streams: list[UUID | str] = [uuid5(UUID(int=0), str(i)) for i in range(5)]
    streams[2] = "not-a-uuid stream"
    pending = sealer_module._PendingLeaves(start=10)
    for i, stream in enumerate(streams):
        pending.append(10 + i, 100 + i, stream, i + 1, bytes([i]) * 32)
    assert [row[2] for row in pending.rows()] == [str(stream) for stream in streams]
    pending.drop_below(12)
    assert list(pending.rows()) == [(10 + i, 100 + i, str(streams[i]), i + 1, bytes([i]) * 32) for i in range(2, 5)]
    pending.drop_below(13)
    assert [row[2] for row in pending.rows()] == [str(streams[3]), str(streams[4])]
    with pytest.raises(ValueError, match="leaf 16 appended after leaf 14"):
        pending.append(16, 200, streams[0], 1, bytes(32))


# --- Proofs of leaves older than the frontier a sealer resumed from ------------------------------------------


@pytest.fixture
def small_runs(monkeypatch):
    """Subtrees of 4 leaves and more have their roots stored (256 in a node): a few dozen records then take
    every branch that a log of millions takes."""
    monkeypatch.setattr(sealer_module, "_STORED_HEIGHT", 2)


def seal_batches(node, *counts: int) -> list:
    """Manufacture ``counts[0]`` weapons and seal, then ``counts[1]``, ...; the checkpoints sealed."""
    checkpoints = []
    for n, count in enumerate(counts):
        manufacture_many(node, count, prefix=f"B{n}-")
        checkpoints.append(node.sealer.seal())
    return checkpoints


def test_old_proofs_after_a_restart_equal_the_whole_trees_without_reading_the_whole_leaf_index(node, small_runs,
                                                                                              monkeypatch):
    monkeypatch.setattr(sealer_module, "_WHOLE_TREE_MOST", 0)  # never read whole, however many proofs are asked
    sizes = [c.size for c in seal_batches(node, 5, 9, 17, 1)]
    with open_node(node.settings) as restarted:
        whole = MerkleTree(leaf for _, leaf in logged(restarted))
        for size in sizes:
            assert restarted.sealer.inclusion_proofs(range(size), size) == whole.inclusion_proofs(range(size), size)
            assert [restarted.sealer.inclusion_proof(i, size) for i in range(size)] == \
                   [whole.inclusion_proof(i, size) for i in range(size)]
            for size1 in sizes:
                if size1 <= size:
                    assert restarted.sealer.consistency_proof(size1, size) == whole.consistency_proof(size1, size)
        # Still the tree resumed from the latest frontier: no proof loaded the whole leaf index.
        assert restarted.sealer._tree.resumed_at == sizes[-1]


@pytest.mark.parametrize("stored_height", [2, 8])
def test_an_old_leafs_proof_reads_only_the_leaf_rows_of_its_run(node, monkeypatch, stored_height):
    monkeypatch.setattr(sealer_module, "_STORED_HEIGHT", stored_height)
    run = 1 << stored_height
    checkpoints = seal_batches(node, run + 3, run + 40)
    whole = MerkleTree(leaf for _, leaf in logged(node))
    # Every leaf row outside the runs of leaf 0 and of each checkpoint's last leaf (the tree's right edge at
    # that size) gets a hash no checkpoint signed: a proof that read one would be refused.
    kept = ", ".join(str(n) for n in sorted({0, *((c.size - 1) // run for c in checkpoints)}))
    sql(node.settings.db, f"UPDATE {LEAVES_TABLE} SET envelope_hash = ? WHERE leaf_index / {run} NOT IN ({kept})",
        bytes(32))
    with open_node(node.settings) as restarted:
        for checkpoint in checkpoints:
            proof = restarted.sealer.inclusion_proof(0, checkpoint.size)
            assert proof == whole.inclusion_proof(0, checkpoint.size)
            assert verify_inclusion(0, checkpoint.size, whole.held_node(0, 0), proof, checkpoint.root)
        assert restarted.sealer.consistency_proof(checkpoints[0].size) == whole.consistency_proof(checkpoints[0].size)


def test_a_backlog_of_old_proofs_reads_the_whole_leaf_index_once_and_checks_it(node, small_runs):
    latest = seal_batches(node, 5, 9, 17, 1)[-1]
    share = int(latest.size * sealer_module._WHOLE_TREE_SHARE)
    whole = MerkleTree(leaf for _, leaf in logged(node))
    with open_node(node.settings) as restarted:
        # Fewer than the share: made of stored subtree roots, the tree still the one resumed.
        assert restarted.sealer.inclusion_proofs(range(share - 1)) == whole.inclusion_proofs(range(share - 1))
        assert restarted.sealer._tree.resumed_at == latest.size
        # The next page passes the share (a relay proving a backlog): the whole leaf index is read, once.
        page = range(share - 1, 2 * share)
        assert restarted.sealer.inclusion_proofs(page) == whole.inclusion_proofs(page, latest.size)
        assert restarted.sealer._tree.resumed_at == 0
        rest = range(2 * share, latest.size)
        assert restarted.sealer.inclusion_proofs(rest) == whole.inclusion_proofs(rest, latest.size)
    # A leaf row altered below the checkpoint: the whole index read does not rebuild its root, and nothing is served.
    spoil_leaf_hashes_below(node.settings.db, latest.size - 1)
    with open_node(node.settings) as restarted, \
            pytest.raises(CheckpointError, match=f"does not rebuild the checkpoint at size {latest.size}"):
        restarted.sealer.inclusion_proofs(range(latest.size))


def test_a_tree_larger_than_the_most_held_proves_any_backlog_from_stored_subtree_roots(node, small_runs, monkeypatch):
    latest = seal_batches(node, 5, 9, 17, 1)[-1]
    monkeypatch.setattr(sealer_module, "_WHOLE_TREE_MOST", latest.size - 1)
    whole = MerkleTree(leaf for _, leaf in logged(node))
    with open_node(node.settings) as restarted:
        assert restarted.sealer.inclusion_proofs(range(latest.size)) == whole.inclusion_proofs(range(latest.size))
        assert restarted.sealer._tree.resumed_at == latest.size


def test_a_tampered_subtree_root_is_refused_not_served(node, small_runs):
    first, second = seal_batches(node, 5, 26)
    sql(node.settings.db, f"UPDATE {NODES_TABLE} SET hash = ?", bytes(32))
    with open_node(node.settings) as restarted:
        with pytest.raises(CheckpointError, match=f"subtree roots stored in {NODES_TABLE} does not verify against "
                                                  f"the signed root of the checkpoint at size {second.size}"):
            restarted.sealer.inclusion_proof(0)
    with open_node(node.settings) as restarted, pytest.raises(CheckpointError, match=NODES_TABLE):
        restarted.sealer.consistency_proof(first.size, second.size)


def test_a_store_sealed_before_subtree_roots_were_stored_gets_them_at_its_first_old_proof(node, small_runs):
    older, newer = seal_batches(node, 6, 20)
    db = node.settings.db
    stored = sorted(sql(db, f"SELECT height, position, hash FROM {NODES_TABLE}"))
    assert stored and all(height >= 2 for height, _, _ in stored)
    node.close()
    sql(db, f"DROP TABLE {NODES_TABLE}")
    with open_node(node.settings) as upgraded:
        whole = MerkleTree(leaf for _, leaf in logged(upgraded))
        # No subtree root stored: the whole leaf index is read, checked, and the roots it completes stored.
        assert upgraded.sealer.inclusion_proof(0, older.size) == whole.inclusion_proof(0, older.size)
        assert upgraded.sealer._tree.resumed_at == 0
    assert sorted((h, p, bytes(x)) for h, p, x in sql(db, f"SELECT height, position, hash FROM {NODES_TABLE}")) == \
           [(h, p, bytes(x)) for h, p, x in stored]
    sql(db, f"UPDATE {LEAVES_TABLE} SET envelope_hash = ? WHERE leaf_index / 4 NOT IN (0, ?)", bytes(32),
        (newer.size - 1) // 4)
    with open_node(node.settings) as resumed:
        assert resumed.sealer.inclusion_proof(0) == whole.inclusion_proof(0, newer.size)


def test_each_seal_stores_the_subtree_roots_it_completes_and_no_other(node, small_runs):
    checkpoints = seal_batches(node, 3, 6, 1, 13)
    whole = MerkleTree(leaf for _, leaf in logged(node))
    stored = sql(node.settings.db, f"SELECT height, position, hash FROM {NODES_TABLE}")
    expected = [(height, position, whole.held_node(height, position))
                for height in range(2, checkpoints[-1].size.bit_length())
                for position in range(checkpoints[-1].size >> height)]
    assert sorted((h, p, bytes(x)) for h, p, x in stored) == expected


def test_a_log_grown_by_more_than_a_chunk_is_sealed_a_checkpoint_per_chunk(node, monkeypatch):
    monkeypatch.setattr(sealer_module, "_SEAL_CHUNK", 4)
    monkeypatch.setattr(sealer_module, "_FOLLOW_BATCH", 2)
    before = node.sealer.seal() or node.sealer.latest_checkpoint()
    manufacture_many(node, 11)
    newest = node.sealer.seal()
    records = logged(node)
    assert newest.size == len(records)
    # The leaves pending never more than a chunk (and a page): each chunk is signed before the next is read.
    signed = node.sealer.checkpoints(after=before.size)
    assert [c.size for c in signed] == [*range(before.size + 4, len(records), 4), len(records)]
    whole = MerkleTree(leaf for _, leaf in records)
    assert all(c.root == whole.root(c.size) for c in signed)
    assert [leaf.index for leaf in node.sealer.sealed_leaves()] == list(range(len(records)))
    assert node.sealer.seal() is None


def test_no_proof_asked_of_a_restarted_sealer_reads_no_leaf_below_the_latest_checkpoint(node):
    sealed = grow_and_seal(node, "N-1", "N-2", "N-3")
    spoil_leaf_hashes_below(node.settings.db, sealed.size - 1)
    with open_node(node.settings) as restarted:
        # The relay asks for none at the end of each pass: a whole leaf index read would have been refused here.
        assert restarted.sealer.inclusion_proofs([], sealed.size) == []
        assert restarted.sealer._tree.resumed_at == sealed.size
        with pytest.raises(ValueError):
            restarted.sealer.inclusion_proofs([], sealed.size + 1)
