"""Good bearer tokens remembered for a moment (nodes.service.token_cache), on both backends: any
write through the accounts forgets them at once; another process's change holds within the TTL."""

from __future__ import annotations

import pytest

from domain.roles import Role
from nodes.accounts.officer import NotSignedIn
from nodes.accounts.store import Accounts
from nodes.service.token_cache import TTL_S, RememberedTokens

PASSWORD = "a long enough secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def opened(db_url):
    with Accounts.open(db_url) as accounts:
        officer, _ = accounts.add_user("alice", Role.LICENSING, PASSWORD)
        token, info = accounts.create_token("alice", days=1)
        clock = Clock()
        yield accounts, RememberedTokens(accounts, clock=clock), clock, officer, token, info


def test_a_good_token_is_remembered_until_its_time_is_up(opened):
    _, tokens, clock, officer, token, _ = opened
    assert tokens.remembered(token) is None
    assert tokens.officer_for_token(token) == officer
    assert tokens.remembered(token) == officer
    clock.now += TTL_S
    assert tokens.remembered(token) is None


@pytest.mark.parametrize("change", ["revoke", "disable", "demote"])
def test_a_change_made_through_these_accounts_forgets_remembered_tokens_at_once(opened, change):
    accounts, tokens, _, _, token, info = opened
    tokens.officer_for_token(token)
    if change == "revoke":
        tokens.revoke_token(info.token_id)           # through the wrapper
    elif change == "disable":
        accounts.disable_user("alice")               # or straight on the accounts it wraps
    else:
        accounts.set_role("alice", Role.AUDITOR)
    assert tokens.remembered(token) is None
    if change == "demote":
        assert tokens.officer_for_token(token).role is Role.AUDITOR
    else:
        with pytest.raises(NotSignedIn):
            tokens.officer_for_token(token)


def test_another_process_change_holds_once_the_time_is_up(opened, db_url):
    _, tokens, clock, officer, token, _ = opened
    tokens.officer_for_token(token)
    with Accounts.open(db_url) as other:              # a shell's `armsledger user disable`
        other.disable_user("alice")
    assert tokens.remembered(token) == officer       # within the TTL (docs/accounts.md)
    clock.now += TTL_S
    assert tokens.remembered(token) is None
    with pytest.raises(NotSignedIn):
        tokens.officer_for_token(token)


def test_a_refused_token_is_never_remembered(opened):
    _, tokens, _, _, token, _ = opened
    with pytest.raises(NotSignedIn):
        tokens.officer_for_token(token + "x")
    assert tokens.remembered(token + "x") is None
