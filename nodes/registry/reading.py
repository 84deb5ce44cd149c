"""What an officer reads of the registry, as plain JSON data: a weapon's verified timeline,
a partial-serial search (the statistics: ``nodes.registry.statistics``).

The CLI's ``history`` and ``search`` and the HTTP API both call these, so the
documents they show are the same (fields: docs/cli.md, ``history --json``).
"""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from domain.time import format_time
from domain.weapon import Weapon
from nodes.bootstrap import Node
from nodes.registry.own_records import CheckedRecord, verified_history
from nodes.values import plain


def weapon_timeline(node: Node, weapon_id: UUID) -> dict[str, Any]:
    """The weapon's ``history_document`` from its records read back and verified.

    ``UnknownWeapon`` if there is no record of it; records that fail verification are
    marked (``verified`` false, ``problem``), never dropped.
    """
    weapon, checked = verified_history(node.registry, node.identity, weapon_id)
    kinds = {key_id: kind for kind, key_id in node.identity.authority_key_ids.items()}
    return history_document(weapon_id, weapon, checked, kinds)


def history_document(weapon_id: UUID, weapon: Weapon | None, checked: list[CheckedRecord],
                     authority_kinds: dict[str, str]) -> dict[str, Any]:
    """The ``history --json`` object of the weapon (its fields: docs/cli.md).

    ``weapon``: the aggregate replayed from the records that verify (None: the first does not).
    Each event says whether it ``verified`` and, if not, its ``problem``.
    """
    return {
        "weapon_id": str(weapon_id),
        "marking": dict(weapon.marking) if weapon is not None else {},
        "status": weapon.status.value if weapon is not None and weapon.status is not None else None,
        "holder": weapon.holder if weapon is not None else None,
        "place": weapon.place if weapon is not None else None,
        "description": {"type": weapon.type, "make": weapon.make, "model": weapon.model,
                        "calibre": weapon.calibre, "year": weapon.year} if weapon is not None else
        dict.fromkeys(("type", "make", "model", "calibre", "year")),
        "import_marking": dict(weapon.import_marking) if weapon is not None else {},
        "flags": list(weapon.flags) if weapon is not None else [],
        "marks": list(weapon.marks) if weapon is not None else [],
        "verified": all(record.problem is None for record in checked),
        "events": [_event_document(record, authority_kinds) for record in checked],
    }


def _event_document(record: CheckedRecord, authority_kinds: dict[str, str]) -> dict[str, Any]:
    envelope = record.envelope
    check = {"verified": record.problem is None, "problem": record.problem}
    if envelope is None:  # an unreadable row: only its version is known
        return {"type": None, "version": record.version, "occurred_on": None, "occurred_on_iso": "",
                "recorded_at": None, "recorded_at_iso": "", "authority": "", "authority_kind": "", "node": "",
                "hash": "", "prev": "", "body": {}, **check}
    header = {
        "type": envelope.type,
        "version": envelope.version,
        "occurred_on": envelope.occurred_on,
        "occurred_on_iso": format_time(envelope.occurred_on),
        "recorded_at": envelope.recorded_at,
        "recorded_at_iso": format_time(envelope.recorded_at // 1_000_000),
        "authority": envelope.authority,
        "authority_kind": authority_kinds.get(envelope.authority, ""),
        "node": envelope.node,
        "hash": envelope.hash.hex(),
        "prev": envelope.prev.hex(),
        "body": plain_record(dict(envelope.body)),
        **check,
    }
    lifted = {k: v for k, v in header["body"].items() if k not in header}
    return {**header, **lifted}


def search_weapons(node: Node, pattern: str) -> list[dict[str, Any]]:
    """Weapons whose serial matches ``pattern`` (``?`` one character, ``*`` any run), projections brought
    up to date first."""
    node.views.catch_up(node.registry)
    return [plain_record(m) for m in node.views.search_serial(pattern)]


def plain_record(value: Any) -> Any:
    """A projection row (dict, dataclass, named tuple, object with to_dict) as plain JSON data."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {str(k): plain_record(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_record(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return plain(value)
