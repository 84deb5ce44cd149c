"""The contract of the accounts as the HTTP service uses them, held by the real ``Accounts`` and by
the fixed stand-in the API tests use (``tests/support/fixed_directory.py``), so that a route test
passing against the stand-in means the same against the real accounts."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.roles import Role
from nodes.accounts.officer import NotSignedIn, Officer, TooManyAttempts
from nodes.accounts.store import Accounts

from fixed_directory import FixedDirectory

PASSWORD = "a long password 1"


@pytest.fixture(params=["accounts", "fixed"])
def directory(request, tmp_path):
    if request.param == "fixed":
        yield FixedDirectory()
        return
    accounts = Accounts.open(str(tmp_path / "ledger.db"))
    yield accounts
    accounts.close()


def test_a_user_added_signs_in_with_its_password_only(directory):
    officer, generated = directory.add_user("anna", Role.POLICE, PASSWORD)
    assert generated is None and isinstance(officer, Officer) and officer.role is Role.POLICE
    assert directory.sign_in("anna", PASSWORD, "192.0.2.1") == officer
    with pytest.raises(NotSignedIn) as wrong:
        directory.sign_in("anna", "not the password", "192.0.2.1")
    with pytest.raises(NotSignedIn) as unknown:
        directory.sign_in("nobody", PASSWORD, "192.0.2.1")
    assert str(wrong.value) == str(unknown.value)  # the answer does not tell which names exist


def test_a_user_without_a_password_gets_one_generated_once(directory):
    officer, generated = directory.add_user("bert", Role.AUDITOR)
    assert generated and len(generated) >= 12
    assert directory.sign_in("bert", generated, "192.0.2.1") == officer


def test_names_are_unique_and_passwords_long(directory):
    directory.add_user("anna", Role.POLICE, PASSWORD)
    with pytest.raises(InvalidField) as taken:
        directory.add_user("anna", Role.CUSTOMS, PASSWORD)
    assert taken.value.field == "name"
    with pytest.raises(InvalidField) as short:
        directory.add_user("cleo", Role.CUSTOMS, "short")
    assert short.value.field == "password"


def test_repeated_failures_are_refused_for_a_while(directory):
    directory.add_user("anna", Role.POLICE, PASSWORD)
    for _ in range(5):
        with pytest.raises(NotSignedIn):
            directory.sign_in("anna", "wrong password!", "192.0.2.9")
    with pytest.raises(TooManyAttempts) as refused:
        directory.sign_in("anna", PASSWORD, "192.0.2.9")
    assert refused.value.retry_after_s > 0


def test_a_token_stands_for_its_user_and_an_unknown_one_for_nobody(directory):
    officer, _ = directory.add_user("anna", Role.POLICE, PASSWORD)
    token, _ = directory.create_token("anna", days=1, label="script")
    assert directory.officer_for_token(token) == officer
    with pytest.raises(NotSignedIn):
        directory.officer_for_token(token + "x")


def test_a_session_gives_its_officer_and_csrf_token_until_closed(directory):
    officer, _ = directory.add_user("anna", Role.POLICE, PASSWORD)
    session, csrf = directory.open_session(officer)
    assert directory.officer_for_session(session) == (officer, csrf)
    other, other_csrf = directory.open_session(officer)
    assert other != session and other_csrf != csrf
    directory.close_session(session)
    with pytest.raises(NotSignedIn):
        directory.officer_for_session(session)
    assert directory.officer_for_session(other) == (officer, other_csrf)


def test_users_are_listed_with_name_id_and_role(directory):
    anna, _ = directory.add_user("anna", Role.POLICE, PASSWORD)
    listed = {(u.name, u.user_id, u.role) for u in directory.users()}
    assert (anna.name, anna.user_id, Role.POLICE) in listed
