"""Rotating the node key (``key_changes.rotate_node``), checked by ``verify``, on SQLite and PostgreSQL.

The new node key is announced in the register by a record the old key signs and the new key
countersigns; the old key stays valid for what it signed before, the new one signs from then on.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from domain.marking import Marking
from ledger.acceptance import NODE_KEY_CHANGE_TYPE
from ledger.audit_report import ProblemKind
from ledger.keys import generate_key, key_id, load_private_key, public_bytes
from nodes.bootstrap import init_node, open_node
from nodes.errors import NodeFileDamaged
from nodes.registry.identity import authorities_stream
from nodes.registry.key_changes import rotate_node
from nodes.registry.verify import verify_store
from nodes.settings import Settings

PASSPHRASE = "pw"


@pytest.fixture
def settings(tmp_path, db_url):
    made = Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE)
    init_node(made, "BE").close()
    return made


def manufacture(node, serial: str) -> str:
    weapon = node.registry.manufacture(
        marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN", model="Five-seveN",
        calibre="5.7x28", year=2020, holder="FN Herstal", occurred_on=int(time.time()) - 3600)
    node.settle()
    return str(weapon)


def rotate(settings):
    with open_node(settings, unlock=True) as node:
        change = rotate_node(node)
    with open_node(settings, unlock=True) as node:
        node.settle()
    return change


def checkpoint_signers(node) -> list[str]:
    return [row.signer for row in node.sealer.checkpoint_rows()]


def test_after_a_node_key_rotation_old_and_new_records_and_checkpoints_verify(settings):
    with open_node(settings, unlock=True) as node:
        manufacture(node, "N-1")
        old = node.identity.node_key_id
    change = rotate(settings)
    with open_node(settings, unlock=True) as node:
        manufacture(node, "N-2")
        identity = node.identity
        register = node.registry.envelopes(str(authorities_stream("BE")))
        signers = checkpoint_signers(node)
        report = verify_store(node)
    assert report.ok, report.problems
    assert (change.old_key_id, change.new_key_id) == (old, identity.node_key_id) and old != change.new_key_id
    announced = [e for e in register if e.type == NODE_KEY_CHANGE_TYPE]
    assert [(e.authority, e.body["new_key_id"]) for e in announced] == [(old, change.new_key_id)]
    assert signers[0] == old and signers[-1] == change.new_key_id
    assert identity.earlier_node_keys == (bytes.fromhex(json.loads(
        (settings.home / "node.json").read_text())["previous_node_keys"][0]),)
    assert key_id(load_private_key(settings.home / "keys" / "node.key", PASSPHRASE)) == change.new_key_id
    assert key_id(load_private_key(settings.home / "keys" / "old" / f"node-{old}.key", PASSPHRASE)) == old
    assert not (settings.home / "keys" / f"node-{change.new_key_id}.key").exists()


def test_a_second_rotation_chains_from_the_first(settings):
    first = rotate(settings)
    second = rotate(settings)
    with open_node(settings, unlock=True) as node:
        manufacture(node, "N-3")
        assert len(node.identity.earlier_node_keys) == 2
        report = verify_store(node)
    assert report.ok, report.problems
    assert first.new_key_id == second.old_key_id


def test_an_interrupted_rotation_is_refused_and_explained(settings):
    document = (settings.home / "node.json").read_text()
    old_key = (settings.home / "keys" / "node.key").read_bytes()
    change = rotate(settings)
    (settings.home / "node.json").write_text(document)  # as if the files were never swapped
    (settings.home / "keys" / "node.key").write_bytes(old_key)
    with pytest.raises(NodeFileDamaged, match=f"hands the node key over to {change.new_key_id}.*key rotate --node"):
        open_node(settings, unlock=True)


def test_the_old_key_signs_no_checkpoint_after_it_handed_over(settings):
    """An insider who kept keys/old/node-OLD.key and seals with it after the change: verify exit 1."""
    change = rotate(settings)
    old = load_private_key(settings.home / "keys" / "old" / f"node-{change.old_key_id}.key", PASSPHRASE)
    with open_node(settings, unlock=True) as node:
        manufacture(node, "N-4")
        identity = node.identity
        node.sealer.identity = replace(identity, node_key_id=key_id(old), node_public_key=public_bytes(old),
                                       private_keys={**identity.private_keys, key_id(old): old})
        manufacture(node, "N-5")  # sealed with the old key
    with open_node(settings, unlock=True) as node:
        report = verify_store(node)
    assert not report.ok
    beyond = "handed over to its successor at log size"
    assert any(p.kind is ProblemKind.CHECKPOINT and beyond in p.reason for p in report.problems), report.problems


def test_a_node_json_naming_a_key_the_log_never_announced_is_refused(settings):
    rotate(settings)
    document = json.loads((settings.home / "node.json").read_text())
    stranger = public_bytes(generate_key())
    document["previous_node_keys"] = [stranger.hex()]
    (settings.home / "node.json").write_text(json.dumps(document))
    with pytest.raises(NodeFileDamaged, match="register of authorities, version 1"):
        open_node(settings, unlock=True)
