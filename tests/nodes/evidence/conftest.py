"""Fixtures of the evidence tests: ``armsledger`` on a BE node, on each backend in turn."""

from __future__ import annotations

import pytest

from inprocess_cli import Cli, node_environment


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    """``armsledger`` on a BE node in ``tmp_path / "be"`` on the backend under test, after ``init``."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    return run
