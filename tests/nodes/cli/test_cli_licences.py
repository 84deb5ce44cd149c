"""``armsledger licence list|show``, ``weapons --holder``, ``shipments --incoming|--outgoing`` and
``authorizations``: what they print, what they refuse (exit 2 naming the option) and the reads audited."""

from __future__ import annotations

import pytest

from inprocess_cli import Cli


def issue(cli: Cli, number: str, *extra: str, kind: str = "export_licence", holder: str = "Dealer SA",
          until: str = "2099-12-31") -> None:
    cli.ok("licence", "issue", "--number", number, "--kind", kind, "--holder", holder, "--valid-from", "2023-01-01",
           "--valid-until", until, "--date", "2023-01-01", *extra)


def manufacture(cli: Cli, serial: str, holder: str) -> str:
    return cli.ok("record", "manufacture", "--manufacturer", "FN Herstal", "--country", "BE", "--serial", serial,
                  "--type", "pistol", "--model", "Five-seveN", "--calibre", "5.7", "--year", "2020",
                  "--holder", holder, "--date", "2020-03-02").out.strip()


@pytest.fixture
def licensed(cli):
    issue(cli, "EL-1", "--export-state", "BE", "--import-state", "NL", "--quantity", "2", "--end-user", "Police NL",
          "--place-of-issue", "Brussels", "--description", "2 pistols FN Five-seveN")
    issue(cli, "TL-1", kind="transfer_licence", holder="Jan Peeters", until="2023-06-30")
    return cli


def test_list_filters_by_kind_holder_state_and_validity(licensed):
    def numbers(*filters):
        return [d["number"] for d in licensed.ok("licence", "list", "--json", *filters).json()["licences"]]

    assert numbers() == ["EL-1", "TL-1"]
    assert numbers("--kind", "transfer-licence") == ["TL-1"]
    assert numbers("--holder", "JAN PEETERS") == ["TL-1"]
    assert numbers("--state", "expired") == ["TL-1"]
    assert numbers("--state", "valid") == ["EL-1"]
    assert numbers("--valid-on", "2023-03-01") == ["EL-1", "TL-1"]
    text = licensed.ok("licence", "list").out
    assert "EL-1" in text and "export_licence" in text and "quantity 2" in text
    assert licensed.ok("licence", "list", "--holder", "Nobody").out.strip() == "no licence matches"


def test_show_prints_every_field_and_the_quantity_left(licensed):
    text = licensed.ok("licence", "show", "EL-1").out
    for shown in ("export_licence EL-1 issued by BE", "2023-01-01 at Brussels", "BE -> NL", "Police NL",
                  "2 pistols FN Five-seveN", "2, 0 shipped, 2 left", "signature  verified"):
        assert shown in text, shown
    document = licensed.ok("licence", "show", "tl-1", "--json").json()
    assert (document["number"], document["state"], document["quantity_left"]) == ("TL-1", "expired", None)
    reads = licensed.ok("audit", "reads", "--json").json()["reads"]
    assert [r["subject"] for r in reads][:2] == ["transfer_licence TL-1 of BE", "export_licence EL-1 of BE"]


@pytest.mark.parametrize(("argv", "option", "reason"), [
    (("licence", "list", "--state", "lapsed"), "--state", "'lapsed' is not a licence state"),
    (("licence", "list", "--kind", "gun"), "--kind", "'gun' is not a licence kind"),
    (("licence", "list", "--valid-on", "yesterday"), "--valid-on", "yesterday"),
    (("licence", "show", "EL-404"), "NUMBER", "'EL-404'"),
    (("licence", "show", "EL-1", "--kind", "transit"), "--kind", "'transit'"),
    (("weapons", "--holder", "  "), "--holder", "give the holder's name"),
])
def test_bad_input_is_refused_naming_the_option_and_reads_nothing(licensed, argv, option, reason):
    before = licensed.ok("audit", "reads", "--json").json()["reads"]
    refused = licensed.refused(*argv)
    assert option in refused.err and reason in refused.err, refused.err
    assert licensed.ok("audit", "reads", "--json").json()["reads"] == before


def test_weapons_of_a_holder_with_their_status(cli):
    first, second = manufacture(cli, "H-1", "Jan Peeters"), manufacture(cli, "H-2", "jan peeters")
    manufacture(cli, "H-3", "Someone Else")
    cli.ok("record", "report-stolen", "--weapon", second, "--date", "2024-01-02")
    found = cli.ok("weapons", "--holder", "Jan Peeters", "--json").json()
    assert {w["weapon_id"]: w["status"] for w in found["weapons"]} == {first: "active", second: "stolen"}
    assert found["complete"] is True
    text = cli.ok("weapons", "--holder", "jan peeters").out
    assert "FN Herstal / BE / H-1" in text and "stolen" in text
    assert cli.ok("weapons", "--holder", "Nobody").out.strip() == "'Nobody' holds no weapon on this register"


def test_shipments_are_labelled_incoming_and_outgoing(licensed):
    weapon = manufacture(licensed, "S-1", "Dealer SA")
    shipment = licensed.ok("record", "export", "--weapon", weapon, "--licence", "EL-1", "--import-authorization",
                           "NL-1", "--to", "NL", "--date", "2024-03-10").out.strip()
    both = licensed.ok("shipments").out
    assert both.index("incoming: announced to this state") < both.index("outgoing: exported by this state")
    assert f"  {shipment}  2024-03-10  BE -> NL" in both and "1 weapon " in both
    outgoing = licensed.ok("shipments", "--outgoing", "--json").json()
    assert "incoming" not in outgoing and [s["shipment_id"] for s in outgoing["outgoing"]] == [shipment]
    assert licensed.ok("shipments", "--incoming", "--json").json() == {"overdue_days": None, "incoming": []}
    assert licensed.ok("licence", "show", "EL-1", "--json").json()["quantity_left"] == 1
    refused = licensed.refused("shipments", "--incoming", "--outgoing")
    assert "--outgoing" in refused.err


def test_authorizations_lists_those_issued_here_with_their_use(cli):
    issue(cli, "IA-1", "--export-state", "NL", "--import-state", "BE", "--quantity", "5", kind="import_authorization")
    (sent,) = cli.ok("authorizations", "--json").json()["authorizations"]
    assert (sent["number"], sent["direction"], sent["quantity_left"], sent["shipments"]) == ("IA-1", "sent", 5, [])
    assert "sent     import_authorization" in cli.ok("authorizations").out


def test_show_takes_the_start_of_the_licence_id_that_issue_printed(cli):
    licence_id = cli.ok("licence", "issue", "--number", "EL-9", "--kind", "export_licence", "--holder", "Dealer SA",
                        "--valid-from", "2023-01-01", "--valid-until", "2099-12-31", "--export-state", "BE",
                        "--import-state", "NL").out.strip()
    assert cli.ok("licence", "show", licence_id[:8], "--json").json()["licence_id"] == licence_id
    refused = cli.refused("licence", "show", "ffff0000")
    assert "NUMBER" in refused.err and "'ffff0000'" in refused.err
