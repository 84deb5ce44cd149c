"""The CLI contract: init, record *, licence issue, history; exit codes and messages.

Commands run in-process through ``nodes.cli.main.main`` (captured with capsys);
the node lives in ``tmp_path`` and the passphrase comes from the environment.
"""

from __future__ import annotations

import uuid

import pytest

from domain.marking import Marking
from nodes.cli.main import main

from inprocess_cli import PASSPHRASE, Cli

PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-0001"]
PISTOL_ID = str(Marking.read("FN Herstal", "BE", "FN57-0001").weapon_id())


def manufacture(cli: Cli, marking=PISTOL, holder="FN Herstal", date="2020-03-02") -> str:
    result = cli.ok("record", "manufacture", *marking, "--type", "pistol", "--make", "FN", "--model", "Five-seveN",
                    "--calibre", "5.7x28mm", "--year", "2020", "--holder", holder, "--date", date, "--json")
    return result.json()["weapon_id"]


def transfer_licence(cli: Cli, number: str, holder: str) -> None:
    cli.ok("licence", "issue", "--number", number, "--kind", "transfer_licence", "--holder", holder,
           "--valid-from", "2020-01-01", "--valid-until", "2035-12-31", "--date", "2020-01-01")


def history(cli: Cli, weapon: str = PISTOL_ID) -> dict:
    return cli.ok("history", weapon, "--json").json()


# --- a whole flow, on each backend ---------------------------------------------------------

def test_a_weapons_life_from_manufacture_to_export_on_each_backend(env, capsys, tmp_path, db_url):
    cli = Cli(capsys, tmp_path / "be", db_url)
    created = cli.ok("init", "--state", "BE", "--json").json()
    assert created["state"] == "BE" and set(created["authorities"]) >= {"licensing", "customs", "police"}

    made = cli.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--model", "Five-seveN", "--calibre",
                  "5.7x28mm", "--year", "2020", "--holder", "FN Herstal", "--date", "2020-03-02")
    assert made.out.strip() == PISTOL_ID
    transfer_licence(cli, "TL-1", "Dealer SA")
    cli.ok("record", "transfer", "--weapon", PISTOL_ID, "--to", "Dealer SA", "--licence", "TL-1",
           "--date", "2021-06-15")
    licence = cli.ok("licence", "issue", "--number", "EL-7", "--kind", "export_licence", "--holder", "Dealer SA",
                     "--valid-from", "2023-01-01", "--valid-until", "2023-12-31", "--export-state", "BE",
                     "--import-state", "NL", "--consignee", "Utrecht BV", "--date", "2022-12-01", "--json").json()
    assert licence["kind"] == "export_licence" and uuid.UUID(licence["licence_id"])
    shipment = cli.ok("record", "export", *PISTOL, "--licence", "EL-7", "--import-authorization", "NL-IA-1",
                      "--to", "NL", "--date", "2023-03-10", "--json").json()
    assert shipment["weapon_ids"] == [PISTOL_ID] and uuid.UUID(shipment["shipment_id"])

    # Reading needs no passphrase.
    env.delenv("ARMSLEDGER_PASSPHRASE")
    document = cli.ok("history", "--manufacturer", "fn herstal", "--country", "be", "--serial", "FN 57 0001",
                      "--json").json()
    assert document["weapon_id"] == PISTOL_ID
    assert document["marking"] == {"manufacturer": "FN Herstal", "country": "BE", "serial": "FN57-0001"}
    assert document["status"] == "exported"
    assert [e["type"] for e in document["events"]] == ["Weapon.Manufactured", "Weapon.Transferred", "Weapon.Exported"]
    exported = document["events"][-1]
    assert exported["occurred_on_iso"] == "2023-03-10T00:00:00Z" and exported["body"]["to_state"] == "NL"
    assert exported["body"]["shipment"] == shipment["shipment_id"] and exported["authority_kind"] == "customs"
    assert document["events"][1]["prev"] == document["events"][0]["hash"]
    for event in document["events"]:
        assert {"type", "occurred_on", "recorded_at", "authority", "hash"} <= set(event)
        assert len(event["hash"]) == 64

    assert cli.ok("verify").code == 0


# --- init and the environment ----------------------------------------------------------

def test_init_refuses_to_overwrite_an_existing_node(cli):
    before = (cli.home / "node.json").read_text()
    result = cli.refused("init", "--state", "NL")
    assert "exists" in result.err
    assert (cli.home / "node.json").read_text() == before


