"""A small stand-in for the service context, to test the desks before the real one is merged.

``DeskTestContext`` offers what ``nodes.service.desks.services.DeskContext`` names: a real node
(SQLite or PostgreSQL), a fixed set of accounts with their sessions, the node's real read audit
(each read also kept in a list, for the tests to look at) and a ``submit`` that runs one command
at a time and settles. Tests only.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cheap_kek import KEK_ENVIRON
from fastapi import FastAPI, Request, Response

from domain.errors import InvalidField
from domain.roles import Role
from nodes.accounts.officer import NotSignedIn, Officer
from nodes.bootstrap import Node, init_node
from nodes.persons.holders import VaultOnDemand
from nodes.readaudit.log import ReadAudit, ReadEntry
from nodes.registry.application import Registry
from nodes.service.desks import mount
from nodes.settings import Settings

T = TypeVar("T")
PASSWORD = "correct horse battery"
OFFICERS = {
    "lena": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000001", name="lena", role=Role.LICENSING),
    "paul": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000002", name="paul", role=Role.POLICE),
    "ada": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000003", name="ada", role=Role.ADMIN),
    "cleo": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000004", name="cleo", role=Role.CUSTOMS),
    "tom": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000005", name="tom", role=Role.TRACING),
    "aud": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000006", name="aud", role=Role.AUDITOR),
    "dina": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000007", name="dina", role=Role.DEACTIVATION),
}


@dataclass
class UserInfo:
    name: str
    user_id: str
    role: Role
    enabled: bool
    created_at: int
    password: str = PASSWORD


@dataclass
class TokenInfo:
    token_id: str
    user_name: str
    label: str
    expires_at: int
    revoked_at: int | None = None


def _taken_or_malformed(name: str) -> None:
    if not name or len(name) > 64 or not name.replace(".", "").replace("-", "").isalnum():
        raise InvalidField("a name is 1 to 64 letters, digits, '.' or '-'", field="name")


def _long_enough(password: str) -> None:
    if len(password) < 12:
        raise InvalidField("a password has at least 12 characters", field="password")


class FixedAccounts:
    """The officers of ``OFFICERS`` (password ``PASSWORD``) and those added; sessions and tokens in dicts.

    Follows the contract of ``nodes.accounts.store.Accounts`` for what the desks call; the real
    store's rules (hashing, attempt limits, idle timeouts) are its own tests' business.
    """

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[Officer, str]] = {}
        self.accounts = {o.name: UserInfo(o.name, o.user_id, o.role, True, 1_700_000_000) for o in OFFICERS.values()}
        self.issued: dict[str, TokenInfo] = {}

    def sign_in(self, name: str, password: str, address: str) -> Officer:
        user = self.accounts.get(name)
        if user is None or password != user.password or not user.enabled:
            raise NotSignedIn("name or password is wrong")
        return Officer(user.user_id, user.name, user.role)

    def open_session(self, officer: Officer) -> tuple[str, str]:
        session_id, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.sessions[session_id] = (officer, csrf)
        return session_id, csrf

    def close_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def officer_for_session(self, session_id: str) -> tuple[Officer, str]:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise NotSignedIn("the session is unknown or closed") from None

    def officer_for_token(self, token: str) -> Officer:
        raise NotSignedIn("no bearer tokens in the desk tests")

    def users(self) -> list[UserInfo]:
        return sorted(self.accounts.values(), key=lambda user: user.name)

    def user(self, name: str) -> UserInfo:
        try:
            return self.accounts[name]
        except KeyError:
            raise InvalidField(f"no account named {name!r}", field="name") from None

    def add_user(self, name: str, role: Role, password: str | None = None) -> tuple[Officer, str | None]:
        _taken_or_malformed(name)
        if name in self.accounts:
            raise InvalidField(f"an account named {name!r} exists", field="name")
        generated = None if password else secrets.token_urlsafe(12)
        _long_enough(password or generated or "")
        user = self.accounts[name] = UserInfo(name, str(uuid.uuid4()), role, True, int(time.time()),
                                              password or generated or "")
        return Officer(user.user_id, name, role), generated

    def set_password(self, name: str, password: str) -> None:
        _long_enough(password)
        self.user(name).password = password

    def set_role(self, name: str, role: Role) -> None:
        self.user(name).role = role

    def disable_user(self, name: str) -> None:
        self.user(name).enabled = False
        for session_id, (officer, _) in list(self.sessions.items()):
            if officer.name == name:
                del self.sessions[session_id]
        for token in self.issued.values():
            if token.user_name == name and token.revoked_at is None:
                token.revoked_at = int(time.time())

    def enable_user(self, name: str) -> None:
        self.user(name).enabled = True

    def create_token(self, name: str, *, days: int = 30, label: str = "") -> tuple[str, TokenInfo]:
        self.user(name)
        info = TokenInfo(secrets.token_hex(8), name, label, int(time.time()) + days * 86_400)
        self.issued[info.token_id] = info
        return "alt_" + secrets.token_urlsafe(32), info

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        return [t for t in self.issued.values() if name is None or t.user_name == name]

    def revoke_token(self, token_id: str) -> None:
        if token_id not in self.issued:
            raise InvalidField(f"no token {token_id!r}", field="token")
        self.issued[token_id].revoked_at = int(time.time())


@dataclass(frozen=True)
class Read:
    officer: Officer
    action: str
    subject: str
    purpose: str


@dataclass
class DeskTestContext:
    node: Node
    accounts: FixedAccounts = field(default_factory=FixedAccounts)
    reads: list[Read] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    log: ReadAudit | None = None     # the node's real read audit, opened on first use
    _vault: VaultOnDemand | None = None

    @property
    def vault(self) -> VaultOnDemand:
        """The node's identity vault, as the service's context has it."""
        if self._vault is None:
            self._vault = VaultOnDemand(self.node.settings)
        return self._vault

    @property
    def read_audit(self) -> DeskTestContext:
        return self

    def _log(self) -> ReadAudit:
        if self.log is None:
            self.log = ReadAudit.open(self.node.settings.db, self.node.identity)
        return self.log

    def append(self, officer: Officer, action: str, subject: str, purpose: str = "") -> Read:
        self._log().append(officer, action, subject, purpose)
        entry = Read(officer, action, subject, purpose)
        self.reads.append(entry)
        return entry

    def entries(self, **filters: Any) -> list[ReadEntry]:
        return self._log().entries(**filters)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
        if self._vault is not None:
            self._vault.close()

    def submit(self, officer: Officer, command: Callable[[Registry], T]) -> T:
        registry = self.node.registry
        # As the real writer does, every record signed here names the officer.
        with self._lock, registry.acting_as(officer.user_id):
            result = command(registry)
            self.node.settle()
            return result


def open_desk_node(home: Path, db: str, state: str = "BE") -> Node:
    """A new node for ``state`` at ``home`` on ``db`` (a SQLite path or a PostgreSQL URL)."""
    return init_node(Settings.load(environ=KEK_ENVIRON, home=home, db=db, passphrase="desk test passphrase"), state)


# The policy the service's security headers are to send: no inline script or style, no framing.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def desk_app(context: DeskTestContext) -> FastAPI:
    """An app holding only the desks, over ``context`` (the API's ``create_app`` will mount them the same way),
    sending ``CONTENT_SECURITY_POLICY`` so that the browser tests see what the CSP would block."""
    app = FastAPI()
    app.state.context = context
    app.state.directory = context.accounts

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    mount(app)
    return app
