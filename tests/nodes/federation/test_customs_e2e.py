"""Customs of the importing state over a real broker: a shipment announced to it is listed as
awaiting its receipt, with the days it has been open, until it confirms receipt.

The importing node (IT) runs on ``db_url`` (SQLite, then PostgreSQL); NL on SQLite.
"""

from __future__ import annotations

from domain.licence import LicenceKind
from domain.time import SECONDS_PER_DAY as DAY
from nodes.federation.crossborder import confirm_receipt

from federation_nodes import Cluster, issue, manufacture, now
from inprocess_cli import Cli


def test_an_export_to_it_is_listed_as_incoming_with_days_open_until_it_confirms_receipt(
        tmp_path, kafka_bootstrap, db_url, capsys, monkeypatch):
    monkeypatch.setenv("ARMSLEDGER_PASSPHRASE", "pw")
    with Cluster(tmp_path, kafka_bootstrap, ["NL", "IT"], db={"IT": db_url}) as cluster:
        nl, it = cluster["NL"], cluster["IT"]
        it_cli = Cli(capsys, it.settings.home, it.settings.db)
        issue(it, "IT-IA-7", LicenceKind.IMPORT_AUTHORIZATION, export_state="NL", import_state="IT",
              consignee="Armeria Roma", quantity=2)
        issue(nl, "NL-EL-7", LicenceKind.EXPORT_LICENCE, export_state="NL", import_state="IT",
              consignee="Armeria Roma", quantity=2, place_of_issue="Den Haag", description="2 pistols Acme A1")
        weapons = [manufacture(nl, "NL-1"), manufacture(nl, "NL-2")]
        cluster.settle()
        shipment = nl.registry.export(weapon_ids=weapons, licence="NL-EL-7", import_authorization="IT-IA-7",
                                      to_state="IT", consignee="Armeria Roma", occurred_on=now() - 3 * DAY)
        assert it_cli.ok("shipments", "--incoming", "--json").json()["incoming"] == []  # not synced yet
        cluster.settle()

        listed = it_cli.ok("shipments", "--incoming", "--json").json()
        assert "outgoing" not in listed
        (incoming,) = listed["incoming"]
        assert (incoming["shipment_id"], incoming["from_state"], incoming["days_open"]) == (str(shipment), "NL", 3)
        assert sorted(incoming["weapons"]) == sorted(str(w) for w in weapons)
        text = it_cli.ok("shipments").out
        assert "incoming: announced to this state" in text and f"{shipment}" in text and "3 days open" in text
        assert "outgoing: exported by this state" in text
        # IT's authorization shows its use: one shipment of 2 weapons, none left.
        (sent,) = it_cli.ok("authorizations", "--json").json()["authorizations"]
        assert (sent["direction"], sent["quantity_used"], sent["quantity_left"]) == ("sent", 2, 0)
        assert [u["shipment_id"] for u in sent["shipments"]] == [str(shipment)]

        # Customs type the shipment id as the list prints its start.
        confirm_receipt(it, shipment=str(shipment)[:8], received_by="Armeria Roma")
        cluster.settle()
        assert it_cli.ok("shipments", "--incoming", "--json").json()["incoming"] == []
        (received,) = it_cli.ok("authorizations", "--json").json()["authorizations"]
        assert received["shipments"][0]["received"] is True
        # The exporter's shipment closed too: nothing awaits receipt on either side.
        assert Cli(capsys, nl.settings.home, nl.settings.db).ok("shipments", "--json").json() == {
            "overdue_days": None, "incoming": [], "outgoing": []}
