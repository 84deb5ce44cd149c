"""A weapon's timeline for the desk: the rows of the history document that the CLI's ``history`` and
the API show (``nodes.registry.federated_history``): our records (each checked as read), partners'
records received and the records of trace answers. Nothing here decides what is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.time import format_time
from nodes.bootstrap import Node
from nodes.registry.reading import weapon_by_prefix, weapon_timeline as history_of


@dataclass(frozen=True)
class TimelineRow:
    occurred_on: int | None   # business time (epoch seconds); None for an unreadable row
    record: str               # the record type ("Weapon.Manufactured"); "" for an unreadable row
    node: str                 # the state whose node signed it
    authority_kind: str       # the signing authority's kind ("" when its certificate is not held)
    officer: str | None       # the body's ``officer`` (account id; "" the operator); None: not recorded
    problem: str | None       # why it does not verify; None: it verifies
    source: str               # own, partner (received by sync) or trace (in a trace answer)
    hash: str
    corrections: tuple[dict[str, Any], ...] = ()   # later corrections of this record (the history document's)

    @property
    def date(self) -> str:
        return format_time(self.occurred_on)[:10] if self.occurred_on is not None else ""

    @property
    def name(self) -> str:
        return self.record.split(".", 1)[-1]

    @property
    def received(self) -> bool:
        """Held from a partner (sync or trace answer), not signed here."""
        return self.source != "own"


def weapon_timeline(node: Node, typed: str, *, own_only: bool = False) -> tuple[dict[str, Any], list[TimelineRow]]:
    """The history document of the weapon ``typed`` names (an id or its unique start) and its rows,
    in business-time order. ``InvalidField`` for a malformed or ambiguous id, ``UnknownWeapon`` when
    this node holds no record of the weapon."""
    document = history_of(node, weapon_by_prefix(node, typed), own_only=own_only, typed=typed)
    rows = [TimelineRow(e["occurred_on"], e["type"] or "", e["node"], e["authority_kind"], e["officer"],
                        e["problem"], e["source"], e["hash"], tuple(e.get("corrections", ())))
            for e in document["events"]]
    return document, rows
