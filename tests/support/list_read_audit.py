"""A read audit kept in a list, standing in for ``nodes.readaudit.log.ReadAudit`` in the HTTP tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodes.accounts.officer import Officer


@dataclass(frozen=True)
class Read:
    user_name: str
    role: str
    action: str
    subject: str
    purpose: str


@dataclass
class ListReadAudit:
    reads: list[Read] = field(default_factory=list)

    def append(self, officer: Officer, action: str, subject: str, purpose: str = "") -> Read:
        entry = Read(officer.name, officer.role.value, action, subject, purpose)
        self.reads.append(entry)
        return entry

    def entries(self, *, user: str | None = None, weapon: str | None = None, since: int | None = None,
                until: int | None = None, limit: int = 100, before: int | None = None) -> list[Any]:
        found = [r for r in reversed(self.reads)
                 if (user is None or r.user_name == user) and (weapon is None or r.subject == weapon)]
        return found[:limit]

    def close(self) -> None:
        pass
