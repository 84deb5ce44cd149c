"""Shipments: weapons that cross a border together under one export licence (FP art 10).

A shipment names its export licence, the importing state's import
authorization, the transit states' no-objections, the consignee and the
weapons. It stays open until customs of the importing state confirm receipt
(FP art 10(4)); that confirmation arrives from the partner node.
"""

from __future__ import annotations

import uuid
from dataclasses import field
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.errors import InvalidField, InvalidState
from domain.marking import check_country, check_text
from domain.signed_aggregate import SignedAggregate

# Days after export at which a shipment that no state confirmed receiving is
# overdue (FP art 10(4) asks for confirmation of receipt but fixes no period):
# the listing of open shipments and the diversion analysis use the same figure,
# which a node may change (``nodes.settings.Settings.overdue_days``).
DEFAULT_OVERDUE_DAYS = 30


class Shipment(SignedAggregate):
    TOPIC = "Shipment"

    class Event(SignedAggregate.Event):
        TOPIC = "Shipment.Event"

    class Opened(Event, Aggregate.Created):
        TOPIC = types.SHIPMENT_OPENED
        export_licence: str
        import_authorization: str
        transit_no_objections: tuple[str, ...]
        export_state: str
        import_state: str
        transit_states: tuple[str, ...]
        consignee: str
        weapons: tuple[str, ...]
        # The registration number of the broker involved (FP art 15(1)(c)); shipments opened before lack it.
        broker: str = field(default="", kw_only=True)

    class ReceiptConfirmed(Event):
        TOPIC = types.SHIPMENT_RECEIPT_CONFIRMED
        confirmed_by_state: str
        confirmation: str

        def apply(self, shipment: Shipment) -> None:
            shipment.received_on = self.occurred_on

    def __init__(self, occurred_on: int, authority: str, export_licence: str, import_authorization: str,
                 transit_no_objections: tuple[str, ...], export_state: str, import_state: str,
                 transit_states: tuple[str, ...],
                 consignee: str, weapons: tuple[str, ...], broker: str = ""):
        self.exported_on = occurred_on
        self.export_licence = export_licence
        self.import_authorization = import_authorization
        self.transit_no_objections = tuple(transit_no_objections)
        self.export_state = export_state
        self.import_state = import_state
        self.transit_states = tuple(transit_states)
        self.consignee = consignee
        self.weapons = tuple(weapons)
        self.broker = broker
        self.received_on: int | None = None

    @staticmethod
    def create_id(**_: Any) -> uuid.UUID:
        return uuid.uuid4()

    @property
    def is_open(self) -> bool:
        return self.received_on is None

    @classmethod
    def open(
        cls, *, authority: Authority, export_licence: str, import_authorization: str, import_state: str,
        weapons: tuple[str, ...], occurred_on: int, transit_states: tuple[str, ...] = (),
        transit_no_objections: tuple[str, ...] = (), consignee: str = "", broker: str = "",
    ) -> Shipment:
        check_permitted(types.SHIPMENT_OPENED, authority.kind)
        if not weapons:
            raise InvalidField("a shipment holds at least one weapon", field="weapon")
        if len(set(weapons)) != len(weapons):
            raise InvalidField("the same weapon is listed twice", field="weapon")
        transit = tuple(check_country(s, "via") for s in transit_states)
        if transit_no_objections and len(transit_no_objections) != len(transit):
            raise InvalidField("give one transit no-objection per transit state", field="transit_no_objection")
        return cls._open(
            cls.Opened, authority=authority, occurred_on=occurred_on,
            export_licence=export_licence,
            import_authorization=check_text(import_authorization, "import_authorization"),
            transit_no_objections=tuple(transit_no_objections), export_state=authority.state,
            import_state=check_country(import_state, "to"), transit_states=transit,
            consignee=check_text(consignee, "consignee", required=False), weapons=tuple(weapons),
            broker=check_text(broker, "broker", required=False, max_length=64),
        )

    def confirm_receipt(self, *, authority: Authority, confirmed_by_state: str, confirmation: str,
                        occurred_on: int) -> None:
        """Close the shipment on the receipt confirmation of the importing state's customs."""
        check_permitted(types.SHIPMENT_RECEIPT_CONFIRMED, authority.kind)
        if not self.is_open:
            raise InvalidState("the shipment's receipt is confirmed already", field="shipment")
        if confirmed_by_state != self.import_state:
            raise InvalidState(f"receipt must be confirmed by {self.import_state}, not {confirmed_by_state}",
                               field="shipment")
        self._record(self.ReceiptConfirmed, authority=authority, occurred_on=occurred_on,
                     confirmed_by_state=confirmed_by_state, confirmation=confirmation)
