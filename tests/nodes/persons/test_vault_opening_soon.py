"""``VaultOnDemand.open_soon`` on both backends: the vault opened on a thread of its own is the one the next
call returns and works from the caller's thread; its failure is raised by that call; and the CSV import's
private holders read the rows after while it opens, in order and up to a bound."""

from __future__ import annotations

import threading

import pytest

from domain.person import Identity, is_person_reference
from ledger import passphrase_seal
from ledger.errors import KeyStoreError
from nodes.migration import private_holders
from nodes.migration.private_holders import NewHolders, pseudonymised
from nodes.persons.holders import VaultOnDemand
from nodes.persons.kek import load_or_create_kek
from nodes.persons.vault import IdentityVault
from nodes.settings import Settings

ANN = Identity.of(name="Ann Peeters", date_of_birth="1950-01-01")


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    # A costlier KEK than the default (scrypt N = 2^16): its opening takes longer than reading a few rows.
    settings = Settings.load(environ={"ARMSLEDGER_KEK_COST": "16"}, home=tmp_path / "be", db=db_url,
                             passphrase="correct horse")
    load_or_create_kek(settings)
    with IdentityVault.open(settings) as vault:
        vault.add(ANN)
    passphrase_seal.forget_derived()  # the process keeps the key it derived: the tests' openings derive again
    return settings


def test_the_vault_opened_soon_is_the_one_called_and_works_from_the_callers_thread(settings):
    with VaultOnDemand(settings) as vault:
        vault.open_soon()
        vault.open_soon()  # opening already: no second opening
        opened = vault()
        assert not vault.opening and vault() is opened
        assert opened.find(ANN) is not None and opened.find_many([ANN]) == {ANN.matching_key(): opened.find(ANN)}
        assert is_person_reference(opened.add(Identity.of(name="Bo Jansen", date_of_birth="1960-01-01")))


def test_a_failed_opening_is_raised_by_the_next_call_not_by_open_soon(settings):
    wrong = Settings.load(environ={}, home=settings.home, db=settings.db, passphrase="wrong passphrase")
    with VaultOnDemand(wrong) as vault:
        vault.open_soon()
        with pytest.raises(KeyStoreError, match="wrong passphrase"):
            vault()
        with pytest.raises(KeyStoreError, match="wrong passphrase"):  # and again, opening anew
            vault()


def test_closed_before_any_call_the_opening_is_waited_for_and_closed(settings):
    vault = VaultOnDemand(settings)
    vault.open_soon()
    vault.close()
    assert not vault.opening
    assert all(thread.name != "identity-vault-opening" for thread in threading.enumerate())
    with vault:  # usable again: opens anew on the next call
        assert vault().find(ANN) is not None


def test_the_import_reads_the_rows_after_while_the_vault_opens_in_order_and_bounded(settings):
    batch = 2
    bound = batch * (private_holders._READ_AHEAD + 1)
    rows = [(line, _row(f"Holder {line % 7}", "1950-01-01")) for line in range(2, 2 + 3 * bound)]
    rows[4] = (rows[4][0], _row("Ann  PEETERS", "1950-01-01"))  # the vault holds her already
    read: list[int] = []

    def reading():
        for line, row in rows:
            read.append(line)
            yield line, row

    new = NewHolders()
    with VaultOnDemand(settings) as vault:
        out = pseudonymised(reading(), vault, new, batch=batch)
        first = next(out)
        read_at_first = len(read)
        resolved = [first, *out]
        known = vault().find(ANN)
    assert batch < read_at_first <= bound  # read ahead while the key was unlocked, not past the bound
    assert [line for line, _row_ in resolved] == [line for line, _row_ in rows]
    holders = [row["current_holder"] for _line, row in resolved]
    assert all(is_person_reference(holder) for holder in holders) and holders[4] == known
    by_name = {rows[i][1]["current_holder"]: holders[i] for i in range(len(rows)) if i != 4}
    assert len(set(by_name.values())) == 7 and known not in by_name.values()
    assert all(holders[i] == by_name[rows[i][1]["current_holder"]] for i in range(len(rows)) if i != 4)


def _row(name: str, born: str) -> dict[str, str]:
    return {"current_holder": name, "holder_kind": "person", "holder_born": born}
