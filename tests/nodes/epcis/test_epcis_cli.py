"""``armsledger epcis export|import`` on SQLite and PostgreSQL: the round trip between two nodes keeps every
field both sides have, a shipment and a period are exported as valid documents, a customs document is
recorded, and every refusal exits 2 naming the event and the field, and writes nothing."""

from __future__ import annotations

import json

import pytest
from epcis_conformance import assert_valid, example, schema_path

from deploy.throwaway_postgres import throwaway_database
from domain.marking import Marking

from inprocess_cli import Cli, node_environment

MARKING = ("--manufacturer", "FN Herstal", "--country", "BE", "--serial", "386/PN 01")
# What the records keep that both nodes have: the recording state and officer differ by design.
KEPT = ("marking", "type", "make", "model", "calibre", "year", "holder", "from_holder", "to_holder", "licence",
        "place", "circumstances", "certificate", "method", "flags")


@pytest.fixture
def nodes(monkeypatch, capsys, tmp_path, db_url, request):
    """A BE node and an NL node, each in its own database of the backend under test."""
    node_environment(monkeypatch)
    if db_url.startswith("postgresql"):
        with throwaway_database(request.getfixturevalue("pg_dsn"), "armsledger_test") as other:
            yield _two(capsys, tmp_path, db_url, other)
    else:
        yield _two(capsys, tmp_path, db_url, str(tmp_path / "nl.db"))


def _alone(monkeypatch, capsys, tmp_path, db_url, state):
    node_environment(monkeypatch)
    cli = Cli(capsys, tmp_path / state.lower(), db_url)
    cli.ok("init", "--state", state)
    return cli


@pytest.fixture
def nl(monkeypatch, capsys, tmp_path, db_url):
    """An NL node alone, on the backend under test."""
    return _alone(monkeypatch, capsys, tmp_path, db_url, "NL")


@pytest.fixture
def be(monkeypatch, capsys, tmp_path, db_url):
    """A BE node alone, on the backend under test."""
    return _alone(monkeypatch, capsys, tmp_path, db_url, "BE")


def _two(capsys, tmp_path, be_db, nl_db):
    be, nl = Cli(capsys, tmp_path / "be", be_db), Cli(capsys, tmp_path / "nl", nl_db)
    be.ok("init", "--state", "BE")
    nl.ok("init", "--state", "NL")
    return be, nl


def issue(cli, number, kind, holder, *extra):
    cli.ok("licence", "issue", "--number", number, "--kind", kind, "--holder", holder, "--valid-from", "2020-01-01",
           "--valid-until", "2099-12-31", "--date", "2020-01-01", *extra)


def manufacture(cli, *marking):
    return cli.ok("record", "manufacture", *(marking or MARKING), "--type", "pistol", "--make", "FN",
                  "--model", "Five-seveN", "--calibre", "5.7x28", "--year", "2020", "--holder", "FN Herstal",
                  "--date", "2020-03-02").out.strip()


def records(cli, weapon):
    return [(e["type"], e["occurred_on"], {k: e["body"][k] for k in KEPT if k in e["body"]})
            for e in cli.ok("history", weapon, "--own", "--json").json()["events"]]


def everything(cli):
    return cli.ok("epcis", "export", "--since", "1970-01-01").json()["epcisBody"]["eventList"]


def test_the_round_trip_keeps_every_field_both_sides_have(nodes, tmp_path):
    be, nl = nodes
    issue(be, "TL-1", "transfer_licence", "Dealer SA")
    weapon = manufacture(be)
    be.ok("record", "transfer", "--weapon", weapon[:6], "--to", "Dealer SA", "--licence", "TL-1",
          "--date", "2021-01-05")
    be.ok("record", "seize", "--weapon", weapon, "--place", "Antwerp", "--circumstances", "raid",
          "--date", "2022-02-01")
    be.ok("record", "deactivate", "--weapon", weapon, "--certificate", "DC-1", "--method", "EU 2015/2403",
          "--date", "2022-03-01")
    be.ok("record", "destroy", "--weapon", weapon, "--method", "shredding", "--certificate", "DS-1",
          "--date", "2022-04-01")
    exported = tmp_path / "weapon.jsonld"
    be.ok("epcis", "export", *MARKING, "-o", str(exported), "--validate", str(schema_path()), "--purpose", "case 7")
    document = json.loads(exported.read_text())
    assert_valid(document)
    assert [e["bizStep"] for e in document["epcisBody"]["eventList"]] == [
        "commissioning", "accepting", "holding", "decommissioning", "destroying"]
    assert document["epcisBody"]["eventList"][0]["epcList"] == ["urn:armsledger:firearm:FN%20Herstal:BE:386%2FPN%2001"]
    assert [(r["action"], r["subject"], r["purpose"]) for r in be.ok("audit", "reads", "--json").json()["reads"]][0] \
        == ("history", weapon, "case 7")

    issue(nl, "TL-1", "transfer_licence", "Dealer SA")
    done = nl.ok("epcis", "import", str(exported), "--validate", str(schema_path()), "--json").json()["recorded"]
    assert [d["weapon_ids"] for d in done] == [[weapon]] * 5   # the same weapon id, derived from the marking
    assert records(nl, weapon) == records(be, weapon)
    again = {k: v for k, v in nl.ok("history", weapon, "--own", "--json").json()["events"][2]["body"].items()}
    assert again["state"] == "NL"  # the seizure is NL's record, signed by NL's police
    ours, theirs = everything(be), everything(nl)
    strip = ("eventID", "recordTime", "bizLocation")
    assert [{k: v for k, v in e.items() if k not in strip} for e in theirs] == \
        [{k: v for k, v in e.items() if k not in strip} for e in ours]


