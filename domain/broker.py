"""Brokers registered by this state's licensing authority, and their brokering activities (FP art 15).

A registration has a number, the broker's name and seat, and periods of validity; it may be
renewed, suspended for a period, or revoked. Every brokering activity is recorded on the
broker's stream, and only while its registration is in force. The id is derived from the
registering state and the registration number, as a licence's is. Rules: docs/brokers.md.
"""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.choice import parse_choice
from domain.errors import BrokerRefused, InvalidField, InvalidState
from domain.marking import ARMSLEDGER_NAMESPACE, check_text, normalise
from domain.signed_aggregate import SignedAggregate
from domain.time import format_time

#: One second: a renewal's period starts the second after the previous period ends.
_NEXT = 1


class BrokeringKind(str, Enum):
    """What a broker did. Core activities from Directive (EU) 2021/555 art 1(1)(16) and Common Position
    2003/468/CFSP art 2(3); associated services from the UN Group of Governmental Experts on brokering
    (A/62/163, para 9)."""

    NEGOTIATION = "negotiation"                        # negotiating a purchase, sale or supply
    ARRANGING_TRANSACTION = "arranging_transaction"    # arranging the contract of such a transaction
    ARRANGING_TRANSFER = "arranging_transfer"          # arranging the transfer between states
    TRADING = "trading"                                # buying and selling items the broker owns, abroad
    TRANSPORT = "transport"                            # transport and freight forwarding
    FINANCING = "financing"
    INSURANCE = "insurance"

    @classmethod
    def parse(cls, value: str, field: str = "kind") -> BrokeringKind:
        """The kind named ``value`` (``arranging-transfer`` as well); ``InvalidField`` on ``field`` otherwise."""
        word = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
        return parse_choice(cls, word, field=field, noun="a brokering activity")


class BrokerState(str, Enum):
    REGISTERED = "registered"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


