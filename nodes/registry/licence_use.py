"""The use of a licence or authorization: the shipments made under it (FP art 10(3): the quantity licensed).

One rule for which shipment counts against which licence, used to show a licence's use
and to refuse an export that would exceed its quantity (``nodes.federation.crossborder``):

- our export licence: our shipments that name it;
- an import authorization or transit no-objection a partner sent us: our shipments to
  (or through) that state that name its number;
- our own import authorization or transit no-objection: the partners' shipments to (or
  through) us that name it, as received.

Only records signed as ``Shipment.Opened`` count (``nodes.registry.paging.signed``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.event_types import RECEIPT_CONFIRMED, SHIPMENT_OPENED, SHIPMENT_RECEIPT_CONFIRMED
from domain.licence import Licence, LicenceKind
from domain.marking import normalise
from domain.time import format_time
from ledger.envelope import Envelope
from nodes.ports import Node
from nodes.registry.paging import received, signed


@dataclass(frozen=True)
class Use:
    """One shipment made under a licence: its id, exporter, destination, date, weapons and whether
    the importing state confirmed receipt (as far as this node knows)."""

    shipment_id: str
    from_state: str
    to_state: str
    exported_on: int
    weapons: tuple[str, ...]
    received: bool

    @property
    def quantity(self) -> int:
        return len(self.weapons)

    def to_dict(self) -> dict[str, Any]:
        return {"shipment_id": self.shipment_id, "from_state": self.from_state, "to_state": self.to_state,
                "exported_on": self.exported_on, "exported_on_utc": format_time(self.exported_on),
                "quantity": self.quantity, "weapons": list(self.weapons), "received": self.received}


def uses_of(node: Node, licence: Licence, *, own: bool) -> list[Use]:
    """The shipments made under ``licence`` (``own``: issued by this state), oldest first."""
    us = node.identity.state
    if own and licence.kind is LicenceKind.EXPORT_LICENCE:
        openings = [e for e in own_shipments(node) if counts_against(e, licence)]
        closed = _own_closed(node)
    elif own:
        # A partner's shipment to (or through) us under our authorization, from the state it names.
        openings = [e for e in _received_shipments(node)
                    if (not licence.export_state or e.node == licence.export_state)
                    and counts_against(e, licence, via=us)]
        closed = _received_here(node)
    else:
        openings = [e for e in own_shipments(node) if counts_against(e, licence, via=licence.issuer_state)]
        closed = _own_closed(node)
    uses = [Use(e.stream, str(e.body.get("export_state", e.node)), str(e.body.get("import_state", "")),
                e.occurred_on, tuple(str(w) for w in e.body.get("weapons", ())), e.stream in closed)
            for e in openings]
    return sorted(uses, key=lambda u: (u.exported_on, u.shipment_id))


def counts_against(opened: Envelope, licence: Licence, *, via: str = "") -> bool:
    """Whether the shipment ``opened`` was made under ``licence``. ``via``: the state whose
    authorization is meant (the importing state's, or a transit state's no-objection)."""
    body = opened.body
    number = normalise(licence.number)
    if licence.kind is LicenceKind.EXPORT_LICENCE:
        return opened.node == licence.issuer_state and normalise(str(body.get("export_licence", ""))) == number
    if licence.kind is LicenceKind.IMPORT_AUTHORIZATION:
        return (body.get("import_state") == licence.issuer_state
                and normalise(str(body.get("import_authorization", ""))) == number)
    if licence.kind is LicenceKind.TRANSIT_NO_OBJECTION:
        route = [str(s) for s in body.get("transit_states", ())]
        numbers = [normalise(str(n)) for n in body.get("transit_no_objections", ())]
        state = via or licence.issuer_state
        return state in route and route.index(state) < len(numbers) and numbers[route.index(state)] == number
    return False


def shipped_under(node: Node, licence: Licence, *, own: bool) -> int:
    """Weapons shipped under ``licence`` so far (every shipment ``uses_of`` finds)."""
    return sum(use.quantity for use in uses_of(node, licence, own=own))


def own_shipments(node: Node) -> Iterator[Envelope]:
    """This node's ``Shipment.Opened`` records, in log order."""
    return signed(node.registry.recorder, (SHIPMENT_OPENED,))


def _received_shipments(node: Node) -> Iterator[Envelope]:
    return (e for _, e in received(node.inbox) if e.type == SHIPMENT_OPENED)


def _own_closed(node: Node) -> set[str]:
    """Our shipments whose receipt the importing state confirmed."""
    return {e.stream for e in signed(node.registry.recorder, (SHIPMENT_RECEIPT_CONFIRMED,))}


def _received_here(node: Node) -> set[str]:
    """Partners' shipments whose receipt this node confirmed (for at least one weapon)."""
    return {str(e.body.get("shipment", "")) for e in signed(node.registry.recorder, (RECEIPT_CONFIRMED,))}
