"""The CLI's reads leave entries as the operator; ``audit reads`` filters them; ``verify`` checks them."""

from __future__ import annotations

import uuid

import pytest

from nodes.readaudit.tables import Tables

from inprocess_cli import Cli, node_environment

PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "AB-1234"]


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    """``armsledger`` on a BE node with one pistol, on each backend."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    return run


@pytest.fixture
def pistol(cli) -> str:
    return cli.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--make", "FN", "--model", "Five-seveN",
                  "--calibre", "5.7x28mm", "--year", "2020", "--holder", "FN Herstal", "--date", "2020-03-02",
                  "--json").json()["weapon_id"]


def reads(cli: Cli, *options: str) -> list[dict]:
    return cli.ok("audit", "reads", *options, "--json").json()["reads"]


def test_reading_commands_leave_entries_as_the_operator(cli, pistol):
    cli.ok("history", pistol, "--purpose", "case 12/2026")
    cli.ok("history", *PISTOL)
    cli.ok("search", "--serial", "AB?234")
    cli.ok("diversion", pistol)
    trace = str(uuid.uuid4())
    cli(("trace"), "show", trace)  # an unknown trace: the attempt is recorded all the same
    found = reads(cli)
    assert [(e["action"], e["subject"]) for e in found] == [
        ("trace", trace), ("verdict", pistol), ("search", "AB?234"), ("history", pistol), ("history", pistol)]
    assert {(e["user_id"], e["user_name"], e["role"]) for e in found} == {("", "operator", "registry")}
    assert found[-1]["purpose"] == "case 12/2026"
    assert [e["seq"] for e in found] == [5, 4, 3, 2, 1]


def test_audit_reads_filters_by_weapon_id_or_serial_user_and_period(cli, pistol):
    cli.ok("history", pistol)
    cli.ok("search", "--serial", "ZZ9")
    cli.ok("search", "--serial", "AB-1234")
    assert [e["action"] for e in reads(cli, "--weapon", pistol)] == ["history"]
    assert [e["action"] for e in reads(cli, "--weapon", "AB-1234")] == ["search", "history"]
    assert len(reads(cli, "--user", "operator")) == 3
    assert reads(cli, "--user", "anna") == []
    assert len(reads(cli, "--since", "2020-01-01", "--until", "2999-12-31")) == 3
    assert reads(cli, "--until", "2020-01-01") == []
    assert len(reads(cli, "--limit", "2")) == 2
    text = cli.ok("audit", "reads", "--weapon", pistol).out
    assert "operator (registry)" in text and "history" in text and pistol in text


def test_bad_options_are_refused_naming_them(cli):
    assert "--since" in cli.refused("audit", "reads", "--since", "yesterday").err
    assert "--limit" in cli.refused("audit", "reads", "--limit", "0").err
    assert "--weapon" in cli.refused("audit", "reads", "--weapon", "*").err
    assert "--purpose" in cli.refused("search", "--serial", "AB1", "--purpose", "x" * 1001).err
    assert reads(cli) == []  # the refused search wrote nothing


def test_verify_finds_a_deleted_read_and_passes_an_intact_audit(cli, pistol):
    cli.ok("history", pistol)
    cli.ok("search", "--serial", "AB1")
    cli.ok("record", "mark", "--weapon", pistol, "--mark", "X1", "--reason", "inspection")  # unlocked: seals
    assert cli.ok("verify").code == 0
    tables = Tables(cli.db)
    try:
        with tables.transaction(commit=True) as cursor:
            cursor.execute(f"DELETE FROM {tables.entries} WHERE seq = 1")
    finally:
        tables.close()
    failed = cli("verify")
    assert failed.code == 1
    assert "[deleted] stream read audit: entry 1 missing" in failed.err
