"""A key revoked at its node after the records it signed crossed a real broker: the partner flags those
records after the next sync (``verify``, ``history``, the diversion verdict), and keeps those signed before
the time given as evidence (docs/keys.md). A node key rotation followed by the partner:
test_node_key_following_e2e.py."""

from __future__ import annotations

import time

import pytest

from domain.authority import AuthorityKind
from ledger.audit_report import ProblemKind
from nodes.registry.key_changes import revoke_authority, rotate_authority
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
