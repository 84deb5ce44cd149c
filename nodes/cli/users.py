"""``armsledger user ...`` and ``armsledger token ...``: officers' accounts and their API tokens.

A thin layer over ``nodes.accounts.store.Accounts`` in the node's database. Passwords
never appear on the command line (where ``ps`` and shell history would keep them): they
are read from standard input with ``--password-stdin`` or generated and printed once;
a token is printed once when it is created.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from domain.errors import InvalidField
from domain.roles import Role
from domain.time import format_time
from nodes.accounts.values import MAX_TOKEN_DAYS
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option

if TYPE_CHECKING:  # imported where an account is opened: the password hashing (argon2) is no other command's cost
    from nodes.accounts.store import Accounts

_ROLES = [role.value for role in Role]
_STDIN_HELP = "read the password from the first line of standard input (else one is generated and printed once)"


def add_commands(subparsers: Commands) -> None:
    user = subparsers.add_parser("user", help="officers' accounts: add, list, disable, enable, password, role")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "add", user_add, "add an officer's account with one role")
    parser.add_argument("name", metavar="NAME", help="sign-in name: letters a-z, digits and . _ @ -")
    parser.add_argument("--role", required=True, choices=_ROLES, help="the officer's role (docs/accounts.md)")
    parser.add_argument("--password-stdin", action="store_true", help=_STDIN_HELP)
    add_json_option(parser)
    parser = add_command(actions, "list", user_list, "list the accounts")
    add_json_option(parser)
    for name, handler, text in (("disable", user_disable, "refuse an account's sign-in, revoke its tokens and "
                                                          "end its sessions"),
                                ("enable", user_enable, "let a disabled account sign in again")):
        parser = add_command(actions, name, handler, text)
        parser.add_argument("name", metavar="NAME", help="the account's name")
    parser = add_command(actions, "password", user_password, "set a new password (ends the account's sessions)")
    parser.add_argument("name", metavar="NAME", help="the account's name")
    parser.add_argument("--password-stdin", action="store_true", help=_STDIN_HELP)
    parser = add_command(actions, "role", user_role, "give an account another role")
    parser.add_argument("name", metavar="NAME", help="the account's name")
    parser.add_argument("role", metavar="ROLE", choices=_ROLES, help=f"one of {', '.join(_ROLES)}")

    token = subparsers.add_parser("token", help="API bearer tokens: create, list, revoke")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "create", token_create, "create a bearer token for an account (printed once)")
    parser.add_argument("--user", dest="name", required=True, metavar="NAME", help="the account it signs in as")
    parser.add_argument("--days", type=number_option(1, MAX_TOKEN_DAYS, unit="days"), default=30,
                        help=f"days it is valid (1 to {MAX_TOKEN_DAYS}, default 30)")
    parser.add_argument("--label", default="", help="what it is for (shown by token list)")
    add_json_option(parser)
    parser = add_command(actions, "list", token_list, "list the tokens (never the tokens themselves)")
    parser.add_argument("--user", dest="name", metavar="NAME", help="only this account's tokens")
    add_json_option(parser)
    parser = add_command(actions, "revoke", token_revoke, "revoke a token by its id (see token list)")
    parser.add_argument("token_id", metavar="ID", help="the token's id")


def _with_accounts(run: Invocation, action: Callable[[Accounts], int]) -> int:
    from nodes.accounts.store import Accounts
    from nodes.registry.identity import load_identity

    load_identity(run.settings.home, None)  # NodeNotInitialised before any table is made
    with Accounts.open(run.settings.db) as accounts:
        return action(accounts)


def _password_from_stdin(run: Invocation) -> str | None:
    """The first line of standard input with ``--password-stdin``, else None (generate one)."""
    if not run.args.password_stdin:
        return None
    line = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not line:
        raise InvalidField("standard input holds no password (--password-stdin)", field="password")
    return line


def user_add(run: Invocation) -> int:
    password = _password_from_stdin(run)

    def add(accounts: Accounts) -> int:
        officer, generated = accounts.add_user(run.args.name, run.args.role, password)
        human = f"added {officer.name} ({officer.role.value}), user id {officer.user_id}"
        if generated is not None:
            human += f"\npassword (shown once, give it to the officer): {generated}"
        run.emit({"name": officer.name, "user_id": officer.user_id, "role": officer.role.value,
                  "password": generated}, human)
        return 0
    return _with_accounts(run, add)


def user_list(run: Invocation) -> int:
    def listing(accounts: Accounts) -> int:
        users = accounts.users()
        lines = [f"{u.name:<24} {u.role.value:<13} {'enabled' if u.enabled else 'DISABLED':<9} {u.user_id}  "
                 f"since {format_time(u.created_at)[:10]}" for u in users]
        run.emit([u.to_dict() for u in users], "\n".join(lines) or "no accounts")
        return 0
    return _with_accounts(run, listing)


def user_disable(run: Invocation) -> int:
    def disable(accounts: Accounts) -> int:
        accounts.disable_user(run.args.name)
        run.say(f"{run.args.name}: disabled; its tokens are revoked and its sessions ended")
        return 0
    return _with_accounts(run, disable)


def user_enable(run: Invocation) -> int:
    def enable(accounts: Accounts) -> int:
        accounts.enable_user(run.args.name)
        run.say(f"{run.args.name}: enabled (tokens revoked earlier stay revoked)")
        return 0
    return _with_accounts(run, enable)


def user_password(run: Invocation) -> int:
    from nodes.accounts.passwords import generated_password

    given = _password_from_stdin(run)
    password = given if given is not None else generated_password()

    def set_password(accounts: Accounts) -> int:
        accounts.set_password(run.args.name, password)
        run.say(f"{run.args.name}: new password set; its sessions are ended")
        if given is None:
            run.say(f"password (shown once, give it to the officer): {password}")
        return 0
    return _with_accounts(run, set_password)


def user_role(run: Invocation) -> int:
    def set_role(accounts: Accounts) -> int:
        accounts.set_role(run.args.name, run.args.role)
        run.say(f"{run.args.name}: role {run.args.role} from its next request")
        return 0
    return _with_accounts(run, set_role)


def token_create(run: Invocation) -> int:
    def create(accounts: Accounts) -> int:
        token, info = accounts.create_token(run.args.name, days=run.args.days, label=run.args.label)
        run.emit({**info.to_dict(), "token": token},
                 f"token {info.token_id} for {info.user_name}, valid until {format_time(info.expires_at)}\n"
                 f"{token}\n(shown once: send it as 'Authorization: Bearer TOKEN')")
        return 0
    return _with_accounts(run, create)


def token_list(run: Invocation) -> int:
    def listing(accounts: Accounts) -> int:
        tokens, now = accounts.tokens(run.args.name), time.time()
        lines = [f"{t.token_id}  {t.user_name:<24} {t.status(now):<8} until {format_time(t.expires_at)[:10]}  "
                 f"{t.label}".rstrip() for t in tokens]
        run.emit([{**t.to_dict(), "status": t.status(now)} for t in tokens], "\n".join(lines) or "no tokens")
        return 0
    return _with_accounts(run, listing)


def token_revoke(run: Invocation) -> int:
    def revoke(accounts: Accounts) -> int:
        accounts.revoke_token(run.args.token_id)
        run.say(f"token {run.args.token_id}: revoked")
        return 0
    return _with_accounts(run, revoke)

