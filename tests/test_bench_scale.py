"""The parts of bench/bench_scale.py that decide what a figure means: whose peak RSS, which sizes.

Nothing here measures or asserts a speed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_scale  # noqa: E402
import common  # noqa: E402

MB = 1024 * 1024


def allocating(mb: int) -> list[str]:
    """A child that touches ``mb`` MB, then exits 0."""
    return [sys.executable, "-S", "-c", f"b = bytearray({mb} * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"]


def test_run_child_reports_the_childs_peak_not_the_memory_of_the_bench_that_started_it():
    held = bytearray(400 * MB)  # what a bench holds (a large store's tree, a flood's buffers)
    held[::4096] = b"y" * len(held[::4096])
    small = common.run_child(allocating(0), dict(os.environ))
    large = common.run_child(allocating(120), dict(os.environ))
    assert small.returncode == 0 and large.returncode == 0
    assert small.peak_rss_mb < 100  # an interpreter, not the 400 MB held here
    assert 120 <= large.peak_rss_mb < 120 + 100
    assert len(held) == 400 * MB


def test_run_child_passes_output_and_exit_code_through():
    done = common.run_child([sys.executable, "-S", "-c", "import sys; print('out'); sys.stderr.write('err'); "
                                                         "sys.exit(3)"], dict(os.environ))
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (3, "out", "err")


@pytest.mark.parametrize("text, sizes", [
    ("100000,1000000", [100_000, 1_000_000]),
    ("1_000_000, 100_000", [100_000, 1_000_000]),  # sorted: the smallest is the baseline
    ("10000,10000,50000", [10_000, 50_000]),
], ids=["default", "unsorted with underscores", "repeated"])
def test_sizes_are_read_sorted_and_once_each(text, sizes):
    assert bench_scale.sizes_option(text) == sizes


@pytest.mark.parametrize("text", ["", "50", "0,100000"], ids=["none", "below a small batch", "zero"])
def test_sizes_too_small_to_hold_the_seal_batches_are_refused(text):
    with pytest.raises(ValueError, match="--sizes"):
        bench_scale.sizes_option(text)
