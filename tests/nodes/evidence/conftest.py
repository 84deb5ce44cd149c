"""Fixtures of the evidence tests: ``armsledger`` on a BE node, on each backend in turn."""

from __future__ import annotations

import pytest

from inprocess_cli import initialised_cli


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    """``armsledger`` on a BE node in ``tmp_path / "be"`` on the backend under test, after ``init``."""
    return initialised_cli(monkeypatch, capsys, tmp_path / "be", db_url)
