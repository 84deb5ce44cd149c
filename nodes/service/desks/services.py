"""What the desks need from the service: the node, sign-in, the read audit and the writer.

``nodes.service.context.ServiceContext`` is the real one; tests build a small stand-in
(tests/support/desk_app.py). The desks read it from ``app.state.context``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from nodes.accounts.officer import Officer
    from nodes.bootstrap import Node
    from nodes.registry.application import Registry

T = TypeVar("T")


class Account(Protocol):
    @property
    def user_id(self) -> str: ...
    @property
    def name(self) -> str: ...


class SignIn(Protocol):
    """The accounts' sign-in and browser sessions (``nodes.accounts.store.Accounts``)."""

    def sign_in(self, name: str, password: str, address: str) -> Officer: ...
    def open_session(self, officer: Officer) -> tuple[str, str]: ...
    def close_session(self, session_id: str) -> None: ...
    def users(self) -> Sequence[Account]: ...


class ReadLog(Protocol):
    """The read audit (``nodes.readaudit.log.ReadAudit``): every read names its officer."""

    def append(self, officer: Officer, action: str, subject: str, purpose: str = "") -> object: ...


class DeskContext(Protocol):
    @property
    def node(self) -> Node: ...
    @property
    def accounts(self) -> SignIn: ...
    @property
    def read_audit(self) -> ReadLog: ...

    def submit(self, officer: Officer, command: Callable[[Registry], T]) -> T:
        """Run ``command`` as ``officer`` in the one writer; returns once its records are durable."""
        ...
