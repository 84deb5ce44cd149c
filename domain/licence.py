"""Licences and authorizations (FP art 7, art 10(2)-(3)).

One aggregate for every kind: export licence, import authorization, transit
no-objection, transfer licence (the acquirer's licence to hold) and broker
registration (kept for licences issued so; the broker register is ``domain.broker``).
Each carries its number, issuer, dates, parties, countries and quantity. Its id is
derived from issuing state, kind and number, so a number cannot be issued twice and
partners can refer to it without coordination.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import field
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.broker import Broker
from domain.choice import parse_choice
from domain.errors import InvalidField, InvalidState, LicenceRefused
from domain.marking import ARMSLEDGER_NAMESPACE, check_country, check_text, normalise
from domain.numbers import check_whole
from domain.signed_aggregate import SignedAggregate
from domain.time import format_time


class LicenceKind(str, Enum):
    EXPORT_LICENCE = "export_licence"
    IMPORT_AUTHORIZATION = "import_authorization"
    TRANSIT_NO_OBJECTION = "transit_no_objection"
    TRANSFER_LICENCE = "transfer_licence"
    BROKER_REGISTRATION = "broker_registration"
    REACTIVATION_LICENCE = "reactivation_licence"  # restores named deactivated weapons (FP art 9)
    CONVERSION_LICENCE = "conversion_licence"    # a lawful conversion of a weapon (EU 2021/555 art 1(4))

    @classmethod
    def parse(cls, value: str, field: str = "kind") -> LicenceKind:
        """The kind named ``value``; ``InvalidField`` on ``field`` otherwise."""
        return parse_choice(cls, value, field=field, noun="a licence kind")


class LicenceState(str, Enum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_YET_VALID = "not_yet_valid"

    @classmethod
    def parse(cls, value: str, field: str = "state") -> LicenceState:
        """The state named ``value``; ``InvalidField`` on ``field`` otherwise."""
        return parse_choice(cls, value, field=field, noun="a licence state")


@functools.lru_cache(maxsize=4096)  # every transfer and export looks its licence up by number
def licence_id(issuer_state: str, kind: LicenceKind | str, number: str) -> uuid.UUID:
    """Deterministic id of licence ``number`` of ``kind`` issued by ``issuer_state``."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"licence|{issuer_state}|{LicenceKind(kind).value}|{normalise(number)}")


#: Kinds that authorize a border crossing: FP art 10(3) says what they must state.
CROSS_BORDER = frozenset({LicenceKind.EXPORT_LICENCE, LicenceKind.IMPORT_AUTHORIZATION,
                          LicenceKind.TRANSIT_NO_OBJECTION})
#: Kinds that disclose the broker involved in the transaction (FP art 15(1)(c)).
BROKERED = frozenset({LicenceKind.EXPORT_LICENCE, LicenceKind.IMPORT_AUTHORIZATION})


