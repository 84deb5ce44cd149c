"""``armsledger broker ...``, ``licence issue --broker`` and ``record export --broker`` on each backend: the
register's life, activities only while in force, licences and exports naming only a broker in force, and
every refusal exits 2 naming the option and writes nothing."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.event_types import SHIPMENT_OPENED
from nodes.bootstrap import open_node
from nodes.settings import Settings

from inprocess_cli import Cli, node_environment


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    """A BE node on each backend with broker BR-1 registered for 2024 and 2025."""
    node_environment(monkeypatch)
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    run.ok("broker", "register", "BR-1", "--name", "Trade SA", "--seat", "Rue Haute 1, Brussels",
           "--valid-from", "2024-01-01", "--valid-until", "2025-12-31", "--date", "2024-01-01")
    return run


def stored(cli: Cli) -> int:
    """How many records the node's log holds."""
    with open_node(Settings.load(environ={}, home=cli.home, db=cli.db), unlock=False) as node:
        return node.registry.recorder.max_notification_id() or 0


def manufacture(cli: Cli, serial: str) -> str:
    return cli.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", serial,
                  "--type", "pistol", "--model", "Five-seveN", "--calibre", "5.7", "--year", "2023",
                  "--holder", "FN Herstal", "--date", "2024-01-02").out.strip()


def test_a_broker_acts_while_registered_and_shows_its_periods_suspensions_and_activities(cli):
    weapon = manufacture(cli, "BRK-1")
    cli.ok("broker", "activity", "BR-1", "--kind", "arranging-transfer", "--party", "Buyer Ltd", "--party",
           "FN Herstal", "--weapon", weapon[:8], "--date", "2024-03-01")
    cli.ok("broker", "suspend", "BR-1", "--until", "2024-06-30", "--reason", "inspection", "--date", "2024-05-01")
    suspended = cli.refused("broker", "activity", "BR-1", "--kind", "negotiation", "--party", "X",
                            "--description", "200 rifles", "--date", "2024-05-02")
    assert "broker BR-1 (Trade SA) is suspended on 2024-05-02 until 2024-06-30: inspection" in suspended.err
    cli.ok("broker", "renew", "br 1", "--valid-until", "2027-12-31", "--date", "2025-06-01")
    cli.ok("broker", "revoke", "BR-1", "--reason", "convicted of trafficking", "--date", "2026-01-15")
    document = cli.ok("broker", "show", "BR-1", "--json").json()
    assert (document["state"], document["activity_count"], document["signature"]) == ("revoked", 1, "verified")
    assert [p["valid_until_utc"][:10] for p in document["periods"]] == ["2025-12-31", "2027-12-31"]
    (act,) = document["activities"]
    assert (act["kind"], act["weapons"]) == ("arranging_transfer", [weapon])
    assert act["parties"] == ["Buyer Ltd", "FN Herstal"]
    text = cli.ok("broker", "show", "BR-1").out
    for shown in ("BR-1 registered by BE", "Rue Haute 1, Brussels", "revoked: convicted of trafficking",
                  "2024-05-01 to 2024-06-30: inspection", "2024-03-01  arranging_transfer  between Buyer Ltd"):
        assert shown in text, shown
    assert [b["number"] for b in cli.ok("broker", "list", "--state", "revoked", "--json").json()["brokers"]] == ["BR-1"]
    assert cli.ok("broker", "list", "--state", "registered").out.strip() == "no broker matches"
    assert "broker BR-1 of BE" in [r["subject"] for r in cli.ok("audit", "reads", "--json").json()["reads"]]
    assert cli.ok("verify").out.startswith("ok: ")


