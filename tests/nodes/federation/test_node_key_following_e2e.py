"""A partner follows a node key rotation by itself, over the real broker (docs/keys.md, "Partners follow a
rotation"): BE rotates its node key; NL, which trusts only BE's old key, learns the new key from BE's
``Authority.NodeKeyChanged`` proven under the old key, records that in its own trust stream, keeps the old key
for BE's older records and checkpoints, and accepts what the new key signs. Forged announcements change nothing;
a crash between NL's record and its trust file is repaired by the next ingest."""

from __future__ import annotations

import pytest

from domain.authority import AuthorityKind
from domain.event_types import TRUST_CHANGED
from ledger.acceptance import NODE_KEY_CHANGE_TYPE, node_key_change_message
from ledger.audit_report import ProblemKind
from ledger.checkpoint import sign_checkpoint
from ledger.envelope import seal
from ledger.keys import generate_key, key_id, public_bytes, sign
from ledger.signed_proof import sign_proof
from nodes.bootstrap import open_node
from nodes.evidence.bundle import bundle_bytes, export_bundle
from nodes.evidence.bundle_check import verify_bundle
from nodes.federation import key_following
from nodes.federation.trust import TrustStore
from nodes.federation.trust_record import recorded_partners
from nodes.federation.wire import CheckpointMessage, RecordMessage, encode_message
from nodes.federation.witness import witness_status
from nodes.registry.federated_history import federated_history
from nodes.registry.identity import TRUST_ROTATED, authorities_stream, earlier_node_key, trust_stream
from nodes.registry.key_changes import rotate_authority, rotate_node
from nodes.registry.verify import verify_store

from federation_nodes import PASSPHRASE, Cluster, manufacture, publish
from inprocess_cli import Cli


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        yield cluster


def reopened(cluster: Cluster, state: str):
    """The node of ``state`` closed and opened again: what an operator's next command (or a restart) sees."""
    federation = cluster.federations.pop(state, None)
    if federation is not None:
        federation.close()
    old = cluster.nodes[state]
    old.close()
    cluster.nodes[state] = open_node(old.settings, unlock=True)
    return cluster.nodes[state]


def stolen(node, weapon) -> None:
    node.registry.record("report_stolen", by="police", weapon_id=str(weapon), place="Gent", circumstances="burglary")
    node.settle()


def rotated_be(cluster: Cluster):
    """BE with a weapon reported lost (and found) before its node key rotation and reported stolen after it;
    NL synced before."""
    be = cluster["BE"]
    weapon = manufacture(be, "NKF-1")
    be.registry.record("report_lost", by="police", weapon_id=str(weapon), place="Gent", circumstances="left behind")
    be.registry.record("recover", by="police", weapon_id=str(weapon), place="Gent", holder="")
    be.settle()
    cluster.settle("BE", "NL")
    change = rotate_node(be)
    be = reopened(cluster, "BE")
    rotate_authority(be, AuthorityKind.POLICE)  # certified by the new node key
    be = reopened(cluster, "BE")
    stolen(be, weapon)  # by the new police key
    return change, weapon


def trust_changes(node) -> list[dict]:
    return [dict(e.body) for e in node.registry.envelopes(trust_stream(node.identity.state))
            if e.type == TRUST_CHANGED]


