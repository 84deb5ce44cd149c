"""An essential component of a firearm (frame or receiver, slide, barrel, bolt or breech block) as an item
of its own, with its own marking and life: registered, installed in a weapon, removed, destroyed, or found
in a seized weapon (FP art 3(b), EU 2021/555 art 1(3)).

A component's id is derived from its kind and marking, as a weapon's is from its marking, so that every
node computes the same id. Rules: a component is in one weapon at a time; a destroyed component (or one
destroyed or deactivated with its weapon) is never installed again, only found in a seized weapon, and
then flagged. The weapon's side of each rule (one part of a kind per weapon) is ``domain.assembly``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.errors import InvalidField, InvalidState, UnknownWeapon
from domain.marking import ARMSLEDGER_NAMESPACE, Marking, check_text, normalise
from domain.signed_aggregate import SignedAggregate

#: The essential components every state records (EU 2021/555 art 1(3)); a state adds kinds in its settings.
ESSENTIAL_KINDS = ("frame", "receiver", "slide", "barrel", "bolt", "breech-block")


def check_kind(value: str, extra: Iterable[str] = (), field: str = "kind") -> str:
    """The component kind ``value`` names (lower case, spaces as hyphens): one of ``ESSENTIAL_KINDS`` or of
    ``extra`` (the kinds the state added); ``InvalidField`` on ``field`` naming the kinds otherwise."""
    kind = "-".join(check_text(value, field, max_length=32).lower().split())
    known = (*ESSENTIAL_KINDS, *(k.strip().lower() for k in extra if k.strip()))
    if kind not in known:
        raise InvalidField(f"{value!r} is not a component kind ({', '.join(known)})", field=field)
    return kind


def component_id(kind: str, marking: Marking) -> uuid.UUID:
    """The id every node derives from a component's kind and complete marking: a frame and a barrel often
    bear the same serial, and are two items."""
    if not marking.is_complete:
        raise InvalidField("a component is named by its complete marking", field="serial")
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"COMPONENT|{normalise(kind)}|{marking.key}")


class ComponentStatus(str, Enum):
    LOOSE = "loose"            # registered, in no weapon (never installed, or removed)
    INSTALLED = "installed"    # in ``weapon_id``
    DESTROYED = "destroyed"
    SEIZED = "seized"          # found in the seized weapon ``weapon_id``


@dataclass(frozen=True)
class ComponentState:
    """What the records say of a component now; ``weapon_id`` is the weapon it is in ("" none)."""

    kind: str = ""
    marking: Mapping[str, Any] = field(default_factory=dict)
    status: ComponentStatus | None = None
    weapon_id: str = ""
    flags: tuple[str, ...] = ()


def evolve_component(state: ComponentState, record_type: str, body: Mapping[str, Any]) -> ComponentState:
    """The state after one component record; total (a record it does not know leaves the state as it is)."""
    if record_type == types.COMPONENT_REGISTERED:
        return replace(state, kind=str(body.get("kind", "")), marking=dict(body.get("marking") or {}),
                       status=state.status or ComponentStatus.LOOSE)
    if record_type == types.COMPONENT_INSTALLED:
        return replace(state, status=ComponentStatus.INSTALLED, weapon_id=str(body.get("weapon_id", "")))
    if record_type == types.COMPONENT_REMOVED:
        return replace(state, status=ComponentStatus.LOOSE, weapon_id="")
    if record_type == types.COMPONENT_DESTROYED:
        return replace(state, status=ComponentStatus.DESTROYED)
    if record_type == types.COMPONENT_SEIZED:
        # Found after destruction, it stays destroyed (as a weapon does) and carries the flag.
        status = state.status if state.status is ComponentStatus.DESTROYED else ComponentStatus.SEIZED
        return replace(state, status=status, weapon_id=str(body.get("weapon_id", "")),
                       flags=(*state.flags, *(str(f) for f in body.get("flags", ()))))
    return state


def components_named(bodies: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The ids of the components that weapon records (type, body) name: assembled, installed or removed."""
    found: list[str] = []
    for record_type, body in bodies:
        if record_type == types.ASSEMBLED:
            found += [str(p.get("component_id", "")) for p in body.get("components", ()) if isinstance(p, Mapping)]
        elif record_type == types.COMPONENT_REPLACED:
            found += [str(body.get("removed", "")), str(body.get("installed", ""))]
    return [c for c in dict.fromkeys(found) if c]


@dataclass(frozen=True)
class Host:
    """The weapon a component is recorded in, as the application read it: its id and status (None: no
    record of it here)."""

    weapon_id: str
    status: str | None


