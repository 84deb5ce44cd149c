"""The Weapon aggregate: one firearm's life from manufacture to destruction.

Its first record here is ``Manufactured``, ``Imported`` or ``Seized`` (a seizure
of an unrecorded weapon registers it, ITI para 9), or a loss or theft report that
describes the weapon by its marking (a private holder's weapon on a paper
register); nothing else may open a record. After ``Destroyed`` only ``Seized`` is accepted, and flagged: a destroyed
weapon that turns up again is evidence of diversion from the destruction
process. A deactivated weapon is no longer a firearm (FP art 9) and cannot be
transferred or exported as one, until a reactivation under a reactivation licence.

The effect of each record on the weapon's state is ``domain.weapon_state.evolve``,
shared with the views; the state's attributes are declared here as read-only
properties, so that callers are typed. The module stays above 400 lines for a
reason: the seventeen events are nested classes and the commands methods of one
aggregate (eventsourcing's model, ``Weapon.Exported`` / ``weapon.export()``),
and a mixin per lifecycle phase would scatter one aggregate's rules.
"""

from __future__ import annotations

import builtins  # ``type`` in the class body is the weapon's type property
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain import assembly, event_types as types
from domain.authority import Authority, AuthorityKind, check_permitted
from domain.corrected import fold_own
from domain.errors import InvalidField, InvalidState, NotPermitted, UnknownWeapon
from domain.licence import Licence
from domain.marking import Marking, check_country, check_text
from domain.numbers import check_whole
from domain.signed_aggregate import SignedAggregate
from domain.time import check_occurred_on, format_time, year_of
from domain.weapon_state import OPENING_TYPES, Status, WeaponState, evolve

__all__ = ["Status", "Weapon"]

# Statuses in which the weapon is held lawfully by a holder and may change hands.
_HELD = (Status.ACTIVE,)
# Reports that open a weapon's record when they describe it by its marking.
_REPORTS = frozenset({types.REPORTED_LOST, types.REPORTED_STOLEN})


@dataclass(frozen=True)
class AppliedRecords:
    """A weapon's records as applied, ``(version, type, body)`` in version order.

    A value: ``plus`` gives a longer one and nothing changes it in place, so a copy of a weapon
    may share it (the group commit's writer copies a weapon for every command, shallowly when
    all its attributes are values: ``nodes.registry.staging.fresh_copy``).
    """

    records: tuple[tuple[int, str, Mapping[str, Any]], ...] = ()

    def plus(self, record: tuple[int, str, Mapping[str, Any]]) -> AppliedRecords:
        return AppliedRecords((*self.records, record))


