"""``record assemble``, ``record replace-component``, ``record convert`` and ``component show`` in process, on
SQLite and PostgreSQL: what each prints, and each refusal exits 2 naming the option and writes nothing."""

from __future__ import annotations

import pytest

from domain.marking import Marking
from ledger.encoding import canonical_decode, canonical_encode
from nodes.registry.components import read_marking

from inprocess_cli import Cli
from insider import events_table, row_id, sql

WEAPON = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "CLI-1"]
WEAPON_ID = str(Marking.read("FN Herstal", "BE", "CLI-1").weapon_id())


@pytest.fixture
def cli(env, capsys, tmp_path, db_url):
    run = Cli(capsys, tmp_path / "be", db_url)
    run.ok("init", "--state", "BE")
    run.ok("record", "manufacture", *WEAPON, "--type", "pistol", "--calibre", "5.7x28", "--year", "2020",
           "--holder", "FN Herstal", "--date", "2025-01-10")
    return run


def stored(cli: Cli) -> int:
    return len(cli.ok("history", WEAPON_ID, "--json").json()["events"])


def test_assemble_replace_convert_and_show(cli):
    assembled = cli.ok("record", "assemble", "--weapon", WEAPON_ID[:8], "--component", "frame=FN Herstal/BE/F-1",
                       "--component", "barrel=FN Herstal/BE/B-1", "--date", "2025-01-11", "--json").json()
    assert assembled["event"] == "Weapon.Assembled" and len(assembled["component_ids"]) == 2
    cli.ok("record", "replace-component", "--manufacturer", "FN Herstal", "--country", "BE",
           "--serial", "CLI-1", "--kind", "barrel", "--new", "FN Herstal/BE/B-2",
           "--reason", "worn", "--destroy-removed", "--date", "2025-02-01")
    converted = cli.ok("record", "convert", "--weapon", WEAPON_ID, "--kind", "calibre", "--calibre", "9x19",
                       "--date", "2025-03-01", "--json").json()
    assert converted["event"] == "Weapon.Converted"
    history = cli.ok("history", WEAPON_ID).out
    assert "parts    barrel FN Herstal / BE / B-2, frame FN Herstal / BE / F-1" in history
    assert "calibre 9x19" in history
    assert "components: frame FN Herstal / BE / F-1, barrel FN Herstal / BE / B-1" in history
    shown = cli.ok("component", "show", "FN Herstal/BE/B-1").out
    assert "status    destroyed" in shown and f"in weapon {WEAPON_ID} (installed; removed: worn)" in shown
    cid = assembled["component_ids"][0]
    assert cli.ok("component", "show", cid[:6], "--json").json()["kind"] == "frame"
    found = cli.ok("search", "--serial", "F-1").out
    assert WEAPON_ID in found and "(frame FN Herstal / BE / F-1)" in found
    refused = cli.refused("record", "destroy-component", "FN Herstal/BE/F-1", "--method", "shredding")
    assert "installed in weapon" in refused.err and "replace-component" in refused.err
    cli.ok("record", "replace-component", "--weapon", WEAPON_ID, "--kind", "barrel", "--new", "FN Herstal/BE/B-3",
           "--reason", "match barrel", "--date", "2025-03-10")
    cli.ok("record", "destroy-component", "FN Herstal/BE/B-2", "--method", "shredding", "--date", "2025-03-11")
    assert "destroyed already" in cli.refused("record", "destroy-component", "FN Herstal/BE/B-2", "--method",
                                              "again").err
    cli.ok("record", "destroy", "--weapon", WEAPON_ID, "--method", "shredding", "--date", "2025-04-01")
    assert "which was destroyed" in cli.ok("component", "show", cid).out
    audit = cli.ok("audit", "reads", "--json").json()
    assert {"component"} <= {r["action"] for r in audit["reads"]}


ASSEMBLE, CONVERT = ["record", "assemble", "--weapon", WEAPON_ID], ["record", "convert", "--weapon", WEAPON_ID]
REFUSALS = [
    (ASSEMBLE, "--component", "at least one"),
    ([*ASSEMBLE, "--component", "grip=FN/BE/G-1"], "--component", "not a component kind"),
    ([*ASSEMBLE, "--component", "frame=FN-BE-1"], "--component", "MANUFACTURER/CC/SERIAL"),
    ([*ASSEMBLE, "--component", "frame=FN/XX/1"], "--component", "ISO 3166"),
    (["record", "assemble", "--weapon", "00000000", "--component", "frame=FN/BE/1"], "--weapon", "no weapon"),
    ([*ASSEMBLE, "--component", "frame=FN/BE/1", "--by", "police"], "--weapon", "seized"),
    (["record", "replace-component", "--weapon", WEAPON_ID, "--kind", "frame", "--new", "FN/BE/2", "--reason", "x"],
     "--kind", "no frame on record"),
    (["record", "replace-component", "--weapon", WEAPON_ID, "--kind", "stock", "--new", "FN/BE/2", "--reason", "x"],
     "--kind", "not a component kind"),
    ([*CONVERT, "--kind", "calibre"], "--calibre", "required"),
    ([*CONVERT, "--kind", "alarm-to-firearm"], "--licence", "conversion licence"),
    ([*CONVERT, "--kind", "alarm-to-firearm", "--licence", "CV-9"], "--licence", "CV-9"),
    ([*CONVERT, "--kind", "magic"], "--kind", "not a conversion"),
    (["component", "show", "FN/BE/NOTHING"], "component", "no record"),
    (["component", "show", "zz"], "component", "not an id"),
    (["record", "destroy-component", "FN/BE/NOTHING", "--method", "x"], "component", "no record"),
]


def test_each_refusal_names_the_option_and_writes_nothing(cli):
    before = stored(cli)
    for argv, option, reason in REFUSALS:
        result = cli.refused(*argv)
        assert option in result.err and reason in result.err, (argv, result.err)
    assert stored(cli) == before
    assert "no record" in cli.refused("component", "show", "FN/BE/1").err  # no part was registered either


def test_a_marking_on_two_parts_needs_the_kind(cli):
    cli.ok(*ASSEMBLE, "--component", "frame=FN/BE/77", "--component", "barrel=FN/BE/77")
    assert "--kind" in cli.refused("component", "show", "FN/BE/77").err
    assert cli.ok("component", "show", "FN/BE/77", "--kind", "barrel", "--json").json()["marking"] == \
        read_marking("FN/BE/77").as_dict()


def test_a_component_record_edited_behind_the_node_is_shown_not_verified_with_exit_1(cli):
    [frame] = cli.ok("record", "assemble", "--weapon", WEAPON_ID, "--component", "frame=FN/BE/T-1", "--json").json()[
        "component_ids"]
    table, key = events_table(cli.db), row_id(cli.db, frame)
    state = sql(cli.db, f"SELECT state FROM {table} WHERE originator_id = ? AND originator_version = 2", key)[0][0]
    envelope = dict(canonical_decode(bytes(state)))
    envelope["body"] = {**envelope["body"], "weapon_id": frame}  # "installed" somewhere else, not signed so
    sql(cli.db, f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = 2",
        canonical_encode(envelope), key)
    shown = cli("component", "show", frame, "--json")
    assert shown.code == 1 and "version 2" in shown.err and "armsledger verify" in shown.err
    document = shown.json()
    assert document["verified"] is False and document["status"] == "loose" and document["weapons"] == []
