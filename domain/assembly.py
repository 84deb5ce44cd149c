"""The weapon's side of its essential components and of conversions: what a weapon may be assembled with,
which part may be replaced, which conversion is lawful (EU 2021/555 art 1(3)-(4), FP art 3(b) and 8).

Two hands record them. The licensing (or registry) authority records lawful work on a weapon held here:
one part of each kind per weapon, a replacement only of a part on record, a conversion with a conversion
licence (a calibre change needs none). Police and customs record what they find in a seized weapon: its
parts and conversions are recorded whatever they are, and flagged. The commands are ``Weapon.assemble``,
``Weapon.replace_component`` and ``Weapon.convert``; the component's side is ``domain.component``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from domain.authority import Authority, AuthorityKind
from domain.choice import parse_choice
from domain.errors import InvalidField, InvalidState
from domain.licence import Licence, LicenceKind
from domain.marking import check_text, normalise
from domain.weapon_state import Status, WeaponState

#: Authorities that record what they find in a seized weapon rather than lawful work on one.
FINDERS = frozenset({AuthorityKind.POLICE, AuthorityKind.CUSTOMS})
_FOUND_IN = (Status.SEIZED, Status.CONFISCATED)


class Conversion(str, Enum):
    CALIBRE = "calibre"                                   # change of calibre (barrel, bolt)
    ALARM_TO_FIREARM = "alarm-to-firearm"                 # alarm, signal or salute weapon made to fire
    DEACTIVATED_TO_FIREARM = "deactivated-to-firearm"     # found only: lawfully it is a reactivation
    SEMI_TO_FULL_AUTOMATIC = "semi-to-full-automatic"
    OTHER = "other"

    @classmethod
    def parse(cls, value: str, field: str = "kind") -> Conversion:
        return parse_choice(cls, (value or "").strip().lower(), field=field, noun="a conversion")


def is_finding(authority: Authority) -> bool:
    """True when ``authority`` records what it found in a seized weapon (police, customs)."""
    return authority.kind in FINDERS


def check_may_work_on(state: WeaponState, authority: Authority, what: str) -> None:
    """``InvalidState`` (field ``weapon``) unless ``authority`` may record ``what`` on the weapon now: a
    finder on a seized or confiscated weapon; anyone else on a firearm held lawfully here."""
    status = state.status.value if state.status is not None else "unrecorded"
    if state.status is Status.DESTROYED:
        raise InvalidState(f"the weapon was destroyed: no {what} can be recorded", field="weapon")
    if is_finding(authority):
        if state.status not in _FOUND_IN:
            raise InvalidState(f"the weapon is {status}: {authority.kind.value} records the {what} of a seized "
                               "weapon only", field="weapon")
        return
    if state.deactivation_certificate:
        raise InvalidState(f"the weapon is deactivated (certificate {state.deactivation_certificate}): no lawful "
                           f"{what} (a reactivation is 'record reactivate', with a licence)", field="weapon")
    if state.status is not Status.ACTIVE:
        raise InvalidState(f"the weapon is {status}: a lawful {what} is of a weapon held here", field="weapon")


def check_new_kinds(state: WeaponState, kinds: Sequence[str]) -> None:
    """``InvalidField``/``InvalidState`` (field ``component``) when a kind is given twice or the weapon has
    a part of that kind on record already: a weapon has one frame, one barrel ..."""
    seen: set[str] = set()
    for kind in kinds:
        if kind in seen:
            raise InvalidField(f"two parts of kind {kind} given: a weapon has one", field="component")
        seen.add(kind)
        if kind in state.components:
            on_record = state.components[kind]
            raise InvalidState(f"the weapon has a {kind} on record already ({_marking_text(on_record)}): "
                               "record replace-component", field="component")


def installed_part(state: WeaponState, kind: str) -> Mapping[str, Any]:
    """The weapon's part of ``kind`` on record; ``InvalidState`` (field ``kind``) when it has none."""
    part = state.components.get(kind)
    if part is None:
        raise InvalidState(f"the weapon has no {kind} on record: record assemble first", field="kind")
    return part


def conversion_fields(state: WeaponState, authority: Authority, weapon_id: str, *, conversion: Conversion,
                      calibre: str, type_: str, licence: Licence | None, description: str,
                      occurred_on: int) -> dict[str, Any]:
    """The fields of a ``Weapon.Converted`` after its rules: a calibre change names a new calibre; a lawful
    conversion other than of calibre needs a conversion licence in force for the weapon or its holder; a
    deactivated weapon is never converted lawfully (that is a reactivation); a finder's record is flagged
    ``conversion-found``. ``InvalidField``, ``InvalidState`` or ``LicenceRefused`` naming the field."""
    check_may_work_on(state, authority, "conversion")
    calibre = check_text(calibre, "calibre", required=conversion is Conversion.CALIBRE, max_length=32)
    if conversion is Conversion.CALIBRE and normalise(calibre) == normalise(state.calibre):
        raise InvalidField(f"the weapon is of calibre {state.calibre} already", field="calibre")
    flags: tuple[str, ...] = ()
    if is_finding(authority):
        flags = ("conversion-found",)
    elif conversion is Conversion.DEACTIVATED_TO_FIREARM:
        raise InvalidField("a deactivated weapon is made to fire again by a reactivation ('record reactivate', "
                           "with a licence), not a conversion", field="kind")
    elif licence is not None or conversion is not Conversion.CALIBRE:
        _check_covers_conversion(licence, weapon_id, state.holder, occurred_on)
    return {
        "conversion": conversion.value, "from_type": state.type, "to_type": check_text(type_, "type", required=False,
                                                                                     max_length=64) or state.type,
        "from_calibre": state.calibre, "to_calibre": calibre or state.calibre,
        "licence": licence.number if licence is not None and not flags else "",
        "description": check_text(description, "description", required=False, max_length=2000), "flags": flags,
    }


def _check_covers_conversion(licence: Licence | None, weapon_id: str, holder: str, moment: int) -> None:
    if licence is None:
        raise InvalidField("a lawful conversion needs a conversion licence number", field="licence")
    licence.check_kind(LicenceKind.CONVERSION_LICENCE)
    licence.check_valid_on(moment)
    licence.check_covers_weapon(weapon_id, holder)


def _marking_text(part: Mapping[str, Any]) -> str:
    marking = part.get("marking") or {}
    return " ".join(str(marking.get(k, "")) for k in ("manufacturer", "country", "serial")).strip()