def test_init_refuses_a_state_that_is_not_a_country_code(env, capsys, tmp_path, sqlite_url):
    result = Cli(capsys, tmp_path / "x", sqlite_url).refused("init", "--state", "XY")
    assert "--state" in result.err and "ISO 3166" in result.err


def test_a_write_without_passphrase_is_refused_and_records_nothing(cli, env):
    env.delenv("ARMSLEDGER_PASSPHRASE")
    result = cli("record", "manufacture", *PISTOL, "--type", "pistol", "--calibre", "5.7", "--year", "2020",
                 "--holder", "FN")
    assert result.code == 2 and "ARMSLEDGER_PASSPHRASE" in result.err
    env.setenv("ARMSLEDGER_PASSPHRASE", PASSPHRASE)
    assert "weapon" in cli.refused("history", PISTOL_ID).err


def test_a_wrong_passphrase_is_refused(cli, env):
    env.setenv("ARMSLEDGER_PASSPHRASE", "wrong")
    result = cli.refused("licence", "issue", "--number", "TL-9", "--kind", "transfer_licence", "--holder", "X",
                         "--valid-from", "2020-01-01", "--valid-until", "2030-01-01")
    assert "passphrase" in result.err.lower()


def test_commands_on_a_home_without_node_are_refused(env, capsys, tmp_path, sqlite_url):
    result = Cli(capsys, tmp_path / "nothing", sqlite_url).refused("history", PISTOL_ID)
    assert "init" in result.err


def test_home_and_db_come_from_the_environment(env, capsys, tmp_path):
    env.setenv("ARMSLEDGER_HOME", str(tmp_path / "h"))
    env.setenv("ARMSLEDGER_DB", str(tmp_path / "elsewhere.db"))
    assert main(["init", "--state", "LU"]) == 0
    assert (tmp_path / "h" / "node.json").exists() and (tmp_path / "elsewhere.db").exists()


def test_usage_errors_exit_2_and_help_exits_0(cli):
    assert cli("record", "manufacture", *PISTOL).code == 2  # argparse: required options missing
    assert "--type" in cli("record", "manufacture", *PISTOL).err
    assert cli("--help").code == 0
    assert cli("frobnicate").code == 2


def test_a_db_url_that_is_neither_sqlite_nor_postgresql_is_refused(env, capsys, tmp_path):
    result = Cli(capsys, tmp_path / "x", "mysql://localhost/x").refused("init", "--state", "BE")
    assert "--db" in result.err


@pytest.mark.parametrize("db", ["{tmp}/no/such/dir/ledger.db", "postgresql://nobody@127.0.0.1:9/armsledger"])
def test_an_unreachable_database_is_an_infrastructure_failure(cli, env, tmp_path, db):
    env.setenv("POSTGRES_CONNECT_TIMEOUT", "1")  # nothing listens on the discard port: fail fast
    cli.db = db.format(tmp=tmp_path)
    result = cli("history", PISTOL_ID)
    assert result.code == 3 and "Traceback" not in result.err and "database failure" in result.err
    assert "nobody@" not in result.err  # no credentials in messages


# --- record: manufacture and refusals ------------------------------------------------------

def test_manufacture_prints_the_id_derived_from_the_marking(cli):
    assert cli.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--calibre", "5.7", "--year", "2020",
                  "--holder", "FN").out == PISTOL_ID + "\n"
    document = history(cli)
    assert document["status"] == "active" and document["holder"] == "FN"
    assert document["events"][0]["authority_kind"] == "licensing"


@pytest.mark.parametrize("bad, option", [
    (["--country", "XX"], "--country"),
    (["--date", "2999-01-01"], "--date"),
    (["--date", "yesterday"], "--date"),
    (["--by", "customs"], "--by"),
    (["--year", "1700"], "--year"),
    (["--serial", "---"], "--serial"),
])
def test_manufacture_refusals_name_the_option(cli, bad, option):
    argv = {"--manufacturer": "FN Herstal", "--country": "BE", "--serial": "1", "--type": "pistol",
            "--calibre": "5.7", "--year": "2020", "--holder": "FN"}
    argv.update(dict(zip(bad[::2], bad[1::2])))
    result = cli.refused("record", "manufacture", *[x for kv in argv.items() for x in kv])
    assert option in result.err, result.err
    assert result.out == ""


def test_the_same_marking_cannot_be_manufactured_twice(cli):
    manufacture(cli)
    result = cli.refused("record", "manufacture", "--manufacturer", "FN HERSTAL", "--country", "BE", "--serial",
                         "FN 57.0001", "--type", "pistol", "--calibre", "5.7", "--year", "2020", "--holder", "FN")
    assert "--serial" in result.err and "registered already" in result.err


