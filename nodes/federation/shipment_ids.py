"""A shipment to this state named by the start of its id, as customs type it from a list (8 characters)."""

from __future__ import annotations

from domain.errors import InvalidField
from domain.event_types import EXPORTED
from domain.signed_aggregate import canonical_uuid
from nodes.ports import Node
from nodes.registry.paging import received_pages
from nodes.values import id_prefix, one_by_prefix


def incoming_shipment_id(node: Node, typed: str) -> str:
    """The id of the shipment to us that ``typed`` starts (at least 4 hex characters, as lists print
    it); ``typed`` itself when it is a whole id or starts none. ``InvalidField`` when it starts several."""
    typed = (typed or "").strip()
    try:
        prefix = "" if canonical_uuid(typed) else id_prefix(typed, field_name="shipment")
    except InvalidField:
        return typed
    if not prefix:
        return typed
    us = node.identity.state
    ids = {str(e.body.get("shipment", "")) for page in received_pages(node.inbox) for _, e in page
           if e.type == EXPORTED and e.body.get("to_state") == us}
    matches = sorted(i for i in ids if i.startswith(prefix))
    return one_by_prefix(typed, matches, what="shipment", field_name="shipment") if matches else typed
