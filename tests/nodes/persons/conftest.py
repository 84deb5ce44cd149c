"""Fixtures of the private-holder tests: a BE node on each backend, run through the in-process CLI."""

from __future__ import annotations

import pytest

from inprocess_cli import Cli, node_environment


@pytest.fixture
def be(monkeypatch, capsys, tmp_path, db_url):
    """``armsledger`` on a BE node in ``tmp_path / "be"`` on ``db_url`` (SQLite, then PostgreSQL), after ``init``."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    return run
