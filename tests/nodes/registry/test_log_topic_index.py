"""The log is indexed by (topic, position) on both backends: reads of one kind of record (the trace
requests about a weapon, which every history reads) must not read the whole log."""

from __future__ import annotations

from nodes.bootstrap import init_node, open_node
from nodes.settings import Settings


def _indexes(node) -> set[str]:
    recorder = node.registry.recorder
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=False) as cursor:
        if node.settings.db.startswith("postgresql"):
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,))
            return {row["indexdef"] for row in cursor.fetchall()}
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))
        return {row[0] for row in cursor.fetchall() if row[0]}


def test_the_log_has_an_index_by_topic_and_position_from_its_creation_and_after_a_reopen(tmp_path, db_url):
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="topic index test")
    with init_node(settings, "BE") as node:
        created = _indexes(node)
    with open_node(settings, unlock=False) as node:
        reopened = _indexes(node)
    for indexes in (created, reopened):
        by_topic = [sql for sql in indexes if "_by_topic" in sql]
        assert len(by_topic) == 1, indexes
        assert "(topic, notification_id)" in by_topic[0] or "(topic, rowid)" in by_topic[0]
