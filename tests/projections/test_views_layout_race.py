"""Two processes opening views of an older layout at once: the one that looked before the other upgraded them
must leave the other's views as they are, neither dropping them nor recording the layout a second time."""

from __future__ import annotations

from typing import Any

from nodes.registry.storage import eventsourcing_env
from projections.store import SCHEMA_TRACKING_NAME, SCHEMA_VERSION, TRACKING_TABLE
from projections.views import Views


def _forget_the_layout(views: Views) -> None:
    """The views as an older version of this code left them: no layout version recorded."""
    with views.store.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {TRACKING_TABLE} WHERE application_name = '{SCHEMA_TRACKING_NAME}'")


def test_views_upgraded_by_another_process_meanwhile_are_kept(belgium, dump_views) -> None:
    first = belgium.views
    last = belgium.registry.recorder.max_notification_id()
    with Views.open(eventsourcing_env(belgium.db), own_log=belgium.registry.name) as second:
        _forget_the_layout(first)
        look = second.store.max_tracking_id

        def look_then_the_other_upgrades_and_projects(name: str) -> Any:
            second.store.max_tracking_id = look  # type: ignore[method-assign]  # once
            try:
                return look(name)  # the old layout, seen before the other process upgrades
            finally:
                first.store.ensure_schema()
                assert first.catch_up(belgium.registry) == last

        second.store.max_tracking_id = look_then_the_other_upgrades_and_projects  # type: ignore[method-assign]
        second.store.ensure_schema()

        projected = dump_views(first)

        assert projected["view_events"] and projected["view_weapons"]
        assert second.position(belgium.registry) == last  # not dropped: nothing to catch up
        assert second.catch_up(belgium.registry) == 0
        assert dump_views(second) == projected
        assert second.store.max_tracking_id(SCHEMA_TRACKING_NAME) == SCHEMA_VERSION
        assert second.lifecycle(belgium.ids.w1) is not None


def test_views_of_an_older_layout_are_dropped_once_and_made_again(belgium) -> None:
    views = belgium.views
    assert views.catch_up(belgium.registry) > 0
    _forget_the_layout(views)

    views.store.ensure_schema()

    assert views.position(belgium.registry) == 0
    assert views.lifecycle(belgium.ids.w1) is None
    assert views.store.max_tracking_id(SCHEMA_TRACKING_NAME) == SCHEMA_VERSION
    views.store.ensure_schema()  # current now: nothing dropped
    assert views.catch_up(belgium.registry) > 0
    views.store.ensure_schema()
    assert views.lifecycle(belgium.ids.w1) is not None
