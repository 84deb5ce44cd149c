"""The sealer on both backends: checkpoints, proofs against them, and concurrent sealers."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from domain.marking import Marking
from ledger.checkpoint import envelope_leaf, sign_checkpoint, verify_checkpoint
from ledger.envelope import Envelope
from ledger.errors import CheckpointError
from ledger.merkle import MerkleTree
from ledger.proofs import verify_consistency, verify_inclusion
from nodes.bootstrap import init_node, open_node
from nodes.errors import StorageError
from nodes.registry.sealer import CHECKPOINTS_TABLE, FRONTIERS_TABLE, LEAVES_TABLE, NODES_TABLE
from nodes.settings import Settings

from insider import sql

NOW = int(time.time()) - 3600


@pytest.fixture
def node(db_url, tmp_path):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


def manufacture(node, serial: str) -> str:
    return str(node.registry.manufacture(
        marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN", model="Five-seveN",
        calibre="5.7x28", year=2020, holder="FN Herstal", occurred_on=NOW))


def mark(node, weapon: str, text: str) -> None:
    node.registry.record("mark", by="police", weapon_id=weapon, mark=text, reason="inspection", occurred_on=NOW)


def logged(node) -> list[tuple[int, Envelope]]:
    return [(position, Envelope.from_bytes(stored.state)) for position, stored in node.registry.stored_notifications()]


def test_seal_signs_the_log_once_per_growth(node):
    sealer = node.sealer
    assert sealer.latest_checkpoint() is None
    first = sealer.seal()
    assert first.size == 6  # RegisterOpened + 5 certificates
    assert first.origin == "BE" and first.signer == node.identity.node_key_id
    assert verify_checkpoint(first, node.identity.node_public)
    assert sealer.seal() is None
    manufacture(node, "S1")
    second = sealer.seal()
    assert second.size == 7
    assert sealer.latest_checkpoint() == second
    assert sealer.checkpoints() == [first, second]
    assert [row.size for row in sealer.checkpoint_rows()] == [6, 7]
    assert [(leaf.index, leaf.version) for leaf in sealer.sealed_leaves()][-1] == (6, 1)


def test_seal_or_latest_gives_the_checkpoint_covering_the_log_reading_the_standing_one_once(node, monkeypatch):
    """What a trace answer cites: the checkpoint sealed now, or over an unchanged log the latest one as the seal's
    check read it (``latest_checkpoint`` is not asked again). A latest row that is not the one sealed is refused as
    ``seal`` refuses it."""
    sealer = node.sealer
    first = sealer.seal_or_latest()
    assert first is not None and first.size == 6 and first == sealer.latest_checkpoint()
    asked = []
    latest = sealer.latest_checkpoint
    monkeypatch.setattr(sealer, "latest_checkpoint", lambda: asked.append(1) or latest())
    assert sealer.seal_or_latest() == first and asked == []
    manufacture(node, "S1")
    second = sealer.seal_or_latest(mark_later=True)
    sealer.wait_for_mark()
    assert second.size == 7 and verify_checkpoint(second, node.identity.node_public)
    assert sealer.seal_or_latest() == second and asked == []
    assert latest() == second

    key = node.identity.private_keys[node.identity.node_key_id]
    forged = sign_checkpoint(key, "BE", 7, bytes(32), 1)
    sql(node.settings.db, f"DELETE FROM {CHECKPOINTS_TABLE} WHERE size = 7")
    placeholder = "%s" if node.settings.db.startswith("postgresql://") else "?"
    with node.registry.recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"INSERT INTO {CHECKPOINTS_TABLE} VALUES ({', '.join([placeholder] * 6)})",
                       (7, forged.root, forged.timestamp, forged.signer, forged.sig, forged.to_bytes()))
    with pytest.raises(CheckpointError):
        sealer.seal_or_latest()


def test_every_record_is_proved_included_under_the_latest_checkpoint(node):
    weapon = manufacture(node, "S1")
    for text in ("M1", "M2"):
        mark(node, weapon, text)
    checkpoint = node.sealer.seal()
    records = logged(node)
    assert len(records) == checkpoint.size
    for position, envelope in records:
        index = node.sealer.leaf_index(position)
        proof = node.sealer.inclusion_proof(index)
        assert verify_inclusion(index, checkpoint.size, envelope_leaf(envelope.hash), proof, checkpoint.root)


def test_consecutive_checkpoints_are_proved_consistent(node):
    older = node.sealer.seal()
    manufacture(node, "S1")
    manufacture(node, "S2")
    newer = node.sealer.seal()
    proof = node.sealer.consistency_proof(older.size, newer.size)
    assert verify_consistency(older.size, newer.size, older.root, newer.root, proof)


def test_a_restarted_sealer_resumes_from_its_leaf_index(node):
    weapon = manufacture(node, "S1")
    first = node.sealer.seal()
    mark(node, weapon, "M1")
    with open_node(node.settings) as restarted:
        second = restarted.sealer.seal()
    assert second.size == first.size + 1
    assert verify_consistency(first.size, second.size, first.root, second.root,
                              node.sealer.consistency_proof(first.size, second.size))


def test_two_sealers_at_once_agree_and_store_one_checkpoint_per_size(node):
    node.sealer.seal()
    manufacture(node, "S1")
    with open_node(node.settings) as other:
        results, errors = [], []

        def seal(sealer):
            try:
                results.append(sealer.seal())
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=seal, args=(s,)) for s in (node.sealer, other.sealer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    sealed = [c for c in results if c is not None]
    assert sealed and all(c.size == 7 and c.root == sealed[0].root for c in sealed)
    assert [row.size for row in node.sealer.checkpoint_rows()] == [6, 7]


def test_a_seal_over_a_checkpoint_no_longer_the_latest_stores_nothing_and_the_seal_reads_the_latest(node, monkeypatch):
    """A sealer stores over the checkpoint it stored last without reading the table first (on PostgreSQL one
    statement); the store checks under the sealers' lock that it is still the latest, and stores nothing when
    another process sealed since: the seal then reads the latest and seals over it."""
    first = node.sealer.seal()
    manufacture(node, "S1")
    with open_node(node.settings) as other:
        by_other = other.sealer.seal()
    assert by_other.size == first.size + 1
    stale = node.sealer.checkpoint_rows()[0]
    key = node.identity.private_keys[node.identity.node_key_id]
    stray = sign_checkpoint(key, "BE", 9, bytes(32), 1)
    tables = node.sealer._tables
    assert tables.store(None, stale, stray, [(7, 999, "stray", 1, bytes(32))], [bytes(32)], [(8, 0, bytes(32))]) is None
    db = node.settings.db
    assert [row.size for row in node.sealer.checkpoint_rows()] == [6, 7]
    assert sql(db, f"SELECT COUNT(*) FROM {LEAVES_TABLE}")[0][0] == 7
    assert sql(db, f"SELECT size FROM {FRONTIERS_TABLE} ORDER BY size") == [(6,), (7,)]
    assert sql(db, f"SELECT COUNT(*) FROM {NODES_TABLE}")[0][0] == 0

    stores = []
    store = type(tables).store
    monkeypatch.setattr(type(tables), "store", lambda tables, cursor, over, *rest:
                        stores.append(over.size) or store(tables, cursor, over, *rest))
    # The other process's mark names its checkpoint: the seal reads the latest rather than store over its own.
    manufacture(node, "S2")
    sealed = node.sealer.seal()
    assert stores == [by_other.size]
    # A sealer that read the mark just before another process sealed and wrote it: its store over the one it
    # stored last is refused, and it reads the latest.
    manufacture(node, "S3")
    with open_node(node.settings) as other:
        by_other = other.sealer.seal()
    read_mark, marks = node.sealer._read_mark, iter([sealed])
    monkeypatch.setattr(node.sealer, "_read_mark", lambda: next(marks, None) or read_mark())
    manufacture(node, "S4")
    stores.clear()
    stored_last, sealed = sealed, node.sealer.seal()
    assert stores == [stored_last.size, by_other.size] == [8, 9]  # over its own, refused; then over the one read
    assert sealed.size == 10
    assert verify_consistency(by_other.size, sealed.size, by_other.root, sealed.root,
                              node.sealer.consistency_proof(by_other.size, sealed.size))
    leaves = [row.envelope_hash for row in node.sealer.sealed_leaves()]
    assert MerkleTree(envelope_leaf(h) for h in leaves).root() == sealed.root
    manufacture(node, "S5")
    stores.clear()
    assert node.sealer.seal().size == 11
    assert stores == [10]  # over its own again, at once


def test_another_root_for_a_signed_size_is_an_alarm(node):
    node.sealer.seal()
    manufacture(node, "S1")
    key = node.identity.private_keys[node.identity.node_key_id]
    forged = sign_checkpoint(key, "BE", 7, bytes(32), 1)
    placeholder = "%s" if node.settings.db.startswith("postgresql://") else "?"
    with node.registry.recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"INSERT INTO {CHECKPOINTS_TABLE} VALUES ({', '.join([placeholder] * 6)})",
                       (7, forged.root, forged.timestamp, forged.signer, forged.sig, forged.to_bytes()))
    with pytest.raises(CheckpointError, match="no longer have the root"):
        node.sealer.seal()


def refuse_frontiers(db: str) -> None:
    """Make the database refuse every new frontier row: a seal's statement that fails after its leaves went in."""
    if db.startswith("postgresql://"):
        sql(db, "CREATE FUNCTION refuse_frontier() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'frontier refused'; END $$")
        sql(db, f"CREATE TRIGGER refuse_frontier BEFORE INSERT ON {FRONTIERS_TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_frontier()")
    else:
        sql(db, f"CREATE TRIGGER refuse_frontier BEFORE INSERT ON {FRONTIERS_TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'frontier refused'); END")


