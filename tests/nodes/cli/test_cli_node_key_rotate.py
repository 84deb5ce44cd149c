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


def test_a_certificate_issued_before_a_node_key_rotation_still_exports_and_verifies(env, capsys, tmp_path, db_url):
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    pistol = ("--manufacturer", "FN Herstal", "--country", "BE", "--serial", "ROT-1")
    be.ok("record", "manufacture", *pistol, "--type", "pistol", "--make", "FN", "--model", "Five-seveN",
          "--calibre", "5.7x28", "--year", "2020", "--holder", "Museum", "--date", "2021-01-01")
    weapon = be.ok("record", "deactivate", *pistol, "--certificate", "DC-ROT-1", "--standard", "EU 2018/337",
                   "--inspecting-body", "Banc", "--inspected-on", "2026-01-10", "--date", "2026-01-12",
                   "--method", "EU 2015/2403", "--certificate-out", str(tmp_path / "before.json")).out.strip()
    old_key = json.loads(be.ok("key", "export").out)["node_key_id"]
    be.ok("key", "rotate", "--node")
    again = tmp_path / "after.json"
    be.ok("certificate", "export", weapon[:8], "-o", str(again))

    assert again.read_bytes() == (tmp_path / "before.json").read_bytes()
    assert json.loads(again.read_text())["node"]["node_key_id"] == old_key
    checked = be("certificate", "verify", str(again))
    assert checked.code == 0 and "VALID" in checked.out, checked.out + checked.err
