"""A rebuild by stream into fresh tables (``projections.rebuild_aside``): the views of a rebuild in position
order, and the old views whole until the swap, whatever fails before it.

Run on SQLite and PostgreSQL (``db_url``) with the scenario of this folder's conftest.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import msgpack
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.event_types import WEAPON_EVENT_TYPES
from projections import rebuild_aside as aside
from projections.sqlite_store import SWAP_CACHE_KIB
from projections.store import ASIDE_TABLES, VIEW_TABLES
from projections.views import Views


def tables(views: Views) -> set[str]:
    """Which of the views' tables and of the fresh tables exist."""
    if views.store.dialect["bytes"] == "BLOB":
        statement = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        statement = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    return {row["name"] for row in views.store.query(statement)} & {*VIEW_TABLES, *ASIDE_TABLES}


def in_position_order(views: Views) -> Views:
    views.REBUILD_ASIDE = False
    return views


def test_a_rebuild_aside_gives_the_views_of_a_rebuild_in_position_order(belgium, partners, dump_views):
    log, views = belgium.registry, belgium.views
    last = log.recorder.max_notification_id()
    assert in_position_order(views).rebuild(log) == last
    by_position = dump_views(views)
    assert by_position["view_events"] and by_position["view_shipments"] and by_position["view_shipment_weapons"]
    views.catch_up(partners.france_log)  # forgotten by the rebuild, as the position-order one forgets it

    views.REBUILD_ASIDE = True
    reads: list[tuple[int, int | None]] = []
    assert views.rebuild(log, progress=lambda done, total: reads.append((done, total))) == last
    assert dump_views(views) == by_position
    assert views.position(log) == last and views.position(partners.france_log) == 0
    assert reads[-1] == (last, last)
    assert tables(views) == set(VIEW_TABLES)
    # The queries' indexes are made again: a search by serial and a lifecycle read as before.
    assert [found["weapon_id"] for found in views.search_serial("AB-7*")] == [str(belgium.ids.w1)]
    assert views.catch_up(log) == 0


def test_on_postgresql_the_swapped_views_have_planner_statistics(belgium):
    # Fresh tables are unknown to the planner until analyzed: queries planned on guesses meanwhile.
    log, views = belgium.registry, belgium.views
    if views.store.dialect["bytes"] == "BLOB":
        pytest.skip("SQLite's planner keeps no statistics unless asked, and the views' queries need none")
    views.rebuild(log)
    filled = {table for table in VIEW_TABLES if views.store.query(f"SELECT 1 FROM {table} LIMIT 1")}
    analyzed = {row["tablename"] for row in views.store.query(
        "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()")}
    assert {"view_events", "view_weapons"} <= filled
    assert filled <= analyzed  # an empty table has no statistics to keep


def indexes(views: Views) -> set[tuple[str, str]]:
    """(table, index) of every index of the views' and the fresh tables, primary keys' included."""
    if views.store.dialect["bytes"] == "BLOB":
        statement = "SELECT tbl_name AS t, name AS i FROM sqlite_master WHERE type = 'index'"
    else:
        statement = "SELECT tablename AS t, indexname AS i FROM pg_indexes WHERE schemaname = current_schema()"
    return {(row["t"], row["i"]) for row in views.store.query(statement) if row["t"] in {*VIEW_TABLES, *ASIDE_TABLES}}


def test_the_swapped_views_have_the_keys_and_indexes_of_new_views_and_use_them(belgium):
    # On PostgreSQL they are made on the fresh tables, under names of their own, and renamed in the swap.
    log, views = belgium.registry, belgium.views
    views.catch_up(log)
    made_new = indexes(views)
    assert {"view_weapons_marking", "view_weapons_serial"} <= {name for _, name in made_new}
    views.rebuild(log)
    assert indexes(views) == made_new
    views.rebuild(log)  # and again: the names the first swap gave are free for the next
    assert indexes(views) == made_new
    if views.store.dialect["bytes"] != "BLOB":
        with views.store.datastore.transaction(commit=False) as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # the scenario's few weapons fit one page
            cursor.execute("EXPLAIN SELECT weapon_id FROM view_weapons WHERE marking_key = 'X'")
            assert "view_weapons_marking" in "\n".join(row["QUERY PLAN"] for row in cursor.fetchall())
    with pytest.raises(IntegrityError), views.store.datastore.transaction(commit=True) as cursor:
        cursor.execute("INSERT INTO view_shipment_weapons SELECT * FROM view_shipment_weapons")  # the key is kept


@pytest.mark.parametrize("until", [1, 5, 17])
def test_a_rebuild_aside_up_to_a_position_gives_the_views_of_one_in_position_order(belgium, dump_views, until):
    log, views = belgium.registry, belgium.views
    in_position_order(views).rebuild(log, until=until)
    by_position = dump_views(views)
    views.REBUILD_ASIDE = True
    views.catch_up(log)
    assert views.rebuild(log, until=until) == until
    assert dump_views(views) == by_position
    assert views.position(log) == until