def test_records_for_an_unknown_weapon_are_refused(cli):
    result = cli.refused("record", "recover", *PISTOL, "--place", "Liege")
    assert "--weapon" in result.err and "no record" in result.err
    assert "--weapon" in cli.refused("record", "mark", "--weapon", "not-a-uuid", "--mark", "X").err


def test_a_partial_marking_names_the_missing_option(cli):
    result = cli.refused("record", "mark", "--manufacturer", "FN", "--country", "BE", "--mark", "X")
    assert "--serial" in result.err


def test_weapon_and_marking_together_are_refused(cli):
    manufacture(cli)
    assert "--weapon" in cli.refused("record", "mark", "--weapon", PISTOL_ID, *PISTOL, "--mark", "X").err


def test_a_transfer_needs_an_issued_transfer_licence_of_the_new_holder(cli):
    manufacture(cli)
    assert "--licence" in cli.refused("record", "transfer", *PISTOL, "--to", "Dealer", "--licence", "TL-404").err
    transfer_licence(cli, "TL-1", "Someone Else")
    result = cli.refused("record", "transfer", *PISTOL, "--to", "Dealer", "--licence", "TL-1")
    assert "--licence" in result.err and "Someone Else" in result.err
    assert [e["type"] for e in history(cli)["events"]] == ["Weapon.Manufactured"]


def test_a_deactivated_weapon_cannot_be_transferred(cli):
    manufacture(cli)
    transfer_licence(cli, "TL-1", "Collector")
    cli.ok("record", "deactivate", *PISTOL, "--certificate", "DC-1", "--method", "EU 2015/2403",
           "--standard", "EU 2018/337", "--inspecting-body", "Proof House", "--inspected-on", "2026-01-01")
    result = cli.refused("record", "transfer", *PISTOL, "--to", "Collector", "--licence", "TL-1")
    assert "--weapon" in result.err and "deactivated" in result.err


# --- record: every other event ----------------------------------------------------------

def test_lost_stolen_recovered_seized_confiscated_destroyed(cli):
    weapon = manufacture(cli)
    cli.ok("record", "mark", "--weapon", weapon, "--mark", "BE-NAT-1", "--reason", "national mark",
           "--date", "2020-04-01")
    cli.ok("record", "report-lost", "--weapon", weapon, "--place", "Liege", "--circumstances", "range",
           "--date", "2021-01-01")
    cli.ok("record", "recover", "--weapon", weapon, "--place", "Namur", "--holder", "FN Herstal",
           "--date", "2021-02-01")
    cli.ok("record", "report-stolen", "--weapon", weapon, "--place", "Liege", "--date", "2022-01-01")
    seized = cli.ok("record", "seize", "--weapon", weapon, "--place", "Antwerp", "--circumstances", "raid",
                    "--date", "2022-05-01", "--json").json()
    assert seized == {"weapon_id": weapon, "event": "Weapon.Seized", "hits": []}
    cli.ok("record", "confiscate", "--weapon", weapon, "--order", "court order 22/17", "--date", "2022-06-01")
    cli.ok("record", "destroy", "--weapon", weapon, "--method", "smelting", "--certificate", "D-9",
           "--date", "2023-01-01")

    document = history(cli, weapon)
    assert [e["type"].split(".")[1] for e in document["events"]] == [
        "Manufactured", "Marked", "ReportedLost", "Recovered", "ReportedStolen", "Seized", "Confiscated", "Destroyed"]
    assert document["status"] == "destroyed" and document["marks"] == ["BE-NAT-1"]
    assert document["events"][5]["body"]["flags"] == ["reported-stolen"]
    kinds = [e["authority_kind"] for e in document["events"]]
    assert kinds == ["licensing", "licensing", "police", "police", "police", "police", "police", "deactivation"]

    # Nothing after destruction but a seizure, which is flagged.
    assert "destroyed" in cli.refused("record", "mark", "--weapon", weapon, "--mark", "X").err
    cli.ok("record", "seize", "--weapon", weapon, "--place", "Brussels")
    assert "after-destruction" in history(cli, weapon)["flags"]


def test_seizure_of_an_unrecorded_weapon_registers_it(cli):
    found = ["--manufacturer", "Zastava", "--country", "RS", "--serial", "M70-555"]
    weapon = cli.ok("record", "seize", *found, "--type", "rifle", "--calibre", "7.62x39mm", "--place", "Antwerp",
                    "--json").json()["weapon_id"]
    assert weapon == str(Marking.read("Zastava", "RS", "M70-555").weapon_id())
    document = history(cli, weapon)
    assert document["status"] == "seized" and document["description"]["type"] == "rifle"
    assert document["events"][0]["authority_kind"] == "police"


