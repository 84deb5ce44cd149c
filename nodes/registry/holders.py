"""A holder's weapons with their status: what `armsledger weapons --holder`, the API and the desk show."""

from __future__ import annotations

from typing import Any

from nodes.ports import Node
from projections.holders import HOLDER_LIMIT, weapons_held_by


def holder_weapons(node: Node, holder: str, *, limit: int = HOLDER_LIMIT) -> dict[str, Any]:
    """The weapons ``holder`` holds now on this node's register, after bringing the views up to date.

    ``{"holder", "weapons", "complete"}``: ``complete`` is false when more than ``limit`` were found
    and only the first ``limit`` are listed. ``InvalidField`` (field ``holder``) for a blank name.
    """
    node.views.catch_up(node.registry)
    found = weapons_held_by(node.views.store, holder, limit + 1)
    return {"holder": holder.strip(), "weapons": found[:limit], "complete": len(found) <= limit}
