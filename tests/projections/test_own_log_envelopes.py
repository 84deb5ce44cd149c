"""The views keep no copy of their own log's envelopes (``projections.store.OwnLog``): a record's row points at
its log row, partners' records keep their copy, and every query reads the same as with copies.

Run on SQLite and PostgreSQL (``db_url``) with the scenario of this folder's conftest.
"""

from __future__ import annotations

import pytest

from ledger.envelope import Envelope
from projections.compare import compare_views
from projections.errors import MissingRecord
from tests.support.insider import sql


def _envelopes(belgium) -> dict[tuple[str, int], bytes | None]:
    """(node, notification_id) -> the envelope column of each ``view_events`` row."""
    with belgium.views.store.reading() as cursor:
        rows = belgium.views.store.select(cursor, "SELECT node, notification_id, envelope FROM view_events")
    return {(row["node"], row["notification_id"]): None if row["envelope"] is None else bytes(row["envelope"])
            for row in rows}


def _as_copies(dumped: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {table: [row[:10] for row in rows] if table == "view_events" else rows for table, rows in dumped.items()}


@pytest.mark.parametrize("way", ["catch_up", "rebuild_by_stream", "rebuild_by_position"])
def test_own_records_point_at_the_log_and_read_as_copies_did(belgium, partners, dump_views, way):
    views, log = belgium.views, belgium.registry
    if way == "catch_up":
        views.catch_up(log)
    else:
        views.REBUILD_ASIDE = way == "rebuild_by_stream"
        views.rebuild(log)
    views.catch_up(partners.france_log)  # FR's records about W2: W2 folded afresh from BE's records read from the log
    referenced = dump_views(views)
    lifecycles = {name: views.lifecycle(getattr(belgium.ids, name)) for name in ("w1", "w2", "w3", "w7")}
    statistics = views.statistics()

    envelopes = _envelopes(belgium)
    assert {key for key, envelope in envelopes.items() if envelope is None} == {
        key for key in envelopes if key[0] == "BE"}  # BE's own records: none copied
    france = {envelope for (node, _), envelope in envelopes.items() if node == "FR"}
    assert france and None not in france  # a partner's records keep theirs
    w2 = lifecycles["w2"]
    assert w2 is not None and {event["node"] for event in w2["events"]} == {"BE", "FR"}
    for notification in log.recorder.select_notifications(start=1, limit=1000):
        envelope = Envelope.from_bytes(notification.state)
        if envelope.stream == str(belgium.ids.w1):
            assert envelope.hash.hex() in {event["hash"] for event in lifecycles["w1"]["events"]}

    # The same views as a copy of every envelope gives, but for the envelope column.
    views.store.own_log = None
    views.rebuild(log)
    views.catch_up(partners.france_log)
    assert _as_copies(dump_views(views)) == _as_copies(referenced)
    assert {name: views.lifecycle(getattr(belgium.ids, name)) for name in lifecycles} == lifecycles
    assert views.statistics() == statistics


def test_views_of_the_own_log_compare_equal_and_a_copy_is_a_mismatch(belgium):
    views, log = belgium.views, belgium.registry
    views.catch_up(log)
    assert list(compare_views(views, log)) == []
    # A copy put back by hand is not what the views of this log hold.
    sql(belgium.db, "UPDATE view_events SET envelope = ? WHERE stream = ?", b"\x80", str(belgium.ids.w1))
    found = list(compare_views(views, log))
    assert found and {mismatch.table for mismatch in found} == {"view_events"}
    assert all(mismatch.key[0] == str(belgium.ids.w1) for mismatch in found)


def test_a_record_gone_from_the_log_is_an_error_not_a_shorter_history(belgium):
    views, log = belgium.views, belgium.registry
    views.catch_up(log)
    events = views.store.own_log
    assert events is not None
    (position,) = sql(belgium.db, "SELECT MIN(notification_id) FROM view_events WHERE stream = ?",
                      str(belgium.ids.w3))[0]
    sql(belgium.db, f"DELETE FROM {events.sql_table} WHERE {events.position} = ?", position)
    with pytest.raises(MissingRecord, match=f"position {position}"):
        views.lifecycle(belgium.ids.w3)
    with pytest.raises(MissingRecord):
        views.store.load_weapon_events([str(belgium.ids.w3)])
    assert views.lifecycle(belgium.ids.w1) is not None  # the other weapons read as before


def test_a_log_row_holding_another_record_is_an_error_not_its_history(belgium):
    views, log = belgium.views, belgium.registry
    views.catch_up(log)
    events = views.store.own_log
    assert events is not None
    w1, w3 = (sql(belgium.db, "SELECT MIN(notification_id) FROM view_events WHERE stream = ?", str(weapon))[0][0]
              for weapon in (belgium.ids.w1, belgium.ids.w3))
    (other,) = sql(belgium.db, f"SELECT state FROM {events.sql_table} WHERE {events.position} = ?", w1)[0]
    sql(belgium.db, f"UPDATE {events.sql_table} SET state = ? WHERE {events.position} = ?", bytes(other), w3)
    with pytest.raises(MissingRecord, match="not the one the views hold"):
        views.lifecycle(belgium.ids.w3)
    with pytest.raises(MissingRecord, match="not the one the views hold"):
        views.store.load_weapon_events([str(belgium.ids.w3)])
