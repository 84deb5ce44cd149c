"""A fixed set of accounts for the HTTP tests, standing in for ``nodes.accounts.store.Accounts``.

One officer per role, named after the role, with the password ``ROLE-password-1`` and the
bearer token ``token-ROLE``. Sign-in, sessions (with a CSRF token) and tokens behave as
the contract says, without storage or hashing: the real accounts have their own tests.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from domain.errors import InvalidField
from domain.roles import Role
from nodes.accounts.officer import NotSignedIn, Officer, TooManyAttempts
from nodes.accounts.values import UserInfo

MAX_FAILURES = 5


def token_of(role: Role) -> str:
    return f"token-{role.value}"


def password_of(role: Role) -> str:
    return f"{role.value}-password-1"


@dataclass
class FixedDirectory:
    officers: dict[str, Officer] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Officer] = field(default_factory=dict)
    sessions: dict[str, tuple[Officer, str]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    @classmethod
    def one_per_role(cls) -> FixedDirectory:
        directory = cls()
        for role in Role:
            officer, _ = directory.add_user(role.value, role, password_of(role))
            directory.tokens[token_of(role)] = officer
        return directory

    def officer_for_token(self, token: str) -> Officer:
        if token not in self.tokens:
            raise NotSignedIn("unknown, expired or revoked token")
        return self.tokens[token]

    def officer_for_session(self, session_id: str) -> tuple[Officer, str]:
        if session_id not in self.sessions:
            raise NotSignedIn("no such session (expired or signed out)")
        return self.sessions[session_id]

    def sign_in(self, name: str, password: str, address: str) -> Officer:
        if self.failures.get(name, 0) >= MAX_FAILURES:
            raise TooManyAttempts("too many failed sign-ins: wait", retry_after_s=60)
        if self.passwords.get(name) != password:
            self.failures[name] = self.failures.get(name, 0) + 1
            raise NotSignedIn("unknown name or wrong password")
        return self.officers[name]

    def open_session(self, officer: Officer) -> tuple[str, str]:
        session_id, csrf = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.sessions[session_id] = (officer, csrf)
        return session_id, csrf

    def close_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def create_token(self, name: str, *, days: int = 30, label: str = "") -> tuple[str, dict[str, object]]:
        token = secrets.token_urlsafe(16)
        self.tokens[token] = self.officers[name]
        return token, {"user": name, "days": days, "label": label}

    def add_user(self, name: str, role: Role, password: str | None = None) -> tuple[Officer, str | None]:
        if name in self.officers:
            raise InvalidField(f"{name!r} is taken", field="name")
        if password is not None and len(password) < 12:
            raise InvalidField("at least 12 characters", field="password")
        generated = None if password is not None else secrets.token_urlsafe(12)
        officer = Officer(str(uuid.uuid4()), name, role)
        self.officers[name], self.passwords[name] = officer, password or generated or ""
        return officer, generated

    def users(self) -> list[UserInfo]:
        return [UserInfo(name=o.name, user_id=o.user_id, role=o.role, enabled=True, created_at=0)
                for o in self.officers.values()]

    def close(self) -> None:
        pass
