"""Rows of the views edited by hand are named by ``verify`` (table, key, expected and found), exit 1.

``search``, ``stats`` and ``shipments`` serve the views; an insider who edits
them by SQL changes what officers read without touching the signed log. Each
case edits one table of BE's views (``conftest.build_belgium``) on each backend.
"""

from __future__ import annotations

import pytest

from ledger.audit import ProblemKind
from nodes.registry.storage import eventsourcing_env
from nodes.registry.verify import verify_store
from projections.compare import compare_views
from projections.errors import UnreadableLog
from projections.views import Views

from inprocess_cli import Cli, node_environment
from insider import row_id, sql

# (what the insider does, SQL with {w1}, {s1}, {s3} ids, table named, text the report must hold)
EDITS = [
    ("relabel a weapon's holder", "UPDATE view_weapons SET holder = 'Mallory' WHERE weapon_id = '{w1}'",
     "view_weapons", "column holder: expected 'Dealer A', found 'Mallory'"),
    ("move a record to another month", "UPDATE view_events SET month = '1999-01' WHERE stream = '{w1}' "
     "AND version = 1", "view_events", "column month: expected '2024-01', found '1999-01'"),
    ("close an open shipment", "UPDATE view_shipments SET received_on = 1 WHERE shipment_id = '{s3}'",
     "view_shipments", "column received_on: expected None, found 1"),
    ("hide a weapon from its shipment", "DELETE FROM view_shipment_weapons WHERE shipment_id = '{s1}'",
     "view_shipment_weapons", "row missing"),
    ("add a weapon to a shipment", "INSERT INTO view_shipment_weapons (shipment_id, weapon_id) "
     "VALUES ('{s1}', 'not-a-weapon')", "view_shipment_weapons", "row found that the log does not project"),
    ("delete a weapon", "DELETE FROM view_weapons WHERE weapon_id = '{w1}'", "view_weapons", "row missing"),
]


def edit(belgium, statement: str) -> None:
    ids = belgium.ids
    sql(belgium.db, statement.format(w1=ids.w1, s1=ids.s1, s3=ids.s3))


def test_views_caught_up_with_the_log_compare_equal(belgium):
    belgium.views.catch_up(belgium.registry)
    assert list(compare_views(belgium.views, belgium.registry)) == []
    assert verify_store(belgium.node, workers=1).ok


def test_views_behind_the_log_compare_equal_up_to_their_position(belgium):
    belgium.views.BATCH_SIZE = 5
    belgium.views.catch_up(belgium.registry)
    belgium.registry.record("report_stolen", by="police", weapon_id=belgium.ids.w2, place="Liege",
                            circumstances="after export", occurred_on=1_720_000_000)
    assert list(compare_views(belgium.views, belgium.registry)) == []


@pytest.mark.parametrize(("statement", "table", "reported"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_a_row_edited_by_hand_is_named_by_the_comparison_and_by_verify(belgium, statement, table, reported):
    belgium.views.catch_up(belgium.registry)
    edit(belgium, statement)
    mismatches = list(compare_views(belgium.views, belgium.registry))
    assert [m.table for m in mismatches] == [table]
    assert reported in str(mismatches[0])

    report = verify_store(belgium.node, workers=1)
    assert not report.ok
    assert [p.kind for p in report.problems] == [ProblemKind.PROJECTION]
    assert table in report.problems[0].reason and reported in report.problems[0].reason


def test_a_catch_up_committed_while_the_views_are_read_is_no_mismatch(belgium):
    """Another process (a command, node run) catches the views up after their position was read."""
    belgium.views.catch_up(belgium.registry)
    belgium.registry.record("report_stolen", by="police", weapon_id=belgium.ids.w5, place="Liege",
                            circumstances="", occurred_on=1_720_000_000)
    other = Views.open(eventsourcing_env(belgium.db), own_log=belgium.registry.name)
    caught_up = []

    def another_catches_up(done, total):  # told while the log is projected afresh, after the position was read
        if not caught_up:
            caught_up.append(other.catch_up(belgium.registry))

    try:
        assert list(compare_views(belgium.views, belgium.registry, progress=another_catches_up)) == []
    finally:
        other.close()
    assert caught_up == [1]
    assert belgium.views.position(belgium.registry) == belgium.registry.recorder.max_notification_id()


def test_a_tracked_position_past_the_end_of_the_log_is_named(belgium):
    belgium.views.catch_up(belgium.registry)
    end = belgium.registry.recorder.max_notification_id()
    sql(belgium.db, "UPDATE views_tracking SET notification_id = ? WHERE application_name = ?", end + 5,
        belgium.registry.name)
    [mismatch] = compare_views(belgium.views, belgium.registry)
    assert str(mismatch) == (f"views_tracking application_name={belgium.registry.name}: "
                             f"column notification_id: expected {end}, found {end + 5}")


def test_a_log_row_that_cannot_be_read_is_reported_instead_of_compared(belgium):
    belgium.views.catch_up(belgium.registry)
    events = belgium.registry.recorder.events_table_name
    sql(belgium.db, f"UPDATE {events} SET state = NULL WHERE originator_id = ? AND originator_version = 1",
        row_id(belgium.db, belgium.ids.w1))
    with pytest.raises(UnreadableLog, match="could not be projected"):
        list(compare_views(belgium.views, belgium.registry))


def test_verify_command_exits_1_naming_the_edited_row_and_0_when_untouched(belgium, monkeypatch, capsys):
    node_environment(monkeypatch)
    belgium.views.catch_up(belgium.registry)
    belgium.node.close()
    cli = Cli(capsys, belgium.node.settings.home, belgium.db)
    assert cli("verify").code == 0

    edit(belgium, EDITS[0][1])
    failed = cli("verify")
    assert failed.code == 1
    assert f"view_weapons weapon_id={belgium.ids.w1}" in failed.err
    assert EDITS[0][3] in failed.err


def test_views_read_a_few_rows_at_a_time_compare_as_read_whole(belgium, monkeypatch):
    """Both sides are merged batch by batch: batches of two rows find what one batch finds."""
    from projections import compare

    belgium.views.catch_up(belgium.registry)
    monkeypatch.setattr(compare, "READ_BATCH", 2)
    assert list(compare_views(belgium.views, belgium.registry)) == []
    edit(belgium, EDITS[1][1])  # a row of view_events, the table read in most batches
    edit(belgium, EDITS[4][1])
    assert [(m.table, EDITS[1][3] in str(m) or EDITS[4][3] in str(m))
            for m in compare_views(belgium.views, belgium.registry)] == [("view_events", True),
                                                                          ("view_shipment_weapons", True)]


def test_the_views_snapshot_outlasts_the_idle_transaction_timeout(belgium):
    """The stored views' read transaction waits, idle, while the log is projected afresh: on PostgreSQL
    longer than the session's idle-in-transaction timeout (eventsourcing sets one; 1 s here)."""
    import time

    belgium.views.catch_up(belgium.registry)
    env = {**eventsourcing_env(belgium.db), "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "1"}
    with Views.open(env, own_log=belgium.registry.name) as views:
        slept = []

        def slow_projection(done, total):  # idle past the timeout once
            if not slept:
                slept.append(time.sleep(1.5))

        assert list(compare_views(views, belgium.registry, progress=slow_projection)) == []
        assert slept == [None]
