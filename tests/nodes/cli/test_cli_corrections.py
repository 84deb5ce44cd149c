"""``record correct``: the corrected values folded, the original shown beside its correction, refusals."""

from __future__ import annotations

import pytest

from inprocess_cli import Cli

PISTOL = ("--manufacturer", "FN Herstal", "--country", "BE", "--serial", "C-0001")


@pytest.fixture
def node(env, capsys, tmp_path, db_url):
    cli = Cli(capsys, tmp_path / "be", db_url)
    cli.ok("init", "--state", "BE")
    weapon = cli.ok("record", "manufacture", *PISTOL, "--type", "pistol", "--calibre", "9mm", "--year", "2019",
                    "--holder", "FN Herstal", "--date", "2020-03-02").out.strip()
    for number, holder in (("TL-1", "Dealer SA"), ("TL-2", "Dealer NV")):
        cli.ok("licence", "issue", "--number", number, "--kind", "transfer_licence", "--holder", holder,
               "--valid-from", "2020-01-01", "--valid-until", "2030-12-31", "--date", "2020-01-01")
    cli.ok("record", "transfer", "--weapon", weapon, "--to", "Dealer SA", "--licence", "TL-1", "--date", "2021-06-15")
    return cli, weapon


def _events(cli: Cli, weapon: str) -> list[dict]:
    return cli.ok("history", weapon, "--json").json()["events"]


def test_a_transfer_to_the_wrong_holder_corrected_changes_who_holds_it(node):
    cli, weapon = node
    transfer = _events(cli, weapon)[-1]
    recorded = cli.ok("record", "correct", "--record", transfer["hash"][:10], "--field", "to_holder", "--value",
                      "Dealer NV", "--field", "licence", "--value", "tl-2", "--reason", "the other dealer's licence",
                      "--json").json()
    assert recorded["record"] == transfer["hash"]
    assert recorded["new_values"] == {"to_holder": "Dealer NV", "licence": "TL-2"}
    document = cli.ok("history", weapon, "--json").json()
    assert document["holder"] == "Dealer NV"
    original = next(e for e in document["events"] if e["hash"] == transfer["hash"])
    assert original["body"]["to_holder"] == "Dealer SA"   # as signed
    [correction] = original["corrections"]
    assert correction["new_values"] == {"to_holder": "Dealer NV", "licence": "TL-2"}
    assert correction["reason"] == "the other dealer's licence"
    assert cli.ok("weapons", "--holder", "Dealer NV", "--json").json()["weapons"][0]["weapon_id"] == weapon
    assert cli.ok("verify").code == 0


def test_a_correction_of_a_correction_corrects_the_same_record_again(node):
    cli, weapon = node
    made = _events(cli, weapon)[0]
    cli.ok("record", "correct", "--record", made["hash"], "--field", "calibre", "--value", "9x19mm",
           "--field", "year", "--value", "2018", "--reason", "catalogue")
    first = _events(cli, weapon)[-1]
    assert first["type"] == "Weapon.Corrected"
    cli.ok("record", "correct", "--record", first["hash"][:8], "--field", "calibre", "--value", "9x21mm",
           "--reason", "read again")
    document = cli.ok("history", weapon, "--json").json()
    assert document["description"]["calibre"] == "9x21mm" and document["description"]["year"] == 2018
    latest = document["events"][-1]["body"]
    assert latest["record"] == made["hash"] and latest["old_values"] == {"calibre": "9x19mm"}
    text = cli.ok("history", weapon).out
    assert "corrects Manufactured" in text and "calibre 9x19mm -> 9x21mm; reason: read again" in text


_REFUSALS = [
    (("--record", "abc"), "--record", "8 to 64 hexadecimal"),
    (("--record", "ffffffffff"), "--record", "no record of this node"),
    (("--field", "marking", "--value", "X"), "--field", "weapon's id is derived from it"),
    (("--field", "colour", "--value", "X"), "--field", "has no field 'colour'"),
    (("--field", "to_holder", "--value", "Nobody"), "--value", "licence TL-1"),
    (("--field", "to_holder", "--value", "Dealer SA"), "--value", "already"),
    (("--field", "occurred_on", "--value", "2999-01-01"), "--value", "future"),
    (("--field", "licence", "--value", "TL-9"), "--value", "TL-9"),
    (("--by", "customs"), "--by", "may not correct"),
    (("--field", "to_holder", "--field", "from_holder", "--value", "X"), "--value", "one value per field"),
    (("--reason", " "), "--reason", "required"),
]


def test_bad_input_is_refused_naming_the_option_and_writes_nothing(node):
    cli, weapon = node
    before = _events(cli, weapon)
    licence = cli.ok("licence", "show", "TL-1", "--json").json()["record_hash"]
    cases = [*_REFUSALS, (("--record", licence[:12]), "--record", "only weapon records")]
    for argv, option, reason in cases:
        options = dict(zip(argv[::2], argv[1::2]))
        # The manufacture for a field of the marking, else the transfer.
        corrected = before[0] if options.get("--field") == "marking" else before[-1]
        record = () if "--record" in options else ("--record", corrected["hash"])
        fields = () if "--field" in options else ("--field", "to_holder", "--value", "Dealer NV",
                                                  "--field", "licence", "--value", "TL-2")
        why = () if "--reason" in options else ("--reason", "test")
        refused = cli.refused("record", "correct", *record, *fields, *argv, *why)
        assert option in refused.err and reason in refused.err, refused.err
    assert _events(cli, weapon) == before
