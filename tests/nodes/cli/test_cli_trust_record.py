"""``trust list|add|remove`` and ``verify``: the trust store is recorded in the node's log, so a swapped,
added or removed file is caught (docs/keys.md), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from ledger.keys import fingerprint

from inprocess_cli import Cli


@pytest.fixture
def pair(env, capsys, tmp_path, db_url, sqlite_url):
    """BE (on ``db_url``) and NL and FR (SQLite), each initialised; NL's and FR's identity files exported."""
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    files = {}
    for state in ("NL", "FR"):
        other = Cli(capsys, tmp_path / state.lower(), str(tmp_path / f"{state}.db"))
        other.ok("init", "--state", state)
        files[state] = tmp_path / f"{state}.pub"
        files[state].write_text(other.ok("key", "export").out)
    return be, files


def _key(identity_file):
    document = json.loads(identity_file.read_text())
    return document["node_key_id"], bytes.fromhex(document["node_public_key"])


def test_list_shows_each_partners_key_id_and_full_fingerprint_and_that_it_is_recorded(pair):
    be, files = pair
    added = be.ok("trust", "add", "--state", "NL", str(files["NL"]), "--json").json()
    key_id, public = _key(files["NL"])

    assert added == {"state": "NL", "node_key_id": key_id, "fingerprint": fingerprint(public), "recorded": True}
    rows = be.ok("trust", "list", "--json").json()
    assert rows == [{"state": "NL", "node_key_id": key_id, "fingerprint": fingerprint(public), "recorded": True,
                     "previous_keys": []}]
    assert len(fingerprint(public).replace(" ", "")) == 64
    assert fingerprint(public) in be.ok("trust", "list").out
    assert be.ok("verify").out.startswith("ok")


def test_adding_the_same_key_again_records_nothing_more(pair):
    be, files = pair
    be.ok("trust", "add", "--state", "NL", str(files["NL"]))
    again = be.ok("trust", "add", "--state", "NL", str(files["NL"]), "--json").json()

    assert again["recorded"] is False
    assert be.ok("verify").code == 0


def test_a_trust_file_swapped_for_another_key_fails_verify_naming_both_fingerprints(pair):
    be, files = pair
    be.ok("trust", "add", "--state", "NL", str(files["NL"]))
    forged = json.loads(files["FR"].read_text()) | {"state": "NL"}
    (be.home / "trust" / "NL.json").write_text(json.dumps(forged))

    result = be("verify")

    assert result.code == 1
    _, real = _key(files["NL"])
    _, other = _key(files["FR"])
    assert "[trust]" in result.err and "NL" in result.err and "swapped" in result.err
    assert fingerprint(real) in result.err and fingerprint(other) in result.err


def test_a_file_added_by_hand_is_not_recorded_until_trust_add_records_it(pair):
    be, files = pair
    (be.home / "trust").mkdir()
    (be.home / "trust" / "NL.json").write_text(files["NL"].read_text())  # a store from before trust was recorded

    unrecorded = be("verify")
    assert unrecorded.code == 1 and "not recorded" in unrecorded.err
    assert be.ok("trust", "list", "--json").json()[0]["recorded"] is False

    assert be.ok("trust", "add", "--state", "NL", str(files["NL"]), "--json").json()["recorded"] is True
    assert be.ok("verify").code == 0


def test_a_file_deleted_by_hand_fails_verify_and_trust_remove_is_recorded(pair):
    be, files = pair
    be.ok("trust", "add", "--state", "NL", str(files["NL"]))
    be.ok("trust", "add", "--state", "FR", str(files["FR"]))
    (be.home / "trust" / "FR.json").unlink()

    deleted = be("verify")
    assert deleted.code == 1 and "FR" in deleted.err and "without 'armsledger trust remove'" in deleted.err

    removed = be.ok("trust", "remove", "--state", "FR", "--reason", "the partner left the federation", "--json")
    assert removed.json()["state"] == "FR" and removed.json()["node_key_id"] == _key(files["FR"])[0]
    assert be.ok("verify").code == 0
    assert [row["state"] for row in be.ok("trust", "list", "--json").json()] == ["NL"]


def test_a_removed_partner_can_be_trusted_again_with_a_new_key(pair):
    be, files = pair
    be.ok("trust", "add", "--state", "NL", str(files["NL"]))
    refused = be.refused("trust", "add", "--state", "NL", str(files["FR"]))  # FR's file, not NL's
    assert "--state" in refused.err or "state" in refused.err

    be.ok("trust", "remove", "--state", "NL", "--reason", "key rotated by the partner")
    assert be.ok("trust", "list").out.strip() == "no trusted partners"
    assert be.ok("verify").code == 0


@pytest.mark.parametrize("argv, field", [
    (("--state", "NL", "--reason", "   "), "reason"),
    (("--state", "XX", "--reason", "left"), "state"),
    (("--state", "DE", "--reason", "left"), "state"),
])
def test_bad_removals_are_refused_naming_the_field_and_record_nothing(pair, argv, field):
    be, files = pair
    be.ok("trust", "add", "--state", "NL", str(files["NL"]))

    refused = be.refused("trust", "remove", *argv)

    assert f"--{field}" in refused.err
    assert [row["state"] for row in be.ok("trust", "list", "--json").json()] == ["NL"]
    assert be.ok("verify").code == 0


def test_a_damaged_trust_file_fails_verify_with_exit_1_not_a_traceback(pair):
    be, files = pair
    be.ok("trust", "add", "--state", "NL", str(files["NL"]))
    (be.home / "trust" / "NL.json").write_text("{not json")

    result = be("verify")

    assert result.code == 1 and "damaged" in result.err
    assert be("trust", "list").code == 1


@pytest.mark.parametrize("record_type", ["Authority.TrustRegisterOpened", "Authority.TrustChanged"])
def test_the_record_of_the_trust_store_stays_national_whatever_sharing_json_says(record_type):
    from domain.sharing import default_recipients_by_type
    from nodes.errors import ConfigurationError
    from nodes.federation.sharing import SharingRules

    assert default_recipients_by_type(record_type, frozenset({"NL", "FR"})) == frozenset()
    assert default_recipients_by_type("Authority.Certified", frozenset({"NL"})) == frozenset({"NL"})
    with pytest.raises(ConfigurationError, match=record_type):
        SharingRules.parse({"share": {record_type: "all"}})


def test_key_revoke_and_rotate_on_the_command_line(pair):
    be, _ = pair
    weapon = be.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", "K-1",
                   "--type", "pistol", "--make", "FN", "--model", "Five-seveN", "--calibre", "5.7x28", "--year",
                   "2020", "--holder", "FN Herstal", "--json").json()["weapon_id"]
    old = json.loads((be.home / "node.json").read_text())["authorities"]["licensing"]

    revoked = be.ok("key", "revoke", "--authority", "licensing", "--since", "2020-01-01", "--reason", "leak",
                    "--json").json()
    assert revoked["old_key_id"] == old and revoked["revoked"] is True
    verified = be.ok("verify")
    assert "1 record flagged as signed by a revoked key" in verified.out and f"stream {weapon}" in verified.out
    assert "SIGNED BY A REVOKED KEY" in be.ok("history", "--weapon", weapon).out

    rotated = be.ok("key", "rotate", "--authority", "licensing", "--json").json()
    assert rotated["old_key_id"] == revoked["new_key_id"] and rotated["revoked"] is False
    assert json.loads((be.home / "node.json").read_text())["authorities"]["licensing"] == rotated["new_key_id"]
    assert be.ok("verify").code == 0


@pytest.mark.parametrize("argv, option", [
    (("rotate", "--authority", "navy"), "--authority"),
    (("rotate", "--authority", "licensing", "--from", "2001-01-01"), "--from"),
    (("rotate", "--authority", "licensing", "--from", "soon"), "--from"),
    (("revoke", "--authority", "police", "--since", "yesterday", "--reason", "leak"), "--since"),
    (("revoke", "--authority", "police", "--since", "2020-01-01", "--reason", ""), "--reason"),
    (("revoke", "--authority", "police", "--since", "2999-01-01", "--reason", "leak"), "--since"),
])
def test_bad_key_changes_are_refused_naming_the_option_and_record_nothing(pair, argv, option):
    be, _ = pair
    node_json = (be.home / "node.json").read_text()

    refused = be.refused("key", *argv)

    assert option in refused.err
    assert (be.home / "node.json").read_text() == node_json
    assert be.ok("verify").code == 0
