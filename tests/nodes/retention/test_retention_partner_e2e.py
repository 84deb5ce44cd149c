"""Over the real broker: BE shares its manufacture records with FR, then erases a holder whose every record is
past its period; FR receives and accepts the signed erasure record (it received records naming the holder),
and both FR's copy and BE's log still verify. BE runs on each backend."""

from __future__ import annotations

import json

import pytest

from domain.erasure import erasure_id
from nodes.federation.inbox import received_stream_id
from nodes.registry.verify import verify_store
from nodes.retention.erasure import run_retention
from nodes.retention.persons import person_register

from federation_nodes import Cluster
from retention_story import holders_story


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"], db={"BE": db_url}) as cluster:
        yield cluster


def test_a_partner_that_received_the_holders_records_learns_of_the_erasure_and_its_copy_verifies(cluster):
    be, fr = cluster["BE"], cluster["FR"]
    (be.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": ["FR"]}}))
    holders = holders_story(be)
    cluster.settle()
    named = [e for _, e in fr.inbox.received_notifications(1, 100) if e.body.get("holder") == holders.old]
    assert [e.type for e in named] == ["Weapon.Manufactured"]
    with person_register(be) as register:
        run = run_retention(be, register, lambda command: (command(be.registry), be.settle()))
    assert run.erased == [holders.old]
    cluster.settle()
    erasure_stream = str(erasure_id(holders.old))
    [erasure] = fr.inbox.received(node="BE", stream=erasure_stream)
    assert erasure.body["reference"] == holders.old and list(erasure.body["partners"]) == ["FR"]
    assert fr.inbox.quarantined() == []
    assert fr.inbox.recorder.select_events(received_stream_id("BE", erasure_stream))
    assert verify_store(fr).ok and verify_store(be).ok