@pytest.mark.parametrize("knows_latest", [True, False], ids=["over its last seal", "after reading the latest"])
def test_a_seal_whose_statement_fails_stores_nothing_and_the_next_seal_works(node, knows_latest):
    """A seal is rolled back whole when a statement fails after others went in, and leaves its connection fit for
    use: over the sealer's own last checkpoint (one statement on PostgreSQL), and by a sealer that has not sealed
    yet, which reads the latest first (a transaction pipelined on PostgreSQL: its begin and commit are statements
    of the pipeline)."""
    node.sealer.seal()
    manufacture(node, "S1")
    db = node.settings.db
    leaves_before = sql(db, f"SELECT COUNT(*) FROM {LEAVES_TABLE}")[0][0]
    refuse_frontiers(db)
    with pytest.raises(StorageError, match="frontier refused"):
        if knows_latest:
            node.sealer.seal()
        else:
            with open_node(node.settings) as other:
                other.sealer.seal()
    assert sql(db, f"SELECT COUNT(*) FROM {LEAVES_TABLE}")[0][0] == leaves_before == 6
    assert [row.size for row in node.sealer.checkpoint_rows()] == [6]
    sql(db, "DROP TRIGGER refuse_frontier" + (f" ON {FRONTIERS_TABLE}" if db.startswith("postgresql://") else ""))
    for serial in ("S2", "S3", "S4"):  # seals after it, on the connections handed back, store what they sign
        manufacture(node, serial)
        sealed = node.sealer.seal()
        assert sealed is not None and verify_checkpoint(sealed, node.identity.node_public)
    assert [row.size for row in node.sealer.checkpoint_rows()] == [6, 8, 9, 10]
    assert sql(db, f"SELECT COUNT(*) FROM {LEAVES_TABLE}")[0][0] == 10


