"""A rebuild in position order writes several batches per transaction: a crash loses whole batches, views and
position alike. (A plain log of the library's tables is rebuilt by stream instead: ``test_rebuild_aside``.)

Run on SQLite and PostgreSQL (``db_url``) with the scenario of this folder's conftest.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from projections.views import Views

BATCH_SIZE = 3
BATCHES_PER_TRANSACTION = 2


class CrashingRecorder:
    """The log's recorder, whose ``crash_at``-th read raises: the process dies there."""

    def __init__(self, recorder, crash_at: int):
        self.recorder, self.crash_at, self.reads = recorder, crash_at, 0

    def max_notification_id(self):
        return self.recorder.max_notification_id()

    def select_notifications(self, start, limit, **kwargs):
        self.reads += 1
        if self.reads == self.crash_at:
            raise RuntimeError("crash while reading the log")
        return self.recorder.select_notifications(start=start, limit=limit, **kwargs)


class RecorderUpTo:
    """The log's recorder as it was when its last notification id was ``last``."""

    def __init__(self, recorder, last: int):
        self.recorder, self.last = recorder, last

    def max_notification_id(self):
        return min(self.last, self.recorder.max_notification_id() or 0)

    def select_notifications(self, start, limit, **kwargs):
        return self.recorder.select_notifications(start=start, limit=limit, stop=self.last)


def small_transactions(views: Views) -> Views:
    views.REBUILD_ASIDE = False
    views.BATCH_SIZE = BATCH_SIZE
    views.REBUILD_BATCHES_PER_TRANSACTION = BATCHES_PER_TRANSACTION
    views.REBUILD_TRANSACTION_SECONDS = 3600.0  # grouped by count alone, whatever the machine's load
    return views


def test_a_rebuild_commits_several_batches_at_once_and_gives_the_views_of_a_catch_up(belgium, dump_views):
    last = belgium.registry.recorder.max_notification_id()
    assert last > BATCH_SIZE * BATCHES_PER_TRANSACTION * 2  # several transactions
    belgium.views.catch_up(belgium.registry)
    caught_up = dump_views(belgium.views)

    committed: list[int] = []
    views = small_transactions(belgium.views)
    assert views.rebuild(belgium.registry, progress=lambda done, total: committed.append(done)) == last
    assert dump_views(views) == caught_up
    per_transaction = BATCH_SIZE * BATCHES_PER_TRANSACTION
    assert committed == [*range(per_transaction, last, per_transaction), last]


@pytest.mark.parametrize("crash_at", [2, 4, 5], ids=lambda n: f"read{n}")
def test_a_crash_mid_rebuild_leaves_views_and_position_of_whole_committed_batches(belgium, dump_views, crash_at):
    log = belgium.registry
    last = log.recorder.max_notification_id()
    views = small_transactions(belgium.views)
    views.store.own_log = None  # envelopes copied: a wrapped log is not the table the views would read them from
    views.catch_up(log)
    crashing = SimpleNamespace(name=log.name, recorder=CrashingRecorder(log.recorder, crash_at))
    with pytest.raises(RuntimeError, match="crash"):
        views.rebuild(crashing)

    # Reads 1..k of a transaction of BATCHES_PER_TRANSACTION: the crash loses the batches read in its own.
    committed_batches = (crash_at - 1) // BATCHES_PER_TRANSACTION * BATCHES_PER_TRANSACTION
    position = views.position(log)
    assert position == committed_batches * BATCH_SIZE
    after_crash = dump_views(views)
    assert all(row[3] <= position for row in after_crash["view_events"])  # notification_id

    # The same views as a rebuild that stopped cleanly at that position ...
    views.rebuild(SimpleNamespace(name=log.name, recorder=RecorderUpTo(log.recorder, position)))
    assert dump_views(views) == after_crash
    # ... and a catch-up from there completes them.
    assert views.catch_up(log) == last - position
    complete = dump_views(views)
    views.rebuild(log)
    assert dump_views(views) == complete
