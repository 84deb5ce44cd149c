"""The person register retention works on: the node's identity vault and the records naming a person."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger.envelope import Envelope
from nodes.persons.mentions import records_mentioning
from nodes.persons.vault import IdentityVault
from nodes.ports import Node
from nodes.retention.report import Mentions, PersonRegister


@contextmanager
def person_register(node: Node) -> Iterator[tuple[PersonRegister, Mentions]]:
    """The vault of ``node`` (closed on exit) and the reader of this node's own records naming a person.

    Only the node's own records count: a reference is this node's own, and what partners hold of it
    is kept under their own retention.
    """
    def mentions(reference: str) -> list[Envelope]:
        return [m.envelope for m in records_mentioning(node, reference) if m.own]

    with IdentityVault.open(node.settings) as vault:
        yield vault, mentions
