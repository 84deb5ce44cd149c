"""A deactivation with its certificate and a reactivation cross a real broker: the partner's ingest accepts
both (schema, signature, permission), folds the reactivated flag, and verifies the certificate file against
the key it trusts."""

from __future__ import annotations

import json

import pytest

from domain.licence import LicenceKind
from domain.time import SECONDS_PER_DAY as DAY
from nodes.registry import certificates
from nodes.registry.reading import weapon_timeline

from federation_nodes import Cluster, issue, manufacture, now


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        yield cluster


def test_a_partner_accepts_the_certificate_and_the_reactivation(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    shared = ["Weapon.Manufactured", "Weapon.Deactivated", "Weapon.Reactivated"]
    (be.settings.home / "sharing.json").write_text(json.dumps({"share": {t: ["NL"] for t in shared}}))
    weapon = manufacture(be, "DEACT-1")
    be.registry.record("deactivate", by="deactivation", weapon_id=weapon, certificate="DC-1", method="welded",
                       standard="EU 2018/337", inspecting_body="Proof House", inspected_on=now() - 2 * DAY,
                       occurred_on=now() - DAY)
    document = certificates.export_certificate(be, weapon)
    issue(be, "RL-1", LicenceKind.REACTIVATION_LICENCE, weapons=(str(weapon),), holder="Museum")
    certificates.reactivate(be.registry, weapon_id=weapon, licence="RL-1", reason="display", occurred_on=now())
    be.settle()
    cluster.settle("BE", "NL")

    assert nl.inbox.quarantined() == []
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == shared
    assert nl.inbox.received(node="BE", stream=str(weapon))[1].body["inspecting_body"] == "Proof House"
    assert weapon_timeline(nl, weapon)["flags"] == ["reactivated"]
    report = certificates.verify_trusted_here(document, nl.settings.home)
    assert report.valid and "trusted partner BE" in report.checks[-1].detail
