"""The measuring frame of ``make bench``: figures reported by scripts, collected by run_all into summary.json.

Runs small stand-in scripts, never a benchmark: nothing here measures or asserts a speed.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import run_all  # noqa: E402

FIELDS = {"script", "name", "backend", "value", "unit", "baseline", "ratio", "target", "target_of", "bound", "met"}


@pytest.mark.parametrize("value, baseline, target, target_of, higher, met", [
    (900, 1000, 0.85, "ratio", True, True),      # verify at 0.9 of its ceiling
    (800, 1000, 0.85, "ratio", True, False),
    (1.9, 1.0, 2.0, "ratio", False, True),       # latency at 1.9x the raw broker's
    (2.1, 1.0, 2.0, "ratio", False, False),
    (250, None, 300, "value", False, True),      # trace median in ms
    (350, None, 300, "value", False, False),
    (900, None, 0.85, "ratio", True, False),     # a ratio target without a baseline is not met
    (900, 1000, None, "value", True, None),      # no target: nothing to meet
], ids=["ratio met", "ratio missed", "at most met", "at most missed", "value met", "value missed",
        "no baseline", "no target"])
def test_met_is_computed_from_the_value_or_ratio_and_the_target(value, baseline, target, target_of, higher, met):
    entry = common.figure_entry("figure", "sqlite", value, "events/s", baseline=baseline, target=target,
                                target_of=target_of, higher_is_better=higher)
    assert set(entry) == FIELDS
    assert entry["met"] is met
    assert entry["ratio"] == (value / baseline if baseline else None)


def test_an_unknown_kind_of_target_is_refused():
    with pytest.raises(ValueError, match="target_of"):
        common.figure_entry("figure", "sqlite", 1.0, "ms", target=1.0, target_of="baseline")


def test_a_script_run_alone_only_prints_and_under_run_all_appends_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(common.FIGURES_VARIABLE, raising=False)
    common.report_figure("alone", "sqlite", 1.0, "ms")
    assert list(tmp_path.iterdir()) == []
    figures = tmp_path / "figures.jsonl"
    monkeypatch.setenv(common.FIGURES_VARIABLE, str(figures))
    table = common.Table("t", backend="postgres")
    table.add("rebuild", 30.0, 100.0, 0.3, target_of="ratio")
    table.add("seal", 5.0)
    table.print()
    lines = [json.loads(line) for line in figures.read_text().splitlines()]
    assert [(f["name"], f["backend"], f["met"]) for f in lines] == [("rebuild", "postgres", True),
                                                                   ("seal", "postgres", None)]


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(BENCH)!r})
        if "--help" in sys.argv:
            sys.exit(0)
        import common
    """) + textwrap.dedent(body))
    return path


def test_run_all_collects_every_figure_and_a_failed_script_gets_a_not_met_entry(tmp_path, capsys):
    good = write_script(tmp_path, "bench_good.py", """\
        common.report_figure("verify", "sqlite", 9000.0, "events/s", baseline=10000.0, target=0.85,
                             target_of="ratio")
        common.report_figure("trace median", "sqlite", 400.0, "ms", target=300.0, higher_is_better=False)
    """)
    bad = write_script(tmp_path, "bench_bad.py", """\
        common.report_figure("half done", "sqlite", 1.0, "ms")
        sys.exit(3)
    """)
    out = tmp_path / "out"

    summary, failed = run_all.run_scripts([bad, good], out)

    assert json.loads((out / "summary.json").read_text()) == summary
    assert failed == ["bench_bad.py"]
    assert {"cores", "python", "date"} <= set(summary["machine"])
    by_name = {f["name"]: f for f in summary["figures"]}
    assert by_name["verify"]["met"] is True and by_name["verify"]["ratio"] == pytest.approx(0.9)
    assert by_name["trace median"]["met"] is False
    assert by_name["half done"]["met"] is None  # what the failed script reported before failing stays
    failure = by_name["bench_bad.py run"]
    assert failure["met"] is False and failure["value"] is None and failure["error"] == "FAILED (exit 3)"
    assert all(FIELDS <= set(f) for f in summary["figures"])

    run_all.print_summary(summary)
    printed = capsys.readouterr().out
    assert "NOT MET" in printed and "1 of 3 targets met" in printed
