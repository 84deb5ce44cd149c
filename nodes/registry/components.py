"""Essential components and conversions at the node: ``assemble``, ``replace_component`` and ``convert``
over the ``Registry``, each saving the weapon's record and its components' records in one transaction.

The CLI (``nodes.cli.components``) and the API (``nodes.service.api_components``) call these; the rules
are the domain's (``domain.component``, ``domain.assembly``). ``component_life`` (what ``component show``
prints) is in ``nodes.registry.component_reading``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import assembly
from domain.component import Component, Host, check_kind, component_id
from domain.errors import InvalidField, UnknownWeapon
from domain.licence import LicenceKind
from domain.marking import Marking
from nodes.registry.application import Registry, retried_on_conflict

# MANUFACTURER/CC/SERIAL: the country code is the first two letters between slashes, so that a
# manufacturer's name or a serial may hold slashes of its own.
_MARKING = re.compile(r"\A(?P<manufacturer>.+?)/(?P<country>[A-Za-z]{2})/(?P<serial>.+)\Z", re.DOTALL)


def read_marking(text: str, field: str = "component") -> Marking:
    """A marking typed ``MANUFACTURER/CC/SERIAL``; ``InvalidField`` on ``field`` otherwise (or as ``Marking.read``)."""
    found = _MARKING.match((text or "").strip())
    if found is None:
        raise InvalidField(f"{text!r} is not a marking written MANUFACTURER/CC/SERIAL", field=field)
    try:
        return Marking.read(found["manufacturer"], found["country"], found["serial"])
    except InvalidField as e:
        raise InvalidField(f"{text!r}: {e.field} {e.args[0]}", field=field) from None


def read_part(text: str, kinds: Iterable[str] = ()) -> tuple[str, Marking]:
    """A part typed ``KIND=MANUFACTURER/CC/SERIAL`` (``kinds``: those the state added); ``InvalidField`` on
    ``component``."""
    kind, equals, marking = (text or "").partition("=")
    if not equals:
        raise InvalidField(f"{text!r} is not written KIND=MANUFACTURER/CC/SERIAL", field="component")
    return check_kind(kind, kinds, field="component"), read_marking(marking)


@dataclass(frozen=True)
class PartsRecorded:
    """What a command recorded: the weapon, the components it concerns, and the flags raised."""

    weapon_id: UUID
    component_ids: tuple[str, ...]
    flags: tuple[str, ...] = ()


def load_component(registry: Registry, cid: UUID) -> Component | None:
    """The component's aggregate, None when it has no record here."""
    try:
        found: object = registry.repository.get(cid)
    except AggregateNotFoundError:
        return None
    if not isinstance(found, Component):
        raise InvalidField(f"{cid} is not a component", field="component")
    return found


def host_of(registry: Registry, component: Component) -> Host | None:
    """The weapon ``component`` is recorded in, with its status here (None: in no weapon)."""
    if not component.weapon_id:
        return None
    try:
        status = registry.weapon(component.weapon_id).status
    except UnknownWeapon:
        return Host(component.weapon_id, None)
    return Host(component.weapon_id, status.value if status is not None else None)


@retried_on_conflict
def assemble(registry: Registry, *, by: str, weapon_id: UUID | str, parts: Sequence[tuple[str, Marking]],
             occurred_on: int | None = None) -> PartsRecorded:
    """Record ``parts`` (kind, marking) in the weapon, registering the components not on record yet: lawful
    assembly (licensing, registry), or what police or customs found in a seized weapon (flagged)."""
    authority = registry.authority(by)
    occurred = _now_if_none(occurred_on)
    weapon = registry.weapon(weapon_id)
    ids = [component_id(kind, marking) for kind, marking in parts]
    weapon.assemble(authority=authority, parts=tuple((kind, str(cid), marking.as_dict())
                                                      for (kind, marking), cid in zip(parts, ids)),
                    occurred_on=occurred)
    components = []
    for (kind, marking), cid in zip(parts, ids):
        component = load_component(registry, cid) or Component.register(
            authority=authority, kind=kind, marking=marking, occurred_on=occurred)
        host = host_of(registry, component)
        if assembly.is_finding(authority):
            component.seize(authority=authority, weapon_id=str(weapon.id), host=host, occurred_on=occurred)
        else:
            component.install(authority=authority, weapon_id=str(weapon.id), weapon_marking=weapon.marking, host=host,
                              occurred_on=occurred)
        components.append(component)
    registry.save(weapon, *components)
    flags = tuple(dict.fromkeys(f for c in components for f in c.state.flags))
    return PartsRecorded(weapon.id, tuple(str(c) for c in ids), flags)


