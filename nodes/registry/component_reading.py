"""Reading components: one named as an officer types it (its id, the start of its id, or its marking with
or without its kind), its life as one document (``component show``), and the components whose serial
matches a search (``nodes.registry.weapon_search``).

Our records of a component are checked as they are read (``nodes.registry.own_records``); partners'
were admitted by the one acceptance rule at ingest. Components have no view of their own: the node's
log is read by record type (``Component.Registered``), which holds one record per component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

from domain.component import ESSENTIAL_KINDS, ComponentState, check_kind, component_id, evolve_component
from domain.diversion.lifecycle import lifecycle_order
from domain.errors import InvalidField, UnknownWeapon
from domain.event_types import COMPONENT_INSTALLED, COMPONENT_REGISTERED, COMPONENT_REMOVED, COMPONENT_SEIZED
from domain.marking import normalise
from domain.records import SignedRecord
from domain.time import format_time
from ledger.envelope import Envelope
from nodes.acceptance import DomainPolicy
from nodes.bootstrap import Node
from nodes.federation.crossborder import partner_states
from nodes.registry.components import read_marking
from nodes.registry.own_records import own_signers, verified_stream
from nodes.registry.paging import PAGE
from nodes.registry.plain_data import plain_record
from nodes.values import id_prefix, one_by_prefix


def registered_components(node: Node) -> Iterator[Envelope]:
    """Each component registered in our log (its ``Component.Registered``), in log order."""
    start = 1
    while page := node.registry.recorder.select_notifications(start, PAGE, topics=[COMPONENT_REGISTERED]):
        for notification in page:
            yield Envelope.from_bytes(notification.state)
        start = page[-1].id + 1


def component_named(node: Node, typed: str, kind: str = "") -> UUID:
    """The component ``typed`` names: its id, the unique start of its id (4+ characters), or its marking
    ``MANUFACTURER/CC/SERIAL`` (with ``kind`` when the marking names several parts). ``InvalidField`` on
    ``component`` (or ``kind``) repeating what was typed; ``UnknownWeapon`` when no component has it."""
    text = (typed or "").strip()
    try:
        return UUID(text)
    except ValueError:
        pass
    if "/" not in text:
        start = id_prefix(text, field_name="component")
        ids = [e.stream for e in registered_components(node) if e.stream.replace("-", "").startswith(
            start.replace("-", ""))]
        return UUID(one_by_prefix(text, ids, what="component", field_name="component"))
    marking = read_marking(text)
    kinds = [check_kind(kind, node.settings.component_kinds)] if kind.strip() else \
        [*ESSENTIAL_KINDS, *node.settings.component_kinds]
    held = [(k, component_id(k, marking)) for k in kinds if _held(node, component_id(k, marking))]
    if not held:
        raise UnknownWeapon(f"no record of a component marked {text!r}" + (f" of kind {kind}" if kind else ""),
                            field="component")
    if len(held) > 1:
        raise InvalidField(f"{text!r} marks several components ({', '.join(k for k, _ in held)}): give --kind",
                           field="kind")
    return held[0][1]


def component_life(node: Node, cid: UUID | str) -> dict[str, Any]:
    """The component's document: kind, marking, status now (``weapon_status``: that of the weapon it is in,
    whose destruction or deactivation it shares), the weapons it was in (``weapons``: each with
    ``since`` and ``until``, ISO dates, and how it came and went) and every record held, verified.
    ``UnknownWeapon`` (field ``component``) when none is held."""
    cid = UUID(str(cid))
    records, problems = _records(node, cid)
    if not records and not problems:
        raise UnknownWeapon(f"no record of component {cid}", field="component")
    state = ComponentState()
    for record in records:
        state = evolve_component(state, record.type, record.body)
    return {
        "component_id": str(cid), "kind": state.kind, "marking": dict(state.marking),
        "status": state.status.value if state.status is not None else None, "weapon_id": state.weapon_id,
        "weapon_status": _status_of(node, state.weapon_id),
        "flags": list(state.flags), "weapons": _stints(records), "verified": not problems, "problems": problems,
        "events": [{"type": r.type, "occurred_on": r.occurred_on, "occurred_on_iso": format_time(r.occurred_on),
                    "node": r.node, "authority": r.authority, "hash": r.hash.hex(), "body": plain_record(dict(r.body))}
                   for r in records],
    }


def components_matching(node: Node, serial: re.Pattern[str]) -> Iterator[dict[str, Any]]:
    """Our components whose normalised serial matches ``serial`` (``domain.marking.serial_pattern_to_regex``),
    each ``{"component_id", "kind", "marking", "weapon_id"}`` with the weapon it is (or was last) in."""
    for registered in registered_components(node):
        marking = registered.body.get("marking") or {}
        if serial.fullmatch(normalise(str(marking.get("serial", "")))):
            weapons = _stints([Envelope.from_bytes(s.state) for s in node.registry.recorder.select_events(
                UUID(registered.stream))])
            yield {"component_id": registered.stream, "kind": str(registered.body.get("kind", "")),
                   "marking": dict(marking), "weapon_id": weapons[-1]["weapon_id"] if weapons else ""}


def _status_of(node: Node, weapon_id: str) -> str | None:
    """The status here of the weapon a component is in (a part of a destroyed weapon went with it); None
    when it is in none, or in one of which we hold no record."""
    if not weapon_id:
        return None
    try:
        status = node.registry.weapon(weapon_id).status
    except UnknownWeapon:
        return None
    return status.value if status is not None else None


def _held(node: Node, cid: UUID) -> bool:
    return bool(node.registry.recorder.select_events(cid, limit=1)) or bool(
        node.inbox.received_about(str(cid), partner_states(node)))


def _records(node: Node, cid: UUID) -> tuple[list[SignedRecord], list[str]]:
    """Every verified record held of component ``cid`` (ours, partners'), in business order, and the
    problems of ours that fail verification (never used)."""
    signers, _ = own_signers(node.registry, node.identity)
    checked = verified_stream(node.registry, cid, signers, DomainPolicy(node.identity.state))
    problems = [f"version {c.version}: {c.problem}" for c in checked if c.problem is not None]
    # What follows a broken link of our chain cannot be trusted to apply to the state before it.
    first_failure = min((c.version for c in checked if c.problem is not None), default=None)
    good: list[SignedRecord] = [c.envelope for c in checked if c.problem is None and c.envelope is not None
                                and (first_failure is None or c.version < first_failure)]
    received: Iterable[SignedRecord] = node.inbox.received_about(str(cid), partner_states(node))
    merged = {r.hash: r for r in (*good, *received)}
    return sorted(merged.values(), key=lifecycle_order), problems


def _stints(records: Iterable[SignedRecord]) -> list[dict[str, Any]]:
    """The weapons a component was in, in order: installed (or found when seized) until removed."""
    stints: list[dict[str, Any]] = []
    for record in records:
        if record.type in (COMPONENT_INSTALLED, COMPONENT_SEIZED):
            if stints and stints[-1]["until"] is None:
                stints[-1]["until"] = format_time(record.occurred_on)
            stints.append({"weapon_id": str(record.body.get("weapon_id", "")),
                           "since": format_time(record.occurred_on), "until": None,
                           "how": "installed" if record.type == COMPONENT_INSTALLED else "found when seized",
                           "flags": list(record.body.get("flags", ()))})
        elif record.type == COMPONENT_REMOVED and stints and stints[-1]["until"] is None:
            stints[-1].update(until=format_time(record.occurred_on), removed=str(record.body.get("reason", "")))
    return stints
