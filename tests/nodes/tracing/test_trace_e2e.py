"""End to end over a real Kafka-protocol broker: export, receipt, a second export never confirmed,
a seizure, a multi-hop trace and the point of diversion.

Four national nodes (BE, NL, DE, FR; NL on each backend through ``db_url``) run
the real inbox, ingest, relay and sharing policy; each step is a library call or
an ``armsledger`` command, and ``Cluster.settle`` drives sync passes in-process
until nothing moves. The same story without a broker is in test_reactions.py.
"""

from __future__ import annotations

import json

import pytest

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from domain.trace import TraceStatus
from nodes.cli.main import run as armsledger
from nodes.federation import crossborder
from nodes.registry.identity import authorities_stream
from nodes.settings import Settings
from nodes.tracing import service as tracing

from federation_nodes import PASSPHRASE, Cluster, now

MARKING = Marking.read("FN Herstal", "BE", "FN57-0042")
SERIAL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-0042"]


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "NL", "DE", "FR"], db={"NL": db_url})
    yield cluster
    cluster.close()


class Cli:
    """``armsledger`` on one node of the cluster, in-process."""

    def __init__(self, cluster: Cluster, state: str, capsys):
        self.capsys = capsys
        self.environ = cluster.environ(cluster[state].settings)

    def __call__(self, *argv: str) -> dict:
        return json.loads(self.text(*argv, "--json"))

    def text(self, *argv: str) -> str:
        self.capsys.readouterr()
        code = armsledger(list(argv), self.environ)
        out, err = self.capsys.readouterr()
        assert code == 0, err
        return out


def licence(node, number, kind, holder, export_state, import_state, **fields):
    node.registry.issue_licence(number=number, kind=kind, holder=holder, valid_from=now() - 500 * DAY,
                                valid_until=now() + 500 * DAY, export_state=export_state,
                                import_state=import_state, occurred_on=now() - 450 * DAY, **fields)


def test_a_weapon_traced_across_three_states_to_an_export_never_confirmed(cluster, capsys):
    be, nl, de, fr = (cluster[s] for s in ("BE", "NL", "DE", "FR"))
    nl_cli, fr_cli = Cli(cluster, "NL", capsys), Cli(cluster, "FR", capsys)

    # BE makes the pistol; NL authorizes its import (FP art 10(2)); the authorization travels to BE.
    weapon = be.registry.manufacture(marking=MARKING, type="pistol", make="FN", model="Five-seveN",
                                     calibre="5.7x28", year=2020, holder="FN Herstal", occurred_on=now() - 400 * DAY)
    licence(be, "BE-EL-1", LicenceKind.EXPORT_LICENCE, "FN Herstal", "BE", "NL")
    licence(nl, "NL-IA-1", LicenceKind.IMPORT_AUTHORIZATION, "Wapenhandel BV", "BE", "NL",
            consignee="Wapenhandel BV")
    export = dict(weapon_ids=[weapon], licence="BE-EL-1", import_authorization="NL-IA-1", to_state="NL",
                  consignee="Wapenhandel BV", occurred_on=now() - 300 * DAY)
    with pytest.raises(Exception, match="no import authorization 'NL-IA-1' of NL has been received"):
        be.registry.export(**export)
    cluster.settle()
    shipment = be.registry.export(**export)
    exported = be.registry.envelopes(weapon)[-1]
    assert exported.body["authorization_evidence"]  # the received authorization's hash, not a paper number

    # NL's customs confirm receipt; the confirmation travels back and closes BE's shipment.
    cluster.settle()
    received = nl_cli("record", "receipt", "--shipment", str(shipment), "--date",
                      _date(now() - 290 * DAY))
    assert received["weapon_ids"] == [str(weapon)] and received["from_state"] == "BE"
    cluster.settle()
    assert not be.registry.repository.get(shipment).is_open
    assert crossborder.open_shipments(be) == []

    # NL exports to DE under DE's authorization; DE never confirms receipt.
    licence(nl, "NL-EL-7", LicenceKind.EXPORT_LICENCE, "Wapenhandel BV", "NL", "DE")
    licence(de, "DE-IA-3", LicenceKind.IMPORT_AUTHORIZATION, "Waffen Schmidt GmbH", "NL", "DE")
    cluster.settle()
    second = nl.registry.export(weapon_ids=[weapon], licence="NL-EL-7", import_authorization="DE-IA-3",
                                to_state="DE", consignee="Waffen Schmidt GmbH", occurred_on=now() - 200 * DAY)
    assert [s["shipment_id"] for s in crossborder.open_shipments(nl) if s["overdue"]] == [str(second)]

    # FR seizes the pistol and traces it to its maker's state; the trace hops on by itself.
    fr.registry.seize(marking=MARKING, place="Lille", circumstances="found in a car", type="pistol",
                      calibre="5.7x28", occurred_on=now() - 5 * DAY)
    first = fr_cli("trace", "request", *SERIAL, "--circumstances", "found in a car after a shooting",
                   "--legal-basis", "CPP art 60", "--intended-use", "criminal prosecution", "--priority", "urgent",
                   "--to", "BE")["trace_id"]
    cluster.settle(rounds=8)   # each hop: request out, answer back, forward out

    shown = fr_cli("trace", "show", first)
    hops = [(h["addressee"], h["status"], h["hop"]) for h in shown["hops"]]
    assert hops == [("BE", "FORWARDED", 1), ("NL", "FORWARDED", 2), ("DE", "UNTRACEABLE", 3)]
    assert [s["step"] for s in shown["trace"]["steps"]] == ["Submitted", "Acknowledged", "Responded", "Forwarded"]
    assert all(h["overdue"] == [] and h["acknowledgement"]["done_on"] for h in shown["hops"])
    assert all(h["fragment"] is None or h["fragment"]["problems"] == [] for h in shown["hops"])
    assert "NL recorded its export to DE" in shown["hops"][2]["reason"]
    assert {t["status"] for t in fr_cli("trace", "list")["traces"]} == {"FORWARDED", "UNTRACEABLE"}
    assert tracing.traces(de)[0].status is TraceStatus.UNTRACEABLE

    text = fr_cli.text("trace", "show", first)
    assert "status   FORWARDED: BE's response shows an export to NL" in text
    assert "status   UNTRACEABLE: DE holds no record" in text and "REJECTED" not in text

    verdict = fr_cli("diversion", *SERIAL)
    assert "DE never confirmed receipt" in fr_cli.text("diversion", *SERIAL)
    assert verdict["rule"] == "export-never-confirmed", verdict["sentence"]
    assert verdict["last_legal_custodian"]["state"] == "NL" and verdict["complete"]
    assert "DE never confirmed receipt" in verdict["sentence"]
    evidence = {(e["type"], e["node"]) for e in verdict["evidence"]}
    assert {("Weapon.Exported", "NL"), ("Weapon.Seized", "FR")} <= evidence
    assert verdict["unverified"] == [] and set(verdict["answered"]) == {"BE", "NL", "DE"}
    assert set(verdict["records_by_node"]) == {"BE", "NL", "FR"}

    # The verdict reads each partner's register of authorities once: the answers' fragments are checked against
    # that read, with the same outcome.
    reads = []
    received = fr.inbox.received
    fr.inbox.received = lambda *, node, stream: reads.append((node, stream)) or received(node=node, stream=stream)
    try:
        again, life = tracing.diversion_verdict(fr, weapon)
    finally:
        del fr.inbox.received
    registers = [(node, stream) for node, stream in reads if stream == str(authorities_stream(node))]
    assert sorted(registers) == sorted(set(registers)) and {node for node, _ in registers} == {"BE", "NL", "DE"}
    assert again.rule.value == "export-never-confirmed" and life.unverified == ()
    assert set(life.answered) == {"BE", "NL", "DE"}


