"""A small stand-in for the service context, to test the desks before the real one is merged.

``DeskTestContext`` offers what ``nodes.service.desks.services.DeskContext`` names: a real node
(SQLite or PostgreSQL), a fixed set of accounts with their sessions, a list as read audit and
a ``submit`` that runs one command at a time and settles. Tests only.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI, Request, Response

from domain.roles import Role
from nodes.accounts.officer import NotSignedIn, Officer
from nodes.bootstrap import Node, init_node
from nodes.registry.application import Registry
from nodes.service.desks import mount
from nodes.settings import Settings

T = TypeVar("T")
PASSWORD = "correct horse battery"
OFFICERS = {
    "lena": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000001", name="lena", role=Role.LICENSING),
    "paul": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000002", name="paul", role=Role.POLICE),
    "ada": Officer(user_id="6f1c2d3e-0000-4000-8000-000000000003", name="ada", role=Role.ADMIN),
}


@dataclass(frozen=True)
class Account:
    user_id: str
    name: str


class FixedAccounts:
    """Every officer of ``OFFICERS`` with password ``PASSWORD``; sessions in a dict."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[Officer, str]] = {}

    def sign_in(self, name: str, password: str, address: str) -> Officer:
        officer = OFFICERS.get(name)
        if officer is None or password != PASSWORD:
            raise NotSignedIn("name or password is wrong")
        return officer

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

    def users(self) -> list[Account]:
        return [Account(o.user_id, o.name) for o in OFFICERS.values()]


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

    @property
    def read_audit(self) -> DeskTestContext:
        return self

    def append(self, officer: Officer, action: str, subject: str, purpose: str = "") -> Read:
        entry = Read(officer, action, subject, purpose)
        self.reads.append(entry)
        return entry

    def submit(self, officer: Officer, command: Callable[[Registry], T]) -> T:
        registry = self.node.registry
        # The real writer names the officer in every record it signs; so does this one, once the
        # registry can (``Registry.acting_as``).
        acting_as = getattr(registry, "acting_as", None)
        with self._lock, (acting_as(officer.user_id) if acting_as else contextlib.nullcontext()):
            result = command(registry)
            self.node.settle()
            return result


def open_desk_node(home: Path, db: str, state: str = "BE") -> Node:
    """A new node for ``state`` at ``home`` on ``db`` (a SQLite path or a PostgreSQL URL)."""
    return init_node(Settings.load(environ={}, home=home, db=db, passphrase="desk test passphrase"), state)


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