class Weapon(SignedAggregate):
    TOPIC = "Weapon"

    class Event(SignedAggregate.Event):
        TOPIC = "Weapon.Event"

        def mutate(self, aggregate: Weapon | None) -> Weapon | None:  # type: ignore[override]
            if aggregate is None:
                if self.TOPIC not in OPENING_TYPES and not (self.TOPIC in _REPORTS and vars(self).get("marking")):
                    raise UnknownWeapon(f"{self.TOPIC} cannot be the first record of a weapon",
                                        field="weapon")
                aggregate = Weapon._shell(self.originator_id, self.timestamp)
            return super().mutate(aggregate)

        def apply(self, aggregate: Aggregate) -> None:
            # The one weapon fold (domain.weapon_state), shared with the views.
            assert isinstance(aggregate, Weapon)
            aggregate.applied = aggregate.applied.plus((self.originator_version, self.TOPIC, vars(self)))
            if self.TOPIC == types.CORRECTED:  # it changes an earlier record: fold them all again
                aggregate.state = fold_own(aggregate.applied.records)
            else:
                aggregate.state = evolve(aggregate.state, self.TOPIC, vars(self))

    class Manufactured(Event):
        TOPIC = types.MANUFACTURED
        marking: dict[str, Any]
        type: str
        make: str
        model: str
        calibre: str
        year: int
        holder: str

    class Imported(Event):
        TOPIC = types.IMPORTED
        marking: dict[str, Any]
        type: str
        make: str
        model: str
        calibre: str
        year: int
        from_state: str
        import_state: str
        import_year: int
        import_authorization: str
        shipment: str
        holder: str

    class Exported(Event):
        """An export (FP art 10(2)). It carries the marking and description so that the
        importing state can open the weapon's record on receipt without the exporter's
        other records (data minimisation, FP art 12(5)). ``authorization_evidence`` is
        the hash (hex) of the importing state's signed ``Licence.Issued`` of the import
        authorization, checked before the export, or "" when that state has no node
        and the authorization was accepted on paper, unverified; ``transit_evidence``
        likewise, one per transit state. Records older than these fields lack them."""

        TOPIC = types.EXPORTED
        licence: str
        import_authorization: str
        from_state: str
        to_state: str
        transit_states: tuple[str, ...]
        consignee: str
        shipment: str
        marking: dict[str, Any]
        type: str
        make: str
        model: str
        calibre: str
        year: int
        authorization_evidence: str
        transit_evidence: tuple[str, ...]

    class ReceiptConfirmed(Event):
        TOPIC = types.RECEIPT_CONFIRMED
        shipment: str
        from_state: str
        received_by: str

    class Transferred(Event):
        TOPIC = types.TRANSFERRED
        from_holder: str
        to_holder: str
        licence: str

    class Marked(Event):
        TOPIC = types.MARKED
        mark: str
        reason: str

    class ReportedLost(Event):
        """A loss, with the marking and description as on record (or as described, when the report
        opens the record), so that every partner it goes to can match the weapon and name it.
        Records older than these fields lack them (``domain.schema``)."""

        TOPIC = types.REPORTED_LOST
        place: str
        circumstances: str
        marking: dict[str, Any]
        type: str
        make: str
        model: str
        calibre: str
        year: int

    class ReportedStolen(ReportedLost):
        """A theft; the same fields as a loss."""

        TOPIC = types.REPORTED_STOLEN

    class Recovered(Event):
        TOPIC = types.RECOVERED
        place: str
        holder: str
        restored_status: str

    class Seized(Event):
        TOPIC = types.SEIZED
        marking: dict[str, Any]
        type: str
        make: str
        model: str
        calibre: str
        place: str
        state: str
        circumstances: str
        flags: tuple[str, ...]

    class Confiscated(Event):
        TOPIC = types.CONFISCATED
        order: str

    class Deactivated(Event):
        """A deactivation; the signed record is the deactivation certificate (FP art 9, EU 2018/337 art 3):
        its number, the standard applied, the inspecting body and the date of inspection, with the marking
        and description of the weapon so that the certificate names it by itself. Records older than
        these fields lack them (``domain.schema``); new ones state them."""

        TOPIC = types.DEACTIVATED
        certificate: str
        method: str
        standard: str = field(default="", kw_only=True)
        inspecting_body: str = field(default="", kw_only=True)
        inspected_on: int = field(default=0, kw_only=True)
        marking: dict[str, Any] = field(default_factory=dict, kw_only=True)
        type: str = field(default="", kw_only=True)
        make: str = field(default="", kw_only=True)
        model: str = field(default="", kw_only=True)
        calibre: str = field(default="", kw_only=True)
        year: int = field(default=0, kw_only=True)

    class Destroyed(Event):
        TOPIC = types.DESTROYED
        method: str
        certificate: str

    class Reactivated(Event):
        """The lawful restoration of a deactivated weapon to a firearm, under a reactivation licence:
        ``holder`` is the licence's holder, ``certificate`` the deactivation certificate it ends."""

        TOPIC = types.REACTIVATED
        licence: str
        holder: str
        reason: str
        certificate: str
    class Assembled(Event):
        """Essential components on record in the weapon: each ``{"component_id", "kind", "marking"}``
        (``domain.assembly``); ``flags`` when police or customs found them in a seized weapon."""

        TOPIC = types.ASSEMBLED
        components: tuple[Any, ...]
        flags: tuple[str, ...]

    class ComponentReplaced(Event):
        TOPIC = types.COMPONENT_REPLACED
        kind: str
        removed: str
        removed_marking: dict[str, Any]
        installed: str
        installed_marking: dict[str, Any]
        reason: str

    class Converted(Event):
        """A conversion (``domain.assembly.Conversion``), lawful under ``licence`` or found and flagged."""

        TOPIC = types.CONVERTED
        conversion: str
        from_type: str
        to_type: str
        from_calibre: str
        to_calibre: str
        licence: str
        description: str
        flags: tuple[str, ...]

    class Corrected(Event):
        """A correction of the earlier record ``record`` (hash, hex) of this stream, at ``record_version``, of
        type ``record_type``: each field's value as signed (or as last corrected) and its new value
        (``domain.correction`` states which fields and values).  The original stays signed as it was."""

        TOPIC = types.CORRECTED
        record: str
        record_version: int
        record_type: str
        old_values: dict[str, Any]
        new_values: dict[str, Any]
        reason: str

    # --- construction -------------------------------------------------------------

    @classmethod
    def _shell(cls, weapon_id: uuid.UUID, timestamp: datetime) -> Weapon:
        # Weapons open with one of several events, not a single Created event, so
        # the aggregate starts as an empty shell at version 0 that the first event fills.
        weapon = cls.__new__(cls)
        weapon.__base_init__(weapon_id, 0, timestamp)
        weapon.state = WeaponState()
        weapon.applied = AppliedRecords()
        return weapon

    # --- the state, as its records left it (domain.weapon_state) ---------------------

    state: WeaponState
    # The records applied, for a correction to fold them again.
    applied: AppliedRecords

    @property
    def marking(self) -> Mapping[str, Any]:
        return self.state.marking

    @property
    def type(self) -> str:
        return self.state.type

    @property
    def make(self) -> str:
        return self.state.make

    @property
    def model(self) -> str:
        return self.state.model

    @property
    def calibre(self) -> str:
        return self.state.calibre

    @property
    def year(self) -> int:
        return self.state.year

    @property
    def import_marking(self) -> Mapping[str, Any]:
        return self.state.import_marking

    @property
    def imported_from(self) -> str:
        return self.state.imported_from

    @property
    def holder(self) -> str:
        return self.state.holder

    @property
    def place(self) -> str:
        return self.state.place

    @property
    def status(self) -> Status | None:
        return self.state.status

    @property
    def status_before_loss(self) -> Status | None:
        return self.state.status_before_loss

    @property
    def marks(self) -> tuple[str, ...]:
        return self.state.marks

    @property
    def flags(self) -> tuple[str, ...]:
        return self.state.flags

    @property
    def open_shipment(self) -> str:
        return self.state.open_shipment

    @property
    def awaiting_receipt(self) -> str:
        return self.state.awaiting_receipt

    @property
    def deactivation_certificate(self) -> str:
        return self.state.deactivation_certificate

    @property
    def components(self) -> Mapping[str, Mapping[str, Any]]:
        return self.state.components

    @classmethod
    def manufacture(
        cls, *, authority: Authority, marking: Marking, type: str, make: str, model: str,
        calibre: str, year: int, holder: str, occurred_on: int,
    ) -> Weapon:
        """Register a newly manufactured weapon (ITI para 8(a), FP art 8(1)(a)).

        The id is derived from the marking; a second manufacture of the same
        marking is refused by the application (``DuplicateMarking``).
        """
        check_permitted(types.MANUFACTURED, authority.kind)
        fields = _description(type, make, model, calibre)
        try:
            year = int(year)
        except (TypeError, ValueError):
            raise InvalidField(f"{year!r} is not a year", field="year") from None
        if not 1800 <= year <= datetime.now(UTC).year:
            raise InvalidField(f"{year} is not a plausible year of manufacture", field="year")
        occurred_on = check_occurred_on(occurred_on)
        if year_of(occurred_on) < year:
            raise InvalidField(f"{format_time(occurred_on)[:10]} is before the year of manufacture {year}",
                               field="occurred_on")
        weapon = cls._shell(marking.weapon_id(), _now())
        weapon._record(
            cls.Manufactured, authority=authority, occurred_on=occurred_on,
            marking=marking.as_dict(), year=int(year), holder=check_text(holder, "holder"), **fields,
        )
        return weapon

    @classmethod
    def register_import(cls, weapon_id: uuid.UUID, *, marking: Marking, **fields: Any) -> Weapon:
        """Open the record of a weapon first seen here on import (see ``import_``)."""
        weapon = cls._shell(weapon_id, _now())
        weapon.import_(marking=marking, **fields)
        return weapon

    @classmethod
    def register_report(cls, weapon_id: uuid.UUID, *, stolen: bool, marking: Marking, type: str = "",
                        make: str = "", model: str = "", calibre: str = "", year: int | None = None,
                        **fields: Any) -> Weapon:
        """Open the record of a weapon on no register here by its loss or theft report, described by its
        complete marking (and what is known of its description); ``fields`` as ``report_lost``.

        ``InvalidField`` for a marking with obliterated characters (it names no weapon) or a description
        out of range, ``NotPermitted`` as the report.
        """
        if not marking.is_complete:
            raise InvalidField("a report names the weapon by its complete marking", field="serial")
        if marking.weapon_id() != weapon_id:
            raise InvalidField(f"the marking is of weapon {marking.weapon_id()}, not {weapon_id}", field="weapon")
        if year is not None:
            check_whole(year, "year", least=1800, most=datetime.now(UTC).year)
        weapon = cls._shell(weapon_id, _now())
        described = {"marking": marking.as_dict(), "year": int(year or 0),
                     **_description(type, make, model, calibre, required=False)}
        weapon._report_missing(cls.ReportedStolen if stolen else cls.ReportedLost, described=described, **fields)
        return weapon

    @classmethod
    def register_seizure(cls, weapon_id: uuid.UUID, *, marking: Marking, **fields: Any) -> Weapon:
        """Open the record of an unrecorded weapon by its seizure (ITI para 9)."""
        weapon = cls._shell(weapon_id, _now())
        weapon.seize(marking=marking, **fields)
        return weapon

    # --- commands -------------------------------------------------------------------

    def import_(
        self, *, authority: Authority, marking: Marking, from_state: str, import_authorization: str,
        holder: str, occurred_on: int, shipment: str = "", import_year: int | None = None,
        type: str | None = None, make: str | None = None, model: str | None = None, calibre: str | None = None,
        year: int | None = None,
    ) -> None:
        """Record an import into the authority's state, with the import marking (FP art 8(1)(b)).

        A description field not given (None) is the one on record: a weapon that
        comes back keeps its description, and a first import must give type and
        calibre. The import year defaults to the year of ``occurred_on``. Raises
        ``NotPermitted``, ``InvalidState`` or ``InvalidField``.
        """
        check_permitted(types.IMPORTED, authority.kind)
        if self.status is Status.DESTROYED:
            raise InvalidState("the weapon was destroyed: it cannot be imported", field="weapon")
        if self.status is not None and self.status is not Status.EXPORTED:
            raise InvalidState(f"the weapon is {_name(self.status)} here: only an exported weapon "
                               "can come back by import", field="weapon")
        occurred_on = check_occurred_on(occurred_on)
        for name, given in (("import_year", import_year), ("year", year)):
            if given is not None:
                check_whole(given, name, least=1800, most=datetime.now(UTC).year)
        fields = _description(self.type if type is None else type, self.make if make is None else make,
                              self.model if model is None else model, self.calibre if calibre is None else calibre)
        self._record(
            self.Imported, authority=authority, occurred_on=occurred_on, marking=marking.as_dict(),
            year=int((self.year if year is None else year) or 0), from_state=check_country(from_state, "from_state"),
            import_state=authority.state, import_year=int(import_year or year_of(occurred_on)),
            import_authorization=check_text(import_authorization, "import_authorization", max_length=64),
            shipment=check_text(shipment, "shipment", required=False, max_length=64),
            holder=check_text(holder, "holder"), **fields,
        )

    def export(
        self, *, authority: Authority, licence: Licence | None, import_authorization: str,
        to_state: str, occurred_on: int, transit_states: tuple[str, ...] = (), consignee: str = "",
        shipment: str, authorization_evidence: str = "", transit_evidence: tuple[str, ...] = (),
    ) -> None:
        """Record an export under ``licence`` (FP art 10(2)).

        Refused unless the weapon is held lawfully here, the export licence is
        valid on the date and covers the weapon and destination, and an import
        authorization number of the importing state is given. Whether that
        authorization was received and checked is the application's concern
        (``nodes.federation.crossborder``); it passes the evidence it found.
        """
        check_permitted(types.EXPORTED, authority.kind)
        self._check_may_change_hands("exported")
        occurred_on = check_occurred_on(occurred_on)
        to_state = check_country(to_state, "to")
        if to_state == authority.state:
            raise InvalidField("an export leaves the state: destination is the exporting state", field="to")
        if licence is None:
            raise InvalidField("an export needs an export licence number", field="licence")
        transit = tuple(check_country(s, "via") for s in transit_states)
        licence.check_covers_export(str(self.id), self.holder, to_state, occurred_on, from_state=authority.state,
                                    transit_states=transit, consignee=consignee)
        import_authorization = check_text(import_authorization, "import_authorization", max_length=64)
        self._record(
            self.Exported, authority=authority, occurred_on=occurred_on, licence=licence.number,
            import_authorization=import_authorization, from_state=authority.state, to_state=to_state,
            transit_states=transit, consignee=check_text(consignee or licence.consignee, "consignee", required=False),
            shipment=shipment, marking=dict(self.marking), type=self.type, make=self.make, model=self.model,
            calibre=self.calibre, year=int(self.year or 0), authorization_evidence=str(authorization_evidence),
            transit_evidence=tuple(str(e) for e in transit_evidence),
        )

    def confirm_receipt(self, *, authority: Authority, occurred_on: int, received_by: str = "") -> None:
        """Customs of the importing state confirm receipt of the shipment (FP art 10(4))."""
        check_permitted(types.RECEIPT_CONFIRMED, authority.kind)
        self._check_not_destroyed()
        if not self.awaiting_receipt:
            raise InvalidState("no import of this weapon awaits confirmation of receipt", field="weapon")
        self._record(
            self.ReceiptConfirmed, authority=authority, occurred_on=occurred_on,
            shipment=self.awaiting_receipt, from_state=self.imported_from,
            received_by=check_text(received_by, "received_by", required=False),
        )

    def transfer(self, *, authority: Authority, to_holder: str, licence: Licence | None, occurred_on: int) -> None:
        """Transfer to a new holder who holds a transfer licence in force (FP art 7)."""
        check_permitted(types.TRANSFERRED, authority.kind)
        self._check_may_change_hands("transferred")
        occurred_on = check_occurred_on(occurred_on)
        to_holder = check_text(to_holder, "to")
        if licence is None:
            raise InvalidField("a transfer needs the acquirer's transfer licence number", field="licence")
        licence.check_allows_holding(to_holder, occurred_on)
        self._record(self.Transferred, authority=authority, occurred_on=occurred_on,
                     from_holder=self.holder, to_holder=to_holder, licence=licence.number)

    def migrate_transfer(self, *, authority: Authority, to_holder: str, licence_reference: str,
                         occurred_on: int) -> None:
        """Record a past transfer copied from a paper register (bulk migration only).

        The acquirer's licence of the time exists on paper, not as a ``Licence``
        record here, so it cannot be checked like a live transfer's. Only the
        registry authority may record such a transfer, and only with the paper
        licence reference, which it vouches for with its signature; the record
        is an ordinary ``Transferred`` whose ``licence`` is that reference and
        whose signer (the registry key) marks it as migrated. A transfer with no
        licence reference at all is not migrated (FP art 7: transfers are
        licensed). Raises ``NotPermitted``, ``InvalidState`` or ``InvalidField``.
        """
        if authority.kind is not AuthorityKind.REGISTRY:
            raise NotPermitted(f"a {authority.kind.value} authority records transfers against an issued "
                               "transfer licence: only the registry authority migrates paper-register "
                               "transfers", field="authority")
        check_permitted(types.TRANSFERRED, authority.kind)
        self._check_may_change_hands("transferred")
        self._record(self.Transferred, authority=authority, occurred_on=occurred_on,
                     from_holder=self.holder, to_holder=check_text(to_holder, "to"),
                     licence=check_text(licence_reference, "licence", max_length=64))

    def mark(self, *, authority: Authority, mark: str, reason: str, occurred_on: int) -> None:
        """Record a mark applied after manufacture (import mark, national mark, ITI para 8(b)-(c))."""
        check_permitted(types.MARKED, authority.kind)
        self._check_not_destroyed()
        self._record(self.Marked, authority=authority, occurred_on=occurred_on,
                     mark=check_text(mark, "mark", max_length=64),
                     reason=check_text(reason, "reason", required=False))

    def report_lost(self, *, authority: Authority, place: str, circumstances: str, occurred_on: int) -> None:
        self._report_missing(self.ReportedLost, authority=authority, place=place, circumstances=circumstances,
                             occurred_on=occurred_on)

    def report_stolen(self, *, authority: Authority, place: str, circumstances: str, occurred_on: int) -> None:
        self._report_missing(self.ReportedStolen, authority=authority, place=place, circumstances=circumstances,
                             occurred_on=occurred_on)

    def _report_missing(self, event_class: builtins.type[Weapon.ReportedLost], *, authority: Authority, place: str,
                        circumstances: str, occurred_on: int, described: Mapping[str, Any] | None = None) -> None:
        # A loss and a theft are one rule under two names; recovery restores the
        # status the weapon had before either (``domain.weapon_state``).
        check_permitted(event_class.TOPIC, authority.kind)
        self._check_not_destroyed()
        if self.status in (Status.LOST, Status.STOLEN):
            raise InvalidState(f"the weapon is reported {_name(self.status)} already", field="weapon")
        self._record(event_class, authority=authority, occurred_on=occurred_on,
                     place=check_text(place, "place", required=False),
                     circumstances=check_text(circumstances, "circumstances", required=False, max_length=2000),
                     **(dict(described) if described is not None else self._described()))

    def _described(self) -> dict[str, Any]:
        """The marking and description on record, as a report carries them."""
        return {"marking": dict(self.marking), "type": self.type, "make": self.make, "model": self.model,
                "calibre": self.calibre, "year": int(self.year or 0)}

    def recover(self, *, authority: Authority, place: str, holder: str, occurred_on: int) -> None:
        check_permitted(types.RECOVERED, authority.kind)
        self._check_not_destroyed()
        if self.status not in (Status.LOST, Status.STOLEN):
            raise InvalidState(f"the weapon is {_name(self.status)}, not lost or stolen", field="weapon")
        self._record(self.Recovered, authority=authority, occurred_on=occurred_on,
                     place=check_text(place, "place", required=False),
                     holder=check_text(holder, "holder", required=False),
                     restored_status=(self.status_before_loss or Status.ACTIVE).value)

    def seize(
        self, *, authority: Authority, place: str, circumstances: str, occurred_on: int,
        marking: Marking | None = None, type: str = "", make: str = "", model: str = "", calibre: str = "",
    ) -> None:
        """Record a seizure. Allowed in any status; flagged when the weapon was destroyed or deactivated."""
        check_permitted(types.SEIZED, authority.kind)
        flags = []
        if self.status is Status.DESTROYED:
            flags.append("after-destruction")
        if self.status is Status.DEACTIVATED:
            flags.append("after-deactivation")
        if self.status in (Status.LOST, Status.STOLEN):
            flags.append(f"reported-{_name(self.status)}")
        if marking is not None and self.marking and marking.key != Marking(**self.marking).key:
            # Tampered or inconsistent marking (ITI para 9): kept as read, and flagged.
            flags.append("marking-differs")
        description = {"type": type, "make": make, "model": model, "calibre": calibre}
        if self.marking:
            description = {"type": self.type, "make": self.make, "model": self.model, "calibre": self.calibre}
        self._record(
            self.Seized, authority=authority, occurred_on=occurred_on,
            marking=marking.as_dict() if marking else dict(self.marking),
            place=check_text(place, "place", required=False),
            state=authority.state,
            circumstances=check_text(circumstances, "circumstances", required=False, max_length=2000),
            flags=tuple(flags), **{k: check_text(v, k, required=False) for k, v in description.items()},
        )

    def confiscate(self, *, authority: Authority, order: str, occurred_on: int) -> None:
        check_permitted(types.CONFISCATED, authority.kind)
        self._check_not_destroyed()
        if self.status is not Status.SEIZED:
            raise InvalidState(f"the weapon is {_name(self.status)}: only a seized weapon can be confiscated",
                               field="weapon")
        self._record(self.Confiscated, authority=authority, occurred_on=occurred_on,
                     order=check_text(order, "order"))

    def deactivate(self, *, authority: Authority, certificate: str, method: str, standard: str,
                   inspecting_body: str, inspected_on: int, occurred_on: int) -> None:
        """Deactivation with its certificate (FP art 9; EU 2018/337 art 3 and Annex III): the certificate
        number, the technical standard applied, the body that inspected the work and the date of inspection,
        which is neither after the deactivation's own date nor before 1800. Raises ``NotPermitted``,
        ``InvalidState`` or ``InvalidField`` naming the field."""
        check_permitted(types.DEACTIVATED, authority.kind)
        self._check_not_destroyed()
        if self.status is Status.DEACTIVATED:
            raise InvalidState("the weapon is deactivated already", field="weapon")
        if self.status not in (Status.ACTIVE, Status.SEIZED, Status.CONFISCATED):
            raise InvalidState(f"the weapon is {_name(self.status)}: it is not here to deactivate", field="weapon")
        occurred_on = check_occurred_on(occurred_on)
        inspected_on = check_occurred_on(inspected_on, field="inspected_on")
        if inspected_on > occurred_on:
            raise InvalidField(f"{format_time(inspected_on)} is after the deactivation ({format_time(occurred_on)}): "
                               "the certificate is issued on inspection of the work done", field="inspected_on")
        self._record(self.Deactivated, authority=authority, occurred_on=occurred_on,
                     certificate=check_text(certificate, "certificate", max_length=64),
                     method=check_text(method, "method", required=False),
                     standard=check_text(standard, "standard", max_length=200),
                     inspecting_body=check_text(inspecting_body, "inspecting_body"),
                     inspected_on=inspected_on, **self._described())

    def reactivate(self, *, authority: Authority, licence: Licence | None, reason: str, occurred_on: int) -> None:
        """The lawful restoration of this deactivated weapon under a reactivation licence in force that
        names it (or, naming none, was issued to its holder); afterwards it is a firearm again, held by the
        licence's holder. Raises ``NotPermitted``, ``InvalidState`` (field ``weapon``), ``InvalidField`` or
        ``LicenceRefused`` (field ``licence``)."""
        check_permitted(types.REACTIVATED, authority.kind)
        self.check_reactivatable()
        occurred_on = check_occurred_on(occurred_on)
        if licence is None:
            raise InvalidField("a reactivation needs a reactivation licence number", field="licence")
        licence.check_allows_reactivation(str(self.id), self.holder, occurred_on)
        self._record(self.Reactivated, authority=authority, occurred_on=occurred_on, licence=licence.number,
                     holder=licence.holder, reason=check_text(reason, "reason", max_length=2000),
                     certificate=self.deactivation_certificate)

    def check_reactivatable(self) -> None:
        """Raise ``InvalidState`` (field ``weapon``) unless the weapon is deactivated here, so that a licence
        may restore it."""
        self._check_not_destroyed()
        if self.status is not Status.DEACTIVATED or not self.deactivation_certificate:
            raise InvalidState(f"the weapon is {_name(self.status)}: only a deactivated weapon can be reactivated",
                               field="weapon")

    def destroy(self, *, authority: Authority, method: str, certificate: str, occurred_on: int) -> None:
        check_permitted(types.DESTROYED, authority.kind)
        self._check_not_destroyed()
        if self.status in (Status.EXPORTED, Status.LOST, Status.STOLEN):
            raise InvalidState(f"the weapon is {_name(self.status)}: it is not here to destroy", field="weapon")
        self._record(self.Destroyed, authority=authority, occurred_on=occurred_on,
                     method=check_text(method, "method"),
                     certificate=check_text(certificate, "certificate", required=False, max_length=64))

    # --- components and conversions (rules: domain.assembly) ---------------------------

    def assemble(self, *, authority: Authority, parts: tuple[tuple[str, str, Mapping[str, Any]], ...],
                 occurred_on: int) -> None:
        """Record essential components (kind, component id, marking) in the weapon: lawful work, or what
        police or customs found in a seized weapon (flagged). Rules: ``domain.assembly``."""
        check_permitted(types.ASSEMBLED, authority.kind)
        if not parts:
            raise InvalidField("name at least one component", field="component")
        assembly.check_may_work_on(self.state, authority, "assembly")
        assembly.check_new_kinds(self.state, [kind for kind, _, _ in parts])
        self._record(self.Assembled, authority=authority, occurred_on=occurred_on,
                     components=tuple({"component_id": cid, "kind": kind, "marking": dict(marking)}
                                      for kind, cid, marking in parts),
                     flags=("components-found",) if assembly.is_finding(authority) else ())

    def replace_component(self, *, authority: Authority, kind: str, installed: str,
                          installed_marking: Mapping[str, Any], reason: str, occurred_on: int) -> str:
        """Replace the weapon's part of ``kind`` by component ``installed``; returns the id of the part removed."""
        check_permitted(types.COMPONENT_REPLACED, authority.kind)
        assembly.check_may_work_on(self.state, authority, "replacement")
        removed = assembly.installed_part(self.state, kind)
        self._record(self.ComponentReplaced, authority=authority, occurred_on=occurred_on, kind=kind,
                     removed=str(removed["component_id"]), removed_marking=dict(removed["marking"]),
                     installed=installed, installed_marking=dict(installed_marking),
                     reason=check_text(reason, "reason"))
        return str(removed["component_id"])

    def convert(self, *, authority: Authority, conversion: str, calibre: str = "", type: str = "",
                licence: Licence | None = None, description: str = "", occurred_on: int) -> None:
        """Record a conversion (``domain.assembly.conversion_fields`` states the rules)."""
        check_permitted(types.CONVERTED, authority.kind)
        fields = assembly.conversion_fields(
            self.state, authority, str(self.id), conversion=assembly.Conversion.parse(conversion), calibre=calibre,
            type_=type, licence=licence, description=description, occurred_on=check_occurred_on(occurred_on))
        self._record(self.Converted, authority=authority, occurred_on=occurred_on, **fields)

    def correct(self, *, authority: Authority, occurred_on: int, **fields: Any) -> None:
        """Record a correction whose ``fields`` ``domain.correction.correction_fields`` checked and gave."""
        check_permitted(types.CORRECTED, authority.kind)
        self._record(self.Corrected, authority=authority, occurred_on=occurred_on, **fields)

    # --- rule checks ----------------------------------------------------------------

    def _check_not_destroyed(self) -> None:
        if self.status is Status.DESTROYED:
            raise InvalidState("the weapon was destroyed: only a seizure can be recorded after destruction",
                               field="weapon")

    def _check_is_firearm(self, verb: str) -> None:
        # The certificate, not the status: deactivation is permanent (FP art 9), and a
        # deactivated weapon later stolen and recovered, or seized, is still not a firearm.
        if self.deactivation_certificate:
            raise InvalidState(f"the weapon is deactivated (certificate {self.deactivation_certificate}) and "
                               f"cannot be {verb} as a firearm", field="weapon")

    def _check_may_change_hands(self, verb: str) -> None:
        # Exported or transferred: only a firearm held lawfully here (FP art 7, art 10(2)).
        self._check_not_destroyed()
        self._check_is_firearm(verb)
        if self.status not in _HELD:
            raise InvalidState(f"the weapon is {_name(self.status)}: it cannot be {verb}", field="weapon")


def _description(type_: str, make: str, model: str, calibre: str, *, required: bool = True) -> dict[str, str]:
    return {
        "type": check_text(type_, "type", required=required, max_length=64),
        "make": check_text(make, "make", required=False),
        "model": check_text(model, "model", required=False),
        "calibre": check_text(calibre, "calibre", required=required, max_length=32),
    }


def _name(status: Status | None) -> str:
    return "unrecorded" if status is None else status.value


def _now() -> datetime:
    return datetime.now(UTC)
