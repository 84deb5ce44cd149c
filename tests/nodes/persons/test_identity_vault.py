"""The identity vault on both backends: round trip, blind index, erasure, the KEK at rest."""

import os
import sqlite3

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

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



def test_a_kek_file_records_its_scrypt_cost_and_opens_at_it(tmp_path):
    default = Settings.load({}, home=str(tmp_path / "a"), passphrase="correct horse")
    cheap = Settings.load({"ARMSLEDGER_KEK_COST": "10"}, home=str(tmp_path / "b"), passphrase="correct horse")
    assert (default.kek_cost, cheap.kek_cost) == (15, 10)
    keks = [load_or_create_kek(settings) for settings in (default, cheap)]
    for settings, kek, cost in zip((default, cheap), keks, (15, 10), strict=True):
        data = kek_path(settings).read_bytes()
        assert data[:20] == b"armsledger-kek-2\n" + bytes((cost, 8, 1))
        # The cost of new files changing does not change how an existing file opens.
        other_cost = Settings.load({"ARMSLEDGER_KEK_COST": "12"}, home=settings.home, passphrase="correct horse")
        assert load_or_create_kek(other_cost) == kek
    assert keks[0] != keks[1]


def test_a_kek_file_of_the_first_format_still_opens(tmp_path):
    settings = Settings.load({}, home=str(tmp_path), passphrase="correct horse")
    kek, salt, nonce = os.urandom(32), os.urandom(16), os.urandom(12)
    magic = b"armsledger-kek-1\n"  # no cost recorded: scrypt N=2^15, r=8, p=1
    key = Scrypt(salt=salt, length=32, n=1 << 15, r=8, p=1).derive(b"correct horse")
    path = kek_path(settings)
    path.parent.mkdir(parents=True)
    path.write_bytes(magic + salt + nonce + AESGCM(key).encrypt(nonce, kek, magic))
    path.chmod(0o600)
    assert load_or_create_kek(settings) == kek


@pytest.mark.parametrize(("log2_n", "r", "p", "refused"), [
    (11, 8, 1, KeyStoreError),      # another cost in bounds: the key derived differs, and the cost is bound to the seal
    (9, 8, 1, NodeFileDamaged), (21, 8, 1, NodeFileDamaged), (10, 0, 1, NodeFileDamaged),
    (10, 9, 1, NodeFileDamaged), (10, 8, 5, NodeFileDamaged)])
def test_a_kek_file_whose_recorded_cost_was_altered_is_refused(tmp_path, log2_n, r, p, refused):
    settings = Settings.load({"ARMSLEDGER_KEK_COST": "10"}, home=str(tmp_path), passphrase="correct horse")
    load_or_create_kek(settings)
    path = kek_path(settings)
    data = bytearray(path.read_bytes())
    data[17:20] = bytes((log2_n, r, p))
    path.write_bytes(bytes(data))
    with pytest.raises(refused, match="wrong passphrase or damaged" if refused is KeyStoreError else "records a cost"):
        load_or_create_kek(settings)


@pytest.mark.parametrize("given", ["9", "21", "fifteen", "-1"])
def test_a_kek_cost_out_of_bounds_is_refused_naming_the_setting(given):
    with pytest.raises(InvalidField) as refused:
        Settings.load({"ARMSLEDGER_KEK_COST": given})
    assert refused.value.field == "kek_cost" and "ARMSLEDGER_KEK_COST" in str(refused.value)
