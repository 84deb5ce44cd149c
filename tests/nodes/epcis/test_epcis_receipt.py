"""A customs system's ``receiving`` event at the importing node confirms receipt of a partner's export as
``armsledger record receipt`` does (FP art 10(4)): the weapon's record opens here from the exporter's signed
export, and the receipt goes back to close the shipment. The importing node runs on each backend."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from epcis_conformance import assert_valid

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.shipment import Shipment
from domain.time import SECONDS_PER_DAY as DAY
from nodes.epcis.exchange import import_command, import_document
from nodes.epcis.export import weapon_document

from memory_federation import MemoryFederation

NOW = int(time.time()) - 60


@pytest.fixture
def fed(tmp_path, db_url):
    federation = MemoryFederation(tmp_path, lambda s: db_url if s == "NL" else str(tmp_path / f"{s}.db"),
                                  ["BE", "NL"])
    yield federation
    federation.close()


def _licence(node, number, kind, holder):
    return node.registry.issue_licence(number=number, kind=kind, holder=holder, valid_from=NOW - 400 * DAY,
                                       valid_until=NOW + 400 * DAY, export_state="BE", import_state="NL",
                                       consignee="Wapenhandel BV", occurred_on=NOW - 200 * DAY)


def test_a_receiving_event_confirms_receipt_of_a_partners_export(fed):
    be, nl = fed["BE"], fed["NL"]
    weapon = be.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "RX-1"), type="pistol", make="FN",
                                     model="Five-seveN", calibre="5.7x28", year=2020, holder="FN Herstal",
                                     occurred_on=NOW - 300 * DAY)
    _licence(be, "EL-1", LicenceKind.EXPORT_LICENCE, "FN Herstal")
    be.inbox.accept(nl.registry.envelopes(_licence(nl, "NL-IA-1", LicenceKind.IMPORT_AUTHORIZATION,
                                                  "Wapenhandel BV")))
    shipment = be.registry.export(weapon_ids=[weapon], licence="EL-1", import_authorization="NL-IA-1",
                                  to_state="NL", consignee="Wapenhandel BV", occurred_on=NOW - 100 * DAY)
    fed.deliver("BE", "NL")
    arrived = NOW - 90 * DAY
    at_plus_one = datetime.fromtimestamp(arrived, timezone(timedelta(hours=1))).isoformat()
    received = weapon_document(be.registry, weapon).document["epcisBody"]["eventList"][0]["epcList"][0]
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-02T10:00:00Z",
                "epcisBody": {"eventList": [{
                    "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "disposition": "active",
                    "epcList": [received], "eventTime": at_plus_one, "eventTimeZoneOffset": "+01:00",
                    "destinationList": [{"type": "possessing_party",
                                         "destination": "urn:armsledger:party:Wapenhandel%20BV"}]}]}}
    assert_valid(document)
    done = import_document(nl, import_command(document, nl))
    assert done[0]["weapon_ids"] == [str(weapon)]
    records = nl.registry.envelopes(weapon)
    assert [e.type for e in records] == ["Weapon.Imported", "Weapon.ReceiptConfirmed"]
    assert (records[0].body["from_state"], records[0].body["holder"], records[0].body["shipment"]) == (
        "BE", "Wapenhandel BV", str(shipment))
    assert records[1].occurred_on == arrived  # the event's time, whatever its offset

    fed.deliver("NL", "BE")
    closed = be.registry.repository.get(shipment)
    assert isinstance(closed, Shipment) and not closed.is_open
