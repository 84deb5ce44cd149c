"""The broker register between two nodes over a real Kafka-protocol broker: a partner accepts the
registration, suspension and a later renewal (FP art 15(2)) but never receives the activities, and an
import authorization naming the importing state's broker reaches the exporter with it."""

from __future__ import annotations

from domain.licence import LicenceKind
from domain.time import SECONDS_PER_DAY as DAY
from nodes.registry import brokers
from nodes.registry.broker_documents import broker_document, list_brokers
from nodes.registry.licences import licence_document
from nodes.registry.verify import verify_store

from federation_nodes import Cluster, issue, now


def register(node, number: str) -> None:
    brokers.register_broker(node.registry, number=number, name=f"Broker {number}", seat="Main Street 1",
                            valid_from=now() - 30 * DAY, valid_until=now() + 300 * DAY, occurred_on=now() - 30 * DAY)


def test_partners_receive_the_register_but_not_the_activities(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        register(be, "BR-1")
        brokers.suspend_broker(be.registry, number="BR-1", until=now() - 10 * DAY, reason="inspection",
                               occurred_on=now() - 20 * DAY)
        brokers.record_brokering(be.registry, number="BR-1", kind="negotiation", parties=("Buyer", "Seller"),
                                 description="rifles", occurred_on=now() - 5 * DAY)
        brokers.renew_broker(be.registry, number="BR-1", valid_until=now() + 900 * DAY, occurred_on=now())
        register(nl, "NL-BR-7")
        issue(nl, "IA-NL-1", LicenceKind.IMPORT_AUTHORIZATION, export_state="BE", import_state="NL",
              broker="NL-BR-7")
        be.settle()
        nl.settle()
        cluster.settle("BE", "NL")

        assert nl.inbox.quarantined() == [] and be.inbox.quarantined() == []
        (received,) = [b for b in list_brokers(nl) if b["origin"] == "BE"]
        assert (received["number"], received["signature"]) == ("BR-1", "verified on receipt from BE")
        shown = broker_document(nl, "BR-1")
        assert (shown["activities"], len(shown["suspensions"]), shown["activity_count"]) == ([], 1, 0)
        assert len(shown["periods"]) == 2  # the renewal after an activity NL never received is accepted
        assert broker_document(be, "BR-1")["activity_count"] == 1
        authorization = licence_document(be, "IA-NL-1", LicenceKind.IMPORT_AUTHORIZATION)
        assert (authorization["origin"], authorization["broker"]) == ("NL", "NL-BR-7")
        assert broker_document(be, "NL-BR-7")["origin"] == "NL"
        assert verify_store(nl).problems == () and verify_store(be).problems == ()  # partner records held too
