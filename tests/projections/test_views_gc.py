"""A batch is projected with the cyclic garbage collector paused, and left as it was found."""

from __future__ import annotations

import gc

import pytest

from projections import views as views_module


@pytest.fixture
def collector_states(monkeypatch):
    """Whether the collector was enabled at each ``project_parsed`` of the views."""
    states: list[bool] = []
    project_parsed = views_module.project_parsed

    def spied(*args, **kwargs):
        states.append(gc.isenabled())
        return project_parsed(*args, **kwargs)

    monkeypatch.setattr(views_module, "project_parsed", spied)
    return states


def test_batches_are_projected_without_cyclic_collections_which_resume_after(belgium, collector_states):
    belgium.views.BATCH_SIZE = 4
    belgium.views.REBUILD_ASIDE = False  # in position order, batch by batch
    assert gc.isenabled()
    belgium.views.rebuild(belgium.registry)
    assert len(collector_states) > 2 and not any(collector_states)
    assert gc.isenabled()
    assert belgium.views.lifecycle(belgium.ids.w1)["status"] == "lost"


def test_a_collector_disabled_before_stays_disabled(belgium, collector_states):
    gc.disable()
    try:
        belgium.views.catch_up(belgium.registry)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collector_states and not any(collector_states)
