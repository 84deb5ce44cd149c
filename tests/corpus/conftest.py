"""Counts the cases of the hostile corpus and prints the count at the end of the session, with or without -s."""

from __future__ import annotations

from collections import Counter

_outcomes: Counter[str] = Counter()


def pytest_runtest_logreport(report):
    if "tests/corpus/" in report.nodeid.replace("\\", "/") or report.nodeid.startswith("test_hostile_corpus"):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            _outcomes[report.outcome] += 1


def pytest_terminal_summary(terminalreporter):
    if _outcomes:
        ran = sum(_outcomes.values())
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_outcomes.items()))
        terminalreporter.write_line(f"hostile corpus: {ran} cases ran ({detail})")
