"""Officers' personal accounts in the node's database: users, sign-in, API tokens and browser sessions.

``Accounts`` is the real ``nodes.ports.OfficerDirectory``: the service asks it who a bearer
token or a session cookie stands for. Passwords are kept as argon2id hashes
(``nodes.accounts.passwords``), tokens and session ids as SHA-256 hashes only, so a copy of
the tables signs no one in. Rules, in docs/accounts.md: tokens expire and can be revoked;
a session ends after ``idle_timeout_s`` without use (each use restarts the count) and in any case
``SESSION_LIFETIME_S`` after it was opened; failed
sign-ins are limited per name and per address (``sign_in_limits``); disabling a user
revokes its tokens and ends its sessions at once; the last enabled administrator can be neither
disabled nor given another role (nobody could manage accounts any more).

Errors: ``InvalidField`` naming the field for bad input or an unknown user or token;
``NotSignedIn`` / ``TooManyAttempts`` for credentials; ``StorageError`` if the database fails.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from domain.errors import InvalidField
from domain.roles import Role
from nodes.accounts.database import AccountsDatabase, Statements, Taken
from nodes.accounts.officer import NotSignedIn, Officer
from nodes.accounts.passwords import MAX_LENGTH, generated_password, hash_password, needs_rehash, password_matches
from nodes.accounts.sign_in_limits import SignInLimits, address_subject, name_subject
from nodes.accounts.values import (
    TokenInfo,
    UserInfo,
    check_days,
    check_label,
    check_name,
    check_role,
    secret_hash,
)
from nodes.settings import Settings

IDLE_TIMEOUT_S = 30 * 60
#: However much it is used, a browser session ends this long after sign-in (a working day).
SESSION_LIFETIME_S = 12 * 3600
#: A session's last use is written at most this often (seconds): reads need not all write.
_TOUCH_EVERY_S = 15
_DAY_S = 24 * 3600
_WRONG = "wrong name or password"  # the same for an unknown name: a refusal must not tell names apart
_USER_COLUMNS = "u.user_id, u.name, u.role, u.enabled, u.created_at"
_TOKEN_SELECT = ("SELECT t.token_id, t.label, t.created_at, t.expires_at, t.revoked_at, u.name, u.user_id "
                 "FROM officer_tokens t JOIN officer_users u ON u.user_id = t.user_id")


class Accounts:
    """Users, tokens and sessions of one node. Open with ``Accounts.open``; close when done."""

    def __init__(self, database: AccountsDatabase, *, clock: Callable[[], float] = time.time,
                 idle_timeout_s: int = IDLE_TIMEOUT_S, limits: SignInLimits | None = None):
        self._db = database
        self._clock = clock
        self.idle_timeout_s = idle_timeout_s
        self.limits = limits or SignInLimits()

    @property
    def changes(self) -> int:
        """How many writes this object made to the accounts so far (it only grows)."""
        return self._db.writes

    @classmethod
    def open(cls, settings_or_db: Settings | str, *, clock: Callable[[], float] = time.time,
             idle_timeout_s: int = IDLE_TIMEOUT_S, limits: SignInLimits | None = None) -> Accounts:
        """The accounts in the node's database (``Settings.db`` or a ``--db`` value), tables created if absent.

        ``ConfigurationError`` for a ``db`` that is no SQLite path nor PostgreSQL URL; ``StorageError``.
        """
        db = settings_or_db if isinstance(settings_or_db, str) else settings_or_db.db
        return cls(AccountsDatabase(db), clock=clock, idle_timeout_s=idle_timeout_s, limits=limits)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> int:
        return int(self._clock())

    # --- users ------------------------------------------------------------------------------

    def add_user(self, name: str, role: Role | str, password: str | None = None) -> tuple[Officer, str | None]:
        """Create a user; returns its officer and the generated password (shown once) when none is given.

        ``InvalidField``: ``name`` malformed or taken, ``role`` unknown, ``password`` under 12 characters.
        """
        name, role = check_name(name), check_role(role)
        generated = generated_password() if password is None else None
        hashed = hash_password(password if password is not None else str(generated))
        officer = Officer(user_id=str(uuid4()), name=name, role=role)
        taken = InvalidField(f"{name!r} is taken: choose another name", field="name")
        try:
            with self._db.transaction("adding a user") as sql:
                if sql.one("SELECT 1 FROM officer_users WHERE name = ?", (name,)) is not None:
                    raise taken
                sql.run("INSERT INTO officer_users (user_id, name, role, password_hash, enabled, created_at) "
                        "VALUES (?, ?, ?, ?, 1, ?)", (officer.user_id, name, role.value, hashed, self._now()))
        except Taken:
            raise taken from None
        return officer, generated

    def users(self) -> list[UserInfo]:
        """Every user, by name."""
        with self._db.transaction("listing users", commit=False) as sql:
            rows = sql.all(f"SELECT {_USER_COLUMNS} FROM officer_users u ORDER BY u.name")
        return [UserInfo.of_row(row) for row in rows]

    def user(self, name: str) -> UserInfo:
        """The user called ``name``; ``InvalidField`` (field ``name``) if there is none."""
        with self._db.transaction("reading a user", commit=False) as sql:
            return UserInfo.of_row(self._user_row(sql, name))

    def set_password(self, name: str, password: str) -> None:
        """Give the user a new password and end its browser sessions (its API tokens stay)."""
        hashed = hash_password(password)
        with self._db.transaction("setting a password") as sql:
            user_id = self._user_row(sql, name)["user_id"]
            sql.run("UPDATE officer_users SET password_hash = ? WHERE user_id = ?", (hashed, user_id))
            sql.run("DELETE FROM officer_sessions WHERE user_id = ?", (user_id,))

    def set_role(self, name: str, role: Role | str) -> None:
        """Give the user ``role``; its tokens and sessions carry the new role from their next use."""
        role = check_role(role)
        with self._db.transaction("setting a role") as sql:
            user = self._user_row(sql, name)
            user_id = user["user_id"]
            if role is not Role.ADMIN:
                self._keep_an_admin(sql, user, "role")
            sql.run("UPDATE officer_users SET role = ? WHERE user_id = ?", (role.value, user_id))

    def disable_user(self, name: str) -> None:
        """Refuse the user's sign-in from now on, revoke its tokens and end its sessions, in one transaction."""
        with self._db.transaction("disabling a user") as sql:
            user = self._user_row(sql, name)
            user_id = user["user_id"]
            self._keep_an_admin(sql, user, "name")
            sql.run("UPDATE officer_users SET enabled = 0 WHERE user_id = ?", (user_id,))
            sql.run("UPDATE officer_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                    (self._now(), user_id))
            sql.run("DELETE FROM officer_sessions WHERE user_id = ?", (user_id,))

    def enable_user(self, name: str) -> None:
        """Let the user sign in again (tokens revoked when it was disabled stay revoked)."""
        with self._db.transaction("enabling a user") as sql:
            user_id = self._user_row(sql, name)["user_id"]
            sql.run("UPDATE officer_users SET enabled = 1 WHERE user_id = ?", (user_id,))

    @staticmethod
    def _keep_an_admin(sql: Statements, user: Any, field: str) -> None:
        """``InvalidField`` on ``field`` when ``user`` is the last enabled administrator (the change
        would leave nobody able to manage accounts)."""
        if user["role"] != Role.ADMIN.value or not user["enabled"]:
            return
        others = sql.one("SELECT COUNT(*) AS n FROM officer_users WHERE role = ? AND enabled = 1 AND user_id <> ?",
                         (Role.ADMIN.value, user["user_id"]))
        if others is None or int(others["n"]) == 0:
            raise InvalidField(f"{user['name']!r} is the last enabled administrator: add or enable another "
                               "administrator first", field=field)

    def _user_row(self, sql: Statements, name: str) -> Any:
        key = check_name(name)
        row = sql.one(f"SELECT {_USER_COLUMNS} FROM officer_users u WHERE u.name = ?", (key,))
        if row is None:
            raise InvalidField(f"there is no user {key!r}", field="name")
        return row

    # --- signing in -------------------------------------------------------------------------

    def sign_in(self, name: str, password: str, address: str) -> Officer:
        """The officer whose name and password these are, signing in from ``address`` (an IP address).

        ``NotSignedIn`` with the same message for an unknown name, a wrong password and a disabled
        account; ``TooManyAttempts`` after ``limits.max_failures`` failures of the name or the address.
        """
        now = self._now()
        try:
            key = check_name(name)
        except InvalidField:
            key = ""
        subjects = [name_subject(key or str(name)[:64].lower()), address_subject(str(address))]
        with self._db.transaction("signing in", commit=False) as sql:
            self.limits.check(sql, subjects, now)
            row = sql.one(f"SELECT {_USER_COLUMNS}, u.password_hash FROM officer_users u WHERE u.name = ?", (key,))
        usable = row is not None and bool(row["enabled"])
        # The slow hash check runs outside any transaction, and for unknown names too (same time taken).
        matches = (type(password) is str and len(password) <= MAX_LENGTH
                   and password_matches(row["password_hash"] if usable else None, password))
        with self._db.transaction("signing in") as sql:
            if not matches:
                self.limits.record_failure(sql, subjects, now)
            else:
                self.limits.clear(sql, subjects[0])
                if needs_rehash(row["password_hash"]):
                    sql.run("UPDATE officer_users SET password_hash = ? WHERE user_id = ?",
                            (hash_password(password), row["user_id"]))
        if not matches:
            raise NotSignedIn(_WRONG)
        return _officer(row)

    # --- API tokens -------------------------------------------------------------------------

    def create_token(self, name: str, *, days: int = 30, label: str = "") -> tuple[str, TokenInfo]:
        """A new bearer token for the user, valid ``days`` days: the token (shown once) and its listing.

        ``InvalidField``: ``name`` unknown or disabled, ``days`` out of 1..366, ``label`` too long.
        """
        days, label = check_days(days), check_label(label)
        token, token_id, now = secrets.token_urlsafe(32), secrets.token_hex(8), self._now()
        with self._db.transaction("creating a token") as sql:
            user = self._user_row(sql, name)
            if not user["enabled"]:
                raise InvalidField(f"{user['name']!r} is disabled: enable it first", field="name")
            sql.run("INSERT INTO officer_tokens (token_id, token_hash, user_id, label, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (token_id, secret_hash(token), user["user_id"], label, now,
                                                  now + days * _DAY_S))
            info = TokenInfo.of_row(sql.one(f"{_TOKEN_SELECT} WHERE t.token_id = ?", (token_id,)))
        return token, info

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        """Every token (of user ``name`` if given), oldest first; revoked and expired ones included."""
        with self._db.transaction("listing tokens", commit=False) as sql:
            if name is None:
                rows = sql.all(f"{_TOKEN_SELECT} ORDER BY t.created_at, t.token_id")
            else:
                user_id = self._user_row(sql, name)["user_id"]
                rows = sql.all(f"{_TOKEN_SELECT} WHERE t.user_id = ? ORDER BY t.created_at, t.token_id", (user_id,))
        return [TokenInfo.of_row(row) for row in rows]

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token by its id (revoking a revoked token changes nothing); ``InvalidField`` if unknown."""
        with self._db.transaction("revoking a token") as sql:
            if sql.one("SELECT 1 FROM officer_tokens WHERE token_id = ?", (str(token_id),)) is None:
                raise InvalidField(f"there is no token {str(token_id)[:40]!r}", field="token_id")
            sql.run("UPDATE officer_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                    (self._now(), str(token_id)))

    def officer_for_token(self, token: str) -> Officer:
        """The officer of a bearer token; ``NotSignedIn`` if unknown, revoked, expired or its user disabled."""
        return self.token_holder(token)[0]

    def token_holder(self, token: str) -> tuple[Officer, int]:
        """The officer of a bearer token and when the token expires (seconds since the epoch);
        ``NotSignedIn`` as ``officer_for_token``."""
        if type(token) is not str or not 0 < len(token) <= 256:
            raise NotSignedIn("unknown token")
        with self._db.transaction("reading a token", commit=False) as sql:
            row = sql.one(f"SELECT {_USER_COLUMNS}, t.expires_at, t.revoked_at FROM officer_tokens t "
                          "JOIN officer_users u ON u.user_id = t.user_id WHERE t.token_hash = ?", (secret_hash(token),))
        if row is None:
            raise NotSignedIn("unknown token")
        if row["revoked_at"] is not None:
            raise NotSignedIn("the token was revoked")
        if self._now() >= int(row["expires_at"]):
            raise NotSignedIn("the token expired: create a new one")
        if not row["enabled"]:
            raise NotSignedIn("the token's account is disabled")
        return _officer(row), int(row["expires_at"])

    # --- browser sessions -------------------------------------------------------------------

    def open_session(self, officer: Officer) -> tuple[str, str]:
        """A new session for a signed-in officer: its id (the cookie's value) and its CSRF token."""
        session_id, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._now()
        with self._db.transaction("opening a session") as sql:
            sql.run("DELETE FROM officer_sessions WHERE last_seen < ?", (now - self.idle_timeout_s,))
            user = sql.one("SELECT enabled FROM officer_users WHERE user_id = ?", (officer.user_id,))
            if user is None or not user["enabled"]:
                raise NotSignedIn("the account is unknown or disabled")
            sql.run("INSERT INTO officer_sessions (session_hash, user_id, csrf_token, created_at, last_seen) "
                    "VALUES (?, ?, ?, ?, ?)", (secret_hash(session_id), officer.user_id, csrf, now, now))
        return session_id, csrf

    def officer_for_session(self, session_id: str) -> tuple[Officer, str]:
        """The officer of a session and its CSRF token; the session's idle time starts again.

        ``NotSignedIn`` if the session is unknown, closed, idle longer than ``idle_timeout_s`` or its
        user disabled.
        """
        if type(session_id) is not str or not 0 < len(session_id) <= 256:
            raise NotSignedIn("no such session: sign in again")
        now, key = self._now(), secret_hash(session_id)
        with self._db.transaction("reading a session", commit=False) as sql:
            row = sql.one(f"SELECT {_USER_COLUMNS}, s.csrf_token, s.last_seen, s.created_at AS opened_at "
                          "FROM officer_sessions s "
                          "JOIN officer_users u ON u.user_id = s.user_id WHERE s.session_hash = ?", (key,))
        if row is None or not row["enabled"]:
            raise NotSignedIn("no such session: sign in again")
        if now - int(row["opened_at"]) > SESSION_LIFETIME_S:
            self.close_session(session_id)
            raise NotSignedIn(f"the session ended {SESSION_LIFETIME_S // 3600} hours after sign-in: sign in again")
        idle = now - int(row["last_seen"])
        if idle > self.idle_timeout_s:
            self.close_session(session_id)
            raise NotSignedIn(f"the session ended after {self.idle_timeout_s // 60} minutes without use: "
                              "sign in again")
        if idle >= _TOUCH_EVERY_S:
            with self._db.transaction("reading a session") as sql:
                sql.run("UPDATE officer_sessions SET last_seen = ? WHERE session_hash = ?", (now, key))
        return _officer(row), str(row["csrf_token"])

    def close_session(self, session_id: str) -> None:
        """End a session (signing out); an unknown session is no error."""
        with self._db.transaction("closing a session") as sql:
            sql.run("DELETE FROM officer_sessions WHERE session_hash = ?", (secret_hash(str(session_id)),))


def _officer(row: Any) -> Officer:
    return Officer(user_id=row["user_id"], name=row["name"], role=Role(row["role"]))