@retried_on_conflict
def replace_component(registry: Registry, *, by: str, weapon_id: UUID | str, kind: str, new: Marking, reason: str,
                      destroy_removed: bool = False, kinds: Iterable[str] = (),
                      occurred_on: int | None = None) -> PartsRecorded:
    """Replace the weapon's part of ``kind`` by the component marked ``new`` (registered if not on record);
    the part removed is destroyed too with ``destroy_removed``."""
    authority = registry.authority(by)
    occurred = _now_if_none(occurred_on)
    kind = check_kind(kind, kinds)
    weapon = registry.weapon(weapon_id)
    cid = component_id(kind, new)
    installed = load_component(registry, cid) or Component.register(
        authority=authority, kind=kind, marking=new, occurred_on=occurred)
    removed_id = weapon.replace_component(authority=authority, kind=kind, installed=str(cid),
                                          installed_marking=new.as_dict(), reason=reason, occurred_on=occurred)
    installed.install(authority=authority, weapon_id=str(weapon.id), weapon_marking=weapon.marking,
                      host=host_of(registry, installed), occurred_on=occurred)
    removed = load_component(registry, UUID(removed_id))
    if removed is not None and removed.weapon_id == str(weapon.id):
        removed.remove(authority=authority, weapon_id=str(weapon.id), reason=reason, occurred_on=occurred)
    if removed is not None and destroy_removed:
        removed.destroy(authority=authority, method=reason, occurred_on=occurred)
    registry.save(weapon, installed, *([removed] if removed is not None else []))
    return PartsRecorded(weapon.id, (str(cid), removed_id))


@retried_on_conflict
def destroy_component(registry: Registry, *, by: str, component: UUID | str, method: str,
                      occurred_on: int | None = None) -> UUID:
    """Destroy a component in no weapon (``Component.destroy``); returns its id. ``UnknownWeapon`` (field
    ``component``) when it has no record here."""
    found = load_component(registry, UUID(str(component)))
    if found is None:
        raise UnknownWeapon(f"no record of component {component} here", field="component")
    found.destroy(authority=registry.authority(by), method=method, occurred_on=_now_if_none(occurred_on))
    registry.save(found)
    return found.id


@retried_on_conflict
def convert(registry: Registry, *, by: str, weapon_id: UUID | str, conversion: str, calibre: str = "",
            type: str = "", licence: str = "", description: str = "", occurred_on: int | None = None) -> PartsRecorded:
    """Record a conversion of the weapon (``domain.assembly.conversion_fields``: the rules)."""
    authority = registry.authority(by)
    weapon = registry.weapon(weapon_id)
    permit = registry.licence(licence, LicenceKind.CONVERSION_LICENCE, field="licence") if licence.strip() else None
    weapon.convert(authority=authority, conversion=conversion, calibre=calibre, type=type, licence=permit,
                   description=description, occurred_on=_now_if_none(occurred_on))
    registry.save(weapon)
    return PartsRecorded(weapon.id, (), tuple(weapon.flags[-1:]) if assembly.is_finding(authority) else ())


def _now_if_none(occurred_on: int | None) -> int:
    return int(time.time()) if occurred_on is None else occurred_on
