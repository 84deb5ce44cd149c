"""Rotating and revoking an authority key, and rotating the node key (``nodes.registry.key_changes``),
checked by ``verify``. A node key rotation: the new key is announced by a record the old key signs and the
new key countersigns; the old key stays valid for what it signed before, the new one signs from then on.

A rotation certifies a new key and retires the old one: what the old key signed before stays
valid, what it signs after is a problem. A revocation flags what the key signed since the
time given, even before the revocation was recorded. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.marking import Marking
from ledger.acceptance import NODE_KEY_CHANGE_TYPE
from ledger.audit_report import ProblemKind
from ledger.keys import generate_key, key_id, load_private_key, public_bytes
from nodes.bootstrap import init_node, open_node
from nodes.errors import NodeFileDamaged
from nodes.registry.application import Registry
from nodes.registry.identity import authorities_stream
from nodes.registry.key_changes import revoke_authority, rotate_authority, rotate_node
from nodes.registry.verify import verify_store
from nodes.settings import Settings

PASSPHRASE = "pw"
LICENSING = AuthorityKind.LICENSING


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


def signer_of(node, weapon: str) -> str:
    return node.registry.envelopes(weapon)[-1].authority


def signed_with_old_key(node, settings, old_id: str, serial: str) -> str:
    """A manufacture recorded by an insider who kept the old licensing key file and signs with it."""
    old = load_private_key(settings.home / "keys" / "old" / f"licensing-{old_id}.key", PASSPHRASE)
    identity = replace(node.identity, authority_key_ids={**node.identity.authority_key_ids, "licensing": old_id},
                       private_keys={**node.identity.private_keys, old_id: old})
    insider = Registry(settings.db, identity)
    try:
        return str(insider.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                       model="P90", calibre="5.7x28", year=2021, holder="FN Herstal",
                                       occurred_on=int(time.time())))
    finally:
        insider.close()
        node.settle()


def test_a_rotated_key_keeps_its_earlier_records_valid_and_the_new_key_signs_from_then_on(settings):
    with open_node(settings, unlock=True) as node:
        before = manufacture(node, "R-1")
        old = signer_of(node, before)
        change = rotate_authority(node, LICENSING)
        node.settle()
    with open_node(settings, unlock=True) as node:
        after = manufacture(node, "R-2")
        assert (change.old_key_id, change.new_key_id) == (old, signer_of(node, after))
        assert node.identity.authority_key_ids["licensing"] == change.new_key_id != old
        report = verify_store(node)
    assert report.ok and report.flagged == (), report.problems
    assert not (settings.home / "keys" / f"licensing-{change.new_key_id}.key").exists()
    assert key_id(load_private_key(settings.home / "keys" / "licensing.key", PASSPHRASE)) == change.new_key_id


def test_a_record_the_retired_key_signs_after_its_retirement_fails_verify(settings):
    with open_node(settings, unlock=True) as node:
        old = signer_of(node, manufacture(node, "R-1"))
        rotate_authority(node, LICENSING)
    with open_node(settings, unlock=True) as node:
        forged = signed_with_old_key(node, settings, old, "R-9")
        report = verify_store(node)
    retired = [p for p in report.problems if p.kind is ProblemKind.RETIRED]
    assert [(p.stream, p.version) for p in retired] == [(forged, 1)]
    assert "retired from" in retired[0].reason and old in retired[0].reason


def test_a_retirement_cannot_lie_in_the_past(settings):
    with open_node(settings, unlock=True) as node:
        with pytest.raises(InvalidField) as refused:
            rotate_authority(node, LICENSING, retired_from=int(time.time()) - 86400)
        assert refused.value.field == "retired_from"
        assert node.registry.authority_register().version == 1 + len(AuthorityKind)  # nothing recorded


def test_a_revoked_key_flags_what_it_signed_since_and_a_replacement_signs_at_once(settings):
    with open_node(settings, unlock=True) as node:
        kept = manufacture(node, "V-1")
        time.sleep(1.1)  # the next record's signed time is a later second
        leaked = manufacture(node, "V-2")
        since = node.registry.envelopes(leaked)[0].recorded_at // 1_000_000
        old = signer_of(node, leaked)
        change = revoke_authority(node, LICENSING, since=since, reason="key file copied off the server")
        node.settle()
    with open_node(settings, unlock=True) as node:
        after = manufacture(node, "V-3")
        assert signer_of(node, after) == change.new_key_id
        late = signed_with_old_key(node, settings, old, "V-9")
        report = verify_store(node)
    assert {p.kind for p in report.flagged} == {ProblemKind.REVOKED}
    assert "SIGNED BY A REVOKED KEY" in report.flagged[0].reason and "copied off" in report.flagged[0].reason
    assert kept not in {p.stream for p in (*report.flagged, *report.problems)}
    # Signed with the key after its revocation was recorded: flagged as well; the log itself is intact.
    assert [p.stream for p in report.flagged] == [leaked, late] and report.ok


@pytest.mark.parametrize("since, reason, field", [(0, "  ", "reason"), (int(time.time()) + 86400, "leak", "since")],
                         ids=["blank-reason", "since-tomorrow"])
def test_a_revocation_needs_a_reason_and_a_time_not_in_the_future(settings, since, reason, field):
    with open_node(settings, unlock=True) as node:
        with pytest.raises(InvalidField) as refused:
            revoke_authority(node, LICENSING, since=since, reason=reason)
        assert refused.value.field == field
        assert node.registry.authority_register().version == 1 + len(AuthorityKind)


def test_a_node_json_from_before_a_rotation_is_refused_for_signing(settings):
    saved = (settings.home / "node.json").read_text()
    with open_node(settings, unlock=True) as node:
        rotate_authority(node, LICENSING)
    (settings.home / "node.json").write_text(saved)  # an old backup, or a rotation cut short
    old_id = json.loads(saved)["authorities"]["licensing"]
    (settings.home / "keys" / "old" / f"licensing-{old_id}.key").replace(settings.home / "keys" / "licensing.key")

    with pytest.raises(NodeFileDamaged, match="retired in this node's log"):
        open_node(settings, unlock=True)


# --- the node key ---

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
