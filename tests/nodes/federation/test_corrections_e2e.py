"""A correction over a real broker: BE reports a weapon stolen and NL, which received the report, seizes the
weapon; BE then corrects the report's place and date. The correction reaches NL (which holds the report) and
no correction of a record NL never received does; NL's ingest accepts it, and NL's verdict and history use the
corrected values while the report stays as signed. BE runs on each backend."""

from __future__ import annotations

import pytest

from domain.event_types import CORRECTED
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY, format_time
from nodes.registry.corrections import correct_record
from nodes.registry.federated_history import federated_history
from nodes.registry.verify import verify_store
from nodes.tracing.lifecycle import diversion_verdict

from federation_nodes import Cluster, manufacture, now


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"BE": db_url}) as cluster:
        yield cluster


def test_a_corrected_theft_report_changes_the_partners_verdict(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    weapon = manufacture(be, "K-1")
    stolen_on = now() - 5 * DAY
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Liège", circumstances="burglary",
                       occurred_on=stolen_on)
    nl.registry.seize(marking=Marking.read("Acme Arms", "BE", "K-1"), place="Rotterdam", circumstances="raid",
                      occurred_on=now())
    cluster.settle("BE", "NL")
    before, _ = diversion_verdict(nl, weapon)
    assert (before.place, before.occurred_on) == ("Liège, BE", stolen_on)

    made, report = be.registry.envelopes(weapon)[:2]
    correct_record(be.registry, record=report.hash.hex()[:8], changes=[("place", "Namur"), (
        "occurred_on", format_time(stolen_on - 2 * DAY))], reason="the station misfiled the report")
    correct_record(be.registry, record=made.hash.hex(), changes=[("model", "A2")], reason="catalogue")
    be.settle()
    cluster.settle("BE", "NL")

    assert nl.inbox.quarantined() == []
    assert [e.body["record"] for e in nl.inbox.received(node="BE", stream=str(weapon))
            if e.type == CORRECTED] == [report.hash.hex()]  # not the manufacture's: NL never received it
    after, _ = diversion_verdict(nl, weapon)
    assert (after.place, after.occurred_on) == ("Namur, BE", stolen_on - 2 * DAY)
    shown = next(e for e in federated_history(nl, weapon)["events"] if e["hash"] == report.hash.hex())
    assert shown["body"]["place"] == "Liège" and shown["corrected"]["place"] == "Namur"
    assert verify_store(nl).problems == () and verify_store(be).problems == ()  # every signature still holds