def test_licences_and_exports_name_only_a_broker_in_force(cli):
    export_licence = ("licence", "issue", "--number", "EL-1", "--kind", "export_licence", "--holder", "FN Herstal",
                      "--valid-from", "2024-01-01", "--valid-until", "2026-12-31", "--export-state", "BE",
                      "--import-state", "NL", "--date", "2024-02-01")
    before = stored(cli)
    unknown = cli.refused(*export_licence, "--broker", "BR-404")
    assert "--broker: no broker 'BR-404' is registered with BE" in unknown.err
    assert stored(cli) == before
    cli.ok(*export_licence, "--broker", "BR-1")
    assert "broker     BR-1" in cli.ok("licence", "show", "EL-1").out
    weapons = [manufacture(cli, f"EXP-{n}") for n in range(3)]
    export = ("record", "export", "--licence", "EL-1", "--import-authorization", "IA-NL-1", "--to", "NL")
    cli.ok("broker", "suspend", "BR-1", "--until", "2024-06-30", "--reason", "inspection", "--date", "2024-05-01")
    before = stored(cli)
    for refused, reason in (
        ((*export, "--weapon", weapons[0], "--date", "2024-05-10"), "is suspended on 2024-05-10"),
        ((*export, "--weapon", weapons[0], "--broker", "BR-2", "--date", "2024-07-01"),
         "licence names broker BR-1, not BR-2"),
        ((*export, "--weapon", weapons[0], "--date", "2026-02-01"), "was not registered on 2026-02-01"),
    ):
        err = cli.refused(*refused).err
        assert "refused: --broker: " in err and reason in err, err
    assert stored(cli) == before
    shipment = cli.ok(*export, "--weapon", weapons[1], "--broker", "br-1", "--date", "2024-07-01").out.strip()
    assert opened(cli, shipment)["broker"] == "BR-1"
    cli.ok("broker", "revoke", "BR-1", "--reason", "convicted", "--date", "2024-08-01")
    before = stored(cli)
    revoked = cli.refused(*export, "--weapon", weapons[2], "--date", "2024-08-02").err
    assert "--broker: broker BR-1 (Trade SA) was revoked on 2024-08-01: convicted" in revoked
    assert stored(cli) == before
    assert cli.ok("broker", "show", "BR-1", "--json").json()["licences"] == [
        {"number": "EL-1", "kind": "export_licence", "issuer_state": "BE"}]


def opened(cli: Cli, shipment: str) -> dict:
    with open_node(Settings.load(environ={}, home=cli.home, db=cli.db), unlock=False) as node:
        (record,) = [e for e in node.registry.envelopes(UUID(shipment)) if e.type == SHIPMENT_OPENED]
        return dict(record.body)


REFUSED = [
    (("broker", "register", "BR-1", "--name", "X", "--seat", "Y", "--valid-from", "2024-01-01", "--valid-until",
      "2024-12-31", "--date", "2024-01-01"), "REG", "is registered already"),
    (("broker", "register", "BR-2", "--name", "X", "--seat", "Y", "--valid-from", "2024-02-01", "--valid-until",
      "2024-01-01", "--date", "2024-01-01"), "--valid-until", "ends before valid_from"),
    (("broker", "register", "BR-2", "--name", " ", "--seat", "Y", "--valid-from", "2024-01-01", "--valid-until",
      "2024-12-31"), "--name", "is required"),
    (("broker", "renew", "BR-9", "--valid-until", "2030-01-01"), "REG", "no broker 'BR-9' is registered with BE"),
    (("broker", "renew", "BR-1", "--valid-until", "2025-01-01"), "--valid-until", "must be after"),
    (("broker", "suspend", "BR-1", "--until", "2024-03-01", "--reason", "x", "--date", "2024-04-01"), "--until",
     "is before the suspension starts"),
    (("broker", "revoke", "BR-1", "--reason", " "), "--reason", "is required"),
    (("broker", "activity", "BR-1", "--kind", "smuggling", "--party", "X", "--description", "y"), "--kind",
     "'smuggling' is not a brokering activity"),
    (("broker", "activity", "BR-1", "--kind", "negotiation", "--description", "y", "--date", "2024-03-01"),
     "--party", "name the parties"),
    (("broker", "activity", "BR-1", "--kind", "negotiation", "--party", "X", "--date", "2024-03-01"), "--weapon",
     "name the weapons or licence concerned"),
    (("broker", "activity", "BR-1", "--kind", "negotiation", "--party", "X", "--weapon", "zzzz"), "--weapon",
     "'zzzz' is not an id"),
    (("broker", "activity", "BR-1", "--kind", "negotiation", "--party", "X", "--licence", "EL-404"), "--licence",
     "'EL-404'"),
    (("broker", "activity", "BR-1", "--kind", "negotiation", "--party", "X", "--description", "y", "--date",
      "2023-06-01"), "broker", "is not registered before 2024-01-01"),
    (("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence", "--holder", "Jan", "--valid-from",
      "2024-01-01", "--valid-until", "2024-12-31", "--broker", "BR-1", "--date", "2024-02-01"), "--broker",
     "names no broker"),
    (("licence", "issue", "--number", "EL-1", "--kind", "export_licence", "--holder", "FN", "--valid-from",
      "2023-01-01", "--valid-until", "2024-12-31", "--export-state", "BE", "--import-state", "NL", "--broker",
      "BR-1", "--date", "2023-06-01"), "--broker", "is not registered before 2024-01-01"),
    (("broker", "list", "--state", "dormant"), "--state", "'dormant' is not a broker state"),
    (("broker", "show", "BR-404"), "REG", "no broker 'BR-404'"),
]


def test_every_refusal_names_the_option_and_writes_nothing(cli):
    before = stored(cli)
    for argv, option, reason in REFUSED:
        refused = cli.refused(*argv)
        assert option in refused.err and reason in refused.err, (argv, refused.err)
    assert stored(cli) == before
