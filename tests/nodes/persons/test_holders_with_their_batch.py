"""``import-csv`` stores a new private holder's identity in the transaction of the first batch that records a
row naming it, on both backends: a person named only on refused rows leaves no identity, and a batch the
database refuses leaves neither its records nor the identities of its new holders; the re-run completes it."""

from __future__ import annotations

import csv
import sqlite3

import psycopg
import pytest

from domain.marking import Marking
from domain.person import Identity
from nodes.bootstrap import init_node
from nodes.errors import StorageError
from nodes.migration import import_csv
from nodes.persons.vault import IdentityVault
from nodes.settings import Settings

COLUMNS = ("manufacturer", "country", "serial", "type", "calibre", "year", "manufactured_on", "first_holder",
           "current_holder", "transferred_on", "transfer_licence", "holder_kind", "holder_born")
ANN, BO, CY = (Identity.of(name=name, date_of_birth="1950-01-01") for name in ("Ann Peeters", "Bo Jansen", "Cy Maes"))


def row(serial: str, holder: Identity | str, **changes: str) -> dict[str, str]:
    person = isinstance(holder, Identity)
    values = {"manufacturer": "FN Herstal", "country": "BE", "serial": serial, "type": "rifle", "calibre": "7.62",
              "year": "1970", "manufactured_on": "1970-05-01", "first_holder": "FN Herstal",
              "current_holder": holder.name if isinstance(holder, Identity) else holder,
              "transferred_on": "1972-01-01", "transfer_licence": f"LG/{serial}",
              "holder_kind": "person" if person else "", "holder_born": "1950-01-01" if person else ""}
    return {**values, **changes}


def write_register(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def weapon(serial: str):
    return Marking.read("FN Herstal", "BE", serial).weapon_id()


@pytest.fixture
def node(db_url, tmp_path):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="correct horse"), "BE")
    yield node
    node.close()


def test_a_person_named_only_on_refused_rows_leaves_no_identity(node, tmp_path):
    path = write_register(tmp_path / "register.csv", [
        row("A-1", ANN, year="19x0"),                   # refused when signed: Ann is on no recorded row
        row("A-2", BO),
        row("A-3", CY, year="19x0"), row("A-4", CY),    # Cy's first row refused, the next (next batch) recorded
    ])
    report = import_csv(node, path, batch_size=3, workers=0)
    assert (report.imported, [(e.line, e.field) for e in report.errors]) == (2, [(2, "year"), (4, "year")])
    with IdentityVault.open(node.settings) as vault:
        assert vault.find(ANN) is None
        bo, cy = vault.find(BO), vault.find(CY)
        assert sorted(vault.references()) == sorted([bo, cy])
        assert node.registry.weapon(weapon("A-2")).holder == bo and node.registry.weapon(weapon("A-4")).holder == cy


def test_a_batch_the_database_refuses_leaves_no_record_and_no_identity(node, tmp_path, db_url):
    path = write_register(tmp_path / "register.csv", [
        row("B-1", ANN), row("B-2", "Armurerie Lambert"),   # batch 1
        row("B-3", BO), row("B-4", ANN),                    # batch 2: the database refuses B-3's records
    ])
    refusing = _refuse_records_of(db_url, node.registry.recorder.events_table_name, weapon("B-3"))
    with pytest.raises(StorageError):
        import_csv(node, path, batch_size=2, workers=0)
    with IdentityVault.open(node.settings) as vault:
        ann = vault.find(ANN)
        assert vault.find(BO) is None and vault.references() == [ann]
    assert node.registry.weapon(weapon("B-1")).holder == ann
    assert node.registry.recorder.select_events(weapon("B-3")) == []
    assert node.registry.recorder.select_events(weapon("B-4")) == []

    refusing.drop()
    report = import_csv(node, path, batch_size=2, workers=0)
    assert (report.imported, report.skipped, report.errors) == (2, 2, [])
    with IdentityVault.open(node.settings) as vault:
        bo = vault.find(BO)
        assert sorted(vault.references()) == sorted([ann, bo])
    assert node.registry.weapon(weapon("B-3")).holder == bo and node.registry.weapon(weapon("B-4")).holder == ann


class _Trigger:
    """A trigger of the real database that refuses the records of one weapon (a database failure, mid-import)."""

    def __init__(self, db: str, statements: tuple[str, ...], drop: str):
        self.db, self._drop = db, drop
        self._run(statements)

    def drop(self) -> None:
        self._run((self._drop,))

    def _run(self, statements: tuple[str, ...]) -> None:
        if self.db.startswith("postgresql://"):
            with psycopg.connect(self.db) as connection:
                for statement in statements:
                    connection.execute(statement)
            return
        with sqlite3.connect(self.db) as connection:
            for statement in statements:
                connection.execute(statement)


def _refuse_records_of(db: str, table: str, weapon_id) -> _Trigger:
    if db.startswith("postgresql://"):
        return _Trigger(db, (
            "CREATE FUNCTION refuse_test_weapon() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
            f"CREATE TRIGGER refuse_test_weapon BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN (NEW.originator_id = '{weapon_id}') EXECUTE FUNCTION refuse_test_weapon()",
        ), f"DROP TRIGGER refuse_test_weapon ON {table}")
    return _Trigger(db, (
        f"CREATE TRIGGER refuse_test_weapon BEFORE INSERT ON {table} WHEN NEW.originator_id = '{weapon_id.hex}' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    ), "DROP TRIGGER refuse_test_weapon")
