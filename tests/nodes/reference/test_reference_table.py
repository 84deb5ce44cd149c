"""The reference table in the node's database, on SQLite and PostgreSQL: loading (every row checked
first, nothing written when one is bad), search, show, matching against the table, and a damaged row."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.reference import MATCHED, NO_TABLE, UNMATCHED
from nodes.bootstrap import init_node
from nodes.reference import matching
from nodes.reference.errors import ReferenceFileRefused, ReferenceTableDamaged
from nodes.reference.loading import read_text, starter_text
from nodes.reference.table import TABLE, Criteria, ReferenceTable
from nodes.settings import Settings

HEADER = "id,make,model,type,calibre,country,source\n"
GOOD = HEADER + ("NAT-1,Glock,17,pistol,9mm,AT,national\n"
                 "NAT-2,Smith & Wesson,Model 686,revolver,.357 Magnum;.38 Special,US,national\n"
                 "NAT-3,Acme,Thunder,rifle,7.62x39mm,,\n")


@pytest.fixture
def node(tmp_path, db_url):
    node = init_node(Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


def test_a_node_without_a_table_matches_and_flags_nothing(node):
    weapon = node.registry.manufacture(marking=_marking("T-1"), type="pistol", make="Acme", model="Nope",
                                       calibre="9mm", year=2020, holder="Acme")
    found = matching.weapon_match(node, weapon)
    assert found.status == NO_TABLE and not found.flagged and matching.warning(found) is None


def test_loaded_entries_are_searched_and_shown_by_id_in_any_case(node):
    assert matching.import_entries(node, text=GOOD) == {"file": "csv", "loaded": 3, "replaced": False, "entries": 3}
    assert matching.show(node, "nat-2") == {"id": "NAT-2", "make": "Smith & Wesson", "model": "Model 686",
                                            "type": "revolver", "calibre": ".357 Magnum; .38 Special",
                                            "country": "US", "source": "national"}
    by = {name: [e["id"] for e in matching.search(node, criteria)["entries"]] for name, criteria in {
        "text 9mm": Criteria(text="9mm"), "text wesson 38": Criteria(text="wesson 38"),
        "make S&W": Criteria(make="S&W"), "calibre .38 Spl": Criteria(calibre=".38 Spl"),
        "model 17": Criteria(model="17"), "nothing": Criteria(make="Beretta")}.items()}
    assert by == {"text 9mm": ["NAT-1"], "text wesson 38": ["NAT-2"], "make S&W": ["NAT-2"],
                  "calibre .38 Spl": ["NAT-2"], "model 17": ["NAT-1"], "nothing": []}
    limited = matching.search(node, Criteria(text="i"), limit=1)  # pIstol, smIth, rIfle
    assert limited["total"] == 3 and len(limited["entries"]) == 1


def test_a_load_replaces_entries_by_id_or_the_whole_table(node):
    matching.import_entries(node, text=GOOD)
    matching.import_entries(node, text=HEADER + "nat-1,Glock,17,pistol,9mm;.380 ACP,AT,revised\n")
    assert matching.show(node, "NAT-1")["source"] == "revised" and ReferenceTable(node.registry).count() == 3
    matching.import_entries(node, starter=True, replace=True)
    table = ReferenceTable(node.registry)
    assert table.count() == len(read_text(starter_text())) and table.get("NAT-2") is None
    assert 40 <= table.count() <= 80


@pytest.mark.parametrize("text, line, field", [
    ("", 1, "header"),
    ("id,make,model,type\n", 1, "header"),
    (HEADER.replace("source", "owner"), 1, "header"),
    (HEADER + "NAT-9,Glock,17,pistol,9mm,AT,x\nNAT-10,Glock,19,pistol,,AT,x\n", 3, "calibre"),
    (HEADER + "\nNAT-9,Glock,17,pistol,9mm,Austria,x\n", 3, "country"),
    (HEADER + "NAT-9,Glock,17,pistol,9mm,AT\n", 2, "row"),
    (HEADER + "NAT-9,Glock,17,pistol,9mm,AT,x\nnat-9,Glock,19,pistol,9mm,AT,x\n", 3, "id"),
    (HEADER + 'NAT-9,"Glock\n",17,pistol,9mm,AT,x\nNAT 10,Glock,19,pistol,9mm,AT,x\n', 4, "id"),
])
def test_a_bad_row_refuses_the_whole_file_naming_line_and_field(text, line, field):
    with pytest.raises(ReferenceFileRefused) as refused:
        read_text(text, name="bad.csv")
    assert (refused.value.rows[0].line, refused.value.rows[0].field) == (line, field)
    assert refused.value.field == "file" and str(refused.value).startswith(f"file: bad.csv line {line}: {field}: ")


def test_nothing_of_a_file_with_a_bad_row_is_written(node):
    matching.import_entries(node, text=GOOD)
    with pytest.raises(ReferenceFileRefused, match="nothing was loaded"):
        matching.import_entries(node, text=GOOD.replace("NAT-3,Acme", "NAT-3,"), replace=True)
    assert [e.ref_id for e in ReferenceTable(node.registry).entries()] == ["NAT-1", "NAT-2", "NAT-3"]


def test_every_bad_row_is_named(node):
    text = HEADER + "A-1,Glock,,pistol,9mm,,\nA-2,Glock,19,pistol,9mm,,\nA-3,,19,pistol,9mm,,\n"
    with pytest.raises(ReferenceFileRefused) as refused:
        matching.import_entries(node, text=text)
    assert [(r.line, r.field) for r in refused.value.rows] == [(2, "model"), (4, "make")]
    assert "(1 more rows refused)" in str(refused.value)
    assert ReferenceTable(node.registry).count() == 0


def test_search_and_show_refuse_naming_the_field(node):
    for call, field in ((lambda: matching.search(node, Criteria()), "text"),
                        (lambda: matching.search(node, Criteria(text="x"), limit=0), "limit"),
                        (lambda: matching.show(node, "NAT-404"), "id"),
                        (lambda: matching.import_entries(node), "file")):
        with pytest.raises(InvalidField) as refused:
            call()
        assert refused.value.field == field


def test_recorded_descriptions_are_matched_to_the_table(node):
    matching.import_entries(node, starter=True)
    matched = node.registry.manufacture(marking=_marking("M-1"), type="pistol", make="FN", model="five-seven",
                                        calibre="5.7x28", year=2020, holder="FN Herstal")
    unmatched = node.registry.manufacture(marking=_marking("M-2"), type="pistol", make="FN", model="Five-six",
                                          calibre="5.7x28", year=2020, holder="FN Herstal")
    assert matching.weapon_match(node, matched).entry.ref_id == "ST-0008"
    flagged = matching.weapon_match(node, unmatched)
    assert flagged.status == UNMATCHED and "Five-six" in matching.warning(flagged)
    assert matching.trace_reference(node, make="FN", model="Five-seveN", calibre="5.7mm") == {
        "id": "ST-0008", "make": "FN Herstal", "model": "Five-seveN", "type": "pistol", "calibre": "5.7x28mm"}
    assert matching.trace_reference(node, make="FN", model="Five-six", calibre="") == {}


def test_the_history_shows_the_entry_matched_or_the_flag(node):
    from nodes.registry.federated_history import federated_history

    matching.import_entries(node, starter=True)
    weapon = node.registry.manufacture(marking=_marking("H-1"), type="pistol", make="Glock", model="17",
                                       calibre="9mm Luger", year=2020, holder="Glock")
    node.registry.record_seizure(weapon_id=weapon, place="Gent", circumstances="search")
    document = federated_history(node, weapon)
    assert document["reference"]["status"] == MATCHED and document["reference"]["id"] == "ST-0001"
    assert [(e["type"], e["reference"]["id"]) for e in document["events"]] == [
        ("Weapon.Manufactured", "ST-0001"), ("Weapon.Seized", "ST-0001")]
    seized = node.registry.record_seizure(marking=_marking("H-2"), type="pistol", make="Glock", model="71",
                                          calibre="9mm", place="Gent", circumstances="search").weapon_id
    flagged = federated_history(node, seized)
    assert flagged["reference"]["status"] == UNMATCHED and "'71'" in flagged["reference"]["reason"]
    assert flagged["events"][0]["reference"] == flagged["reference"]


def test_a_damaged_row_is_named_not_shown(node):
    matching.import_entries(node, text=GOOD)
    table = ReferenceTable(node.registry)
    with table._transaction("damaging", commit=True) as sql:
        sql.run(f"UPDATE {TABLE} SET calibres = ? WHERE ref_key = ?", ("", "NAT-2"))
    with pytest.raises(ReferenceTableDamaged, match="'NAT-2' is damaged: calibre"):
        matching.show(node, "NAT-2")
    assert matching.show(node, "NAT-1")["id"] == "NAT-1"


def _marking(serial: str):
    from domain.marking import Marking

    return Marking.read("FN Herstal", "BE", serial)
