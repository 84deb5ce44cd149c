"""``record report-stolen|report-lost`` of a weapon on no register here, by its marking; the manufacture date
rule; ``alerts`` on a node that received none. The warning of a seizure that hits a partner's report is in
tests/nodes/federation/test_hits_e2e.py (it needs a partner)."""

from __future__ import annotations

from domain.marking import Marking

PAPER = ["--manufacturer", "Glock", "--country", "AT", "--serial", "PAPER-1"]
PAPER_ID = str(Marking.read("Glock", "AT", "PAPER-1").weapon_id())


def test_a_theft_of_a_weapon_on_paper_opens_its_record(cli):
    reported = cli.ok("record", "report-stolen", *PAPER, "--type", "pistol", "--make", "Glock", "--calibre",
                      "9x19", "--year", "2015", "--place", "Gent", "--circumstances", "burglary",
                      "--date", "2026-09-01", "--json").json()
    assert reported == {"weapon_id": PAPER_ID, "event": "Weapon.ReportedStolen"}
    history = cli.ok("history", PAPER_ID, "--json").json()
    assert history["status"] == "stolen" and history["marking"]["serial"] == "PAPER-1"
    assert history["description"]["calibre"] == "9x19" and history["description"]["year"] == 2015
    # once on record, it is named by id or marking, and its description is the one recorded
    result = cli.refused("record", "report-lost", *PAPER, "--calibre", "5.56")
    assert "--calibre" in result.err
    assert "reported stolen already" in cli.refused("record", "report-lost", "--weapon", PAPER_ID).err


def test_a_report_needs_one_complete_marking_or_an_id(cli):
    obliterated = ["--manufacturer", "Glock", "--country", "AT", "--serial", "PA??R-1"]
    assert "--serial" in cli.refused("record", "report-stolen", *obliterated).err
    assert "--weapon" in cli.refused("record", "report-stolen", "--weapon", PAPER_ID, *PAPER).err
    assert "--weapon" in cli.refused("record", "report-stolen").err
    assert "--year" in cli.refused("record", "report-lost", *PAPER, "--year", "1200").err
    assert "no record" in cli.refused("record", "report-lost", "--weapon", PAPER_ID).err
    assert cli.ok("search", "--serial", "PAPER*", "--json").json()["matches"] == []  # nothing was written


def test_a_manufacture_dated_before_its_year_is_refused_naming_the_date(cli):
    result = cli.refused("record", "manufacture", "--manufacturer", "FN", "--country", "BE", "--serial", "Y-1",
                         "--type", "pistol", "--calibre", "9", "--year", "2021", "--holder", "FN",
                         "--date", "2020-12-31")
    assert "--date" in result.err and "before the year of manufacture 2021" in result.err


def test_alerts_on_a_node_that_received_none(cli):
    assert cli.ok("alerts").out.strip() == "no alerts"
    assert cli.ok("alerts", "--json").json() == {"alerts": []}
    assert "--limit" in cli.refused("alerts", "--limit", "10001").err


def test_the_weapon_is_named_by_the_start_of_its_id(cli):
    cli.ok("record", "report-stolen", *PAPER, "--type", "pistol", "--calibre", "9x19")
    assert cli.ok("record", "recover", "--weapon", PAPER_ID[:8].upper(), "--place", "Gent").out.strip() == PAPER_ID
    assert cli.ok("record", "report-lost", "--weapon", PAPER_ID[:6], "--json").json()["weapon_id"] == PAPER_ID
    seized = cli.ok("record", "seize", "--weapon", PAPER_ID[:13], "--place", "Gent", "--json").json()
    assert seized["weapon_id"] == PAPER_ID
    other = "0000" if not PAPER_ID.startswith("0000") else "ffff"
    result = cli.refused("record", "recover", "--weapon", other)
    assert "--weapon" in result.err and f"'{other}'" in result.err and "no weapon has an id starting with" in result.err
    assert "at least 4" in cli.refused("record", "recover", "--weapon", PAPER_ID[:3]).err
    assert [e["type"] for e in cli.ok("history", PAPER_ID, "--json").json()["events"]] == [
        "Weapon.ReportedStolen", "Weapon.Recovered", "Weapon.ReportedLost", "Weapon.Seized"]