def test_the_old_views_stay_whole_until_the_swap(belgium, dump_views, monkeypatch):
    log, views = belgium.registry, belgium.views
    views.catch_up(log, until=20)
    before = dump_views(views)
    monkeypatch.setattr(aside, "WRITE_ROWS", 4)  # progress after every few records
    during: list[dict] = []
    views.rebuild(log, progress=lambda done, total: during.append(dump_views(views)))
    after = dump_views(views)
    assert after != before and views.position(log) == log.recorder.max_notification_id()
    # Told after each write into the fresh tables, and once more after the swap.
    assert len(during) > 2 and all(seen == before for seen in during[:-1]) and during[-1] == after


@pytest.mark.parametrize("fail_at", [1, 2, 3], ids=lambda n: f"write{n}")
def test_a_failure_mid_rebuild_leaves_the_old_views_and_their_position(belgium, dump_views, monkeypatch, fail_at):
    log, views = belgium.registry, belgium.views
    views.catch_up(log, until=20)
    before = dump_views(views)
    writes = 0
    insert = views.store.insert_aside

    def failing(transaction, rows_into, rows):
        nonlocal writes
        writes += 1
        if writes == fail_at:
            raise RuntimeError("crash while writing the fresh tables")
        insert(transaction, rows_into, rows)

    monkeypatch.setattr(aside, "WRITE_ROWS", 4)  # several writes of the scenario's records
    monkeypatch.setattr(views.store, "insert_aside", failing)
    with pytest.raises(RuntimeError, match="crash"):
        views.rebuild(log)
    assert dump_views(views) == before and views.position(log) == 20
    assert tables(views) == set(VIEW_TABLES)


def test_a_taken_key_in_the_fresh_tables_leaves_the_old_views_and_their_position(belgium, dump_views, monkeypatch):
    log, views = belgium.registry, belgium.views
    views.catch_up(log, until=20)
    before = dump_views(views)
    insert = views.store.insert_aside

    def twice(transaction, rows_into, rows):  # every row written again: each key taken
        insert(transaction, rows_into, rows)
        insert(transaction, rows_into, rows)

    monkeypatch.setattr(views.store, "insert_aside", twice)
    # SQLite refuses the second row at once; PostgreSQL, whose fresh tables get their keys last, before the swap.
    with pytest.raises(IntegrityError):
        views.rebuild(log)
    assert dump_views(views) == before and views.position(log) == 20
    assert tables(views) == set(VIEW_TABLES)


def test_fresh_tables_a_killed_rebuild_left_are_dropped_by_the_next(belgium, dump_views):
    log, views = belgium.registry, belgium.views
    views.catch_up(log)
    caught_up = dump_views(views)
    views.store.create_aside()  # where a rebuild killed before its swap leaves them: beside the views, unused
    with views.store.aside_transaction() as transaction:
        views.store.insert_aside(transaction, aside.ASIDE_ROWS["view_shipment_weapons"], [("s", "w")])
    assert tables(views) == {*VIEW_TABLES, *ASIDE_TABLES} and dump_views(views) == caught_up
    assert views.rebuild(log) == log.recorder.max_notification_id()
    assert dump_views(views) == caught_up
    assert tables(views) == set(VIEW_TABLES)


def test_a_log_that_is_not_the_librarys_table_is_rebuilt_in_position_order(belgium, dump_views):
    log, views = belgium.registry, belgium.views
    views.store.own_log = None  # envelopes copied: a wrapped log is not the table the views would read them from
    views.catch_up(log)
    caught_up = dump_views(views)
    wrapped = SimpleNamespace(name=log.name, recorder=SimpleNamespace(
        max_notification_id=log.recorder.max_notification_id, select_notifications=log.recorder.select_notifications))
    assert views.rebuild(wrapped) == log.recorder.max_notification_id()
    assert dump_views(views) == caught_up
    assert tables(views) == set(VIEW_TABLES)


def _weapon_record_spoilt(log, stream: str, spoil) -> bytes:
    """The log's first weapon record moved to ``stream`` and its body changed by ``spoil``, packed as given:
    msgpack that decodes to an envelope's fields but is not a canonical envelope."""
    for notification in log.recorder.select_notifications(start=1, limit=100):
        value = msgpack.unpackb(notification.state, raw=False)
        if value["type"] in WEAPON_EVENT_TYPES:
            return msgpack.packb({**value, "stream": stream, "body": spoil(value["body"])}, use_bin_type=True)
    raise AssertionError("the scenario has weapon records")


SPOILT = {
    "not-an-envelope": None,
    "body-keys-unsorted": lambda body: dict(reversed(list(body.items()))),
    "a-float-in-the-body": lambda body: {**body, "year": 2020.0},
}


