"""Fixtures of the retention tests: a signing user's environment."""

from __future__ import annotations

import pytest

from inprocess_cli import node_environment


@pytest.fixture
def env(monkeypatch):
    """ARMSLEDGER_PASSPHRASE set, ARMSLEDGER_HOME and ARMSLEDGER_DB unset; the monkeypatch, to change it."""
    return node_environment(monkeypatch)
