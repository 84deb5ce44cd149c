"""The read audit filtered as an auditor types the filter: a weapon given by its id, the start of
its id or its serial (``nodes.registry.weapon_ids.weapon_subjects``), shared by the CLI, the API
and the audit desk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nodes.registry.weapon_ids import weapon_subjects

if TYPE_CHECKING:
    from nodes.bootstrap import Node


def reads_of(node: Node, entries: Callable[..., Sequence[Any]], *, weapon: str | None = None, limit: int = 100,
             **filters: Any) -> list[Any]:
    """The entries ``entries`` (a ``ReadAudit.entries``) gives, newest first (at most ``limit``),
    matching ``filters`` (its keyword arguments) and,
    when ``weapon`` is given, about any of the subjects it stands for; ``InvalidField`` naming
    ``weapon`` when the text is neither an id, the start of one, nor a serial."""
    subjects: list[str | None] = list(weapon_subjects(node, weapon)) if weapon is not None else [None]
    found: dict[int, Any] = {}
    for subject in subjects:
        for entry in entries(weapon=subject, limit=limit, **filters):
            found[entry.seq] = entry
    return sorted(found.values(), key=lambda e: e.seq, reverse=True)[:limit]
