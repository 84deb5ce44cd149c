"""A weapon's records after its trade, every kind once: for tests that need each event type in one stream."""

from __future__ import annotations

from collections.abc import Mapping

from domain.authority import Authority, AuthorityKind
from domain.weapon import Weapon


def lose_find_seize_and_destroy(weapon: Weapon, authorities: Mapping[AuthorityKind, Authority], now: int) -> Weapon:
    """Record on ``weapon``, at ``now``: lost, recovered, stolen, recovered, seized, confiscated, deactivated,
    destroyed, and seized again after its destruction (flagged). Returns ``weapon``.

    Requires a weapon lawfully held (not lost, stolen, seized, exported, deactivated or destroyed)
    and a police and a deactivation authority in ``authorities``.
    """
    police, deactivation = authorities[AuthorityKind.POLICE], authorities[AuthorityKind.DEACTIVATION]
    weapon.report_lost(authority=police, place="Liège", circumstances="left on a train", occurred_on=now)
    weapon.recover(authority=police, place="Namur", holder="", occurred_on=now)
    weapon.report_stolen(authority=police, place="Liège", circumstances="burglary", occurred_on=now)
    weapon.recover(authority=police, place="Antwerp", holder="", occurred_on=now)
    weapon.seize(authority=police, place="Antwerp", circumstances="raid", occurred_on=now)
    weapon.confiscate(authority=police, order="court order 7", occurred_on=now)
    weapon.deactivate(authority=deactivation, certificate="DC-1", method="EU 2015/2403", standard="EU 2018/337",
                      inspecting_body="Proof House Liège", inspected_on=now, occurred_on=now)
    weapon.destroy(authority=deactivation, method="shredding", certificate="DS-1", occurred_on=now)
    weapon.seize(authority=police, place="Brussels", circumstances="found at a market", occurred_on=now)
    return weapon
