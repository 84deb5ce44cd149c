"""A key revoked at its node after the records it signed crossed a real broker: the partner flags those
records after the next sync (``verify``, ``history``, the diversion verdict), and keeps those signed before
the time given as evidence (docs/keys.md). And what a partner does today when a node rotates its node key:
it quarantines the checkpoints the new key signs (and the old key's last one, whose consistency proof the
relay now signs with the new key) instead of silently accepting them, parks the records they prove, the
announcement included, and goes on; what it held before still verifies. Following the new key by itself is
not built yet (docs/keys.md, "Node key rotation")."""

from __future__ import annotations

import time

import pytest

from domain.authority import AuthorityKind
from ledger.acceptance import NODE_KEY_CHANGE_TYPE
from ledger.audit_report import ProblemKind
from nodes.bootstrap import open_node
from nodes.registry.identity import authorities_stream
from nodes.registry.key_changes import revoke_authority, rotate_authority, rotate_node
from nodes.registry.reading import weapon_timeline
from nodes.registry.verify import verify_store
from nodes.tracing.verdict_report import verdict_document

from federation_nodes import Cluster, manufacture


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        yield cluster


def stolen(node, serial: str) -> str:
    weapon = str(manufacture(node, serial))
    node.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="burglary")
    node.settle()
    return weapon


def test_a_revoked_keys_later_records_are_flagged_on_the_partner(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    kept = stolen(be, "REV-1")
    time.sleep(1.1)  # the next theft report is signed in a later second
    leaked = stolen(be, "REV-2")
    cluster.settle("BE", "NL")
    assert verify_store(nl).flagged == ()  # nothing revoked yet

    since = be.registry.envelopes(leaked)[-1].recorded_at // 1_000_000
    change = revoke_authority(be, AuthorityKind.POLICE, since=since, reason="laptop with the key stolen")
    be.settle()
    cluster.settle("BE", "NL")

    assert nl.inbox.quarantined() == []
    report = verify_store(nl)
    assert report.ok, report.problems
    assert [(p.partner, p.stream, p.kind) for p in report.flagged] == [("BE", leaked, ProblemKind.REVOKED)]
    assert change.old_key_id in report.flagged[0].reason

    marked = [e for e in weapon_timeline(nl, leaked)["events"] if e["type"] == "Weapon.ReportedStolen"]
    assert marked and marked[0]["revoked"]["key_id"] == change.old_key_id
    assert marked[0]["revoked"]["reason"] == "laptop with the key stolen"
    clean = [e for e in weapon_timeline(nl, kept)["events"] if e["type"] == "Weapon.ReportedStolen"]
    assert clean and clean[0]["revoked"] is None

    verdict = verdict_document(nl, leaked)
    assert len(verdict["revoked"]) == 1 and "SIGNED BY A REVOKED KEY" in verdict["revoked"][0]
    assert marked[0]["hash"] not in {e["hash"] for e in verdict["evidence"]}
    assert verdict_document(nl, kept)["revoked"] == []


def test_a_record_signed_with_a_retired_key_is_quarantined_by_the_partner(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    before = stolen(be, "RET-1")
    change = rotate_authority(be, AuthorityKind.POLICE)
    be.settle()
    # ``be`` still holds the key it loaded before the rotation: what a process not restarted (or a thief
    # with the old key file) would sign with.
    after = stolen(be, "RET-2")
    cluster.settle("BE", "NL")

    quarantined = nl.inbox.quarantined()
    assert [(q["reason"], q["origin"]) for q in quarantined] == [("retired-key", "BE")]
    assert change.old_key_id in quarantined[0]["detail"] and after in quarantined[0]["detail"]
    assert [e.type for e in nl.inbox.received(node="BE", stream=before)] == ["Weapon.ReportedStolen"]
    assert nl.inbox.received(node="BE", stream=after) == []
    assert [(p.stream, p.kind) for p in verify_store(be).problems] == [(after, ProblemKind.RETIRED)]


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
