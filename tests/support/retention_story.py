"""A small register of private holders for the retention tests: whose records are past their period and whose
are not (docs/personal-data.md), with the identities in the node's vault."""

from __future__ import annotations

from dataclasses import dataclass

from domain.marking import Marking
from domain.person import Identity
from domain.time import parse_time
from nodes.persons.vault import IdentityVault
from nodes.ports import Node

#: The holder whose weapon was made in 1960 and destroyed in 1980: every record past by 2010.
OLD_NAME = "Adelheid Vermeulen-Oudenaarde"
#: A weapon made in 2000 and destroyed in 2001: the records fall due in 2031.
SOON_NAME = "Bartholomeus Soonbeek"
#: A weapon never destroyed: kept for as long as it exists (Directive (EU) 2021/555 art 4(4)).
KEPT_NAME = "Cornelia Keepsake"


@dataclass(frozen=True)
class Holders:
    old: str
    soon: str
    kept: str


def holders_story(node: Node) -> Holders:
    """Record the three holders' weapons on ``node`` (unlocked) and their identities in its vault."""
    with IdentityVault.open(node.settings) as vault:
        refs = [vault.add(Identity.of(name=name, date_of_birth="1940-02-03", address="Meir 1, Antwerpen"))
                for name in (OLD_NAME, SOON_NAME, KEPT_NAME)]
    lives = (("RET-OLD", "1960-01-01", "1980-06-01"), ("RET-SOON", "2000-01-01", "2001-01-01"),
             ("RET-KEPT", "1990-01-01", None))
    for ref, (serial, made, destroyed) in zip(refs, lives, strict=True):
        weapon = node.registry.manufacture(
            marking=Marking.read("FN Herstal", "BE", serial), occurred_on=parse_time(made), type="pistol",
            make="FN", model="HP", calibre="9mm", year=int(made[:4]), holder=ref)
        if destroyed:
            node.registry.record("destroy", by="registry", weapon_id=weapon, occurred_on=parse_time(destroyed),
                                 method="smelting", certificate=f"D-{serial}")
    node.settle()
    return Holders(*refs)