def test_a_shipment_and_a_period_export_as_valid_documents(be):
    issue(be, "EL-1", "export_licence", "FN Herstal", "--export-state", "BE", "--import-state", "NL",
          "--quantity", "2", "--end-user", "Police NL")
    first, second = manufacture(be), manufacture(be, "--manufacturer", "FN Herstal", "--country", "BE",
                                                 "--serial", "386PN02")
    shipment = be.ok("record", "export", "--weapon", first, "--weapon", second, "--licence", "EL-1",
                     "--import-authorization", "IA-9", "--to", "NL", "--date", "2023-03-01").out.strip()
    document = be.ok("epcis", "export", "--shipment", shipment[:8]).json()  # the start of its id will do
    assert_valid(document)
    events = document["epcisBody"]["eventList"]
    aggregation = [e for e in events if e["type"] == "AggregationEvent"]
    assert [(a["parentID"], len(a["childEPCs"]), a["armsledger:licence"]) for a in aggregation] == [
        (f"urn:uuid:{shipment}", 2, "EL-1")]
    shipped = [e for e in events if e["type"] == "ObjectEvent"]
    assert {e["bizStep"] for e in shipped} == {"shipping"} and len(shipped) == 2
    assert shipped[0]["destinationList"] == [{"type": "location", "destination": "urn:armsledger:state:NL"}]
    # A weapon found with an obliterated serial (ITI para 9) has a random id, and is named by it.
    found = be.ok("record", "seize", "--manufacturer", "Unknown", "--country", "BE", "--serial", "AB??1",
                  "--type", "pistol", "--calibre", "9x19", "--place", "Gent", "--date", "2023-06-01").out.strip()
    since = be.ok("epcis", "export", "--since", "2023-01-01").json()
    assert_valid(since)
    events = since["epcisBody"]["eventList"]
    assert len(events) == 4  # the manufactures of 2020 are before the date
    assert (events[-1]["epcList"], events[-1]["bizStep"], events[-1]["armsledger:place"]) == (
        [f"urn:uuid:{found}"], "holding", "Gent")
    audited = {(r["action"], r["subject"]) for r in be.ok("audit", "reads", "--json").json()["reads"]}
    assert ("shipment", shipment) in audited and ("history", first) in audited

    # The same shipment again: the licence's quantity is used up, so the rules refuse it; nothing is written.
    path = be.home / "shipment.jsonld"
    path.write_text(json.dumps(document))
    before = everything(be)
    refused = be.refused("epcis", "import", str(path))
    assert "armsledger:licence: eventList[0]" in refused.err and "0 left" in refused.err
    assert everything(be) == before


def test_a_customs_document_records_the_import_and_its_receipt(nl):
    uri, holder = "urn:armsledger:firearm:Glock%20GmbH:AT:ABC%20123", "urn:armsledger:party:Wapenhandel%20BV"
    common = {"epcList": [uri], "eventTimeZoneOffset": "+02:00", "action": "OBSERVE"}
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                             {"armsledger": "urn:armsledger:epcis:"}],
                "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-05-02T10:00:00Z",
                "epcisBody": {"eventList": [
                    {**common, "type": "ObjectEvent", "eventID": "urn:uuid:5a1f0000-0000-4000-8000-000000000001",
                     "eventTime": "2024-05-01T09:00:00+02:00", "bizStep": "arriving", "disposition": "active",
                     "sourceList": [{"type": "location", "source": "urn:armsledger:state:AT"}],
                     "destinationList": [{"type": "owning_party", "destination": holder}],
                     "armsledger:importAuthorization": "NL-IA-44", "armsledger:shipment": "AT-S-1",
                     "armsledger:description": {"type": "pistol", "make": "Glock", "model": "17",
                                                "calibre": "9x19"}},
                    {**common, "type": "ObjectEvent", "eventTime": "2024-05-01T15:00:00+02:00",
                     "bizStep": "https://ref.gs1.org/cbv/BizStep-receiving", "disposition": "active",
                     "destinationList": [{"type": "possessing_party", "destination": holder}]},
                ]}}
    assert_valid(document)
    path = nl.home.parent / "customs.jsonld"
    path.write_text(json.dumps(document))
    done = nl.ok("epcis", "import", str(path)).out
    assert "2 events recorded" in done
    weapon = str(Marking.read("Glock GmbH", "AT", "ABC 123").weapon_id())
    events = nl.ok("history", weapon, "--own", "--json").json()["events"]
    assert [e["type"] for e in events] == ["Weapon.Imported", "Weapon.ReceiptConfirmed"]
    imported = events[0]["body"]
    assert (imported["from_state"], imported["holder"], imported["import_authorization"], imported["calibre"],
            imported["shipment"], events[0]["occurred_on"]) == (
        "AT", "Wapenhandel BV", "NL-IA-44", "9x19", "AT-S-1", 1714546800)  # 09:00 at +02:00 is 07:00 UTC
    assert [e["authority_kind"] for e in events] == ["customs", "customs"]


