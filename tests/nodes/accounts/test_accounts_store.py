"""The accounts store on SQLite and PostgreSQL: users, sign-in and its limits, tokens, sessions, disabling."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.roles import Role
from nodes.accounts.officer import NotSignedIn, TooManyAttempts
from nodes.accounts.sign_in_limits import SignInLimits
from nodes.accounts.store import IDLE_TIMEOUT_S, SESSION_LIFETIME_S, Accounts

PASSWORD = "a long enough secret"
START = 1_900_000_000.0


class Clock:
    """A clock the test moves on."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(db_url, clock):
    with Accounts.open(db_url, clock=clock, limits=SignInLimits(max_failures=3, window_s=600)) as opened:
        yield opened


def refused_field(call, *args, **kwargs) -> str | None:
    with pytest.raises(InvalidField) as refused:
        call(*args, **kwargs)
    return refused.value.field


# --- users -------------------------------------------------------------------------------------

def test_a_user_added_with_a_password_signs_in_with_it_and_is_listed(accounts):
    officer, generated = accounts.add_user("Alice.Martin", Role.LICENSING, PASSWORD)
    assert generated is None
    assert (officer.name, officer.role) == ("alice.martin", Role.LICENSING)
    assert accounts.sign_in("ALICE.MARTIN", PASSWORD, "10.0.0.1") == officer
    [listed] = accounts.users()
    assert (listed.name, listed.user_id, listed.role, listed.enabled, listed.created_at) == (
        "alice.martin", officer.user_id, Role.LICENSING, True, int(START))
    assert accounts.user("alice.martin") == listed


def test_a_user_added_without_a_password_gets_a_generated_one_that_signs_in(accounts):
    officer, generated = accounts.add_user("bob", "customs")
    assert generated is not None and len(generated) >= 12
    assert accounts.sign_in("bob", generated, "10.0.0.1") == officer


def test_a_name_is_unique_and_well_formed_and_a_password_long_enough(accounts):
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    assert refused_field(accounts.add_user, "Alice", Role.TRACING, PASSWORD) == "name"
    for bad in ("", " ", "al ice", "-alice", "a" * 65, "operator", "ali\u0000ce"):
        assert refused_field(accounts.add_user, bad, Role.POLICE, PASSWORD) == "name", bad
    assert refused_field(accounts.add_user, "carol", Role.POLICE, "short") == "password"
    assert refused_field(accounts.add_user, "carol", Role.POLICE, " padded password ") == "password"
    assert refused_field(accounts.add_user, "carol", "sheriff", PASSWORD) == "role"
    assert [u.name for u in accounts.users()] == ["alice"]  # nothing half-written


def test_an_unknown_user_is_refused_naming_the_name(accounts):
    for call in (accounts.user, accounts.disable_user, accounts.enable_user):
        assert refused_field(call, "nobody") == "name"
    assert refused_field(accounts.set_password, "nobody", PASSWORD) == "name"
    assert refused_field(accounts.set_role, "nobody", Role.POLICE) == "name"


def test_a_new_password_replaces_the_old_and_ends_the_sessions(accounts):
    officer, _ = accounts.add_user("alice", Role.POLICE, PASSWORD)
    session, _ = accounts.open_session(officer)
    accounts.set_password("alice", "another long secret")
    with pytest.raises(NotSignedIn):
        accounts.sign_in("alice", PASSWORD, "10.0.0.1")
    assert accounts.sign_in("alice", "another long secret", "10.0.0.1") == officer
    with pytest.raises(NotSignedIn):
        accounts.officer_for_session(session)


def test_a_new_role_holds_from_the_next_use_of_a_token(accounts):
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    token, _ = accounts.create_token("alice")
    accounts.set_role("alice", Role.AUDITOR)
    assert accounts.officer_for_token(token).role is Role.AUDITOR
    assert accounts.user("alice").role is Role.AUDITOR


# --- signing in ---------------------------------------------------------------------------------

def test_a_wrong_password_and_an_unknown_name_are_refused_alike(accounts):
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    messages = set()
    for name, password in (("alice", "wrong password!"), ("nobody", PASSWORD), ("not a name", PASSWORD)):
        with pytest.raises(NotSignedIn) as refused:
            accounts.sign_in(name, password, f"10.0.0.{len(messages) + 7}")
        messages.add(str(refused.value))
    assert messages == {"wrong name or password"}


def test_failures_of_one_name_from_many_addresses_lock_that_name_only_until_the_window_passes(accounts, clock):
    officer, _ = accounts.add_user("alice", Role.POLICE, PASSWORD)
    accounts.add_user("bob", Role.POLICE, PASSWORD)
    for attempt in range(3):
        clock.advance(10)
        with pytest.raises(NotSignedIn):
            accounts.sign_in("alice", "wrong password!", f"10.0.0.{attempt}")
    with pytest.raises(TooManyAttempts) as refused:
        accounts.sign_in("alice", PASSWORD, "10.9.9.9")  # even the right password, from elsewhere
    assert refused.value.retry_after_s == 600 - 20
    assert accounts.sign_in("bob", PASSWORD, "10.9.9.9").name == "bob"
    clock.advance(600 - 20)
    assert accounts.sign_in("alice", PASSWORD, "10.9.9.9") == officer


