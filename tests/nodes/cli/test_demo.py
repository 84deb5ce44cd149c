"""The federated demo: the story on five nodes over a real broker, its verdict, and ``armsledger demo``."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from domain.diversion import Custodian, Rule
from domain.trace import TraceStatus
from nodes.cli.main import run as armsledger
from nodes.demo.story import NL_SECOND_DEALER, DemoNetwork, play
from nodes.registry.verify import verify_store

TIMELINE = [
    ("Weapon.Manufactured", "BE"), ("Shipment.Opened", "BE"), ("Weapon.Exported", "BE"),
    ("Weapon.Imported", "NL"), ("Weapon.ReceiptConfirmed", "NL"), ("Shipment.ReceiptConfirmed", "BE"),
    ("Weapon.Transferred", "NL"), ("Weapon.Transferred", "NL"), ("Shipment.Opened", "NL"),
    ("Weapon.Exported", "NL"), ("Weapon.Seized", "FR"),
]


def test_the_story_ends_at_the_export_never_confirmed_and_every_node_verifies(tmp_path, kafka_bootstrap):
    told: list[str] = []
    with DemoNetwork(tmp_path, passphrase="pw", bootstrap=kafka_bootstrap,
                     topic_prefix=f"demo{uuid.uuid4().hex[:10]}") as net:
        outcome = play(net, told.append)
        audits = {state: verify_store(net[state], workers=1) for state in net.states}
        quarantined = {state: net[state].inbox.quarantined() for state in net.states}

    verdict = outcome.verdict
    assert verdict.rule is Rule.EXPORT_NEVER_CONFIRMED, verdict.sentence
    assert verdict.last_legal_custodian == Custodian(NL_SECOND_DEALER, "NL")
    assert verdict.place == "in transit from NL to IT" and verdict.complete
    assert {("Weapon.Exported", "NL"), ("Weapon.Seized", "FR")} <= {(e.type, e.node) for e in verdict.evidence}
    assert "IT never confirmed receipt" in verdict.sentence

    assert [(h.addressee, h.status) for h in outcome.hops] == [
        ("BE", TraceStatus.FORWARDED), ("NL", TraceStatus.FORWARDED), ("IT", TraceStatus.UNTRACEABLE)]
    assert all(h.fragment is None or (h.fragment.records and not h.fragment.problems) for h in outcome.hops)
    assert [(e.type, e.node) for e in outcome.timeline] == TIMELINE
    assert "no import authorization 'NL-IA-2021-0318' of NL has been received" in outcome.refusal
    assert outcome.open_shipments["BE"] == []   # closed by NL's receipt confirmation
    assert [(s["to_state"], s["overdue"]) for s in outcome.open_shipments["NL"]] == [("IT", True)]
    assert any("shipment" in line and "is closed" in line for line in told)

    for state, report in audits.items():
        assert report.ok and report.events_checked > 0 and report.unsealed == 0, (state, report.problems)
    assert quarantined == {state: [] for state in audits}


def test_armsledger_demo_prints_the_trace_timeline_and_verdict_and_cleans_up(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert armsledger(["demo"], {}) == 0    # no passphrase set: "demo"
    out = capsys.readouterr().out
    for heading in ("Network", "The story", "Trace ", "Federated timeline", "Point of diversion", "Integrity"):
        assert re.search(rf"^{heading}.*\n-+$", out, re.M), heading
    assert "FR -> BE -> NL -> IT" in out
    # the private sport shooter appears by reference only, in the story and in the timeline
    assert re.search(r"transfer to a private sport shooter, recorded as person:[A-Z2-7]{26} ", out)
    assert re.search(r"^  2022-02-14  Weapon\.Transferred +NL +[0-9a-f]{12}  to person:[A-Z2-7]{26}, ", out, re.M)
    assert "Pieter" not in out and "Vries" not in out
    assert re.search(r"^  rule +export-never-confirmed", out, re.M)
    assert re.search(rf"^  last legal custodian +{NL_SECOND_DEALER} \(NL\)$", out, re.M)
    assert re.search(r"^  2023-09-05  Weapon\.Exported +NL +[0-9a-f]{12}  to IT", out, re.M)
    assert len(re.findall(r"^  (BE|NL|DE|IT|FR)  verify ok", out, re.M)) == 5
    assert "WARNING" not in out and "Traceback" not in out
    homes = Path(re.search(r"^Homes in (\S+) ", out, re.M).group(1))
    assert not homes.exists()
    assert list(tmp_path.iterdir()) == []   # nothing left in the working directory


def test_demo_keeps_the_homes_on_request_for_offline_questions(tmp_path, capsys):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("")
    assert armsledger(["demo", "--keep", str(occupied)], {}) == 2
    assert "keep" in capsys.readouterr().err

    kept = tmp_path / "kept"
    assert armsledger(["demo", "--keep", str(kept)], {"ARMSLEDGER_PASSPHRASE": "secret"}) == 0
    capsys.readouterr()
    assert sorted(p.name for p in kept.iterdir()) == ["be", "de", "fr", "it", "nl"]
    code = armsledger(["--home", str(kept / "fr"), "diversion", "--manufacturer", "FN Herstal", "--country", "BE",
                       "--serial", "386PN04127", "--json"], {})
    assert code == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["rule"] == "export-never-confirmed"
    assert verdict["last_legal_custodian"] == {"holder": NL_SECOND_DEALER, "state": "NL"}
