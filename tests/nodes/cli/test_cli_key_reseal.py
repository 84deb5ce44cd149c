"""``key reseal [--json]``: a node whose key files are of the first format (PKCS#8 PEM with 2,048 PBKDF2 rounds)
is warned at each signing command, has them rewritten sealed with scrypt, keeps signing with the same keys, and
verifies; a second run rewrites
nothing; without the passphrase it exits 2 naming it and touches no file. SQLite and PostgreSQL."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization

from ledger.keys import KEY_FILE_MAGIC, key_id, load_private_key

from inprocess_cli import PASSPHRASE, Cli


def _as_first_format(path) -> str:
    """Rewrite the key file ``path`` as nodes wrote them before the sealed format; its key id."""
    key = load_private_key(path, PASSPHRASE)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    path.unlink()
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(pem)
    return key_id(key)


def test_key_reseal_rewrites_first_format_files_and_the_node_signs_on(env, capsys, tmp_path, db_url):
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    be.ok("key", "rotate", "--authority", "police")  # the old police key now lies in keys/old/
    keys = tmp_path / "be" / "keys"
    files = sorted(keys.glob("*.key")) + sorted((keys / "old").glob("*.key"))
    assert len(files) == 7 and any(path.parent.name == "old" for path in files)
    ids = {path: _as_first_format(path) for path in files}
    assert not any(path.read_bytes().startswith(KEY_FILE_MAGIC) for path in files)

    manufacture = ("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--type", "pistol",
                   "--make", "FN", "--model", "Five-seveN", "--calibre", "5.7x28", "--year", "2020", "--holder",
                   "Museum", "--date", "2021-01-01")
    warned = be.ok(*manufacture, "--serial", "RS-0").err  # signs with the old files, and says so
    assert "7 key file(s) of the old format" in warned and "armsledger key reseal" in warned

    rows = be.ok("key", "reseal", "--json").json()
    assert {row["file"]: row["resealed"] for row in rows} == {str(path): True for path in files}
    for path in files:
        assert path.read_bytes().startswith(KEY_FILE_MAGIC) and oct(path.stat().st_mode & 0o777) == "0o600"
        assert key_id(load_private_key(path, PASSPHRASE)) == ids[path]
    assert sorted(keys.glob("*.new")) == []

    assert "old format" not in be.ok(*manufacture, "--serial", "RS-1").err
    assert be.ok("verify").out.startswith("ok")
    again = be.ok("key", "reseal").out
    assert "0 of 7 key files rewritten" in again and "resealed" not in again.replace("rewritten", "")


def test_key_reseal_without_the_passphrase_exits_2_and_touches_nothing(env, capsys, tmp_path, db_url, monkeypatch):
    be = Cli(capsys, tmp_path / "be", db_url)
    be.ok("init", "--state", "BE")
    node_key = tmp_path / "be" / "keys" / "node.key"
    _as_first_format(node_key)
    before = node_key.read_bytes()
    monkeypatch.delenv("ARMSLEDGER_PASSPHRASE")
    refused = be.refused("key", "reseal")
    assert "ARMSLEDGER_PASSPHRASE" in refused.err
    assert node_key.read_bytes() == before
    monkeypatch.setenv("ARMSLEDGER_PASSPHRASE", "not the one")
    assert "wrong passphrase" in be.refused("key", "reseal").err
    assert node_key.read_bytes() == before
    missing = Cli(capsys, tmp_path / "nowhere", db_url)("key", "reseal")
    assert missing.code == 2 and "no node here" in missing.err, missing
