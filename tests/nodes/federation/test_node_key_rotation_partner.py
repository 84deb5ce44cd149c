"""What a partner does today when a node rotates its node key, over the real broker: it quarantines the
checkpoints the new key signs (and the old key's last one, whose consistency proof the relay now signs with
the new key) instead of silently accepting them, parks the records they prove, announcement included, and
goes on; what it held before still verifies. Following the new key by itself is not built yet
(docs/keys.md, "Node key rotation")."""

from __future__ import annotations

import pytest

from ledger.acceptance import NODE_KEY_CHANGE_TYPE
from nodes.bootstrap import open_node
from nodes.registry.identity import authorities_stream
from nodes.registry.key_changes import rotate_node
from nodes.registry.verify import verify_store

from federation_nodes import Cluster, manufacture


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        yield cluster


def stolen(node, serial: str) -> str:
    """A weapon reported stolen: a record shared with every partner."""
    weapon = str(manufacture(node, serial))
    node.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="burglary")
    node.settle()
    return weapon


def reopened(cluster: Cluster, state: str):
    """The node of ``state`` closed and opened again: what an operator's next command sees."""
    federation = cluster.federations.pop(state, None)
    if federation is not None:
        federation.close()
    old = cluster.nodes[state]
    old.close()
    cluster.nodes[state] = open_node(old.settings, unlock=True)
    return cluster.nodes[state]


def test_the_partner_quarantines_the_new_keys_checkpoints_and_keeps_what_it_held(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    before = stolen(be, "NKR-1")
    cluster.settle("BE", "NL")
    change = rotate_node(be)
    be = reopened(cluster, "BE")
    after = stolen(be, "NKR-2")
    for _ in range(2):
        cluster.sync("BE")
        cluster.sync("NL")

    register = nl.inbox.received(node="BE", stream=str(authorities_stream("BE")))
    assert [e for e in register if e.type == NODE_KEY_CHANGE_TYPE] == []  # parked: nothing NL trusts proves it
    assert [e.type for e in nl.inbox.received(node="BE", stream=before)] == ["Weapon.ReportedStolen"]
    assert nl.inbox.received(node="BE", stream=after) == []  # waits for a checkpoint NL can verify
    refused = [q for q in nl.inbox.quarantined() if q["origin"] == "BE"]
    assert {"bad-signature", "unproven"} <= {q["reason"] for q in refused}
    assert any(change.new_key_id in q["detail"] for q in refused if q["reason"] == "bad-signature")
    assert all(q["kind"] != "alarm" for q in refused)
    nl_report, be_report = verify_store(nl), verify_store(be)
    assert nl_report.ok, nl_report.problems
    assert be_report.ok, be_report.problems