@pytest.mark.parametrize("spoil", SPOILT.values(), ids=SPOILT.keys())
def test_a_log_that_is_not_plain_is_rebuilt_in_position_order(belgium, dump_views, spoil):
    log, views = belgium.registry, belgium.views
    # Bytes that are not a canonical envelope, though some decode to one's fields: the position-order
    # projection skips them, a stream-order one cannot (nor may it write them into the views).
    stream = uuid4()
    state = b"not an envelope" if spoil is None else _weapon_record_spoilt(log, str(stream), spoil)
    log.recorder.insert_events([StoredEvent(originator_id=stream, originator_version=1, topic="unknown",
                                            state=state)])
    views.catch_up(log)
    caught_up = dump_views(views)
    assert str(stream) not in {row[0] for row in caught_up["view_events"]}
    assert views.rebuild(log) == log.recorder.max_notification_id()
    assert dump_views(views) == caught_up
    assert tables(views) == set(VIEW_TABLES)


def test_a_replayed_record_is_rebuilt_in_position_order(belgium, dump_views):
    log, views = belgium.registry, belgium.views
    # A weapon record stored again later in its stream, bytes unchanged: the header's version repeats, and the
    # position-order projection keeps one row of that key as a catch-up does. A stream-order one gave the fresh
    # table a taken key, and the rebuild failed on it.
    for notification in log.recorder.select_notifications(start=1, limit=100):
        if msgpack.unpackb(notification.state, raw=False)["type"] in WEAPON_EVENT_TYPES:
            break
    else:
        raise AssertionError("the scenario has weapon records")
    stream = notification.originator_id
    last = max(n.originator_version for n in log.recorder.select_notifications(start=1, limit=10_000)
               if n.originator_id == stream)
    log.recorder.insert_events([StoredEvent(originator_id=stream, originator_version=last + 1,
                                            topic=notification.topic, state=notification.state)])
    views.catch_up(log)
    caught_up = dump_views(views)
    assert views.rebuild(log) == log.recorder.max_notification_id()
    assert dump_views(views) == caught_up
    assert tables(views) == set(VIEW_TABLES)


def test_on_sqlite_the_swap_frees_the_old_views_without_zeroing_every_page_and_puts_the_settings_back(
        belgium, monkeypatch):
    # Debian's SQLite zeroes every freed page (secure_delete ON): the old views' pages written twice more. And each
    # of the six indexes of view_weapons is made by a scan of the table, which the default 2 MiB stops holding early.
    log, views = belgium.registry, belgium.views
    if views.store.dialect["bytes"] != "BLOB":
        pytest.skip("PostgreSQL frees a dropped table's files whole, and its buffers are the server's")
    views.catch_up(log)
    before = writer_settings(views)
    seen: list[tuple[int, int]] = []
    index_swapped = views.store._index_swapped

    def noting(cursor):
        seen.append(settings(cursor))
        index_swapped(cursor)

    monkeypatch.setattr(views.store, "_index_swapped", noting)
    views.rebuild(log)
    assert seen == [(2, -SWAP_CACHE_KIB)]  # FAST, and a larger cache than the connection's own
    assert -SWAP_CACHE_KIB < before[1]
    assert writer_settings(views) == before


def settings(cursor) -> tuple[int, int]:
    """(secure_delete, cache_size) of ``cursor``'s connection."""
    cursor.execute("PRAGMA secure_delete")
    secure = cursor.fetchone()[0]
    cursor.execute("PRAGMA cache_size")
    return secure, cursor.fetchone()[0]


def writer_settings(views: Views) -> tuple[int, int]:
    with views.store.datastore.get_connection(commit=True) as connection:  # the writer, which the swap takes
        return settings(connection.cursor())


def test_on_sqlite_a_rebuild_leaves_its_views_in_the_database_file_not_only_in_its_wal(belgium, dump_views, tmp_path):
    # The fresh tables' commits copy nothing into the file; a thread does, beside the writes, and once more after
    # the swap (projections.wal_checkpoints): what is left in the WAL is not the rebuild's.
    log, views = belgium.registry, belgium.views
    if views.store.dialect["bytes"] != "BLOB":
        pytest.skip("PostgreSQL has no WAL to copy into a file")
    views.rebuild(log)
    rebuilt = dump_views(views)
    database = Path(views.store.datastore.pool.db_name)
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(database, copy)  # without its WAL: what checkpoints copied
    with contextlib.closing(sqlite3.connect(copy)) as connection:
        in_file = {table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall()) for table in VIEW_TABLES}
        tracked = connection.execute("SELECT * FROM views_tracking").fetchall()
    assert rebuilt["view_events"] and in_file == rebuilt
    assert sorted(tracked) == sorted(tuple(row) for row in views.store.query("SELECT * FROM views_tracking"))
    assert (log.name, log.recorder.max_notification_id()) in tracked
