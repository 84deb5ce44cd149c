"""End to end over a real Kafka-protocol broker: after the demo's pistol is traced from FR through
BE, NL and IT, FR's ``history`` shows every hop's custodian with the node that signed it, and NL's
says the pistol is in transit to IT, not held there, since IT never confirmed receipt."""

from __future__ import annotations

import json
import uuid

from nodes.cli.main import run as armsledger
from nodes.demo.story import IT_DEALER, MAKER, NL_DEALER, NL_SECOND_DEALER, DemoNetwork, play
from nodes.registry.federated_history import federated_history

# (record, origin node, custodian after it) in business-time order, as FR holds them.
HOPS = [
    ("Weapon.Manufactured", "BE", MAKER),
    ("Weapon.Exported", "BE", NL_DEALER),
    ("Weapon.Imported", "NL", NL_DEALER),
    ("Weapon.ReceiptConfirmed", "NL", NL_DEALER),
    ("Weapon.Transferred", "NL", "private holder"),  # by reference: the name stays in NL's vault
    ("Weapon.Transferred", "NL", NL_SECOND_DEALER),
    ("Weapon.Exported", "NL", IT_DEALER),
    ("Weapon.Seized", "FR", ""),
]


def _custodian(event: dict) -> str:
    body = event["body"]
    for name in ("holder", "consignee", "to_holder", "received_by"):
        if body.get(name):
            return str(body[name])
    return ""


def test_the_traced_pistols_history_on_fr_shows_every_hop_and_nl_sees_it_in_transit(tmp_path, kafka_bootstrap,
                                                                                   capsys):
    with DemoNetwork(tmp_path, passphrase="pw", bootstrap=kafka_bootstrap,
                     topic_prefix=f"hist{uuid.uuid4().hex[:10]}") as net:
        outcome = play(net)
        pistol = outcome.weapon_id
        fr_document = federated_history(net["FR"], pistol)
        fr_own = federated_history(net["FR"], pistol, own_only=True)
        nl_document = federated_history(net["NL"], pistol)
        capsys.readouterr()
        code = armsledger(["--home", str(tmp_path / "fr"), "history", str(pistol)[:8], "--json"], {})
        cli_document = json.loads(capsys.readouterr().out)
        code_text = armsledger(["--home", str(tmp_path / "nl"), "history", "--weapon", str(pistol)], {})
        nl_text = capsys.readouterr().out
        armsledger(["--home", str(tmp_path / "fr"), "history", str(pistol)], {})
        fr_text = capsys.readouterr().out

    events = fr_document["events"]
    private = outcome.private_holder
    assert private.startswith("person:")
    assert [(e["type"], e["node"], _custodian(e).replace(private, "private holder")) for e in events] == HOPS
    assert [e["source"] for e in events] == ["trace"] * 7 + ["own"]
    assert all(e["verified"] for e in events) and fr_document["verified"]
    assert [e["authority_kind"] for e in events][:3] == ["licensing", "customs", "customs"]
    assert fr_document["status"] == "seized" and fr_document["place"] == "FR" and not fr_document["in_transit_to"]
    assert [e["type"] for e in fr_own["events"]] == ["Weapon.Seized"]
    assert code == 0 and cli_document == fr_document  # the CLI shows the same document, the id typed short
    assert "status   seized in FR\n" in fr_text and "8 records held: 1 ours, 0 from partners, 7 from trace" in fr_text
    assert fr_text.count("verified (trace answer)") == 7

    # NL holds its own records and BE's export to it, but no word from IT: in transit, not held in IT.
    assert nl_document["status"] == "exported" and nl_document["in_transit_to"] == "IT"
    assert code_text == 0
    assert f"exported, in transit to IT (consignee {IT_DEALER}), receipt not confirmed" in nl_text
    assert "held by" not in nl_text