def test_a_locked_node_reads_checkpoints_but_cannot_seal(node):
    node.sealer.seal()
    settings = node.settings
    with open_node(settings, unlock=False) as locked:
        assert locked.sealer.latest_checkpoint().size == 6
        with pytest.raises(KeyError):
            locked.sealer.seal()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(marks=st.lists(st.tuples(st.integers(0, 2), st.text("ABCXYZ0123-", min_size=1, max_size=12)),
                                min_size=1, max_size=6),
       data=st.data())
def test_appended_records_are_proved_included_after_sealing(node, marks, data):
    # The log grows across examples; each example appends, seals and proves.
    weapons = [str(w.id) for w in _weapons(node)]
    before = node.sealer.latest_checkpoint()
    for weapon, text in marks:
        mark(node, weapons[weapon], text)
    checkpoint = node.sealer.seal()
    records = logged(node)
    assert checkpoint.size == len(records)
    # Drawn independently of the log's size: hypothesis replays examples on a log that has grown.
    index = data.draw(st.integers(0, 2**16), label="index") % checkpoint.size
    leaf = envelope_leaf(records[index][1].hash)
    assert verify_inclusion(index, checkpoint.size, leaf, node.sealer.inclusion_proof(index), checkpoint.root)
    if before is not None:
        assert verify_consistency(before.size, checkpoint.size, before.root, checkpoint.root,
                                  node.sealer.consistency_proof(before.size))


