"""``read_page`` reads what the library's ``select_notifications`` reads, on each backend (``db_url``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from projections.log_pages import StoredEnvelope, read_page

from insider import row_id, sql


def library_page(recorder, start: int, limit: int, stop: int | None = None) -> list[StoredEnvelope]:
    return [StoredEnvelope(n.id, bytes(n.state)) for n in recorder.select_notifications(start=start, limit=limit,
                                                                                         stop=stop)]


def test_pages_hold_the_rows_of_the_librarys_read_in_its_order(belgium):
    recorder = belgium.registry.recorder
    last = recorder.max_notification_id()
    assert last > 10
    for start, limit, stop in [(1, 1000, None), (1, 3, None), (4, 5, None), (last, 10, None), (last + 1, 10, None),
                               (2, 1000, 7), (2, 3, 7), (7, 10, 7), (8, 10, 7)]:
        page = read_page(recorder, start, limit, stop)
        assert page == library_page(recorder, start, limit, stop), (start, limit, stop)
        assert all(type(row.state) is bytes for row in page)
    assert [row.id for row in read_page(recorder, 1, 1000)] == list(range(1, last + 1))


def test_a_recorder_of_another_kind_is_read_through_its_select_notifications(belgium):
    recorder = belgium.registry.recorder
    wrapped = SimpleNamespace(select_notifications=recorder.select_notifications)
    assert read_page(wrapped, 2, 4, 4) == library_page(recorder, 2, 4, 4) != []  # type: ignore[arg-type]


def test_an_originator_id_that_is_not_a_uuid_fails_the_read_as_the_librarys_read_fails(belgium):
    if belgium.db.startswith("postgresql://"):
        pytest.skip("PostgreSQL stores originator ids as uuid: none can be anything else")
    recorder, db = belgium.registry.recorder, belgium.db
    events = recorder.events_table_name
    # Spelled otherwise, but a UUID all the same: read as the library reads it.
    sql(db, f"UPDATE {events} SET originator_id = upper(originator_id) WHERE originator_id = ?",
        row_id(db, belgium.ids.w1))
    assert read_page(recorder, 1, 1000) == library_page(recorder, 1, 1000)
    sql(db, f"UPDATE {events} SET originator_id = 'not-a-uuid' WHERE originator_id = ?", row_id(db, belgium.ids.w2))
    with pytest.raises(ValueError) as library_error:
        library_page(recorder, 1, 1000)
    with pytest.raises(ValueError) as error:
        read_page(recorder, 1, 1000)
    assert str(error.value) == str(library_error.value)


def test_a_log_with_a_gap_reads_as_the_librarys_read(belgium):
    recorder, db = belgium.registry.recorder, belgium.db
    position = "rowid" if not db.startswith("postgresql://") else "notification_id"
    sql(db, f"DELETE FROM {recorder.events_table_name} WHERE {position} = 5")
    page = read_page(recorder, 3, 4)
    assert [row.id for row in page] == [3, 4, 6, 7]
    assert page == library_page(recorder, 3, 4)
