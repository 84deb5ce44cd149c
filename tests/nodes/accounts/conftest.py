"""Fixtures of the accounts tests: ``armsledger`` in-process on a node initialised for BE."""

from __future__ import annotations

import io
import sys

import pytest

from inprocess_cli import Cli, node_environment


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    """``armsledger`` on a BE node in ``tmp_path / "be"`` on each backend, after ``init``."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    return run


@pytest.fixture
def stdin(monkeypatch):
    """Set what the command reads on standard input."""
    def give(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return give