def _weapons(node):
    found = []
    for serial in ("H1", "H2", "H3"):
        marking = Marking.read("FN Herstal", "BE", serial)
        if marking.weapon_id() not in node.registry.repository:
            manufacture(node, serial)
        found.append(node.registry.weapon(marking.weapon_id()))
    return found


def test_the_leaf_index_is_read_back_a_page_at_a_time(node, monkeypatch):
    import nodes.registry.sealer as sealer_module

    for serial in ("PG1", "PG2", "PG3"):
        manufacture(node, serial)
    sealed = node.sealer.seal()
    monkeypatch.setattr(sealer_module, "_LEAF_PAGE", 2)  # several pages, the last one short or empty
    manufacture(node, "PG4")
    with open_node(node.settings) as restarted:
        again = restarted.sealer.seal()
        assert again.size == sealed.size + 1
        assert verify_consistency(sealed.size, again.size, sealed.root, again.root,
                                  restarted.sealer.consistency_proof(sealed.size, again.size))
        # Proofs of leaves below the checkpoint it resumed at read the leaf index, a page at a time.
        whole = MerkleTree(envelope_leaf(envelope.hash) for _, envelope in logged(restarted))
        every = range(again.size)
        assert restarted.sealer.inclusion_proofs(every, again.size) == whole.inclusion_proofs(every, again.size)


def test_the_newest_checkpoints_are_read_as_a_page_with_the_count(node):
    assert node.sealer.newest_checkpoints(2) == ([], 0)
    sizes = [node.sealer.seal().size]
    for serial in ("P1", "P2", "P3"):
        manufacture(node, serial)
        sizes.append(node.sealer.seal().size)
    newest, count = node.sealer.newest_checkpoints(2)
    assert count == len(sizes) == len(node.sealer.checkpoints())
    assert [c.size for c in newest] == sorted(sizes, reverse=True)[:2]


def _leaf_indexes(db: str) -> set[str]:
    if db.startswith("postgresql://"):
        return {name for (name,) in sql(db, "SELECT indexname FROM pg_indexes WHERE tablename = ?", LEAVES_TABLE)}
    return {name for (name,) in sql(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                                    LEAVES_TABLE)}