def test_seizure_with_obliterated_serial_gets_a_new_random_id_each_time(cli):
    found = ["--manufacturer", "Zastava", "--country", "RS", "--serial", "M70?12?4", "--type", "rifle",
             "--calibre", "7.62x39mm"]
    first = cli.ok("record", "seize", *found).out.strip()
    second = cli.ok("record", "seize", *found).out.strip()
    assert first != second
    assert history(cli, first)["marking"]["serial"] == "M70?12?4"
    # Such a marking cannot name a weapon elsewhere: its id is not derivable.
    assert "--serial" in cli.refused("record", "mark", *found[:6], "--mark", "X").err


def test_import_registers_the_weapon_and_customs_confirm_receipt(cli):
    rifle = ["--manufacturer", "Steyr", "--country", "AT", "--serial", "AUG-77"]
    weapon = cli.ok("record", "import", *rifle, "--type", "rifle", "--calibre", "5.56", "--year", "2019",
                    "--from", "AT", "--import-authorization", "BE-IA-3", "--holder", "Dealer SA",
                    "--shipment", "S-1", "--date", "2024-02-01", "--json").json()["weapon_id"]
    cli.ok("record", "receipt", "--weapon", weapon, "--received-by", "Dealer SA", "--date", "2024-02-02")
    document = history(cli, weapon)
    assert [e["type"] for e in document["events"]] == ["Weapon.Imported", "Weapon.ReceiptConfirmed"]
    imported = document["events"][0]["body"]
    assert imported["import_state"] == "BE" and imported["import_year"] == 2024 and imported["from_state"] == "AT"
    assert document["import_marking"] == {"country": "BE", "year": 2024}
    assert "--from" in cli.refused("record", "import", *rifle[:5], "AUG-78", "--type", "rifle", "--calibre", "5.56",
                                   "--from", "ZZ", "--import-authorization", "X", "--holder", "Y").err


def test_import_of_an_unrecorded_weapon_needs_its_description(cli):
    result = cli.refused("record", "import", "--manufacturer", "Steyr", "--country", "AT", "--serial", "1",
                         "--from", "AT", "--import-authorization", "IA", "--holder", "X")
    assert "--type" in result.err


