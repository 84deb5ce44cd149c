"""``armsledger`` run in-process on one node home, for the CLI tests: exit code, output and errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from nodes.cli.main import main

PASSPHRASE = "correct horse"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


class Cli:
    """``armsledger --home HOME --db DB ...`` run in-process; output captured with ``capsys``.

    Every run must end without a traceback, whatever its exit code.
    """

    def __init__(self, capsys: pytest.CaptureFixture[str], home: Path, db: str):
        self.capsys, self.home, self.db = capsys, home, db

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        code = main(["--home", str(self.home), "--db", self.db, *argv])
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err
        return Result(code, captured.out, captured.err)

    def ok(self, *argv: str) -> Result:
        result = self(*argv)
        assert result.code == 0, result.err
        return result

    def refused(self, *argv: str) -> Result:
        """The run of a command that a user got wrong: exit code 2."""
        result = self(*argv)
        assert result.code == 2, (result.out, result.err)
        return result


def node_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment of a signing user: ARMSLEDGER_PASSPHRASE set, no HOME or DB but the options given."""
    monkeypatch.setenv("ARMSLEDGER_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("ARMSLEDGER_HOME", raising=False)
    monkeypatch.delenv("ARMSLEDGER_DB", raising=False)
    return monkeypatch


def initialised(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path, db: str,
                state: str) -> Cli:
    """``armsledger`` on a new node of ``state`` at ``home`` on ``db``, after ``init``, as a signing user."""
    node_environment(monkeypatch)
    cli = Cli(capsys, home, db)
    cli.ok("init", "--state", state)
    return cli
