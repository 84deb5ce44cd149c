"""The CLI's reading commands and bulk import: search, stats, shipments, verify, rebuild, import-csv.

The demo has its own tests: test_demo.py.
"""

from __future__ import annotations

import sqlite3

from inprocess_cli import Cli

PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "AB-1234"]


def populate(cli: Cli) -> tuple[str, str]:
    """A pistol held by a dealer and exported to NL; a rifle seized with an obliterated serial."""
    pistol = cli.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--calibre", "5.7", "--year", "2020",
                    "--holder", "Dealer SA", "--date", "2020-03-02").out.strip()
    cli.ok("licence", "issue", "--number", "EL-1", "--kind", "export_licence", "--holder", "Dealer SA",
           "--valid-from", "2023-01-01", "--valid-until", "2023-12-31", "--export-state", "BE", "--import-state", "NL",
           "--date", "2022-12-01")
    shipment = cli.ok("record", "export", "--weapon", pistol, "--licence", "EL-1", "--import-authorization", "NL-1",
                      "--to", "NL", "--date", "2023-03-10").out.strip()
    cli.ok("record", "seize", "--manufacturer", "Zastava", "--country", "RS", "--serial", "AB?23?",
           "--type", "rifle", "--calibre", "7.62", "--place", "Antwerp", "--date", "2024-05-20")
    return pistol, shipment


def test_reading_commands_work_without_the_passphrase(cli, env):
    pistol, shipment = populate(cli)
    env.delenv("ARMSLEDGER_PASSPHRASE")

    found = cli.ok("search", "--serial", "ab1234", "--json").json()
    assert [m["weapon_id"] for m in found["matches"]] == [pistol]
    assert found["matches"][0]["marking"]["serial"] == "AB-1234"
    partial = cli.ok("search", "--serial", "AB*", "--json").json()["matches"]
    assert {m["marking"]["manufacturer"] for m in partial} == {"FN Herstal", "Zastava"}
    assert "FN Herstal / BE / AB-1234" in cli.ok("search", "--serial", "AB?234").out
    assert "no weapon matches" in cli.ok("search", "--serial", "ZZZ").out

    figures = cli.ok("stats", "--json").json()
    assert figures["by_type"]["Weapon.Seized"] == 1 and figures["by_weapon_type"] == {"pistol": 1, "rifle": 1}
    assert "by_type:" in cli.ok("stats").out

    open_ = cli.ok("shipments", "--json").json()["outgoing"]
    assert [s["shipment_id"] for s in open_] == [shipment] and open_[0]["weapons"] == [pistol]
    assert shipment in cli.ok("shipments").out
    assert cli.ok("shipments", "--overdue-days", "100000", "--json").json()["outgoing"] == []

    assert cli.ok("rebuild").code == 0
    assert cli.ok("stats", "--json").json() == figures

    report = cli.ok("verify", "--json").json()
    assert report["ok"] is True and report["events_checked"] >= 4 and report["problems"] == []
    assert cli.ok("verify").out.startswith("ok:")


def test_search_refuses_an_empty_pattern(cli):
    result = cli("search", "--serial", "  ")
    assert result.code == 2 and "--serial" in result.err


def test_shipments_refuses_negative_days(cli):
    result = cli("shipments", "--overdue-days", "-1")
    assert result.code == 2 and "--overdue-days" in result.err


def test_verify_exits_1_and_names_a_record_edited_by_sql(cli, sqlite_url):
    pistol, _ = populate(cli)
    with sqlite3.connect(sqlite_url) as db:
        # The registry's events table (named by the eventsourcing library), whatever its name.
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if {"originator_id", "state"} <= {c[1] for c in db.execute(f"PRAGMA table_info({name})")}]
        edited = 0
        for table in tables:
            for rowid, state in db.execute(f"SELECT rowid, state FROM {table} WHERE topic = 'Weapon.Manufactured'"):
                forged = bytes(state).replace(b"Dealer SA", b"Dealer SB")
                if forged != bytes(state):
                    db.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", [forged, rowid])
                    edited += 1
        assert edited == 1
    result = cli("verify")
    assert result.code == 1
    assert result.out.startswith("FAILED") and pistol in result.err
    document = cli("verify", "--json")
    assert document.code == 1 and document.json()["ok"] is False
    assert any(p["stream"] == pistol for p in document.json()["problems"])


CSV_HEADER = "manufacturer,country,serial,type,make,model,calibre,year,manufactured_on,first_holder\n"


def test_import_csv_records_valid_rows_and_reports_refused_ones(cli, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text(CSV_HEADER
                        + "FN Herstal,BE,CSV-1,pistol,FN,57,5.7,2019,2019-05-01,FN Herstal\n"
                        + "FN Herstal,XX,CSV-2,pistol,FN,57,5.7,2019,2019-05-01,FN Herstal\n"
                        + "FN Herstal,BE,CSV-3,rifle,FN,FAL,7.62,2018,2018-05-01,FN Herstal\n")
    result = cli("import-csv", str(register), "--json")
    assert result.code == 2
    report = result.json()
    assert report["imported"] == 2 and [(e["line"], e["field"]) for e in report["errors"]] == [(3, "country")]
    assert "line 3: country" in result.err
    assert len(cli.ok("search", "--serial", "CSV*", "--json").json()["matches"]) == 2

    # Re-running records nothing twice.
    again = cli("import-csv", str(register), "--json").json()
    assert again["imported"] == 0 and again["skipped"] == 2
    assert cli.ok("verify").code == 0


def test_import_csv_of_a_clean_file_exits_0_and_of_a_missing_file_2(cli, tmp_path):
    register = tmp_path / "ok.csv"
    register.write_text(CSV_HEADER + "Steyr,AT,S-1,rifle,Steyr,AUG,5.56,2015,2015-01-01,Steyr\n")
    assert "1 weapon recorded" in cli.ok("import-csv", str(register)).out
    missing = cli("import-csv", str(tmp_path / "nope.csv"))
    assert missing.code == 2 and "file" in missing.err
    bad = tmp_path / "bad.csv"
    bad.write_text("colour,size\nred,3\n")
    assert cli("import-csv", str(bad)).code == 2


def test_a_record_overwritten_with_garbage_is_a_verification_failure_not_a_crash(cli, sqlite_url):
    pistol, _ = populate(cli)
    with sqlite3.connect(sqlite_url) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if {"originator_id", "state"} <= {c[1] for c in db.execute(f"PRAGMA table_info({name})")}]
        for table in tables:
            db.execute(f"UPDATE {table} SET state = ? WHERE topic = 'Weapon.Exported'", [b"\xc1garbage"])
    result = cli("history", pistol)
    assert result.code == 1 and "armsledger verify" in result.err
    assert cli("verify").code == 1
