"""node.json and the key files, damaged or replaced: a signing command refuses before writing.

Each case edits the files of a node as a careless operator or an insider could, then
runs ``record manufacture``: it must exit 1 naming the damaged file (or 2 for a home
that cannot be read), with no traceback, and the log must hold no new row. The
identity is checked against the node's own log, so this runs on both backends.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inprocess_cli import Cli, node_environment
from insider import events_table, sql, swap_authority_keys

MANUFACTURE = ("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", "ID-1",
               "--type", "pistol", "--make", "FN", "--model", "57", "--calibre", "5.7", "--year", "2020",
               "--holder", "FN Herstal")


@pytest.fixture
def env(monkeypatch):
    return node_environment(monkeypatch)


@pytest.fixture
def be(env, capsys, tmp_path, db_url) -> Cli:
    cli = Cli(capsys, tmp_path / "be", db_url)
    cli.ok("init", "--state", "BE")
    return cli


def rows(cli: Cli) -> int:
    return sql(cli.db, f"SELECT COUNT(*) FROM {events_table(cli.db)}")[0][0]


def edit(home: Path, change) -> None:
    path = home / "node.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def refused_as_damaged(cli: Cli, *names: str) -> str:
    before = rows(cli)
    result = cli(*MANUFACTURE)
    assert result.code == 1, (result.out, result.err)
    assert all(name in result.err for name in names), result.err
    assert rows(cli) == before
    return result.err


def test_an_intact_node_records(be):
    before = rows(be)
    be.ok(*MANUFACTURE)
    assert rows(be) == before + 1


def test_node_json_that_is_not_json(be):
    (be.home / "node.json").write_text('{"state": "BE", ')
    err = refused_as_damaged(be, "node.json", "not JSON")
    assert "readable" not in err  # not mistaken for a damaged record of the log


@pytest.mark.parametrize("field", ["authorities", "state", "node_key_id", "node_public_key"])
def test_node_json_that_lacks_a_field(be, field):
    edit(be.home, lambda d: d.pop(field))
    refused_as_damaged(be, "node.json", f'"{field}"')


@pytest.mark.parametrize("value", ["not hex", "abcd", 42, None])
def test_node_json_with_a_bad_public_key(be, value):
    edit(be.home, lambda d: d.__setitem__("node_public_key", value))
    refused_as_damaged(be, "node.json", '"node_public_key"')


def test_node_json_whose_authorities_are_not_a_map_of_kinds(be):
    edit(be.home, lambda d: d.__setitem__("authorities", ["licensing"]))
    refused_as_damaged(be, "node.json", '"authorities"')


def test_a_key_file_replaced_without_node_json(be, tmp_path):
    other = Cli(be.capsys, tmp_path / "other", str(tmp_path / "other.db"))
    other.ok("init", "--state", "BE")
    shutil.copy(other.home / "keys" / "licensing.key", be.home / "keys" / "licensing.key")
    refused_as_damaged(be, "licensing.key", "node.json")


def test_the_node_key_replaced_in_node_json_and_its_key_file(be, tmp_path):
    """Another node's key in both files: the log's register is signed by the old node key."""
    other = Cli(be.capsys, tmp_path / "other", str(tmp_path / "other.db"))
    other.ok("init", "--state", "BE")
    shutil.copy(other.home / "keys" / "node.key", be.home / "keys" / "node.key")
    theirs = json.loads((other.home / "node.json").read_text())
    edit(be.home, lambda d: d.update(node_key_id=theirs["node_key_id"], node_public_key=theirs["node_public_key"]))
    refused_as_damaged(be, "node.json", "register")


def test_the_node_key_replaced_in_node_json_only(be, tmp_path):
    other = Cli(be.capsys, tmp_path / "other", str(tmp_path / "other.db"))
    other.ok("init", "--state", "BE")
    theirs = json.loads((other.home / "node.json").read_text())
    edit(be.home, lambda d: d.update(node_key_id=theirs["node_key_id"], node_public_key=theirs["node_public_key"]))
    refused_as_damaged(be, "node.key", "node.json")


def test_the_state_changed_in_node_json(be):
    edit(be.home, lambda d: d.__setitem__("state", "FR"))
    refused_as_damaged(be, "node.json", "FR")


def test_authority_keys_swapped_in_node_json(be):
    swap_authority_keys(be.home, "licensing", "police")
    refused_as_damaged(be, "node.json", "licensing")


def test_a_reading_command_still_reads_with_a_changed_state(be):
    """Reading needs no keys; the damage shows as records that do not verify, not as a crash."""
    made = be.ok(*MANUFACTURE).out.strip()
    edit(be.home, lambda d: d.__setitem__("state", "FR"))
    result = be("history", made)
    assert result.code == 1 and "do not verify" in result.err