def test_failures_from_one_address_over_many_names_lock_that_address(accounts, clock):
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    for name in ("x1", "x2", "x3"):
        with pytest.raises(NotSignedIn):
            accounts.sign_in(name, PASSWORD, "192.0.2.1")
    with pytest.raises(TooManyAttempts) as refused:
        accounts.sign_in("alice", PASSWORD, "192.0.2.1")
    assert refused.value.retry_after_s == 600
    assert accounts.sign_in("alice", PASSWORD, "192.0.2.2").name == "alice"


def test_a_success_forgets_the_names_failures(accounts):
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    for round_ in range(3):
        for attempt in range(2):
            with pytest.raises(NotSignedIn):
                accounts.sign_in("alice", "wrong password!", f"10.{round_}.0.{attempt}")
        accounts.sign_in("alice", PASSWORD, f"10.{round_}.1.1")


def test_failures_are_shared_by_every_process_using_the_database(db_url, accounts, clock):
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    with Accounts.open(db_url, clock=clock, limits=accounts.limits) as other:
        for attempt in range(3):
            with pytest.raises(NotSignedIn):
                (accounts, other)[attempt % 2].sign_in("alice", "wrong password!", f"10.0.0.{attempt}")
        with pytest.raises(TooManyAttempts):
            other.sign_in("alice", PASSWORD, "10.0.1.1")


def test_a_disabled_user_cannot_sign_in_until_enabled(accounts):
    officer, _ = accounts.add_user("alice", Role.POLICE, PASSWORD)
    accounts.disable_user("alice")
    assert accounts.user("alice").enabled is False
    with pytest.raises(NotSignedIn, match="wrong name or password"):
        accounts.sign_in("alice", PASSWORD, "10.0.0.1")
    accounts.enable_user("alice")
    assert accounts.sign_in("alice", PASSWORD, "10.0.0.1") == officer


def test_the_last_enabled_administrator_can_be_neither_disabled_nor_demoted(accounts):
    accounts.add_user("ada", Role.ADMIN, PASSWORD)
    accounts.add_user("alice", Role.POLICE, PASSWORD)
    with pytest.raises(InvalidField, match="'ada' is the last enabled administrator") as disabling:
        accounts.disable_user("ada")
    assert disabling.value.field == "name"
    with pytest.raises(InvalidField, match="last enabled administrator") as demoting:
        accounts.set_role("ada", Role.AUDITOR)
    assert demoting.value.field == "role"
    assert (accounts.user("ada").enabled, accounts.user("ada").role) == (True, Role.ADMIN)
    accounts.set_role("ada", Role.ADMIN)  # no change of role: allowed
    accounts.add_user("grace", Role.ADMIN, PASSWORD)
    accounts.disable_user("grace")        # a disabled administrator does not count ...
    with pytest.raises(InvalidField):
        accounts.disable_user("ada")
    accounts.enable_user("grace")         # ... an enabled one does
    accounts.set_role("ada", Role.AUDITOR)
    assert accounts.user("ada").role is Role.AUDITOR
    with pytest.raises(InvalidField, match="'grace' is the last"):
        accounts.disable_user("grace")


# --- tokens --------------------------------------------------------------------------------------

def test_a_token_stands_for_its_user_until_it_expires(accounts, clock):
    officer, _ = accounts.add_user("alice", Role.TRACING, PASSWORD)
    token, info = accounts.create_token("alice", days=2, label="case desk")
    assert (info.user_name, info.label, info.expires_at, info.status(clock())) == (
        "alice", "case desk", int(START) + 2 * 86400, "active")
    assert accounts.officer_for_token(token) == officer
    clock.advance(2 * 86400)
    with pytest.raises(NotSignedIn, match="expired"):
        accounts.officer_for_token(token)
    assert accounts.tokens("alice")[0].status(clock()) == "expired"


def test_only_a_hash_of_a_token_is_stored(db_url, accounts):
    import sqlite3

    import psycopg

    accounts.add_user("alice", Role.TRACING, PASSWORD)
    token, _ = accounts.create_token("alice")
    query = "SELECT token_id, token_hash, label FROM officer_tokens"
    if db_url.startswith("postgresql://"):
        with psycopg.connect(db_url) as connection:
            rows = connection.execute(query).fetchall()
    else:
        with sqlite3.connect(db_url) as connection:
            rows = connection.execute(query).fetchall()
    assert len(rows) == 1 and token not in repr(rows)


def test_a_revoked_token_is_refused_and_listed_as_revoked(accounts):
    accounts.add_user("alice", Role.TRACING, PASSWORD)
    token, info = accounts.create_token("alice")
    kept, _ = accounts.create_token("alice")
    accounts.revoke_token(info.token_id)
    accounts.revoke_token(info.token_id)  # again: nothing changes
    with pytest.raises(NotSignedIn, match="revoked"):
        accounts.officer_for_token(token)
    assert accounts.officer_for_token(kept).name == "alice"
    statuses = {t.token_id: t.status(0) for t in accounts.tokens()}
    assert statuses.pop(info.token_id) == "revoked" and list(statuses.values()) == ["active"]
    assert refused_field(accounts.revoke_token, "no-such-id") == "token_id"


