"""``key rotate --node [--json]`` end to end in the CLI: the node key hands over, ``key export`` prints the
new key, ``verify`` passes; a bad combination of options exits 2 naming the option. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from inprocess_cli import Cli


def test_key_rotate_node_hands_over_and_key_export_prints_the_new_key(env, capsys, tmp_path, db_url):
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    before = json.loads(be.ok("key", "export").out)
    change = be.ok("key", "rotate", "--node", "--json").json()
    after = json.loads(be.ok("key", "export").out)

    assert change["node"] is True and change["old_key_id"] == before["node_key_id"]
    assert after["node_key_id"] == change["new_key_id"] != before["node_key_id"]
    assert be.ok("verify").out.startswith("ok")
    text = be.ok("key", "rotate", "--node").out
    assert f"handed over to {json.loads(be.ok('key', 'export').out)['node_key_id']}" in text
    assert be.ok("verify").out.startswith("ok")


def test_key_rotate_node_refuses_from_and_needs_one_of_node_or_authority(env, capsys, tmp_path, db_url):
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    refused = be.refused("key", "rotate", "--node", "--from", "2099-01-01T00:00:00Z")
    assert "from: goes with --authority" in refused.err
    assert be.refused("key", "rotate").err
    assert be.refused("key", "rotate", "--node", "--authority", "police").err
    assert be.ok("verify").out.startswith("ok")