def _date(seconds: int) -> str:
    from domain.time import format_time

    return format_time(seconds)


def test_manual_answers_from_the_command_line(tmp_path, kafka_bootstrap, capsys):
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"])
    addressee = cluster["BE"]
    # The addressee only acknowledges by itself: its settings, read once, say so.
    addressee.settings = Settings.load({"ARMSLEDGER_TRACE_AUTORESPOND": "0"}, home=addressee.settings.home,
                                       db=addressee.settings.db, passphrase=PASSPHRASE, kafka=kafka_bootstrap)
    try:
        be, fr = Cli(cluster, "BE", capsys), Cli(cluster, "FR", capsys)
        cluster["BE"].registry.manufacture(marking=MARKING, type="pistol", make="FN", model="Five-seveN",
                                           calibre="5.7x28", year=2020, holder="FN Herstal",
                                           occurred_on=now() - 400 * DAY)
        trace_id = fr("trace", "request", *SERIAL, "--type", "pistol", "--calibre", "5.7x28", "--circumstances",
                      "seized at a border check", "--legal-basis", "CPP art 60", "--intended-use", "prosecution",
                      "--to", "BE")["trace_id"]
        cluster.settle()
        assert fr("trace", "show", trace_id)["trace"]["status"] == "ACKNOWLEDGED"
        assert be("trace", "list")["traces"][0]["role"] == "addressee"

        refused = armsledger(["trace", "refuse", trace_id, "--ground", "because", "--explanation", "x"], be.environ)
        assert refused == 2 and "--ground" in capsys.readouterr().err
        be("trace", "delay", trace_id, "--ground", "ongoing-investigation", "--explanation", "file with the judge",
           "--until", _date(now() + 20 * DAY))
        cluster.settle()
        delayed = fr("trace", "show", trace_id)["trace"]
        assert delayed["status"] == "DELAYED" and "file with the judge" in delayed["reason"]
        assert delayed["response"]["due_by"] >= now() + 20 * DAY

        be("trace", "respond", trace_id)
        cluster.settle()
        traced = fr("trace", "show", trace_id)["trace"]
        assert traced["status"] == "TRACED" and traced["fragment"]["problems"] == []
        assert [r["type"] for r in traced["fragment"]["records"]] == ["Weapon.Manufactured"]
        fr("trace", "close", trace_id, "--outcome", "made in BE, held by its maker: reported to the prosecutor")
        assert fr("trace", "show", trace_id)["trace"]["status"] == "CLOSED"
    finally:
        cluster.close()
