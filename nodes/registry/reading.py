"""What an officer reads of the registry, as plain JSON data: a weapon's history, a search, and
the weapon an id or its start names (the statistics: ``nodes.registry.statistics``).

The CLI's ``history`` and ``search``, the HTTP API and the desks all call these, so the documents
they show are the same (fields: docs/cli.md, ``history --json``). The history is built by
``nodes.registry.federated_history`` and the search by ``nodes.registry.weapon_search``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from nodes.bootstrap import Node
from nodes.registry.federated_history import federated_history
from nodes.registry.plain_data import plain_record
from nodes.registry.weapon_ids import weapon_by_prefix

__all__ = ["plain_record", "weapon_by_prefix", "weapon_timeline"]


def weapon_timeline(node: Node, weapon_id: UUID, *, own_only: bool = False, typed: str = "") -> dict[str, Any]:
    """The weapon's history document: every record held of it, ours checked as read
    (``nodes.registry.federated_history.federated_history``; ``UnknownWeapon`` if none)."""
    return federated_history(node, weapon_id, own_only=own_only, typed=typed)