def test_unknown_or_malformed_tokens_are_refused(accounts):
    for token in ("", "x" * 300, "made-up-token"):
        with pytest.raises(NotSignedIn):
            accounts.officer_for_token(token)


def test_token_options_are_checked(accounts):
    accounts.add_user("alice", Role.TRACING, PASSWORD)
    for days in (0, 367, -1):
        assert refused_field(accounts.create_token, "alice", days=days) == "days"
    assert refused_field(accounts.create_token, "alice", label="x" * 101) == "label"
    assert refused_field(accounts.create_token, "nobody") == "name"
    accounts.disable_user("alice")
    assert refused_field(accounts.create_token, "alice") == "name"
    assert accounts.tokens() == []


# --- sessions ------------------------------------------------------------------------------------

def test_a_session_stays_open_while_used_and_ends_after_the_idle_timeout(accounts, clock):
    officer, _ = accounts.add_user("alice", Role.CUSTOMS, PASSWORD)
    session, csrf = accounts.open_session(officer)
    assert session != csrf
    for _ in range(3):  # used every 25 minutes: 75 minutes in all
        clock.advance(25 * 60)
        assert accounts.officer_for_session(session) == (officer, csrf)
    clock.advance(IDLE_TIMEOUT_S + 1)
    with pytest.raises(NotSignedIn, match="without use"):
        accounts.officer_for_session(session)
    clock.advance(-IDLE_TIMEOUT_S)  # and it is gone, not only timed out
    with pytest.raises(NotSignedIn):
        accounts.officer_for_session(session)


def test_a_session_used_all_along_still_ends_its_lifetime_after_sign_in(accounts, clock):
    officer, _ = accounts.add_user("alice", Role.CUSTOMS, PASSWORD)
    session, csrf = accounts.open_session(officer)
    for _ in range(SESSION_LIFETIME_S // (20 * 60)):  # used every 20 minutes for the whole lifetime
        clock.advance(20 * 60)
        assert accounts.officer_for_session(session) == (officer, csrf)
    clock.advance(20 * 60)
    with pytest.raises(NotSignedIn, match="hours after sign-in"):
        accounts.officer_for_session(session)
    with pytest.raises(NotSignedIn, match="no such session"):  # closed, not only refused
        accounts.officer_for_session(session)


def test_a_closed_or_unknown_session_is_refused(accounts):
    officer, _ = accounts.add_user("alice", Role.CUSTOMS, PASSWORD)
    session, _ = accounts.open_session(officer)
    accounts.close_session(session)
    for unknown in (session, "", "made-up", "y" * 300):
        with pytest.raises(NotSignedIn):
            accounts.officer_for_session(unknown)


def test_disabling_a_user_revokes_its_tokens_and_ends_its_sessions_for_good(accounts):
    officer, _ = accounts.add_user("alice", Role.CUSTOMS, PASSWORD)
    other, _ = accounts.add_user("bob", Role.CUSTOMS, PASSWORD)
    token, _ = accounts.create_token("alice")
    session, _ = accounts.open_session(officer)
    bobs_session, _ = accounts.open_session(other)
    accounts.disable_user("alice")
    with pytest.raises(NotSignedIn):
        accounts.officer_for_token(token)
    with pytest.raises(NotSignedIn):
        accounts.officer_for_session(session)
    with pytest.raises(NotSignedIn):
        accounts.open_session(officer)
    accounts.enable_user("alice")  # enabling again does not bring back what disabling ended
    with pytest.raises(NotSignedIn):
        accounts.officer_for_token(token)
    with pytest.raises(NotSignedIn):
        accounts.officer_for_session(session)
    assert accounts.officer_for_session(bobs_session)[0] == other


def test_a_hash_made_with_other_parameters_is_replaced_at_the_next_sign_in(db_url, accounts):
    from argon2 import PasswordHasher

    from insider import sql

    officer, _ = accounts.add_user("alice", Role.POLICE, PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    sql(db_url, "UPDATE officer_users SET password_hash = ? WHERE name = 'alice'", weak)
    assert accounts.sign_in("alice", PASSWORD, "10.0.0.1") == officer
    [(stored,)] = sql(db_url, "SELECT password_hash FROM officer_users WHERE name = 'alice'")
    assert stored != weak and stored.startswith("$argon2id$") and "m=19456,t=2,p=1" in stored
    assert accounts.sign_in("alice", PASSWORD, "10.0.0.1") == officer


def test_of_many_concurrent_adds_of_one_name_exactly_one_succeeds(accounts):
    import threading

    outcomes: list[str] = []

    def add() -> None:
        try:
            accounts.add_user("same", Role.POLICE, PASSWORD)
            outcomes.append("added")
        except InvalidField as e:
            outcomes.append(str(e.field))

    threads = [threading.Thread(target=add) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added"] + ["name"] * 5
    assert [u.name for u in accounts.users()] == ["same"]
