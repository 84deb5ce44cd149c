"""Fixtures of the CLI tests: a signing user's environment and a node initialised for BE."""

from __future__ import annotations

import pytest

from inprocess_cli import Cli, node_environment


@pytest.fixture
def env(monkeypatch):
    """ARMSLEDGER_PASSPHRASE set, ARMSLEDGER_HOME and ARMSLEDGER_DB unset; the monkeypatch, to change it."""
    return node_environment(monkeypatch)


@pytest.fixture
def cli(env, capsys, tmp_path, sqlite_url):
    """``armsledger`` on a BE node in ``tmp_path / "be"`` on SQLite, after ``init``."""
    run = Cli(capsys, tmp_path / "be", sqlite_url)
    run.ok("init", "--state", "BE")
    return run
