"""``import-csv`` with private holders, on both backends: a ``holder_kind`` of ``person`` makes the current
holder a reference (the same for the same person), wrong person columns refuse the row naming the column,
and the file's names are nowhere in the database."""

from __future__ import annotations

from stored_text import stored_values

from domain.marking import Marking
from domain.person import is_person_reference

HEADER = ("manufacturer,country,serial,type,calibre,year,manufactured_on,first_holder,current_holder,"
          "transferred_on,transfer_licence,holder_kind,holder_born,holder_address,holder_id_document")
ROWS = [
    "FN Herstal,BE,A-1,rifle,7.62,1970,1970-05-01,FN Herstal,Armurerie Lambert,1971-01-01,LG/1,,,,",
    "FN Herstal,BE,A-2,rifle,7.62,1970,1970-05-01,FN Herstal,Marc Dubois,1972-01-01,LG/2,person,1941-07-09,"
    "Rue Haute 5 Liège,BE-ID 123",
    "FN Herstal,BE,A-3,rifle,7.62,1970,1970-05-01,FN Herstal,MARC  dubois,1973-01-01,LG/3,Person,1941-07-09,,",
    "FN Herstal,BE,A-4,rifle,7.62,1970,1970-05-01,FN Herstal,Lea Roux,1973-01-01,LG/4,person,1941-02-30,,",
    "FN Herstal,BE,A-5,rifle,7.62,1970,1970-05-01,FN Herstal,Lea Roux,1973-01-01,LG/5,robot,1941-02-01,,",
    "FN Herstal,BE,A-6,rifle,7.62,1970,1970-05-01,FN Herstal,Lea Roux,1973-01-01,LG/6,,1941-02-01,,",
]


def test_private_holders_become_references(be, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    report = be.refused("import-csv", str(path), "--json").json()
    assert report["imported"] == 3
    assert sorted((e["line"], e["field"]) for e in report["errors"]) == [
        (5, "holder_born"), (6, "holder_kind"), (7, "holder_born")]
    holders = {}
    for serial in ("A-1", "A-2", "A-3"):
        weapon = str(Marking.read("FN Herstal", "BE", serial).weapon_id())
        holders[serial] = be.ok("history", weapon, "--json").json()["holder"]
    assert holders["A-1"] == "Armurerie Lambert"
    assert is_person_reference(holders["A-2"]) and holders["A-3"] == holders["A-2"]
    shown = be.ok("person", "show", holders["A-2"], "--json").json()
    assert shown["identity"]["address"] == "Rue Haute 5 Liège" and len(shown["records"]) == 2
    for table, value in stored_values(be.db):
        assert b"Dubois" not in value and b"dubois" not in value and b"Lea Roux" not in value, table