def test_the_partner_follows_the_new_node_key_and_keeps_the_old_one(cluster, capsys):
    change, weapon = rotated_be(cluster)
    cluster.settle("BE", "NL")
    be, nl = cluster["BE"], cluster["NL"]

    followed = TrustStore(nl.settings.home).get("BE")
    assert followed is not None and followed.node_key_id == change.new_key_id
    assert [k.key_id for k in followed.previous_keys] == [change.old_key_id]
    old_last = max(c.size for c in be.sealer.checkpoints() if c.signer == change.old_key_id)
    assert followed.previous_keys[0].last_size == old_last
    announcement = next(e for e in be.registry.envelopes(authorities_stream("BE")) if e.type == NODE_KEY_CHANGE_TYPE)
    assert followed.previous_keys[0].retired_from == announcement.recorded_at

    rotated = [c for c in trust_changes(nl) if c["change"] == TRUST_ROTATED]
    assert len(rotated) == 1 and rotated[0]["key_id"] == change.new_key_id
    assert announcement.hash.hex() in rotated[0]["reason"]
    assert recorded_partners(nl.registry, nl.identity)["BE"] == followed

    assert nl.inbox.quarantined() == []
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == [
        "Weapon.ReportedLost", "Weapon.Recovered", "Weapon.ReportedStolen"]
    signed_by_new = [e.type for e in nl.inbox.received(node="BE", stream=str(authorities_stream("BE")))
                     if e.authority == change.new_key_id]
    assert signed_by_new == ["Authority.Certified", "Authority.Retired"]
    newest = nl.inbox.newest_partner_checkpoint("BE")
    assert newest is not None and newest.signer == change.new_key_id and newest.size > old_last

    history = federated_history(nl, weapon)
    assert history["verified"], [e for e in history["events"] if not e["verified"]]
    assert {"Weapon.ReportedLost", "Weapon.ReportedStolen"} <= {e["type"] for e in history["events"] if e["verified"]}
    for report in (verify_store(nl), verify_store(be)):
        assert report.ok, report.problems

    listed = Cli(capsys, nl.settings.home, nl.settings.db)("trust", "list", "--json")
    assert listed.code == 0
    (row,) = [r for r in listed.json() if r["state"] == "BE"]
    assert row["node_key_id"] == change.new_key_id and row["recorded"]
    assert [(k["node_key_id"], k["last_size"]) for k in row["previous_keys"]] == [(change.old_key_id, old_last)]
    text = Cli(capsys, nl.settings.home, nl.settings.db)("trust", "list")
    assert change.old_key_id in text.out and change.new_key_id in text.out
    for node in (be, nl):
        cli = Cli(capsys, node.settings.home, node.settings.db)
        verified = cli("verify")
        assert verified.code == 0, verified.out + verified.err
        quarantine = cli("quarantine", "--json")
        assert quarantine.code == 0 and quarantine.json() == []


def forged_announcements(be) -> list[tuple[str, bytes]]:
    """(what is wrong, envelope bytes) of announcements of BE's register that no one should follow."""
    register = be.registry.envelopes(authorities_stream("BE"))
    old = be.identity.private_keys[be.identity.node_key_id]
    rogue, other = generate_key(), generate_key()

    def announce(signed_by, new, previous, countersigned_by):
        body = {"new_key_id": key_id(new), "new_public_key": public_bytes(new), "previous_public_key": previous,
                "countersignature": sign(countersigned_by, node_key_change_message(previous, public_bytes(new)))}
        return seal(signed_by, node="BE", stream=str(authorities_stream("BE")), version=len(register) + 1,
                    type=NODE_KEY_CHANGE_TYPE, occurred_on=register[-1].occurred_on,
                    recorded_at=register[-1].recorded_at + 1, authority=key_id(signed_by), prev=register[-1].hash,
                    body=body).to_bytes()

    return [
        ("signed by a key that is not BE's node key", announce(rogue, rogue, public_bytes(rogue), rogue)),
        ("countersigned by another key than the new one", announce(old, rogue, public_bytes(old), other)),
        ("naming another previous key", announce(old, rogue, public_bytes(other), rogue)),
    ]


