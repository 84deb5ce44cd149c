"""``VaultOnDemand``: the vault opened at first use, or ahead in a thread when asked, with the same keys and the
same errors as an opening at first use; and ``import-csv`` asks for it on a register with person columns."""

import threading

import pytest

from domain.person import Identity
from ledger.errors import KeyStoreError
from nodes.bootstrap import init_node
from nodes.migration import import_csv
from nodes.persons.holders import VaultOnDemand
from nodes.persons.kek import kek_path, load_or_create_kek
from nodes.persons.vault import IdentityVault
from nodes.settings import Settings

ANNA = Identity.of(name="Anna Meier", date_of_birth="1980-02-29")


def _settings(tmp_path, db, passphrase="correct horse"):
    return Settings.load({"ARMSLEDGER_KEK_COST": "10"}, home=str(tmp_path), db=db, passphrase=passphrase)


def test_a_kek_unlocked_ahead_opens_the_same_vault(tmp_path, db_url):
    settings = _settings(tmp_path, db_url)
    with IdentityVault(db_url, load_or_create_kek(settings)) as vault:  # the KEK file exists from here on
        ref = vault.add(ANNA)
    with VaultOnDemand(settings) as on_demand:
        on_demand.open_ahead()
        on_demand.open_ahead()  # once is enough: a second call starts nothing more
        assert on_demand().find(ANNA) == ref and on_demand().identity(ref) == ANNA
    assert not [thread for thread in threading.enumerate() if thread.name == "vault-opening"]


def test_an_open_ahead_that_fails_raises_at_first_use(tmp_path, sqlite_url):
    load_or_create_kek(_settings(tmp_path, sqlite_url))
    with VaultOnDemand(_settings(tmp_path, sqlite_url, passphrase="wrong passphrase")) as on_demand:
        on_demand.open_ahead()  # raises nothing itself
        with pytest.raises(KeyStoreError, match="wrong passphrase"):
            on_demand()


def test_no_kek_file_is_made_ahead(tmp_path, sqlite_url):
    settings = _settings(tmp_path, sqlite_url)
    with VaultOnDemand(settings) as on_demand:
        on_demand.open_ahead()
        assert not kek_path(settings).exists()  # created at first use only, as without open_ahead
        on_demand().add(ANNA)
    assert kek_path(settings).exists()


def test_a_vault_opened_ahead_and_never_used_is_closed(tmp_path, db_url, monkeypatch):
    settings = _settings(tmp_path, db_url)
    load_or_create_kek(settings)
    closed = []
    real = IdentityVault.close
    monkeypatch.setattr(IdentityVault, "close", lambda self: closed.append(self) or real(self))
    with VaultOnDemand(settings) as on_demand:
        on_demand.open_ahead()
    assert len(closed) == 1


@pytest.mark.parametrize(("header", "unlocked"), [("holder_kind", 1), ("holder_born", 1), ("model", 0)])
def test_import_csv_unlocks_ahead_for_a_register_with_person_columns(tmp_path, monkeypatch, header, unlocked):
    calls = []
    real = VaultOnDemand.open_ahead
    monkeypatch.setattr(VaultOnDemand, "open_ahead", lambda self: calls.append(1) or real(self))
    node = init_node(_settings(tmp_path, str(tmp_path / "ledger.db")), "BE")
    path = tmp_path / "register.csv"
    path.write_text("manufacturer,country,serial,type,calibre,year,manufactured_on,first_holder,current_holder,"
                    f"transferred_on,{header}\nFN Herstal,BE,A-1,rifle,7.62,1970,1970-05-01,FN Herstal,"
                    ",,\n", encoding="utf-8")
    try:
        assert import_csv(node, path, workers=0).imported == 1
    finally:
        node.close()
    assert len(calls) == unlocked
