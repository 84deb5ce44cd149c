"""``armsledger proof inclusion|consistency``: what they print is checked by an independent RFC 9162
verifier (tests/support/rfc9162_reference.py, itself held to the transparency-dev/merkle vectors in
../shared/conformance/rfc6962), and the checkpoint signature by Ed25519 over the printed signed bytes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from inprocess_cli import Cli
from rfc9162_reference import consistency_ok, ed25519_ok, inclusion_ok, leaf

_VECTORS = Path("rfc6962") / "vectors.json"


def _manufacture(cli: Cli, serial: str) -> str:
    return cli.ok("record", "manufacture", "--manufacturer", "FN", "--country", "BE", "--serial", serial,
                  "--type", "pistol", "--calibre", "9mm", "--year", "2020", "--holder", "FN Herstal",
                  "--json").json()["weapon_id"]


def _checkpoint_ok(checkpoint: dict) -> bool:
    public = bytes.fromhex(checkpoint["signer_public_key"])
    return (hashlib.sha256(public).hexdigest()[:32] == checkpoint["signer"]
            and ed25519_ok(public, bytes.fromhex(checkpoint["signature"]), bytes.fromhex(checkpoint["signed_bytes"])))


def test_each_record_of_a_weapon_is_proved_into_the_signed_checkpoint(cli):
    weapon = _manufacture(cli, "P-1")
    _manufacture(cli, "P-2")
    cli.ok("record", "seize", "--weapon", weapon, "--place", "Gent", "--circumstances", "raid")
    records = cli.ok("proof", "inclusion", weapon).json()["records"]

    assert [r["type"] for r in records] == ["Weapon.Manufactured", "Weapon.Seized"]
    for record in records:
        proof = record["proof"]
        assert leaf(bytes.fromhex(record["envelope_hash"])).hex() == record["leaf_hash"]
        assert proof["tree_size"] == proof["checkpoint"]["size"]
        assert inclusion_ok(proof["leaf_index"], proof["tree_size"], bytes.fromhex(record["leaf_hash"]),
                            [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(proof["checkpoint"]["root"]))
        assert _checkpoint_ok(proof["checkpoint"])
        # A wrong leaf fails the same check: it is one that can fail.
        assert not inclusion_ok(proof["leaf_index"], proof["tree_size"], leaf(b"another record"),
                                [bytes.fromhex(p) for p in proof["audit_path"]],
                                bytes.fromhex(proof["checkpoint"]["root"]))

    one = cli.ok("proof", "inclusion", "--record", records[1]["envelope_hash"]).json()["records"]
    assert [r["envelope_hash"] for r in one] == [records[1]["envelope_hash"]]


def test_a_consistency_proof_links_two_signed_checkpoints(cli):
    _manufacture(cli, "C-1")
    first = cli.ok("proof", "inclusion", "--record", cli.ok("proof", "inclusion", _manufacture(cli, "C-2"))
                   .json()["records"][0]["envelope_hash"]).json()["records"][0]["proof"]["checkpoint"]["size"]
    for serial in ("C-3", "C-4", "C-5"):
        _manufacture(cli, serial)
    document = cli.ok("proof", "consistency", "--from", str(first)).json()
    old, new = document["from"], document["to"]

    assert old["size"] == first and new["size"] > first
    assert _checkpoint_ok(old) and _checkpoint_ok(new)
    proof = [bytes.fromhex(p) for p in document["proof"]]
    assert consistency_ok(old["size"], new["size"], bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof)
    assert not consistency_ok(old["size"], new["size"], bytes.fromhex(new["root"]), bytes.fromhex(new["root"]), proof)
    explicit = cli.ok("proof", "consistency", "--from", str(first), "--to", str(new["size"])).json()
    assert explicit["proof"] == document["proof"]


@pytest.mark.parametrize("argv, field", [
    (("--from", "3", "--to", "99999"), "--from"),     # 3 is no checkpoint size of a fresh node
    (("--from", "0"), "--from"),
])
def test_sizes_that_are_not_checkpoints_are_refused_naming_the_option(cli, argv, field):
    _manufacture(cli, "R-1")
    result = cli.refused("proof", "consistency", *argv)
    assert field in result.err and "Traceback" not in result.err


def test_a_to_size_that_is_not_a_checkpoint_is_refused(cli):
    weapon = _manufacture(cli, "T-1")
    size = cli.ok("proof", "inclusion", weapon).json()["records"][0]["proof"]["tree_size"]
    result = cli.refused("proof", "consistency", "--from", str(size), "--to", str(size + 1000))
    assert "--to" in result.err and "not the size of one of our signed checkpoints" in result.err


def test_an_unknown_record_hash_is_refused(cli):
    _manufacture(cli, "U-1")
    assert "--record" in cli.refused("proof", "inclusion", "--record", "ab" * 32).err
    assert "--record" in cli.refused("proof", "inclusion", "--record", "not hex").err


def _vectors() -> dict:
    base = os.environ.get("ARMSLEDGER_CONFORMANCE_DIR") or Path(__file__).resolve().parents[3] / ".." / "shared" / \
        "conformance"
    path = Path(base) / _VECTORS
    if not path.is_file():
        pytest.skip(f"third-party RFC 6962 vectors not found at {path} (../shared/conformance/rfc6962)")
    return json.loads(path.read_text())


def test_the_reference_verifier_agrees_with_the_third_party_vectors():
    vectors = _vectors()
    for case in vectors["inclusion"]:
        assert inclusion_ok(case["leaf_index"], case["tree_size"], bytes.fromhex(case["leaf_hash"]),
                            [bytes.fromhex(p) for p in case["proof"]], bytes.fromhex(case["root"])), case["origin"]
    for case in vectors["consistency"]:
        assert consistency_ok(case["size1"], case["size2"], bytes.fromhex(case["root1"]), bytes.fromhex(case["root2"]),
                              [bytes.fromhex(p) for p in case["proof"]]), case["origin"]
    for case in vectors["inclusion_probes"]:
        assert inclusion_ok(case["leaf_index"], case["tree_size"], bytes.fromhex(case["leaf_hash"]),
                            [bytes.fromhex(p) for p in case["proof"]], bytes.fromhex(case["root"])) \
            == case["expect_valid"], case
    for case in vectors["consistency_probes"]:
        assert consistency_ok(case["size1"], case["size2"], bytes.fromhex(case["root1"]),
                              bytes.fromhex(case["root2"]), [bytes.fromhex(p) for p in case["proof"]]) \
            == case["expect_valid"], case
