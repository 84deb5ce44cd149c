"""Recording an import by weapon id or by marking: the one look-up the CLI and the API share.

An import of a weapon known here may name it by id alone (its marking is then the one on
record); an import of a weapon unknown here must give its marking, which opens its record.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.errors import InvalidField, UnknownWeapon
from domain.marking import Marking
from domain.weapon import Weapon
from nodes.registry.application import Registry, WeaponRecorded


def known_weapon(registry: Registry, weapon_id: UUID | str) -> Weapon | None:
    """The weapon's aggregate, or None when there is no record of it here."""
    try:
        return registry.weapon(weapon_id)
    except UnknownWeapon:
        return None


def import_weapon(registry: Registry, *, by: str, marking: Marking | None, weapon_id: UUID | None,
                  **fields: Any) -> WeaponRecorded:
    """Record an import of the weapon named by ``marking`` or ``weapon_id`` (one of them); returns its id
    and the hit notices recorded with it (``Registry.record_import``).

    ``UnknownWeapon`` (field ``weapon``) when only an id is given and there is no record of it;
    otherwise as ``Registry.import_weapon``.
    """
    if marking is None:
        if weapon_id is None:
            raise InvalidField("give the weapon id or its marking", field="weapon")
        known = known_weapon(registry, weapon_id)
        if known is None:
            raise UnknownWeapon("no record of this weapon: give its marking to register the import",
                                field="weapon")
        marking = Marking(**known.marking)
    return registry.record_import(by=by, marking=marking, **fields)