def test_a_forged_announcement_is_quarantined_and_changes_nothing(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    manufacture(be, "NKF-3")
    cluster.settle("BE", "NL")
    before = TrustStore(nl.settings.home).get("BE")
    size = nl.inbox.newest_partner_checkpoint("BE").size
    forged = forged_announcements(be)
    publish(cluster, "NL", [(str(authorities_stream("BE")).encode(), encode_message(RecordMessage(
        origin="BE", envelope=envelope, checkpoint_size=size, index=size - 1, proof=()))) for _, envelope in forged])
    cluster.sync("NL")

    refused = [q for q in nl.inbox.quarantined() if q["origin"] == "BE"]
    assert len(refused) == len(forged), refused
    details = " | ".join(q["detail"] for q in refused)
    assert "not by the node key" in details and "countersignature does not verify" in details
    assert "names previous key" in details
    assert TrustStore(nl.settings.home).get("BE") == before
    assert [c["change"] for c in trust_changes(nl)] == ["added"]
    report = verify_store(nl)
    assert report.ok, report.problems


class Crash(BaseException):
    """The process stops here (a power cut): nothing after it runs."""


def test_a_crash_between_the_record_and_the_trust_file_is_repaired(cluster, monkeypatch):
    change, weapon = rotated_be(cluster)
    cluster.sync("BE")
    original = TrustStore.write

    def crash(store, partner):
        raise Crash

    monkeypatch.setattr(key_following.TrustStore, "write", crash)
    with pytest.raises(Crash):
        cluster.sync("NL")
    monkeypatch.setattr(key_following.TrustStore, "write", original)
    nl = reopened(cluster, "NL")

    assert TrustStore(nl.settings.home).get("BE").node_key_id == change.old_key_id  # the file was not written
    assert [c["change"] for c in trust_changes(nl)] == ["added", TRUST_ROTATED]  # but the change was recorded
    problems = [p for p in verify_store(nl).problems if p.kind is ProblemKind.TRUST]
    assert len(problems) == 1 and "the next ingest writes it" in problems[0].reason

    cluster.settle("BE", "NL")
    followed = TrustStore(nl.settings.home).get("BE")
    assert followed.node_key_id == change.new_key_id
    assert [k.key_id for k in followed.previous_keys] == [change.old_key_id]
    assert [c["change"] for c in trust_changes(nl)] == ["added", TRUST_ROTATED]  # recorded once
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == [
        "Weapon.ReportedLost", "Weapon.Recovered", "Weapon.ReportedStolen"]
    assert nl.inbox.quarantined() == []
    report = verify_store(nl)
    assert report.ok, report.problems


def test_evidence_of_records_signed_under_both_keys_verifies_against_the_old_key_or_the_new(cluster, capsys):
    change, weapon = rotated_be(cluster)
    cluster.settle("BE", "NL")
    be, nl = cluster["BE"], cluster["NL"]
    old_key, new_key = be.identity.earlier_node_keys[0], be.identity.node_public_key

    for holder in (nl, be):
        bundle = export_bundle(holder, weapon)
        listed = [k["node_key_id"] for k in bundle["node_keys"] if k["state"] == "BE"]
        assert listed == [change.old_key_id, change.new_key_id]
        # the announcement is proven in the old key's last checkpoint, the newest records in the new key's
        assert {c["signer"] for c in bundle["checkpoints"] if c["origin"] == "BE"} == {
            change.old_key_id, change.new_key_id}
        for trusting in (old_key, new_key):
            report = verify_bundle(bundle_bytes(bundle), {"BE": trusting, "NL": nl.identity.node_public_key})
            assert report.valid, [f for f in report.findings if not f.passed]
            assert report.records >= 2 and report.keys["BE"] == "trusted (--trust)"

    for holder in (nl, be):  # proof inclusion names each checkpoint's own signer key, old or new
        printed = Cli(capsys, holder.settings.home, holder.settings.db)("proof", "inclusion", str(weapon))
        assert printed.code == 0, printed.err
        shown = [r["proof"]["checkpoint"] for r in printed.json()["records"] if r["proof"] is not None]
        assert shown and all(key_id(bytes.fromhex(c["signer_public_key"])) == c["signer"] for c in shown)

    stranger = public_bytes(generate_key())
    refused = verify_bundle(bundle_bytes(export_bundle(nl, weapon)), {"BE": stranger})
    assert not refused.valid


def test_a_checkpoint_the_old_key_signs_beyond_its_announcement_is_refused(cluster):
    change, weapon = rotated_be(cluster)
    cluster.settle("BE", "NL")
    be, nl = cluster["BE"], cluster["NL"]
    kept = nl.inbox.newest_partner_checkpoint("BE")
    be.registry.record("recover", by="police", weapon_id=str(weapon), place="Gent", holder="")
    be.settle()
    be.sealer.seal()
    newest = be.sealer.latest_checkpoint()
    assert newest is not None and newest.size > kept.size
    old = earlier_node_key(be.settings.home, change.old_key_id, PASSPHRASE)  # a stolen retired key, say
    forged = sign_checkpoint(old, "BE", newest.size, newest.root, newest.timestamp)
    proof = tuple(be.sealer.consistency_proof(kept.size, newest.size))
    publish(cluster, "NL", [(b"BE", encode_message(CheckpointMessage(
        origin="BE", checkpoint=forged.to_bytes(), previous_size=kept.size, consistency=proof,
        proof_sig=sign_proof(old, forged.to_bytes(), kept.size, proof))))])
    cluster.settle("BE", "NL")

    (refused,) = [q for q in nl.inbox.quarantined() if q["origin"] == "BE"]
    assert refused["reason"] == "bad-signature" and refused["kind"] != "alarm"
    assert change.old_key_id in refused["detail"] and "handed over" in refused["detail"]
    assert nl.inbox.newest_partner_checkpoint("BE") == newest  # the new key's own, accepted
    report = verify_store(nl)
    assert report.ok, report.problems


def test_three_partners_follow_gossip_and_cosign_across_the_rotation(tmp_path, kafka_bootstrap):
    """NL and DE both follow BE's rotation; they gossip BE's checkpoints of either key to each other without
    an alarm or a refusal, and BE's cosignatures by its old and new keys of their checkpoints verify."""
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL", "DE"]) as trio:
        for state in ("NL", "DE"):
            manufacture(trio[state], f"NKF-{state}")
        change, _ = rotated_be(trio)
        for state in ("NL", "DE"):
            stolen(trio[state], manufacture(trio[state], f"NKF-{state}-2"))  # a checkpoint for BE to cosign anew
        trio.settle()

        for state in ("NL", "DE"):
            node = trio[state]
            assert TrustStore(node.settings.home).get("BE").node_key_id == change.new_key_id
            assert node.inbox.quarantined() == [], node.inbox.quarantined()
            by_be = {c.witness_key for c in node.inbox.cosignatures() if c.witness == "BE"}
            # NL synced with BE before the rotation (rotated_be), DE only after it
            assert by_be == ({change.old_key_id, change.new_key_id} if state == "NL" else {change.new_key_id})
            (row,) = [r for r in witness_status(node) if r["witness"] == "BE"]
            assert row["size"] == node.sealer.latest_checkpoint().size  # cosigned by BE's new key
            report = verify_store(node)
            assert report.ok, report.problems
        assert trio["NL"].inbox.partner_checkpoints("BE") == trio["DE"].inbox.partner_checkpoints("BE")


def test_without_the_old_private_key_the_partner_follows_nothing_and_accepts_nothing_on_the_new_keys_word(cluster):
    """keys/old destroyed before the partner synced: the old key's last checkpoint goes out with a proof the
    new key signs, which the partner refuses; it waits for its operator (docs/keys.md), never trusts blindly."""
    be, nl = cluster["BE"], cluster["NL"]
    weapon = manufacture(be, "NKF-9")
    cluster.settle("BE", "NL")
    change = rotate_node(be)
    (be.settings.home / "keys" / "old" / f"node-{change.old_key_id}.key").unlink()
    stolen(reopened(cluster, "BE"), weapon)
    cluster.settle("BE", "NL")

    assert TrustStore(nl.settings.home).get("BE").node_key_id == change.old_key_id
    assert [c["change"] for c in trust_changes(nl)] == ["added"]
    reasons = {q["reason"] for q in nl.inbox.quarantined() if q["origin"] == "BE"}
    assert "bad-proof" in reasons and "unproven" in reasons
    assert all(q["kind"] != "alarm" for q in nl.inbox.quarantined())
    assert nl.inbox.received(node="BE", stream=str(weapon)) == []
    report = verify_store(nl)
    assert report.ok, report.problems


def test_a_crash_after_the_announcement_was_accepted_and_before_the_record_is_repaired(cluster, monkeypatch):
    change, weapon = rotated_be(cluster)
    cluster.sync("BE")

    def crash(node, after, *, reason):
        raise Crash

    monkeypatch.setattr(key_following, "record_rotation", crash)
    with pytest.raises(Crash):
        cluster.sync("NL")
    monkeypatch.undo()
    nl = reopened(cluster, "NL")
    announced = [e for e in nl.inbox.received(node="BE", stream=str(authorities_stream("BE")))
                 if e.type == NODE_KEY_CHANGE_TYPE]
    assert len(announced) == 1  # committed with its batch
    assert [c["change"] for c in trust_changes(nl)] == ["added"]  # nothing recorded yet

    cluster.settle("BE", "NL")
    assert TrustStore(nl.settings.home).get("BE").node_key_id == change.new_key_id
    assert [c["change"] for c in trust_changes(nl)] == ["added", TRUST_ROTATED]
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == [
        "Weapon.ReportedLost", "Weapon.Recovered", "Weapon.ReportedStolen"]
    assert nl.inbox.quarantined() == []
    report = verify_store(nl)
    assert report.ok, report.problems
