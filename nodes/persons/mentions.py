"""Which records a node holds that mention a holder reference: its own and those received from partners.

Subject access (``person show``) lists them, and retention decides from them when a holder's identity
may be erased. A record mentions a reference when any value of its signed body is that reference.
The node's own log and its inbox are read through once (a scan: no index keeps references).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.person import check_person_reference
from ledger.envelope import Envelope
from nodes.ports import Node

_PAGE = 1000


@dataclass(frozen=True)
class Mention:
    """A record that mentions a holder: the signed envelope, whether it is the node's own, and the fields
    of its body that hold the reference (dotted paths for nested maps)."""

    envelope: Envelope
    own: bool
    fields: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        e = self.envelope
        return {"hash": e.hash.hex(), "node": e.node, "own": self.own, "stream": e.stream, "version": e.version,
                "type": e.type, "occurred_on": e.occurred_on, "recorded_at": e.recorded_at,
                "fields": list(self.fields)}


def records_mentioning(node: Node, ref: str) -> list[Mention]:
    """Every record of ``node`` (own log first, then the records received from partners, each in the order
    stored) whose body holds ``ref``. ``InvalidField`` (field ``person``) if ``ref`` is no holder reference;
    ``StorageError`` if the database fails."""
    ref = check_person_reference(ref)
    needle = ref.encode("ascii")
    found: list[Mention] = []
    for _position, stored in node.registry.stored_notifications():
        if needle in stored.state:  # most records do not name the holder: decode only those that may
            envelope = Envelope.from_bytes(stored.state)
            fields = tuple(_paths_holding(envelope.body, ref))
            if fields:
                found.append(Mention(envelope, True, fields))
    for envelope in received_envelopes(node):
        fields = tuple(_paths_holding(envelope.body, ref))
        if fields:
            found.append(Mention(envelope, False, fields))
    return found


def received_envelopes(node: Node) -> Iterator[Envelope]:
    """Every record ``node`` accepted from partners, in the order stored."""
    start = 1
    while page := node.inbox.received_notifications(start, _PAGE):
        yield from (envelope for _id, envelope in page)
        start = page[-1][0] + 1


def _paths_holding(value: Any, ref: str, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if value == ref:
            yield path or "body"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _paths_holding(item, ref, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _paths_holding(item, ref, f"{path}[{index}]")
