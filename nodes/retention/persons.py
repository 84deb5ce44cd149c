"""The person register retention erases from: the node's identity vault."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nodes.persons.vault import IdentityVault
from nodes.ports import Node
from nodes.retention.report import PersonRegister


@contextmanager
def person_register(node: Node) -> Iterator[PersonRegister]:
    """The identity vault of ``node``, closed on exit (needs the passphrase: ``nodes.persons.kek``)."""
    with IdentityVault.open(node.settings) as vault:
        yield vault