def broker_id(issuer_state: str, registration_number: str) -> uuid.UUID:
    """Deterministic id of broker registration ``registration_number`` of ``issuer_state``."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"broker|{issuer_state}|{normalise(registration_number)}")


def check_registration_number(value: str, field: str = "broker") -> str:
    """``value`` stripped; ``InvalidField`` on ``field`` when empty, too long or with control characters."""
    return check_text(value, field, max_length=64)


class Broker(SignedAggregate):
    TOPIC = "Broker"

    class Event(SignedAggregate.Event):
        TOPIC = "Broker.Event"

    class Registered(Event, Aggregate.Created):
        TOPIC = types.BROKER_REGISTERED
        registration_number: str
        name: str
        seat: str
        issuer_state: str
        valid_from: int
        valid_until: int

    class Renewed(Event):
        TOPIC = types.BROKER_RENEWED
        valid_from: int
        valid_until: int

        def apply(self, broker: Broker) -> None:
            broker.periods.append((self.valid_from, self.valid_until))

    class Suspended(Event):
        TOPIC = types.BROKER_SUSPENDED
        until: int   # the last second of the suspension; it starts at the record's occurred_on
        reason: str

        def apply(self, broker: Broker) -> None:
            broker.suspensions.append((self.occurred_on, self.until, self.reason))

    class Revoked(Event):
        TOPIC = types.BROKER_REVOKED
        reason: str

        def apply(self, broker: Broker) -> None:
            broker.revoked_on = self.occurred_on
            broker.revocation_reason = self.reason

    class ActivityRecorded(Event):
        TOPIC = types.BROKER_ACTIVITY_RECORDED
        kind: str
        weapons: tuple[str, ...]
        licences: tuple[str, ...]
        parties: tuple[str, ...]
        description: str

        def apply(self, broker: Broker) -> None:
            broker.activities += 1

    def __init__(self, occurred_on: int, authority: str, registration_number: str, name: str, seat: str,
                 issuer_state: str, valid_from: int, valid_until: int):
        self.registered_on = occurred_on
        self.registration_number = registration_number
        self.name = name
        self.seat = seat
        self.issuer_state = issuer_state
        self.periods: list[tuple[int, int]] = [(valid_from, valid_until)]
        self.suspensions: list[tuple[int, int, str]] = []
        self.revoked_on: int | None = None
        self.revocation_reason = ""
        self.activities = 0

    @staticmethod
    def create_id(issuer_state: str, registration_number: str, **_: Any) -> uuid.UUID:
        return broker_id(issuer_state, registration_number)

    @property
    def valid_from(self) -> int:
        return self.periods[0][0]

    @property
    def valid_until(self) -> int:
        return self.periods[-1][1]

    @classmethod
    def register(cls, *, authority: Authority, registration_number: str, name: str, seat: str, valid_from: int,
                 valid_until: int, occurred_on: int) -> Broker:
        """Register a broker with this state (FP art 15(1)(a)). ``InvalidField`` or ``NotPermitted``.

        Requires ``valid_from <= valid_until``.
        """
        check_permitted(types.BROKER_REGISTERED, authority.kind)
        if valid_until < valid_from:
            raise InvalidField("ends before valid_from", field="valid_until")
        return cls._open(cls.Registered, authority=authority, occurred_on=occurred_on,
                         registration_number=check_registration_number(registration_number, "number"),
                         name=check_text(name, "name"), seat=check_text(seat, "seat", max_length=500),
                         issuer_state=authority.state, valid_from=valid_from, valid_until=valid_until)

    def renew(self, *, authority: Authority, valid_until: int, occurred_on: int) -> None:
        """Extend the registration to ``valid_until``: the new period starts right after the last one, or on
        ``occurred_on`` when the registration had lapsed (the gap stays a time it was not in force).

        ``InvalidState`` when revoked; ``InvalidField`` on ``valid_until`` unless it is later than the last period.
        """
        check_permitted(types.BROKER_RENEWED, authority.kind)
        self._check_not_revoked("renewed")
        if valid_until <= self.valid_until:
            raise InvalidField(f"must be after the registration's end, {format_time(self.valid_until)}",
                               field="valid_until")
        starts = max(self.valid_until + _NEXT, occurred_on)
        if valid_until < starts:
            raise InvalidField(f"ends before the renewed period starts, {format_time(starts)}", field="valid_until")
        self._record(self.Renewed, authority=authority, occurred_on=occurred_on, valid_from=starts,
                     valid_until=valid_until)

    def suspend(self, *, authority: Authority, until: int, reason: str, occurred_on: int) -> None:
        """Suspend the registration from ``occurred_on`` to ``until`` (inclusive).

        ``InvalidState`` when revoked; ``InvalidField`` on ``until`` when it is before ``occurred_on``.
        """
        check_permitted(types.BROKER_SUSPENDED, authority.kind)
        self._check_not_revoked("suspended")
        if until < occurred_on:
            raise InvalidField(f"is before the suspension starts, {format_time(occurred_on)}", field="until")
        self._record(self.Suspended, authority=authority, occurred_on=occurred_on, until=until,
                     reason=check_text(reason, "reason"))

    def revoke(self, *, authority: Authority, reason: str, occurred_on: int) -> None:
        """Revoke the registration from ``occurred_on``; ``InvalidState`` when revoked already."""
        check_permitted(types.BROKER_REVOKED, authority.kind)
        self._check_not_revoked("revoked")
        self._record(self.Revoked, authority=authority, occurred_on=occurred_on, reason=check_text(reason, "reason"))

    def record_activity(self, *, authority: Authority, kind: BrokeringKind | str, parties: tuple[str, ...],
                        occurred_on: int, weapons: tuple[str, ...] = (), licences: tuple[str, ...] = (),
                        description: str = "") -> None:
        """Record a brokering activity on ``occurred_on`` (FP art 15(2): records of brokering, as art 7).

        ``BrokerRefused`` (field ``broker``) unless the registration is in force on that date;
        ``InvalidField`` on ``parties`` when none is named, on ``weapons`` when neither weapons, licences
        nor a description say what the activity concerns.
        """
        check_permitted(types.BROKER_ACTIVITY_RECORDED, authority.kind)
        chosen = kind if isinstance(kind, BrokeringKind) else BrokeringKind.parse(kind)
        named = tuple(check_text(p, "parties") for p in parties)
        if not named:
            raise InvalidField("name the parties the broker acted between or for", field="parties")
        text = check_text(description, "description", required=False, max_length=2000)
        if not (weapons or licences or text):
            raise InvalidField("name the weapons or licence concerned, or describe the items", field="weapons")
        self.check_in_force(occurred_on)
        self._record(self.ActivityRecorded, authority=authority, occurred_on=occurred_on, kind=chosen.value,
                     weapons=tuple(str(w) for w in weapons), licences=tuple(str(n) for n in licences),
                     parties=named, description=text)

    def state_on(self, moment: int) -> BrokerState:
        """Whether the registration is in force, not yet valid, expired, suspended or revoked at ``moment``."""
        if self.revoked_on is not None and self.revoked_on <= moment:
            return BrokerState.REVOKED
        if any(start <= moment <= end for start, end, _ in self.suspensions):
            return BrokerState.SUSPENDED
        if any(start <= moment <= end for start, end in self.periods):
            return BrokerState.REGISTERED
        return BrokerState.NOT_YET_VALID if moment < self.valid_from else BrokerState.EXPIRED

    def check_in_force(self, moment: int, field: str = "broker") -> None:
        """Raise ``BrokerRefused`` naming ``field`` unless the registration is in force at ``moment``."""
        state = self.state_on(moment)
        if state is BrokerState.REGISTERED:
            return
        on = format_time(moment)[:10]
        named = f"broker {self.registration_number} ({self.name})"
        if state is BrokerState.REVOKED:
            assert self.revoked_on is not None
            raise BrokerRefused(f"{named} was revoked on {format_time(self.revoked_on)[:10]}: "
                                f"{self.revocation_reason}", field=field)
        if state is BrokerState.SUSPENDED:
            _, end, reason = next(s for s in self.suspensions if s[0] <= moment <= s[1])
            raise BrokerRefused(f"{named} is suspended on {on} until {format_time(end)[:10]}: {reason}", field=field)
        if state is BrokerState.NOT_YET_VALID:
            raise BrokerRefused(f"{named} is not registered before {format_time(self.valid_from)[:10]}", field=field)
        raise BrokerRefused(f"{named} was not registered on {on} (registration lapsed or expired)", field=field)

    def _check_not_revoked(self, doing: str) -> None:
        if self.revoked_on is not None:
            raise InvalidState(f"broker {self.registration_number} is revoked: it cannot be {doing}", field="broker")


def broker_of_shipment(licensed: str, named: str) -> str:
    """The registration number of a shipment's broker: the one its export licence names (``licensed``) or
    the one the officer names (``named``); "" for none. ``BrokerRefused`` (field ``broker``) when both are
    given and differ: a broker may act only under the licence that discloses it (FP art 15(1)(c))."""
    named = (named or "").strip()
    if licensed and named and normalise(licensed) != normalise(named):
        raise BrokerRefused(f"the export licence names broker {licensed}, not {named}", field="broker")
    return licensed or named
