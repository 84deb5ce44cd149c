"""The national registry: the node's event-sourced application.

Every command loads the aggregates it needs, lets the domain check its rules,
and saves the resulting events in one transaction; the envelope mapper signs
them on the way to the database. Nothing is constructed at import time: see
``nodes.bootstrap``.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.domain import BaseAggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import EventStore, Mapper, Recording, StoredEvent

from domain.authority import Authority, AuthorityKind
from domain.broker import Broker, broker_id, broker_of_shipment, check_registration_number
from domain.errors import BrokerRefused, DuplicateMarking, InvalidField, LicenceRefused, UnknownWeapon
from domain.event_types import IMPORTED, SEIZED, WEAPON_PREFIX
from domain.hit import HitNotice
from domain.licence import Licence, LicenceKind, licence_id
from domain.marking import Marking
from domain.records import SignedRecord
from domain.shipment import Shipment
from domain.signed_aggregate import recording_officer
from domain.weapon import Weapon
from ledger.envelope import Envelope
from nodes.errors import VersionConflict
from nodes.registry.identity import AuthorityRegister, NodeIdentity, authorities_stream
from nodes.registry.mapper import EnvelopeMapper, domain_event_from
from nodes.registry.paging import PAGE, notifications
from nodes.registry.staging import StagingEventStore, StagingRepository
from nodes.registry.storage import registry_env, version_conflicts

#: How often a command whose stream another writer extended meanwhile is run again (reloaded,
#: its rules checked again) before it gives up with ``VersionConflict``.
CONFLICT_ATTEMPTS = 12

_P = ParamSpec("_P")
_R = TypeVar("_R")


def retried_on_conflict(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``command`` again when another writer stored the same (stream, version) first.

    Each attempt reloads the aggregates and checks the domain's rules against what is stored
    now, so a command either succeeds or is refused by a rule; only after
    ``CONFLICT_ATTEMPTS`` lost races does ``VersionConflict`` reach the caller.
    """
    @functools.wraps(command)
    def retrying(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return command(*args, **kwargs)
            except VersionConflict:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                # A random pause, growing with each lost race, so that the writers spread out.
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise AssertionError("unreachable")
    return retrying


@dataclass(frozen=True)
class WeaponRecorded:
    """What a seizure or import recorded: the weapon's id, and the hit notices sent with it, one per
    partner that reported the weapon lost or stolen (the officer is warned of each)."""

    weapon_id: UUID
    hits: tuple[HitNotice, ...] = ()


class Registry(Application[UUID]):
    """A state's registry of weapons, licences and shipments."""

    name = "armsledger"

    #: Checks, before an export, that the importing state's import authorization and
    #: each transit state's no-objection were received (FP art 10(2)-(3)); returns the
    #: evidence to record (see ``nodes.federation.crossborder.ExportAuthorizations``). Injected by
    #: ``nodes.bootstrap``, since it reads the node's received records; None: the
    #: numbers given are recorded unverified.
    export_check: Callable[..., tuple[str, tuple[str, ...]]] | None = None

    #: The partners' loss or theft reports of a weapon that no recovery of theirs withdrew
    #: (``domain.hit.outstanding_reports`` over the records received). Injected by ``nodes.bootstrap``,
    #: since it reads the node's inbox; None: seizures and imports raise no hit.
    reported_missing: Callable[[UUID], Sequence[SignedRecord]] | None = None

    def __init__(self, db: str, identity: NodeIdentity):
        self.identity = identity
        super().__init__(env=registry_env(db))

    def save(self, *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
             **kwargs: Any) -> list[Recording[UUID]]:
        """Store the aggregates' new events in one transaction; ``VersionConflict`` if another
        writer stored one of their (stream, version) first.

        The library's ``Application.save`` but for how it tells an aggregate from an event: it asks
        ``isinstance`` of two runtime protocols, and on Python 3.11 each such check walks the protocol's
        members (about 10 µs each, two per command on the one writer's thread). An aggregate is told by its
        class here; anything else goes the library's way. (The library's deprecated ``notify`` hook, which
        nothing here overrides, is not called.)
        """
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                processing.events.extend(obj.collect_events())
                processing.aggregates[obj.id] = obj
            else:
                processing.collect_events(obj)
        processing.saved_kwargs.update(kwargs)
        with version_conflicts("saving"):
            recordings = self._record(processing)
            self._take_snapshots(processing)
            self._notify(recordings)
            return recordings

    # A group commit (nodes.registry.group_commit) holds a batch's saves back and lets its later
    # commands read them; outside a batch these are the library's event store and repository.
    def construct_event_store(self) -> EventStore[UUID]:
        return StagingEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_repository(self) -> Repository[UUID]:
        return StagingRepository(event_store=self.events, snapshot_store=self.snapshots)

    def construct_mapper(self) -> Mapper[UUID]:
        return EnvelopeMapper(self.identity.state, self.identity.private_keys, self._stored_hash)

    def _stored_hash(self, stream: UUID, version: int) -> bytes:
        stored = self.recorder.select_events(stream, gt=version - 1, lte=version)
        if not stored:
            raise UnknownWeapon(f"stream {stream} has no version {version}")
        return Envelope.from_bytes(stored[0].state).hash

    def acting_as(self, officer_id: str) -> AbstractContextManager[None]:
        """A block in which every record created (by commands run in this thread) names officer
        ``officer_id`` (an account's user id, a UUID; "" is the node operator, as outside any block) in
        its signed body. ``InvalidField`` (field ``officer``) for anything else."""
        return recording_officer(officer_id)

    # --- authorities ------------------------------------------------------------------

    def authority(self, kind: AuthorityKind | str) -> Authority:
        return self.identity.authority(AuthorityKind.parse(kind) if isinstance(kind, str) else kind)

    def certify_authorities(self, public_keys: dict[AuthorityKind, bytes], occurred_on: int) -> None:
        """Record the node key's certificate for each authority key (done once, by ``init``)."""
        register = AuthorityRegister.open(state=self.identity.state, node_key_id=self.identity.node_key_id,
                                          occurred_on=occurred_on)
        for kind, public in public_keys.items():
            register.certify(node_key_id=self.identity.node_key_id, public_key=public, kind=kind,
                             name=f"{self.identity.state} {kind.value} authority", occurred_on=occurred_on)
        self.save(register)

    def authority_register(self) -> AuthorityRegister:
        return self.repository.get(authorities_stream(self.identity.state))

    # --- weapons ----------------------------------------------------------------------

    def weapon(self, weapon_id: UUID | str) -> Weapon:
        """The weapon's aggregate; raises ``UnknownWeapon`` if there is no record of it."""
        weapon_id = _as_uuid(weapon_id, "weapon")
        try:
            weapon: object = self.repository.get(weapon_id)
        except AggregateNotFoundError:
            raise UnknownWeapon(f"no record of weapon {weapon_id}", field="weapon") from None
        if not isinstance(weapon, Weapon):
            raise UnknownWeapon(f"{weapon_id} is not a weapon", field="weapon")
        return weapon

    def manufacture(self, *, by: str = "licensing", marking: Marking, occurred_on: int | None = None,
                    **fields: Any) -> UUID:
        """Record a manufacture; returns the weapon id. ``DuplicateMarking`` if already registered."""
        # No existence check first: the store's unique (stream, version 1) refuses a
        # second manufacture of the marking in the same transaction, one round trip less.
        weapon = Weapon.manufacture(authority=self.authority(by), marking=marking,
                                    occurred_on=_now_if_none(occurred_on), **fields)
        self._save_weapon(weapon, marking)
        return weapon.id

    def manufacture_many(self, records: Iterable[tuple[str, Marking, dict[str, Any]]]) -> list[UUID]:
        """Record several manufactures in one transaction (bulk migration).

        ``records`` holds (authority kind, marking, fields incl. occurred_on).
        All or nothing: ``DuplicateMarking`` if any marking is registered.
        """
        weapons = [Weapon.manufacture(authority=self.authority(by), marking=marking, **fields)
                   for by, marking, fields in records]
        try:
            self.save(*weapons)
        except VersionConflict as e:
            raise DuplicateMarking("one of the markings is registered already", field="serial") from e
        return [w.id for w in weapons]

    def import_weapon(self, *, by: str = "customs", marking: Marking, occurred_on: int | None = None,
                      **fields: Any) -> UUID:
        """Record an import (see ``record_import``); returns the weapon id."""
        return self.record_import(by=by, marking=marking, occurred_on=occurred_on, **fields).weapon_id

    @retried_on_conflict
    def record_import(self, *, by: str = "customs", marking: Marking, occurred_on: int | None = None,
                      **fields: Any) -> WeaponRecorded:
        """Record an import; opens the weapon's record here if it has none (FP art 8(1)(b)).

        A weapon a partner reported lost or stolen raises a hit notice to it, stored with the import.
        """
        weapon_id = marking.weapon_id()
        authority = self.authority(by)
        occurred = _now_if_none(occurred_on)
        known = weapon_id in self.repository
        if known:
            weapon = self.weapon(weapon_id)
            weapon.import_(authority=authority, marking=marking, occurred_on=occurred, **fields)
        else:
            weapon = Weapon.register_import(weapon_id, authority=authority, marking=marking,
                                            occurred_on=occurred, **fields)
        hits = self._hits(weapon, IMPORTED, authority, place=str(fields.get("holder") or ""), occurred_on=occurred)
        self._save_weapon(weapon, marking if not known else None, *hits)
        return WeaponRecorded(weapon.id, hits)

    def seize(self, *, by: str = "police", weapon_id: UUID | str | None = None, marking: Marking | None = None,
              occurred_on: int | None = None, **fields: Any) -> UUID:
        """Record a seizure (see ``record_seizure``); returns the weapon id."""
        return self.record_seizure(by=by, weapon_id=weapon_id, marking=marking, occurred_on=occurred_on,
                                   **fields).weapon_id

    @retried_on_conflict
    def record_seizure(self, *, by: str = "police", weapon_id: UUID | str | None = None,
                       marking: Marking | None = None, occurred_on: int | None = None,
                       **fields: Any) -> WeaponRecorded:
        """Record a seizure; an unrecorded weapon is registered by it (ITI para 9).

        A weapon without a complete marking gets a random id; pass ``marking``
        with ``?`` for obliterated characters. A weapon a partner reported lost or
        stolen raises a hit notice to it, stored with the seizure.
        """
        authority = self.authority(by)
        occurred = _now_if_none(occurred_on)
        if weapon_id is None:
            if marking is None:
                raise InvalidField("give the weapon id or its marking", field="weapon")
            weapon_id = marking.weapon_id() if marking.is_complete else uuid4()
        weapon_id = _as_uuid(weapon_id, "weapon")
        known = weapon_id in self.repository
        if known:
            weapon = self.weapon(weapon_id)
            weapon.seize(authority=authority, occurred_on=occurred, marking=marking, **fields)
        else:
            if marking is None:
                raise UnknownWeapon(f"no record of weapon {weapon_id}: give its marking to register "
                                    "it by seizure", field="weapon")
            weapon = Weapon.register_seizure(weapon_id, authority=authority, marking=marking,
                                             occurred_on=occurred, **fields)
        hits = self._hits(weapon, SEIZED, authority, place=str(fields.get("place") or ""), occurred_on=occurred)
        self._save_weapon(weapon, marking if not known else None, *hits)
        return WeaponRecorded(weapon.id, hits)

    def _hits(self, weapon: Weapon, recorded_type: str, authority: Authority, *, place: str,
              occurred_on: int) -> tuple[HitNotice, ...]:
        """A notice to each partner whose loss or theft report of ``weapon`` our new record hits."""
        if self.reported_missing is None:
            return ()
        return tuple(
            HitNotice.send(authority=authority, report=report, weapon_id=str(weapon.id), marking=weapon.marking,
                           place=place, recorded_type=recorded_type, recorded_version=weapon.version,
                           occurred_on=occurred_on)
            for report in self.reported_missing(weapon.id))

    @retried_on_conflict
    def export(self, *, by: str = "customs", weapon_ids: list[UUID | str], licence: str,
               import_authorization: str, to_state: str, transit_states: tuple[str, ...] = (),
               transit_no_objections: tuple[str, ...] = (), consignee: str = "", broker: str = "",
               occurred_on: int | None = None) -> UUID:
        """Export weapons under an export licence as one shipment; returns the shipment id.

        The shipment's broker (the licence's, or ``broker`` as named, which must then be the same) must be
        registered here and in force on the export date: ``BrokerRefused`` on ``broker`` otherwise.
        """
        authority = self.authority(by)
        occurred = _now_if_none(occurred_on)
        export_licence = self.licence(licence, LicenceKind.EXPORT_LICENCE, field="licence")
        shipment_broker = broker_of_shipment(export_licence.broker, broker)
        if shipment_broker:
            self.broker(shipment_broker).check_in_force(occurred)
        weapons = [self.weapon(w) for w in weapon_ids]
        evidence: tuple[str, tuple[str, ...]] = ("", ())
        if self.export_check is not None:
            evidence = self.export_check(
                to_state=to_state, import_authorization=import_authorization, transit_states=tuple(transit_states),
                transit_no_objections=tuple(transit_no_objections), consignee=consignee or export_licence.consignee,
                quantity=len(weapons), occurred_on=occurred, licence=export_licence.number)
        shipment = Shipment.open(
            authority=authority, export_licence=export_licence.number, import_authorization=import_authorization,
            import_state=to_state, weapons=tuple(str(w.id) for w in weapons), occurred_on=occurred,
            transit_states=transit_states, transit_no_objections=transit_no_objections, consignee=consignee,
            broker=shipment_broker,
        )
        for weapon in weapons:
            weapon.export(authority=authority, licence=export_licence, import_authorization=import_authorization,
                          to_state=to_state, transit_states=transit_states, consignee=consignee,
                          occurred_on=occurred, shipment=str(shipment.id), authorization_evidence=evidence[0],
                          transit_evidence=evidence[1])
        self.save(shipment, *weapons)
        return shipment.id

    @retried_on_conflict
    def transfer(self, *, by: str = "licensing", weapon_id: UUID | str, to_holder: str, licence: str,
                 occurred_on: int | None = None) -> None:
        weapon = self.weapon(weapon_id)
        holder_licence = self.licence(licence, LicenceKind.TRANSFER_LICENCE, field="licence")
        weapon.transfer(authority=self.authority(by), to_holder=to_holder, licence=holder_licence,
                        occurred_on=_now_if_none(occurred_on))
        self.save(weapon)

    @retried_on_conflict
    def report_missing(self, *, stolen: bool, by: str = "police", weapon_id: UUID | str | None = None,
                       marking: Marking | None = None, occurred_on: int | None = None, place: str = "",
                       circumstances: str = "", **description: Any) -> UUID:
        """Report a weapon stolen (``stolen``) or lost; returns its id. A weapon with no record here is
        named by its complete ``marking`` (with what is known of ``description``: type, make, model,
        calibre, year), and the report opens its record: a theft from a holder on a paper register.

        ``InvalidField`` (field ``weapon``) unless exactly one of ``weapon_id`` and ``marking`` is given,
        or when a description is given for a weapon on record (its own is reported); ``UnknownWeapon``
        for an id with no record; otherwise as ``Weapon.report_stolen``.
        """
        if (weapon_id is None) == (marking is None):
            raise InvalidField("give the weapon id or its marking, exactly one", field="weapon")
        weapon_id = marking.weapon_id() if marking is not None else _as_uuid(weapon_id or "", "weapon")
        report: dict[str, Any] = dict(authority=self.authority(by), place=place, circumstances=circumstances,
                                      occurred_on=_now_if_none(occurred_on))
        if weapon_id in self.repository:
            given = sorted(k for k, v in description.items() if v not in (None, ""))
            if given:
                raise InvalidField("the weapon is on record here: its description is the one recorded",
                                   field=given[0])
            weapon = self.weapon(weapon_id)
            (weapon.report_stolen if stolen else weapon.report_lost)(**report)
            self.save(weapon)
        elif marking is None:
            raise UnknownWeapon(f"no record of weapon {weapon_id}: give its marking to report it", field="weapon")
        else:
            weapon = Weapon.register_report(weapon_id, stolen=stolen, marking=marking, **description, **report)
            self._save_weapon(weapon, marking)
        return weapon.id

    @retried_on_conflict
    def record(self, command: str, *, by: str, weapon_id: UUID | str, occurred_on: int | None = None,
               **fields: Any) -> None:
        """Run a weapon command without licence lookups (``mark``, ``report_lost``, ``destroy`` ...)."""
        if command not in _SIMPLE_COMMANDS:
            raise InvalidField(f"{command!r} is not a weapon command", field="command")
        weapon = self.weapon(weapon_id)
        getattr(weapon, command)(authority=self.authority(by), occurred_on=_now_if_none(occurred_on), **fields)
        self.save(weapon)

    # --- licences ---------------------------------------------------------------------

    def issue_licence(self, *, by: str = "licensing", occurred_on: int | None = None, broker: str = "",
                      **fields: Any) -> UUID:
        """Issue a licence (``Licence.issue``); ``broker`` is the registration number of a broker registered here."""
        named = self.broker(broker) if broker.strip() else None
        licence = Licence.issue(authority=self.authority(by), occurred_on=_now_if_none(occurred_on), broker=named,
                                **fields)
        if licence.id in self.repository:
            raise InvalidField(f"{licence.kind.value} {licence.number} is issued already", field="number")
        try:
            self.save(licence)
        except VersionConflict as e:
            raise InvalidField(f"{licence.kind.value} {licence.number} is issued already", field="number") from e
        return licence.id

    @retried_on_conflict
    def revoke_licence(self, *, by: str = "licensing", number: str, kind: LicenceKind | str, reason: str,
                       occurred_on: int | None = None) -> UUID:
        """Revoke this state's licence ``number`` of ``kind``; later exports or transfers under it are refused."""
        kind = LicenceKind.parse(kind) if isinstance(kind, str) else kind
        licence = self.licence(number, kind, field="number")
        licence.revoke(authority=self.authority(by), reason=reason, occurred_on=_now_if_none(occurred_on))
        self.save(licence)
        return licence.id

    def licence(self, number: str, kind: LicenceKind, *, field: str) -> Licence:
        """This state's licence ``number`` of ``kind``; ``LicenceRefused`` if none."""
        if not (number or "").strip():
            raise InvalidField(f"a {kind.value} number is required", field=field)
        try:
            found: object = self.repository.get(licence_id(self.identity.state, kind, number))
        except AggregateNotFoundError:
            raise LicenceRefused(f"no {kind.value} {number!r} was issued by {self.identity.state}",
                                 field=field) from None
        assert isinstance(found, Licence)
        return found

    def broker(self, registration_number: str, *, field: str = "broker") -> Broker:
        """The broker this state registered as ``registration_number``; ``BrokerRefused`` on ``field`` if none."""
        number = check_registration_number(registration_number, field)
        try:
            found: object = self.repository.get(broker_id(self.identity.state, number))
        except AggregateNotFoundError:
            raise BrokerRefused(f"no broker {number!r} is registered with {self.identity.state}",
                                field=field) from None
        assert isinstance(found, Broker)
        return found

    # --- reading the log --------------------------------------------------------------

    def envelopes(self, stream: UUID | str) -> list[Envelope]:
        """The stream's stored envelopes in version order (empty when none)."""
        stored = self.recorder.select_events(_as_uuid(stream, "weapon"))
        return [Envelope.from_bytes(s.state) for s in stored]

    def history(self, weapon_id: UUID | str) -> tuple[Weapon, list[Envelope]]:
        """The weapon's aggregate and its signed envelopes, from one read of its stream.

        The aggregate is replayed from the same envelopes that are returned, so
        the status always agrees with the records shown. ``UnknownWeapon`` if
        the stream holds no weapon records.
        """
        envelopes = self.envelopes(weapon_id)
        if not envelopes or not envelopes[0].type.startswith(WEAPON_PREFIX):
            raise UnknownWeapon(f"no record of weapon {_as_uuid(weapon_id, 'weapon')}", field="weapon")
        weapon = None
        for envelope in envelopes:
            weapon = domain_event_from(envelope).mutate(weapon)
        assert isinstance(weapon, Weapon)
        return weapon, envelopes

    def stored_notifications(self, start: int = 1, batch: int = PAGE) -> Iterator[tuple[int, StoredEvent]]:
        """Every stored record in notification order: (notification id, stored event)."""
        for n in notifications(self.recorder, start=start, limit=batch):
            yield n.id, n

    def _save_weapon(self, weapon: Weapon, new_marking: Marking | None, *others: HitNotice) -> None:
        """Save ``weapon`` with ``others``; when it opens a record (``new_marking`` given), a conflict means
        another writer registered that marking first (``DuplicateMarking``), else ``VersionConflict``."""
        if new_marking is None:
            self.save(weapon, *others)
            return
        try:
            self.save(weapon, *others)
        except VersionConflict as e:
            raise DuplicateMarking(f"a weapon with marking {new_marking.key} is registered already "
                                   f"({weapon.id})", field="serial") from e


_SIMPLE_COMMANDS = frozenset({
    "mark", "report_lost", "report_stolen", "recover", "confiscate", "deactivate", "destroy", "confirm_receipt",
})


def _as_uuid(value: UUID | str, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value).strip())
    except ValueError:
        raise InvalidField(f"{value!r} is not a weapon id (UUID)", field=field) from None


def _now_if_none(occurred_on: int | None) -> int:
    return int(time.time()) if occurred_on is None else occurred_on