def test_export_of_several_weapons_is_one_shipment(cli):
    first = manufacture(cli, holder="Dealer SA")
    second = manufacture(cli, marking=["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "FN57-0002"],
                         holder="Dealer SA")
    cli.ok("licence", "issue", "--number", "EL-1", "--kind", "export-licence", "--holder", "Dealer SA",
           "--valid-from", "2024-01-01", "--valid-until", "2024-12-31", "--export-state", "BE", "--import-state", "US",
           "--transit", "NL", "--date", "2023-12-01")
    shipment = cli.ok("record", "export", "--weapon", first, "--weapon", second, "--licence", "EL-1",
                      "--import-authorization", "US-IA-1", "--to", "US", "--via", "NL",
                      "--transit-no-objection", "NL-TNO-1", "--consignee", "Gun Shop Inc", "--date", "2024-05-01")
    shipment_id = shipment.out.strip()
    for weapon in (first, second):
        exported = history(cli, weapon)["events"][-1]["body"]
        assert exported["shipment"] == shipment_id and exported["transit_states"] == ["NL"]
        assert exported["consignee"] == "Gun Shop Inc"


@pytest.mark.parametrize("change, option", [
    ({"--licence": "EL-404"}, "--licence"),
    ({"--to": "FR"}, "--to"),
    ({"--date": "2025-06-01"}, "--licence"),  # expired
    ({"--by": "police"}, "--by"),
    ({"--import-authorization": ""}, "--import-authorization"),
])
def test_export_refusals(cli, change, option):
    manufacture(cli, holder="Dealer SA")
    cli.ok("licence", "issue", "--number", "EL-1", "--kind", "export_licence", "--holder", "Dealer SA",
           "--valid-from", "2024-01-01", "--valid-until", "2024-12-31", "--export-state", "BE", "--import-state", "US",
           "--date", "2023-12-01")
    argv = {"--licence": "EL-1", "--import-authorization": "US-IA-1", "--to": "US", "--date": "2024-05-01"}
    argv.update(change)
    result = cli.refused("record", "export", *PISTOL, *[x for kv in argv.items() for x in kv])
    assert option in result.err, result.err
    assert history(cli)["status"] == "active"


# --- licences ----------------------------------------------------------------------------

def test_licence_issue_and_its_refusals(cli):
    issued = cli.ok("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence", "--holder", "A",
                    "--valid-from", "2020-01-01", "--valid-until", "2030-01-01", "--json").json()
    assert issued["number"] == "TL-1" and uuid.UUID(issued["licence_id"])
    assert "--number" in cli.refused("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence",
                                     "--holder", "B", "--valid-from", "2020-01-01", "--valid-until", "2030-01-01").err
    assert "--kind" in cli.refused("licence", "issue", "--number", "X", "--kind", "permit", "--holder", "B",
                                   "--valid-from", "2020-01-01", "--valid-until", "2030-01-01").err
    assert "--valid-until" in cli.refused("licence", "issue", "--number", "X", "--kind", "transfer_licence",
                                          "--holder", "B", "--valid-from", "2020-01-01",
                                          "--valid-until", "2019-01-01").err
    assert "--export-state" in cli.refused("licence", "issue", "--number", "X", "--kind", "export_licence",
                                           "--holder", "B", "--valid-from", "2020-01-01",
                                           "--valid-until", "2021-01-01", "--import-state", "NL").err
    assert "--by" in cli.refused("licence", "issue", "--number", "X", "--kind", "transfer_licence", "--holder",
                                 "B", "--valid-from", "2020-01-01", "--valid-until", "2021-01-01",
                                 "--by", "police").err


def test_a_licence_valid_until_a_date_covers_that_whole_day(cli):
    manufacture(cli)
    cli.ok("licence", "issue", "--number", "TL-1", "--kind", "transfer_licence", "--holder", "Dealer",
           "--valid-from", "2021-01-01", "--valid-until", "2021-06-30", "--date", "2021-01-01")
    cli.ok("record", "transfer", *PISTOL, "--to", "Dealer", "--licence", "TL-1", "--date", "2021-06-30T18:00:00")


# --- history -------------------------------------------------------------------------------

def test_history_prints_a_readable_timeline(cli):
    manufacture(cli)
    transfer_licence(cli, "TL-1", "Dealer SA")
    cli.ok("record", "transfer", *PISTOL, "--to", "Dealer SA", "--licence", "TL-1", "--date", "2021-06-15")
    text = cli.ok("history", PISTOL_ID).out
    assert "FN Herstal / BE / FN57-0001" in text and "status   active, held by Dealer SA" in text
    lines = text.splitlines()
    assert any(line.startswith("2020-03-02  Manufactured") for line in lines)
    at = next(i for i, line in enumerate(lines) if line.startswith("2021-06-15  Transferred"))
    assert "to_holder: Dealer SA" in lines[at + 1]  # the record's details under it


def test_history_of_an_unknown_weapon_or_a_bad_id_is_refused(cli):
    assert "no record" in cli.refused("history", str(uuid.uuid4())).err
    assert "no weapon has an id starting with '12345'" in cli.refused("history", "12345").err
    assert "'PISTOL' is not an id or the start of one" in cli.refused("history", "PISTOL").err
    assert "weapon" in cli.refused("history").err
    # The authority register is a stream too, but not a weapon.
    from nodes.registry.identity import authorities_stream

    assert "no record" in cli.refused("history", str(authorities_stream("BE"))).err


# --- licence revocation ----------------------------------------------------------------------

def test_a_revoked_transfer_licence_no_longer_allows_a_transfer(cli):
    manufacture(cli)
    transfer_licence(cli, "TL-7", "Dealer SA")
    revoked = cli.ok("licence", "revoke", "--number", "TL-7", "--kind", "transfer_licence",
                     "--reason", "holder convicted", "--date", "2021-01-01", "--json").json()
    assert revoked["revoked"] is True and revoked["number"] == "TL-7"
    refused = cli.refused("record", "transfer", "--weapon", PISTOL_ID, "--to", "Dealer SA", "--licence", "TL-7",
                          "--date", "2021-06-15")
    assert "revoked" in refused.err and "--licence" in refused.err
    assert history(cli)["events"][-1]["type"] == "Weapon.Manufactured"


def test_revoking_an_unknown_or_revoked_licence_is_refused(cli):
    unknown = cli.refused("licence", "revoke", "--number", "TL-404", "--kind", "transfer_licence", "--reason", "x")
    assert "TL-404" in unknown.err
    transfer_licence(cli, "TL-8", "Dealer SA")
    cli.ok("licence", "revoke", "--number", "TL-8", "--kind", "transfer_licence", "--reason", "expired early")
    again = cli.refused("licence", "revoke", "--number", "TL-8", "--kind", "transfer_licence", "--reason", "x")
    assert "revoked already" in again.err
