"""The identity vault on both backends: round trip, blind index, erasure, the KEK at rest."""

import os
import sqlite3

import pytest

from domain.errors import InvalidField
from domain.person import Identity, PersonErased, UnknownPerson, is_person_reference, new_person_reference
from ledger.errors import KeyStoreError
from nodes.errors import ConfigurationError, NodeFileDamaged
from nodes.persons.kek import kek_path, load_or_create_kek
from nodes.persons.vault import IdentityVault
from nodes.settings import Settings

ANNA = Identity.of(name="Anna Meier", date_of_birth="1980-02-29", address="Rue du Lac 1, Genève",
                   id_document="P1234567")


@pytest.fixture
def vault(db_url):
    with IdentityVault(db_url, b"k" * 32) as opened:
        yield opened


def test_round_trip_and_find(vault):
    ref = vault.add(ANNA)
    assert is_person_reference(ref)
    assert vault.identity(ref) == ANNA
    assert vault.find(Identity.of(name="anna  MEIER", date_of_birth="1980-02-29")) == ref
    assert vault.find(Identity.of(name="Anna Meier", date_of_birth="1980-03-01")) is None
    assert vault.references() == [ref]
    assert not vault.is_erased(ref)


def test_find_many_answers_as_find_does_for_each_identity(vault):
    bo, cy = Identity.of(name="Bo Li", date_of_birth="1990-01-01"), Identity.of(name="Cy", date_of_birth="1991-01-01")
    twice, erased = {vault.add(ANNA), vault.add(ANNA)}, vault.add(bo)  # the same person twice: as find, one of them
    vault.erase(erased)
    many = [Identity.of(name=f"P {i}", date_of_birth="1950-01-01") for i in range(600)]  # over one query's page
    refs = vault.add_many(many)
    asked = [Identity.of(name="ANNA meier", date_of_birth="1980-02-29"), bo, cy, *many]
    found = vault.find_many(asked)
    assert found == {i.matching_key(): vault.find(i) for i in asked if vault.find(i) is not None}
    assert found[ANNA.matching_key()] in twice and bo.matching_key() not in found
    assert [found[i.matching_key()] for i in many] == refs and cy.matching_key() not in found


def test_erasure_is_final_and_idempotent(vault):
    ref, other = vault.add(ANNA), vault.add(Identity.of(name="Bo Li", date_of_birth="1990-01-01"))
    vault.erase(ref)
    vault.erase(ref)
    with pytest.raises(PersonErased) as erased:
        vault.identity(ref)
    assert erased.value.field == "person"
    assert vault.is_erased(ref) and vault.find(ANNA) is None
    assert sorted(vault.references()) == sorted([ref, other])
    assert vault.identity(other).name == "Bo Li"


def test_unknown_and_malformed_references(vault):
    unknown = new_person_reference()
    for call in (vault.identity, vault.erase, vault.is_erased):
        with pytest.raises(UnknownPerson) as refused:
            call(unknown)
        assert refused.value.field == "person"
    with pytest.raises(InvalidField):
        vault.identity("Anna Meier")


def test_another_kek_reads_nothing(db_url):
    with IdentityVault(db_url, b"k" * 32) as vault:
        ref = vault.add(ANNA)
    with IdentityVault(db_url, b"j" * 32) as stranger:
        assert stranger.find(ANNA) is None
        with pytest.raises(NodeFileDamaged):
            stranger.identity(ref)


def test_no_name_in_clear_in_the_sqlite_file(sqlite_url):
    with IdentityVault(sqlite_url, b"k" * 32) as vault:
        vault.erase(vault.add(ANNA))
        vault.add(Identity.of(name="Bo Li", date_of_birth="1990-01-01", address="Hauptstrasse 9"))
    with sqlite3.connect(sqlite_url) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = open(sqlite_url, "rb").read()
    for clear in ("Anna Meier", "Bo Li", "Hauptstrasse", "P1234567", "1980-02-29"):
        assert clear.encode() not in data


def test_kek_is_created_once_encrypted_and_guarded(tmp_path):
    settings = Settings.load({}, home=str(tmp_path), passphrase="correct horse")
    kek = load_or_create_kek(settings)
    path = kek_path(settings)
    assert len(kek) == 32 and kek not in path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_or_create_kek(settings) == kek
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        load_or_create_kek(Settings.load({}, home=str(tmp_path), passphrase="wrong"))
    with pytest.raises(ConfigurationError):
        load_or_create_kek(Settings.load({}, home=str(tmp_path)))
    os.chmod(path, 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        load_or_create_kek(settings)
    os.chmod(path, 0o600)
    path.write_bytes(b"not a key")
    with pytest.raises(NodeFileDamaged, match="not a key-encryption key file"):
        load_or_create_kek(settings)
    elsewhere = Settings.load({"ARMSLEDGER_KEK_FILE": str(tmp_path / "vault" / "kek")}, home=str(tmp_path),
                              passphrase="p")
    assert kek_path(elsewhere) == tmp_path / "vault" / "kek" and load_or_create_kek(elsewhere) != kek

