"""A SQLite log made by an earlier version (plain rowid) is rebuilt at open so positions are never reused."""

from __future__ import annotations

from nodes.bootstrap import init_node, open_node
from nodes.registry.verify import verify_store
from nodes.settings import Settings

import insider
from federation_nodes import PASSPHRASE, manufacture

PLAIN_ROWID_TABLE = ("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                     "state BLOB, PRIMARY KEY (originator_id, originator_version))")


def test_a_plain_rowid_log_is_rebuilt_with_its_positions_and_never_gives_a_deleted_one_again(tmp_path):
    db = str(tmp_path / "ledger.db")
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db, passphrase=PASSPHRASE)
    node = init_node(settings, "BE")
    for serial in ("P-1", "P-2", "P-3"):
        manufacture(node, serial)
    node.close()
    before = insider.sql(db, "SELECT rowid, originator_id, originator_version, state FROM stored_events ORDER BY rowid")
    # The table as an earlier version made it: the library's plain rowid, same rows and positions.
    insider.sql(db, "ALTER TABLE stored_events RENAME TO old_events")
    insider.sql(db, PLAIN_ROWID_TABLE)
    insider.sql(db, "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
                    "SELECT rowid, originator_id, originator_version, topic, state FROM old_events")
    insider.sql(db, "DROP TABLE old_events")
    newest = before[-1][0]
    insider.sql(db, "DELETE FROM stored_events WHERE rowid = ?", newest)
    assert "AUTOINCREMENT" not in insider.sql(db, "SELECT sql FROM sqlite_master WHERE name = 'stored_events'")[0][0]

    node = open_node(settings)
    try:
        (table_sql,) = insider.sql(db, "SELECT sql FROM sqlite_master WHERE name = 'stored_events'")[0]
        assert "AUTOINCREMENT" in table_sql
        after = insider.sql(db, "SELECT rowid, originator_id, originator_version, state FROM stored_events "
                                "ORDER BY rowid")
        assert after == before[:-1]  # every row kept at its position
        manufacture(node, "P-4")
        # Only what the rebuilt table saw counts: the position deleted before it is given again, once.
        assert node.registry.recorder.max_notification_id() == newest
        insider.sql(db, "DELETE FROM stored_events WHERE rowid = ?", newest)
        manufacture(node, "P-5")
        assert node.registry.recorder.max_notification_id() == newest + 1  # never again after the rebuild
    finally:
        node.close()


def test_a_rebuilt_log_verifies(tmp_path):
    db = str(tmp_path / "ledger.db")
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db, passphrase=PASSPHRASE)
    node = init_node(settings, "BE")
    manufacture(node, "Q-1")
    node.settle()
    node.close()
    insider.sql(db, "ALTER TABLE stored_events RENAME TO old_events")
    insider.sql(db, PLAIN_ROWID_TABLE)
    insider.sql(db, "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
                    "SELECT rowid, originator_id, originator_version, topic, state FROM old_events")
    insider.sql(db, "DROP TABLE old_events")
    node = open_node(settings)
    try:
        manufacture(node, "Q-2")
        node.settle()
        assert verify_store(node).ok
    finally:
        node.close()