def test_a_streams_leaves_are_found_through_the_logs_index_of_streams(node):
    weapon = manufacture(node, "S1")
    mark(node, weapon, "M1")
    other = manufacture(node, "S2")
    checkpoint = node.sealer.seal()
    records = logged(node)
    expected = {envelope.version: (node.sealer.leaf_index(position), envelope.hash)
                for position, envelope in records if envelope.stream == weapon}
    assert set(expected) == {1, 2} and all(index < checkpoint.size for index, _ in expected.values())
    assert node.sealer.leaves_of(weapon) == expected
    assert set(node.sealer.leaves_of(other)) == {1}
    assert node.sealer.leaves_of(str(uuid4())) == {}
    assert node.sealer.leaves_of("not a stream id") == {}
    # Several streams in one read (one statement): the same leaves, by stream, each stream once.
    unknown = str(uuid4())
    assert node.sealer.leaves_of_streams([weapon, other, weapon, unknown, "not a stream id"]) == {
        weapon: expected, other: node.sealer.leaves_of(other), unknown: {}, "not a stream id": {}}
    assert node.sealer.leaves_of_streams(["not a stream id"]) == {"not a stream id": {}}
    assert node.sealer.leaves_of_streams([]) == {}
    # More streams than one compound SELECT of SQLite takes (500 terms): read in parts, none lost.
    many = [str(uuid4()) for _ in range(600)]
    found = node.sealer.leaves_of_streams([*many[:300], weapon, *many[300:], other])
    assert found == {**dict.fromkeys(many, {}), weapon: expected, other: node.sealer.leaves_of(other)}


def test_a_streams_leaf_rows_are_not_indexed_by_stream_and_a_stores_old_index_is_dropped(node):
    # Each leaf written would touch a random page of such an index: a seal's cost grew with the log.
    first = node.sealer.seal()
    db = node.settings.db
    assert f"{LEAVES_TABLE}_stream" not in _leaf_indexes(db)
    assert f"{LEAVES_TABLE}_position" in _leaf_indexes(db)
    sql(db, f"CREATE INDEX {LEAVES_TABLE}_stream ON {LEAVES_TABLE} (stream)")  # a store sealed by older code
    weapon = manufacture(node, "S1")
    with open_node(node.settings) as reopened:
        assert reopened.sealer.seal().size == first.size + 1
        assert f"{LEAVES_TABLE}_stream" not in _leaf_indexes(db)
        assert set(reopened.sealer.leaves_of(weapon)) == {1}


def test_what_a_seal_stored_stands_for_a_read_of_the_checkpoints_after_the_one_before_it(node):
    first = node.sealer.seal()
    assert first is not None and node.sealer.stored_after(0) == node.sealer.checkpoints(after=0) == [first]
    manufacture(node, "S1")
    with open_node(node.settings) as other:
        between = other.sealer.seal()  # another process seals first: this sealer's next seal is over its size
        manufacture(node, "S2")
        second = node.sealer.seal()
    assert between is not None and second is not None
    assert node.sealer.stored_after(between.size) == node.sealer.checkpoints(after=between.size) == [second]
    assert node.sealer.stored_after(first.size) is None  # the one between is not known without a read
    assert node.sealer.seal() is None and node.sealer.stored_after(between.size) == [second]


def test_a_seal_takes_the_records_read_after_a_position_it_followed_and_reads_them_itself_otherwise(node):
    from nodes.registry.sealer import ReadAfter

    node.sealer.seal()
    sealed = node.registry.recorder.max_notification_id()
    manufacture(node, "R1")
    manufacture(node, "R2")
    after = node.registry.recorder.select_notifications(start=sealed + 1, limit=10)
    assert len(after) == 2
    reads = []
    select = node.registry.recorder.select_notifications
    node.registry.recorder.select_notifications = lambda *a, **k: reads.append(k) or select(*a, **k)
    taken = node.sealer.seal(read_after=ReadAfter(sealed, after))
    assert reads == []  # the records handed, not read again
    del node.registry.recorder.select_notifications
    # The same checkpoint a sealer that read the whole log itself signs.
    with open_node(node.settings) as other:
        assert other.sealer._follow().root() == taken.root and taken.size == sealed + 2
    manufacture(node, "R3")
    # Handed records after a position the sealer has not followed to: not what it would read next; it reads.
    later = ReadAfter(sealed + 3, [])
    assert node.sealer.seal(read_after=later).size == sealed + 3
