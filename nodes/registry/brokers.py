"""The application service of the broker register (FP art 15): register, renew, suspend, revoke a
broker and record its brokering activities, each one signed ``Broker`` record.

``armsledger broker ...``, the HTTP API and any desk call these functions with the node's
``Registry`` (the group committer hands the API its own), so a rule is checked in one place:
``domain.broker``. Weapons and licences an activity concerns are named as officers type them
and resolved here (``activity_subjects``) before the command runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from uuid import UUID

from domain.broker import Broker, BrokeringKind
from domain.errors import InvalidField
from nodes.errors import VersionConflict
from nodes.registry.application import Registry, retried_on_conflict
from nodes.registry.licences import find_licence
from nodes.registry.weapon_ids import weapon_by_prefix

if TYPE_CHECKING:
    from nodes.bootstrap import Node


def register_broker(registry: Registry, *, by: str = "licensing", number: str, name: str, seat: str,
                    valid_from: int, valid_until: int, occurred_on: int | None = None) -> UUID:
    """Register broker ``number``; returns its id. ``InvalidField`` on ``number`` when it is registered
    already; otherwise as ``Broker.register``."""
    broker = Broker.register(authority=registry.authority(by), registration_number=number, name=name, seat=seat,
                             valid_from=valid_from, valid_until=valid_until, occurred_on=_now(occurred_on))
    taken = InvalidField(f"broker {broker.registration_number} is registered already", field="number")
    if broker.id in registry.repository:
        raise taken
    try:
        registry.save(broker)
    except VersionConflict as e:
        raise taken from e
    return broker.id


@retried_on_conflict
def renew_broker(registry: Registry, *, by: str = "licensing", number: str, valid_until: int,
                 occurred_on: int | None = None) -> UUID:
    """Extend broker ``number``'s registration to ``valid_until`` (``Broker.renew``)."""
    broker = registry.broker(number, field="number")
    broker.renew(authority=registry.authority(by), valid_until=valid_until, occurred_on=_now(occurred_on))
    registry.save(broker)
    return broker.id


@retried_on_conflict
def suspend_broker(registry: Registry, *, by: str = "licensing", number: str, until: int, reason: str,
                   occurred_on: int | None = None) -> UUID:
    """Suspend broker ``number`` from ``occurred_on`` to ``until`` (``Broker.suspend``)."""
    broker = registry.broker(number, field="number")
    broker.suspend(authority=registry.authority(by), until=until, reason=reason, occurred_on=_now(occurred_on))
    registry.save(broker)
    return broker.id


@retried_on_conflict
def revoke_broker(registry: Registry, *, by: str = "licensing", number: str, reason: str,
                  occurred_on: int | None = None) -> UUID:
    """Revoke broker ``number`` (``Broker.revoke``); later activities, licences and exports naming it are refused."""
    broker = registry.broker(number, field="number")
    broker.revoke(authority=registry.authority(by), reason=reason, occurred_on=_now(occurred_on))
    registry.save(broker)
    return broker.id


@retried_on_conflict
def record_brokering(registry: Registry, *, by: str = "licensing", number: str, kind: BrokeringKind | str,
                     parties: Iterable[str], weapons: Iterable[str] = (), licences: Iterable[str] = (),
                     description: str = "", occurred_on: int | None = None) -> UUID:
    """Record a brokering activity of broker ``number`` (``Broker.record_activity``); ``weapons`` and
    ``licences`` are ids (see ``activity_subjects``). Returns the broker's id."""
    broker = registry.broker(number, field="number")
    broker.record_activity(authority=registry.authority(by), kind=kind, parties=tuple(parties),
                           weapons=tuple(weapons), licences=tuple(licences), description=description,
                           occurred_on=_now(occurred_on))
    registry.save(broker)
    return broker.id


def activity_subjects(node: Node, weapons: Iterable[str], licences: Iterable[str]) -> tuple[tuple[str, ...],
                                                                                              tuple[str, ...]]:
    """The ids of the weapons (whole ids or unique starts of ids held here) and licences (numbers or starts
    of ids held here, ours or a partner's) as typed. ``InvalidField`` on ``weapons``, ``LicenceRefused``
    on ``licences`` for one not held here (``weapon_by_prefix``, ``find_licence``), either named twice."""
    weapon_ids = tuple(str(weapon_by_prefix(node, typed, "weapons")) for typed in weapons)
    licence_ids = tuple(str(find_licence(node, typed, field="licences").licence.id) for typed in licences)
    return _once(weapon_ids, "weapons"), _once(licence_ids, "licences")


def _once(ids: tuple[str, ...], field: str) -> tuple[str, ...]:
    if len(set(ids)) != len(ids):
        raise InvalidField("the same one is named twice", field=field)
    return ids


def _now(occurred_on: int | None) -> int:
    return int(time.time()) if occurred_on is None else occurred_on