def _document(*events):
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-05-02T10:00:00Z",
            "epcisBody": {"eventList": list(events)}}


_MADE = {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "eventTime": "2021-01-01T00:00:00Z",
         "eventTimeZoneOffset": "+00:00", "eventID": "urn:uuid:00000000-0000-4000-8000-00000000000a",
         "epcList": ["urn:armsledger:firearm:Beretta:IT:P-1"],
         "destinationList": [{"type": "owning_party", "destination": "urn:armsledger:party:Beretta"}],
         "ilmd": {"armsledger:type": "pistol", "armsledger:calibre": "9x19", "armsledger:year": 2020}}
_MOVED = {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "accepting", "eventTime": "2021-02-01T00:00:00Z",
          "eventTimeZoneOffset": "+00:00", "eventID": "urn:uuid:00000000-0000-4000-8000-00000000000b",
          "epcList": ["urn:armsledger:firearm:Beretta:IT:P-1"], "armsledger:licence": "TL-404",
          "destinationList": [{"type": "owning_party", "destination": "urn:armsledger:party:Someone"}]}


REFUSED_DOCUMENTS = [
    (_document(_MADE, _MOVED), ("eventList[1] (urn:uuid:00000000-0000-4000-8000-00000000000b)", "armsledger:licence",
                                "TL-404")),
    (_document({**_MADE, "ilmd": {"armsledger:type": "pistol"}}), ("eventList[0]", "ilmd", "year")),
    (_document({**_MADE, "eventTime": "2999-01-01T00:00:00Z"}), ("eventList[0]", "eventTime", "future")),
    (_document({**_MADE, "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}), ("eventList[0]", "epcList", "")),
    (_document({**_MADE, "bizStep": "repairing"}), ("eventList[0]", "bizStep", "repairing")),
    (_document(), ("eventList", "no event", "")),
    ("{not json", ("file", "not a JSON document", "")),
]
MISSING = ("epcis", "import", "/nonexistent/refused.jsonld")


def test_a_refused_document_names_the_event_and_field_and_writes_nothing(nl):
    # The first case is all or nothing: its manufacture was accepted, the transfer after it refused.
    path = nl.home.parent / "refused.jsonld"
    gs1 = (example("Example_9.6.1-ObjectEvent.jsonld"), ("epcList: eventList[0]", "urn:epc:id:sgtin"))
    for document, named in [*REFUSED_DOCUMENTS, gs1]:
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        refused = nl.refused("epcis", "import", str(path))
        for text in named:
            assert text in refused.err, refused.err
    assert "file" in nl.refused(*MISSING).err
    assert "--validate" in nl.refused("epcis", "import", str(path), "--validate", "/nonexistent/schema.json").err
    assert everything(nl) == []


REFUSED_EXPORTS = [
    (("epcis", "export", "1234abcd", "--shipment", "6f1c7d52-3a0e-4b6e-9a43-0f9d7e1c2b11"), "weapon"),
    (("epcis", "export"), "weapon"),
    (("epcis", "export", "--since", "last week"), "--since"),
    (("epcis", "export", "--shipment", "S-1"), "--shipment"),
    (("epcis", "export", "--shipment", "6f1c7d52-3a0e-4b6e-9a43-0f9d7e1c2b11"), "--shipment"),
    (("epcis", "export", "--since", "2020-01-01", "--validate", "/nonexistent/schema.json"), "--validate"),
    (("epcis", "export", "zz"), "weapon"),
]


def test_a_refused_export_names_the_option_and_reads_nothing(nl):
    be = nl
    manufacture(be)
    before = be.ok("audit", "reads", "--json").json()["reads"]
    for argv, named in REFUSED_EXPORTS:
        refused = be.refused(*argv)
        assert named in refused.err and refused.out == "", (argv, refused.err)
    assert be.ok("audit", "reads", "--json").json()["reads"] == before