class Component(SignedAggregate):
    """One essential component and its records."""

    TOPIC = "Component"

    class Event(SignedAggregate.Event):
        TOPIC = "Component.Event"

        def mutate(self, aggregate: Component | None) -> Component | None:  # type: ignore[override]
            if aggregate is None:
                if self.TOPIC != types.COMPONENT_REGISTERED:
                    raise UnknownWeapon(f"{self.TOPIC} cannot be the first record of a component", field="component")
                aggregate = Component._shell(self.originator_id, self.timestamp)
            return super().mutate(aggregate)

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Component)
            aggregate.state = evolve_component(aggregate.state, self.TOPIC, vars(self))

    class Registered(Event):
        TOPIC = types.COMPONENT_REGISTERED
        kind: str
        marking: dict[str, Any]

    class Installed(Event):
        TOPIC = types.COMPONENT_INSTALLED
        weapon_id: str
        weapon_marking: dict[str, Any]

    class Removed(Event):
        TOPIC = types.COMPONENT_REMOVED
        weapon_id: str
        reason: str

    class Destroyed(Event):
        TOPIC = types.COMPONENT_DESTROYED
        method: str

    class Seized(Event):
        """Found in a seized weapon; ``from_weapon``: the weapon it was recorded in until then ("" none)."""

        TOPIC = types.COMPONENT_SEIZED
        weapon_id: str
        from_weapon: str
        flags: tuple[str, ...]

    state: ComponentState

    @classmethod
    def _shell(cls, cid: uuid.UUID, timestamp: datetime) -> Component:
        component = cls.__new__(cls)
        component.__base_init__(cid, 0, timestamp)
        component.state = ComponentState()
        return component

    @classmethod
    def register(cls, *, authority: Authority, kind: str, marking: Marking, occurred_on: int) -> Component:
        """A component not on record yet (its kind checked by the caller, ``check_kind``)."""
        check_permitted(types.COMPONENT_REGISTERED, authority.kind)
        component = cls._shell(component_id(kind, marking), datetime.now(UTC))
        component._record(cls.Registered, authority=authority, occurred_on=occurred_on, kind=kind,
                          marking=marking.as_dict())
        return component

    @property
    def kind(self) -> str:
        return self.state.kind

    @property
    def marking(self) -> Mapping[str, Any]:
        return self.state.marking

    @property
    def status(self) -> ComponentStatus | None:
        return self.state.status

    @property
    def weapon_id(self) -> str:
        return self.state.weapon_id

    @property
    def name(self) -> str:
        """``frame FN BE 12345``: how refusals name it."""
        m = self.marking
        return f"{self.kind} {m.get('manufacturer', '')} {m.get('country', '')} {m.get('serial', '')}"

    # --- commands ---------------------------------------------------------------------

    def install(self, *, authority: Authority, weapon_id: str, weapon_marking: Mapping[str, Any], host: Host | None,
                occurred_on: int) -> None:
        """Install in weapon ``weapon_id`` (lawfully: licensing or registry). ``host``: the weapon the
        component is recorded in now, if any. ``InvalidState`` (field ``component``) when it is destroyed,
        in a weapon (this or another), or went with a weapon destroyed or deactivated."""
        check_permitted(types.COMPONENT_INSTALLED, authority.kind)
        self.check_free(weapon_id, host)
        self._record(self.Installed, authority=authority, occurred_on=occurred_on, weapon_id=weapon_id,
                     weapon_marking=dict(weapon_marking))

    def remove(self, *, authority: Authority, weapon_id: str, reason: str, occurred_on: int) -> None:
        check_permitted(types.COMPONENT_REMOVED, authority.kind)
        if self.status is not ComponentStatus.INSTALLED or self.weapon_id != weapon_id:
            raise InvalidState(f"the {self.name} is not installed in weapon {weapon_id}", field="component")
        self._record(self.Removed, authority=authority, occurred_on=occurred_on, weapon_id=weapon_id,
                     reason=check_text(reason, "reason"))

    def destroy(self, *, authority: Authority, method: str, occurred_on: int) -> None:
        """Destroy a part in no weapon (or one found in a seized weapon); a part installed in a weapon is
        removed first (``record replace-component --destroy-removed``). ``InvalidState`` otherwise."""
        check_permitted(types.COMPONENT_DESTROYED, authority.kind)
        if self.status is ComponentStatus.DESTROYED:
            raise InvalidState(f"the {self.name} was destroyed already", field="component")
        if self.status is ComponentStatus.INSTALLED:
            raise InvalidState(f"the {self.name} is installed in weapon {self.weapon_id}: replace it there first "
                               "(record replace-component --destroy-removed)", field="component")
        self._record(self.Destroyed, authority=authority, occurred_on=occurred_on,
                     method=check_text(method, "method", required=False))

    def seize(self, *, authority: Authority, weapon_id: str, host: Host | None, occurred_on: int) -> None:
        """Found in seized weapon ``weapon_id`` (police or customs): allowed whatever its state, and flagged
        when it was destroyed, or recorded in another weapon (``host``), or went with one destroyed."""
        check_permitted(types.COMPONENT_SEIZED, authority.kind)
        flags = []
        if self.status is ComponentStatus.DESTROYED or (host is not None and host.status == "destroyed"):
            flags.append("component-after-destruction")
        elif host is not None and host.status == "deactivated":
            flags.append("component-after-deactivation")
        from_weapon = self.weapon_id if self.weapon_id != weapon_id else ""
        if from_weapon:
            flags.append(f"component-from-weapon:{from_weapon}")
        self._record(self.Seized, authority=authority, occurred_on=occurred_on, weapon_id=weapon_id,
                     from_weapon=from_weapon, flags=tuple(flags))

    def check_free(self, weapon_id: str, host: Host | None) -> None:
        """``InvalidState`` (field ``component``) unless the component may go into weapon ``weapon_id``."""
        if self.status is ComponentStatus.DESTROYED:
            raise InvalidState(f"the {self.name} was destroyed: it cannot be installed again", field="component")
        if not self.weapon_id:
            return
        host = host or Host(self.weapon_id, None)
        if host.status == "destroyed":
            raise InvalidState(f"the {self.name} was destroyed with weapon {host.weapon_id}: it cannot be "
                               "installed again", field="component")
        if host.status == "deactivated":
            raise InvalidState(f"the {self.name} was deactivated with weapon {host.weapon_id}: it cannot be "
                               "installed again", field="component")
        if self.weapon_id == weapon_id:
            raise InvalidState(f"the {self.name} is in this weapon already", field="component")
        raise InvalidState(f"the {self.name} is in weapon {self.weapon_id}: a component is in one weapon at a "
                           "time (record replace-component on that weapon first)", field="component")
