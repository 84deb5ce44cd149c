"""A weapon's timeline for the desk: our records (each checked) and the partners' records held.

Our own records come from ``verified_history`` (each one checked, a failure shown where it
is); partners' records and trace fragments from ``federated_lifecycle``, which admits only
records that pass the one acceptance rule. Nothing here decides what is trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.errors import UnknownWeapon
from domain.time import format_time
from domain.weapon import Weapon
from nodes.bootstrap import Node
from nodes.registry.own_records import verified_history
from nodes.tracing.lifecycle import federated_lifecycle


@dataclass(frozen=True)
class TimelineRow:
    occurred_on: int | None   # business time (epoch seconds); None for an unreadable row
    recorded_at: int          # µs since epoch, as signed
    record: str               # the record type ("weapon.Manufactured")
    node: str                 # the state whose node signed it
    officer: str | None       # the body's ``officer`` (account id; "" the operator); None: not recorded
    problem: str | None       # why it does not verify; None: it verifies
    received: bool            # held from a partner (ingest or trace fragment), not signed here
    hash: str

    @property
    def date(self) -> str:
        return format_time(self.occurred_on)[:10] if self.occurred_on is not None else ""

    @property
    def name(self) -> str:
        return self.record.split(".", 1)[-1]


def weapon_timeline(node: Node, weapon_id: UUID) -> tuple[Weapon | None, list[TimelineRow]]:
    """The weapon (replayed from our verified records; None if we hold none) and every record held of it,
    oldest first. ``UnknownWeapon`` when this node holds no record about the weapon, ours or a partner's.
    """
    try:
        weapon, checked = verified_history(node.registry, node.identity, weapon_id)
    except UnknownWeapon:
        weapon, checked = None, []   # known here, if at all, from partners' records only
    rows: list[TimelineRow] = []
    for record in checked:
        envelope = record.envelope
        if envelope is None:
            rows.append(TimelineRow(None, 0, "", "", None, record.problem, False, ""))
            continue
        rows.append(TimelineRow(envelope.occurred_on, envelope.recorded_at, envelope.type, envelope.node,
                                _officer(envelope.body), record.problem, False, envelope.hash.hex()))
    own = {row.hash for row in rows}
    life = federated_lifecycle(node, weapon_id)
    for held in life.records:
        if held.stream == str(weapon_id) and held.hash.hex() not in own:
            rows.append(TimelineRow(held.occurred_on, held.recorded_at, held.type, held.node,
                                    _officer(held.body), None, True, held.hash.hex()))
    if not rows:
        raise UnknownWeapon(f"no record of weapon {weapon_id}", field="weapon")
    rows.sort(key=lambda r: (r.occurred_on is None, r.occurred_on or 0, r.recorded_at))
    return weapon, rows


def _officer(body: Mapping[str, Any]) -> str | None:
    value = body.get("officer")
    return value if isinstance(value, str) else None