class Licence(SignedAggregate):
    TOPIC = "Licence"

    class Event(SignedAggregate.Event):
        TOPIC = "Licence.Event"

    class Issued(Event, Aggregate.Created):
        TOPIC = types.LICENCE_ISSUED
        number: str
        kind: str
        issuer_state: str
        holder: str
        valid_from: int
        valid_until: int
        export_state: str
        import_state: str
        transit_states: tuple[str, ...]
        consignee: str
        end_user: str
        quantity: int
        weapons: tuple[str, ...]
        # FP art 10(3) content added after the first licences were signed: a record made
        # before lacks them (the schema takes a field with a default as optional).
        place_of_issue: str = field(default="", kw_only=True)
        description: str = field(default="", kw_only=True)
        # The registration number of the broker involved (FP art 10(3) as extended by art 15(1)(c)).
        broker: str = field(default="", kw_only=True)

    class Revoked(Event):
        TOPIC = types.LICENCE_REVOKED
        reason: str

        def apply(self, licence: Licence) -> None:
            licence.revoked_on = self.occurred_on
            licence.revocation_reason = self.reason

    def __init__(self, occurred_on: int, authority: str, number: str, kind: str, issuer_state: str,
                 holder: str, valid_from: int, valid_until: int, export_state: str, import_state: str,
                 transit_states: tuple[str, ...], consignee: str, end_user: str, quantity: int,
                 weapons: tuple[str, ...], place_of_issue: str = "", description: str = "", broker: str = ""):
        self.issued_on = occurred_on
        self.number = number
        self.kind = LicenceKind(kind)
        self.issuer_state = issuer_state
        self.holder = holder
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.export_state = export_state
        self.import_state = import_state
        self.transit_states = tuple(transit_states)
        self.consignee = consignee
        self.end_user = end_user
        self.quantity = quantity
        self.weapons = tuple(weapons)
        self.place_of_issue = place_of_issue
        self.description = description
        self.broker = broker
        self.revoked_on: int | None = None
        self.revocation_reason = ""

    @staticmethod
    def create_id(issuer_state: str, kind: str, number: str, **_: Any) -> uuid.UUID:
        return licence_id(issuer_state, kind, number)

    @classmethod
    def issue(
        cls,
        *,
        authority: Authority,
        number: str,
        kind: LicenceKind | str,
        holder: str,
        valid_from: int,
        valid_until: int,
        occurred_on: int,
        export_state: str = "",
        import_state: str = "",
        transit_states: tuple[str, ...] = (),
        consignee: str = "",
        end_user: str = "",
        quantity: int = 0,
        weapons: tuple[str, ...] = (),
        place_of_issue: str = "",
        description: str = "",
        broker: Broker | None = None,
    ) -> Licence:
        """Issue a licence. Raises ``InvalidField`` or ``NotPermitted``.

        Requires ``valid_from <= valid_until``; an export licence names its
        export and import states; an import authorization its import and export
        states (FP art 10(2)); a transit no-objection all three. The issue date
        is ``occurred_on``; ``place_of_issue`` and ``description`` (of the items)
        complete the content FP art 10(3) asks for (``missing_content`` lists gaps).
        An export licence or import authorization may name the ``broker`` involved (FP art 15(1)(c)),
        whose registration must be in force on the issue date (``BrokerRefused`` on ``broker``).
        """
        check_permitted(types.LICENCE_ISSUED, authority.kind)
        kind = LicenceKind.parse(kind if isinstance(kind, str) else kind.value)
        if valid_until < valid_from:
            raise InvalidField("ends before valid_from", field="valid_until")
        quantity = check_whole(quantity, "quantity")
        if kind in CROSS_BORDER:
            export_state = check_country(export_state, "export_state")
            import_state = check_country(import_state, "import_state")
        transit = tuple(check_country(s, "transit_states") for s in transit_states)
        if broker is not None:
            if kind not in BROKERED:
                raise InvalidField(f"a {kind.value} names no broker (only an export licence or import "
                                   "authorization does)", field="broker")
            broker.check_in_force(occurred_on)
        return cls._open(
            cls.Issued,
            authority=authority,
            occurred_on=occurred_on,
            number=check_text(number, "number", max_length=64),
            kind=kind.value,
            issuer_state=authority.state,
            holder=check_text(holder, "holder"),
            valid_from=valid_from,
            valid_until=valid_until,
            export_state=export_state or "",
            import_state=import_state or "",
            transit_states=transit,
            consignee=check_text(consignee, "consignee", required=False),
            end_user=check_text(end_user, "end_user", required=False),
            quantity=int(quantity),
            weapons=tuple(str(w) for w in weapons),
            place_of_issue=check_text(place_of_issue, "place_of_issue", required=False),
            description=check_text(description, "description", required=False),
            broker=broker.registration_number if broker is not None else "",
        )

    def revoke(self, *, authority: Authority, reason: str, occurred_on: int) -> None:
        check_permitted(types.LICENCE_REVOKED, authority.kind)
        if self.revoked_on is not None:
            raise InvalidState(f"licence {self.number} is revoked already", field="licence")
        self._record(self.Revoked, authority=authority, occurred_on=occurred_on, reason=check_text(reason, "reason"))

    def check_valid_on(self, moment: int, field: str = "licence") -> None:
        """Raise ``LicenceRefused`` unless the licence is in force at ``moment``."""
        if self.revoked_on is not None and self.revoked_on <= moment:
            raise LicenceRefused(f"{self.kind.value} {self.number} was revoked on "
                                 f"{format_time(self.revoked_on)}", field=field)
        if moment < self.valid_from:
            raise LicenceRefused(f"{self.kind.value} {self.number} is not valid before "
                                 f"{format_time(self.valid_from)}", field=field)
        if moment > self.valid_until:
            raise LicenceRefused(f"{self.kind.value} {self.number} expired on "
                                 f"{format_time(self.valid_until)}", field=field)

    def state_on(self, moment: int) -> LicenceState:
        """Whether the licence is valid, expired, revoked or not yet valid at ``moment``."""
        if self.revoked_on is not None and self.revoked_on <= moment:
            return LicenceState.REVOKED
        if moment > self.valid_until:
            return LicenceState.EXPIRED
        if moment < self.valid_from:
            return LicenceState.NOT_YET_VALID
        return LicenceState.VALID

    def missing_content(self) -> list[str]:
        """The FP art 10(3) items a cross-border licence does not state (empty when complete, and for
        licences that are not for a border crossing): names of the fields that would hold them."""
        if self.kind not in CROSS_BORDER:
            return []
        wanted = {"place_of_issue": self.place_of_issue, "export_state": self.export_state,
                  "import_state": self.import_state, "end_user": self.end_user or self.consignee,
                  "description": self.description, "quantity": self.quantity or len(self.weapons)}
        return [name for name, value in wanted.items() if not value]

    def check_quantity_left(self, used: int, adding: int, field: str = "licence") -> None:
        """Raise ``LicenceRefused`` naming ``field`` when ``adding`` more weapons after ``used`` under
        this licence exceed its quantity (FP art 10(3): the quantity licensed); 0 is not limited.

        Requires ``used >= 0`` and ``adding >= 1``.
        """
        if self.quantity and used + adding > self.quantity:
            left = max(self.quantity - used, 0)
            raise LicenceRefused(f"{self.kind.value} {self.number} covers {_weapons(self.quantity)}; "
                                 f"{used} shipped under it already, {left} left: this shipment holds {adding}",
                                 field=field)

    def check_kind(self, kind: LicenceKind, field: str = "licence") -> None:
        if self.kind is not kind:
            raise LicenceRefused(f"{self.number} is a {self.kind.value}, not a {kind.value}", field=field)

    def check_covers_export(
        self, weapon_id: str, holder: str, to_state: str, moment: int, *,
        from_state: str | None = None, transit_states: tuple[str, ...] | None = None, consignee: str | None = None,
    ) -> None:
        """Raise ``LicenceRefused`` unless this export licence covers the export (FP art 10(2)).

        Covered: the licence is an export licence in force at ``moment`` for
        ``to_state``, and either lists the weapon or lists none and was issued to
        the weapon's current holder. When given, the exporting state, the transit
        route and the consignee must be those the licence names: a shipment that
        deviates from its licensed route or consignee is what diversion looks like.
        """
        self.check_kind(LicenceKind.EXPORT_LICENCE)
        self.check_valid_on(moment)
        if self.import_state != to_state:
            raise LicenceRefused(f"export licence {self.number} is for {self.import_state}, not {to_state}",
                                 field="to")
        if from_state is not None and self.export_state != from_state:
            raise LicenceRefused(f"export licence {self.number} is for exports from {self.export_state}, "
                                 f"not from {from_state}", field="licence")
        if transit_states is not None and self.transit_states and tuple(transit_states) != self.transit_states:
            route = ", ".join(self.transit_states)
            raise LicenceRefused(f"export licence {self.number} licenses transit through {route} only",
                                 field="via")
        if consignee and self.consignee and normalise(consignee) != normalise(self.consignee):
            raise LicenceRefused(f"export licence {self.number} names consignee {self.consignee!r}, "
                                 f"not {consignee!r}", field="consignee")
        self.check_covers_weapon(weapon_id, holder)

    def check_allows_holding(self, holder: str, moment: int) -> None:
        """Raise ``LicenceRefused`` unless this is ``holder``'s transfer licence in force at ``moment``."""
        self.check_kind(LicenceKind.TRANSFER_LICENCE)
        self.check_valid_on(moment)
        if normalise(self.holder) != normalise(holder):
            raise LicenceRefused(f"transfer licence {self.number} belongs to {self.holder!r}, not {holder!r}",
                                 field="licence")

    def check_allows_reactivation(self, weapon_id: str, holder: str, moment: int) -> None:
        """Raise ``LicenceRefused`` (field ``licence``) unless this reactivation licence, in force at ``moment``,
        names the weapon, or names none and was issued to the weapon's ``holder`` (FP art 9)."""
        self.check_kind(LicenceKind.REACTIVATION_LICENCE)
        self.check_valid_on(moment)
        self.check_covers_weapon(weapon_id, holder)

    def check_covers_weapon(self, weapon_id: str, holder: str) -> None:
        """Raise ``LicenceRefused`` (field ``licence``) unless this licence lists the weapon, or lists none and
        was issued to the weapon's current ``holder``: the one rule of which weapons a licence covers."""
        what = f"{self.kind.value.replace('_', ' ')} {self.number}"
        if self.weapons:
            if weapon_id not in self.weapons:
                raise LicenceRefused(f"{what} does not cover weapon {weapon_id}", field="licence")
        elif normalise(self.holder) != normalise(holder):
            raise LicenceRefused(f"{what} was issued to {self.holder!r}, not to the weapon's holder {holder!r}",
                                 field="licence")


def _weapons(count: int) -> str:
    return "1 weapon" if count == 1 else f"{count} weapons"
