"""Gossip over the real broker: partners shown different histories of one node catch it after one round,
and a gossiped checkpoint that its origin did not sign is refused, never an alarm."""

from __future__ import annotations

import pytest

from ledger.checkpoint import sign_checkpoint
from ledger.keys import generate_key
from nodes.federation.ingest import BAD_SIGNATURE, MISDIRECTED
from nodes.federation.ingest_reasons import SPLIT_VIEW
from nodes.federation.wire import CheckpointMessage, GossipMessage, encode_message

from federation_nodes import Cluster, manufacture, publish


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    # NL keeps its inbox on the backend under test, DE on SQLite; BE is the node that may lie.
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL", "DE"], db={"NL": db_url}) as cluster:
        yield cluster


def alarms(cluster: Cluster, state: str) -> list[dict]:
    return [e for e in cluster[state].inbox.quarantined() if e["kind"] == "alarm"]


def test_honest_nodes_gossip_without_alarm(cluster):
    for state in ("BE", "NL", "DE"):
        manufacture(cluster[state], f"G-{state}")
    cluster.settle()
    for state in ("BE", "NL", "DE"):
        assert alarms(cluster, state) == []
    # Once settled, a pass has nothing new to tell: each newest checkpoint was gossiped once.
    assert cluster.sync("NL").gossip_sent == 0
    # Each partner heard from the others what it keeps already of the third: nothing is left as a claim.
    assert cluster["NL"].inbox.gossiped() == []
    assert cluster["NL"].inbox.partner_checkpoints("BE") == cluster["DE"].inbox.partner_checkpoints("BE")


def test_a_node_that_shows_two_partners_different_histories_is_caught_by_both_after_one_round(cluster):
    be = cluster["BE"]
    manufacture(be, "SPLIT-1")
    shown_to_nl = be.sealer.seal()
    key = be.identity.private_keys[be.identity.node_key_id]
    shown_to_de = sign_checkpoint(key, "BE", shown_to_nl.size, bytes(range(32)), shown_to_nl.timestamp)
    # BE's operator sends each partner its own version, both signed by BE's node key.
    publish(cluster, "NL", [(b"BE", encode_message(CheckpointMessage("BE", shown_to_nl.to_bytes(), 0, ())))])
    publish(cluster, "DE", [(b"BE", encode_message(CheckpointMessage("BE", shown_to_de.to_bytes(), 0, ())))])

    # One round: NL keeps its version and gossips it to DE; DE keeps its own, hears NL's, and gossips to NL.
    for state in ("NL", "DE", "NL"):
        cluster.sync(state)

    root_nl, root_de = shown_to_nl.root.hex(), shown_to_de.root.hex()
    for state in ("NL", "DE"):
        [alarm] = alarms(cluster, state)
        assert alarm["reason"] == SPLIT_VIEW
        detail = alarm["detail"]
        assert f"BE's checkpoint at size {shown_to_nl.size}" in detail
        assert root_nl in detail and root_de in detail
    # What each keeps is unchanged: the alarm is evidence, not a reason to drop what was verified.
    assert [c.root for c in cluster["NL"].inbox.partner_checkpoints("BE")] == [shown_to_nl.root]
    assert [c.root for c in cluster["DE"].inbox.partner_checkpoints("BE")] == [shown_to_de.root]


def test_a_gossiped_checkpoint_not_signed_by_its_origin_is_refused_not_an_alarm(cluster):
    manufacture(cluster["BE"], "FORGED-1")
    cluster.settle("BE", "NL")
    kept = cluster["NL"].inbox.partner_checkpoints("BE")[-1]
    forged = sign_checkpoint(generate_key(), "BE", kept.size, bytes(32), kept.timestamp)
    own = cluster["NL"].sealer.latest_checkpoint()
    publish(cluster, "NL", [
        (b"DE", encode_message(GossipMessage("DE", forged.to_bytes()))),
        # Gossip is about third states: NL's own checkpoint sent back to it is misdirected.
        (b"DE", encode_message(GossipMessage("DE", own.to_bytes()))),
    ])
    report = cluster.sync("NL")
    assert report.alarms == 0
    reasons = sorted(e["reason"] for e in cluster["NL"].inbox.quarantined())
    assert reasons == [BAD_SIGNATURE, MISDIRECTED]
    assert cluster["NL"].inbox.gossiped() == []


def test_a_gossiped_size_not_kept_is_a_claim_and_a_second_claim_with_another_root_is_an_alarm(cluster):
    be = cluster["BE"]
    key = be.identity.private_keys[be.identity.node_key_id]
    first = sign_checkpoint(key, "BE", 500, bytes(32), 1)
    second = sign_checkpoint(key, "BE", 500, bytes(31) + b"\x01", 2)
    publish(cluster, "NL", [(b"DE", encode_message(GossipMessage("DE", first.to_bytes())))])
    cluster.sync("NL")
    [claim] = cluster["NL"].inbox.gossiped()
    assert (claim.witness, claim.origin, claim.size, claim.checkpoint) == ("DE", "BE", 500, first.to_bytes())
    assert alarms(cluster, "NL") == []
    publish(cluster, "NL", [(b"DE", encode_message(GossipMessage("DE", second.to_bytes())))])
    cluster.sync("NL")
    [alarm] = alarms(cluster, "NL")
    assert alarm["reason"] == SPLIT_VIEW and "DE told us of" in alarm["detail"]
    assert first.root.hex() in alarm["detail"] and second.root.hex() in alarm["detail"]


def test_a_pass_with_only_gossip_to_tell_sends_it_without_sealing(cluster):
    for state in ("BE", "NL", "DE"):
        manufacture(cluster[state], f"G-{state}")
    cluster.settle()
    manufacture(cluster["BE"], "G-BE-2")
    cluster.sync("BE")  # BE's newer checkpoint goes to NL and DE
    nl = cluster["NL"]
    seals = []
    seal = nl.sealer.seal
    nl.sealer.seal = lambda **kwargs: seals.append(kwargs) or seal(**kwargs)
    report = cluster.sync("NL")
    # NL's log did not grow: it tells DE of BE's checkpoint (and BE its cosignature), neither sealing nor
    # publishing anything of its own.
    assert (report.checkpoints_kept, report.gossip_sent, report.published, report.checkpoints_sent) == (1, 1, 0, 0)
    assert seals == []
    newest = cluster["BE"].sealer.checkpoints()[-1]
    cluster.sync("DE")
    assert cluster["DE"].inbox.partner_checkpoints("BE")[-1] == newest
    assert alarms(cluster, "DE") == [] and cluster["DE"].inbox.gossiped() == []
