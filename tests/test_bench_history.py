"""bench/bench_history.py keeps a bounded, uniform sample of the baseline's aggregate ids.

Nothing here measures or asserts a speed.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_history  # noqa: E402
import common  # noqa: E402


def test_the_baseline_fill_keeps_a_sample_of_stored_ids_no_larger_than_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_history, "BASELINE_SAMPLE", 10)
    monkeypatch.setattr(bench_history, "BASELINE_BATCH", 7)  # several saves, the last one short
    app = common.baseline_app(str(tmp_path / "ledger.db"))
    try:
        ids, _ = bench_history.fill_baseline(app, 200)  # 100 aggregates
        assert len(ids) == len(set(ids)) == 10
        assert all(app.repository.get(item_id).version == 2 for item_id in ids)
        stored = [n.originator_id for n in app.recorder.select_notifications(start=1, limit=1000)]
        assert len(set(stored)) == 100
        # Uniform, not the first ten saved: some come from past the first batches.
        assert set(ids) != set(list(dict.fromkeys(stored))[:10])
    finally:
        app.close()


def test_a_baseline_smaller_than_the_bound_keeps_every_id(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_history, "BASELINE_SAMPLE", 1000)
    app = common.baseline_app(str(tmp_path / "ledger.db"))
    try:
        ids, _ = bench_history.fill_baseline(app, 60)
        stored = {n.originator_id for n in app.recorder.select_notifications(start=1, limit=1000)}
        assert sorted(ids) == sorted(stored) and len(ids) == 30
    finally:
        app.close()
