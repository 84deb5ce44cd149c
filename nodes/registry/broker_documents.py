"""The broker register as officers read it: this state's brokers (read back verified) and those partners
registered and sent (FP art 15(2)), each with its periods, suspensions, activities and the licences
naming it. ``armsledger broker list|show`` and the HTTP API call these.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.broker import Broker, BrokerState, broker_id
from domain.choice import parse_choice
from domain.errors import BrokerRefused, InvalidField
from domain.event_types import BROKER_ACTIVITY_RECORDED, BROKER_REGISTERED
from domain.marking import normalise
from domain.time import format_time
from ledger.acceptance import Signers
from ledger.envelope import Envelope
from nodes.acceptance import DomainPolicy
from nodes.ports import Node
from nodes.registry.licences import held_licences
from nodes.registry.mapper import domain_event_from
from nodes.registry.own_records import own_signers, verified_stream
from nodes.registry.paging import received, signed


def parse_broker_state(text: str, field: str = "state") -> BrokerState:
    """A state as typed (``registered``, ``not-yet-valid`` ...); ``InvalidField`` on ``field`` otherwise."""
    word = (text or "").strip().lower().replace("-", "_").replace(" ", "_")
    return parse_choice(BrokerState, word, field=field, noun="a broker state")


@dataclass(frozen=True)
class HeldBroker:
    """A broker registration held here: ``origin`` is the state that registered it (ours or a partner's);
    ``records`` its verified records in order; ``signature`` "verified" or the first problem."""

    broker: Broker
    origin: str
    own: bool
    records: tuple[Envelope, ...]
    signature: str


def held_brokers(node: Node, number: str = "") -> list[HeldBroker]:
    """Every broker this state registered and every one a partner sent, by origin and number; with
    ``number``, only those registered under it (this state's is read by its id, not searched for)."""
    wanted = normalise(number) if number.strip() else ""
    own_streams = ([broker_id(node.identity.state, number)] if wanted else
                   [UUID(e.stream) for e in signed(node.registry.recorder, (BROKER_REGISTERED,))])
    signers, _ = own_signers(node.registry, node.identity)
    policy = DomainPolicy(node.identity.state)
    held = [h for h in (_own(node, stream, signers, policy) for stream in own_streams) if h is not None]
    streams = {(e.node, e.stream) for _, e in received(node.inbox) if e.type == BROKER_REGISTERED
               and (not wanted or normalise(str(e.body.get("registration_number", ""))) == wanted)}
    for origin, stream in sorted(streams):
        records = tuple(node.inbox.received(node=origin, stream=stream))
        broker = _replay(records)
        if broker is not None and broker.issuer_state == origin:
            held.append(HeldBroker(broker, origin, False, records, f"verified on receipt from {origin}"))
    return sorted(held, key=lambda h: (not h.own, h.origin, normalise(h.broker.registration_number)))


def _own(node: Node, stream: UUID, signers: Signers, policy: DomainPolicy) -> HeldBroker | None:
    """This state's broker of ``stream``, its records read back verified; None when it holds none."""
    checked = verified_stream(node.registry, stream, signers, policy)
    good = tuple(c.envelope for c in checked if c.problem is None and c.envelope is not None)
    problems = [c.problem for c in checked if c.problem is not None]
    broker = _replay(good)
    if broker is None:
        return None
    return HeldBroker(broker, node.identity.state, True, good,
                      "verified" if not problems else f"NOT VERIFIED: {problems[0]}")


def list_brokers(node: Node, *, state: BrokerState | None = None, now: int | None = None) -> list[dict[str, Any]]:
    """The brokers held here, in ``state`` ``now`` (default: the present) when given."""
    now = int(time.time()) if now is None else now
    return [_summary(h, now) for h in held_brokers(node) if state is None or h.broker.state_on(now) is state]


def find_broker(node: Node, number: str, *, field: str = "number") -> HeldBroker:
    """The broker registered as ``number`` here or, failing that, by one partner.

    ``InvalidField`` for a blank number; ``BrokerRefused`` on ``field`` when none is held, or when several
    partners registered that number (the refusal names them).
    """
    typed = (number or "").strip()
    if not typed:
        raise InvalidField("a broker registration number is required", field=field)
    matches = held_brokers(node, typed)
    own = [h for h in matches if h.own]
    if own:
        return own[0]
    if not matches:
        raise BrokerRefused(f"no broker {typed!r} is registered with {node.identity.state} or held from a partner",
                            field=field)
    if len(matches) > 1:
        raise BrokerRefused(f"{typed!r} is registered by {', '.join(h.origin for h in matches)}", field=field)
    return matches[0]


def broker_document(node: Node, number: str, *, now: int | None = None) -> dict[str, Any]:
    """Every field of broker ``number``, its periods, suspensions, activities and this state's licences
    naming it. Refusals as ``find_broker``."""
    now = int(time.time()) if now is None else now
    held = find_broker(node, number)
    broker = held.broker
    naming = held_licences(node, lambda issued: normalise(str(issued.body.get("broker", "")))
                           == normalise(broker.registration_number))
    return {
        **_summary(held, now),
        "broker_id": str(broker.id), "registered_on": broker.registered_on,
        "registered_on_utc": format_time(broker.registered_on),
        "periods": [{"valid_from": start, "valid_until": end, "valid_from_utc": format_time(start),
                     "valid_until_utc": format_time(end)} for start, end in broker.periods],
        "suspensions": [{"from": start, "until": end, "from_utc": format_time(start), "until_utc": format_time(end),
                         "reason": reason} for start, end, reason in broker.suspensions],
        "revoked_on": broker.revoked_on, "revocation_reason": broker.revocation_reason,
        "activities": [_activity(e) for e in held.records if e.type == BROKER_ACTIVITY_RECORDED],
        "licences": [{"number": h.licence.number, "kind": h.licence.kind.value, "issuer_state": h.licence.issuer_state}
                     for h in naming if held.own and h.licence.issuer_state == broker.issuer_state],
    }


def _activity(record: Envelope) -> dict[str, Any]:
    body = record.body
    return {"kind": body["kind"], "occurred_on": record.occurred_on, "occurred_on_utc": format_time(record.occurred_on),
            "parties": list(body["parties"]), "weapons": list(body["weapons"]), "licences": list(body["licences"]),
            "description": body["description"], "officer": body.get("officer", ""), "record_hash": record.hash.hex()}


def _summary(held: HeldBroker, now: int) -> dict[str, Any]:
    broker = held.broker
    state = broker.state_on(now)
    return {
        "number": broker.registration_number, "name": broker.name, "seat": broker.seat,
        "issuer_state": broker.issuer_state, "origin": "own" if held.own else held.origin,
        "valid_from": broker.valid_from, "valid_from_utc": format_time(broker.valid_from),
        "valid_until": broker.valid_until, "valid_until_utc": format_time(broker.valid_until),
        "state": state.value, "in_force": state is BrokerState.REGISTERED, "activity_count": broker.activities,
        "signature": held.signature,
    }


def _replay(records: tuple[Envelope, ...]) -> Broker | None:
    """The broker of ``records`` (its stream, in version order). A partner holds no activities, so the
    versions it holds have gaps: each record is applied at its own version."""
    if not records or records[0].type != BROKER_REGISTERED:
        return None
    broker = None
    for record in records:
        if broker is not None:
            broker.version = record.version - 1
        broker = domain_event_from(record).mutate(broker)
    return broker if isinstance(broker, Broker) else None
