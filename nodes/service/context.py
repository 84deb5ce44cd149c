"""What the HTTP service runs on: the node, the accounts, the read audit and the one writer.

``open_service(settings)`` wires them from settings (the one bootstrap of the service);
``ServiceContext.submit`` is the only way a request writes: it checks nothing itself (the
routes check the officer's role first, ``nodes.service.acting``) and hands the command to
the group committer (``nodes.registry.group_commit``), which runs it on the one writer
thread with the records naming the officer and answers once they are durable; checkpoint
and projections follow in the background. Without a committer (tests), commands run one at
a time under a lock and settle before answering.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from domain.roles import Role
from nodes.accounts.officer import Officer
from nodes.accounts.store import Accounts
from nodes.bootstrap import Node, open_node
from nodes.persons.holders import VaultOnDemand
from nodes.readaudit.log import ReadAudit
from nodes.registry.application import Registry
from nodes.registry.group_commit import GroupCommitter
from nodes.service.token_cache import RememberedTokens
from nodes.settings import Settings

T = TypeVar("T")


class ReadAuditLog(Protocol):
    """The read audit the service appends to (``nodes.readaudit.log.ReadAudit`` is the real one)."""

    def append(self, officer: Officer, action: str, subject: str, purpose: str = "") -> Any:
        """Append who read what (action one of history, search, trace, licence, verdict, shipment)."""
        ...

    def entries(self, *, user: str | None = None, weapon: str | None = None, since: int | None = None,
                until: int | None = None, limit: int = 100, before: int | None = None) -> list[Any]:
        """Entries, newest first, filtered; ``since``/``until`` in microseconds since the epoch."""
        ...

    def close(self) -> None: ...


class AccountsService(Protocol):
    """The accounts the service signs officers in with (``nodes.accounts.store.Accounts``)."""

    def officer_for_token(self, token: str) -> Officer: ...

    def officer_for_session(self, session_id: str) -> tuple[Officer, str]: ...

    def sign_in(self, name: str, password: str, address: str) -> Officer: ...

    def open_session(self, officer: Officer) -> tuple[str, str]: ...

    def close_session(self, session_id: str) -> None: ...

    def create_token(self, name: str, *, days: int = 30, label: str = "") -> tuple[str, Any]: ...

    def add_user(self, name: str, role: Role, password: str | None = None) -> tuple[Officer, str | None]: ...

    def users(self) -> list[Any]: ...

    def close(self) -> None: ...


@dataclass
class ServiceContext:
    settings: Settings
    node: Node
    accounts: AccountsService
    read_audit: ReadAuditLog
    committer: GroupCommitter | None = None   # None: one command at a time, settled before answering
    records_written: int = 0   # signed records stored one at a time (without a committer)
    _writing: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: The identity vault of private holders, opened on first use (``nodes.persons``).
    vault: VaultOnDemand = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.vault = VaultOnDemand(self.settings)

    def records_stored(self) -> int:
        """Signed records stored through ``submit`` since the start (for /metrics)."""
        return self.records_written + (self.committer.stats.records if self.committer is not None else 0)

    async def record(self, officer: Officer, command: Callable[[Registry], T], *, weapon: UUID | None = None) -> T:
        """``submit`` for a route on the event loop: awaits the answer without holding a thread. ``weapon``: the
        weapon the command reads and writes, read ahead for the group committer's writer (``GroupCommitter.submit``)."""
        if self.committer is not None:
            writes = (weapon,) if weapon is not None else ()
            return await asyncio.wrap_future(self.committer.enqueue(command, officer_id=officer.user_id,
                                                                    writes=writes))
        return await run_in_threadpool(self.submit, officer, command)

    def submit(self, officer: Officer, command: Callable[[Registry], T]) -> T:
        """Run ``command`` for ``officer`` and return its result once its records are stored and settled.

        The caller has checked the officer's role (``nodes.service.acting.authority``). The
        command's own error reaches the caller, and nothing of it is stored.
        """
        if self.committer is not None:
            return self.committer.submit(command, officer_id=officer.user_id)
        recorder = self.node.registry.recorder
        with self._writing, self.node.registry.acting_as(officer.user_id):
            before = recorder.max_notification_id() or 0
            result = command(self.node.registry)
            # Another process writing meanwhile (``node run --serve``'s reactions) would be counted
            # too; a figure for a dashboard, not an audit.
            self.records_written += (recorder.max_notification_id() or 0) - before
            self.node.settle()
        return result



@contextmanager
def open_service(settings: Settings) -> Iterator[ServiceContext]:
    """The service of the node at ``settings.home``, unlocked (needs the passphrase); closed on exit.

    Accounts and the read audit live in the node's own database (their own tables).
    """

    with ExitStack() as opened:  # closed in reverse order, also when one of them fails to open
        node = opened.enter_context(open_node(settings))
        accounts = Accounts.open(settings.db)
        opened.callback(accounts.close)
        remembering = RememberedTokens(accounts)
        read_audit = ReadAudit.open(settings.db, node.identity)
        opened.callback(read_audit.close)
        committer = GroupCommitter(node)
        committer.start()
        opened.callback(committer.close)  # before the node closes: answers what is queued
        context = ServiceContext(settings, node, remembering, read_audit, committer)
        opened.callback(context.vault.close)
        yield context
