"""One batch of notifications turned into the rows of the views (no I/O of its own).


Input: ``(notification id, envelope bytes)`` pairs, each parsed with
``Envelope.from_bytes``. Records of a type the views do not know (the
authority register's certificates, anything newer than this code) and bytes
that are not an envelope are skipped: they still count as processed, so the
tracked position passes them. The only reads are of what the views hold
already about the weapons the batch touches (their folded state, and, when a
partner's record must be folded in between, their records): a weapon's state
is folded from all its records (``projections.weapon_state``), wherever in
the log they are.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from domain.event_types import (
    CORRECTED,
    EXPORTED,
    LICENCE_EVENT_TYPES,
    RECEIPT_CONFIRMED,
    SHIPMENT_EVENT_TYPES,
    SHIPMENT_OPENED,
    SHIPMENT_RECEIPT_CONFIRMED,
    WEAPON_EVENT_TYPES,
)
from domain.time import SECONDS_PER_DAY
from ledger.envelope import Envelope
from ledger.errors import EncodingError
from projections.weapon_state import WeaponView, fold

logger = logging.getLogger(__name__)

PROJECTED_EVENT_TYPES = WEAPON_EVENT_TYPES | SHIPMENT_EVENT_TYPES | LICENCE_EVENT_TYPES


class StoredNotification(Protocol):
    """What eventsourcing's ``Notification`` offers: position and stored bytes."""

    @property
    def id(self) -> int: ...
    @property
    def state(self) -> bytes: ...


class ViewEvent(NamedTuple):
    """One projected record: a row of ``view_events``.

    Keyed by (stream, node, version): a partner's records about the same
    weapon carry the partner's node and their own version chain.
    ``sequence_on`` orders the lifecycle (see ``projections.weapon_state``).
    A named tuple, not a dataclass: a rebuild makes one per record, and a
    tuple is built in C.
    """

    stream: str
    node: str
    version: int
    notification_id: int | None
    type: str
    occurred_on: int
    sequence_on: int
    recorded_at: int
    authority: str
    envelope: bytes | None  # None: a record of the views' own log, which holds it (``projections.store.OwnLog``)
    body: Mapping[str, Any]

    def __repr__(self) -> str:  # without the envelope and body: long, and the header says which record it is
        return (f"ViewEvent(stream={self.stream!r}, node={self.node!r}, version={self.version!r}, "
                f"type={self.type!r}, occurred_on={self.occurred_on!r}, sequence_on={self.sequence_on!r})")

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.stream, self.node, self.version)

    @property
    def month(self) -> str:
        """``YYYY-MM`` of ``occurred_on`` (UTC): the period of the statistics."""
        return _month_of_day(self.occurred_on // SECONDS_PER_DAY)

    def row(self) -> tuple:
        # The columns of EVENT_ROWS: the header up to recorded_at, then month, authority, envelope.
        # A slice and a concatenation, in C: unpacking the slice into a new tuple was half of this call.
        return self[:8] + (_month_of_day(self.occurred_on // SECONDS_PER_DAY), self.authority, self.envelope)


@functools.lru_cache(maxsize=4096)
def _month_of_day(day: int) -> str:
    # Per day, not per record: formatting a date was a tenth of building a batch,
    # and a UTC month always starts at a day boundary (epoch seconds have no leap seconds).
    return datetime.fromtimestamp(day * SECONDS_PER_DAY, tz=UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class ShipmentFacts:
    """What an export says about its shipment (from ``Shipment.Opened`` or ``Weapon.Exported``)."""

    shipment_id: str
    node: str
    export_licence: str
    import_authorization: str
    from_state: str
    to_state: str
    transit: tuple[str, ...]
    consignee: str
    exported_on: int

    def row(self) -> tuple:
        return (self.shipment_id, self.node, self.export_licence, self.import_authorization, self.from_state,
                self.to_state, ",".join(self.transit), self.consignee, self.exported_on)


@dataclass(frozen=True)
class ShipmentReceipt:
    """Customs of the importing state confirmed receipt (FP art 10(4)); may come from a partner node."""

    shipment_id: str
    received_on: int
    node: str

    def row(self) -> tuple:
        return (self.shipment_id, self.received_on, self.node)


@dataclass
class ProjectedBatch:
    last_notification_id: int
    processed: int
    events: list[ViewEvent] = field(default_factory=list)
    weapons: list[WeaponView] = field(default_factory=list)
    shipments: list[ShipmentFacts] = field(default_factory=list)
    shipment_weapons: list[tuple[str, str]] = field(default_factory=list)
    receipts: list[ShipmentReceipt] = field(default_factory=list)
    skipped: int = 0
    # Weapons of ``weapons`` that had no stored state when the batch was projected: their rows are new.
    new_weapon_ids: set[str] = field(default_factory=set)


class ParsedPage(NamedTuple):
    """A page of notifications parsed (``parse_page``): what ``project_parsed`` projects."""

    last_notification_id: int
    processed: int
    records: list[tuple[int, bytes, Envelope]]  # (notification id, stored bytes, envelope) of projected types
    skipped: int


def parse_page(notifications: Sequence[StoredNotification]) -> ParsedPage:
    """``notifications`` (non-empty, in notification order) parsed, those the views skip left out and counted.

    No I/O and no state: a page may be parsed on another thread ahead of its projection.
    """
    records: list[tuple[int, bytes, Envelope]] = []
    skipped = 0
    for notification in notifications:
        envelope = _parse(notification)
        if envelope is None:
            skipped += 1
        else:
            records.append((notification.id, notification.state, envelope))
    return ParsedPage(notifications[-1].id, len(notifications), records, skipped)


def project_batch(
    notifications: Sequence[StoredNotification],
    load_weapons: Callable[[Collection[str]], Mapping[str, WeaponView]],
    load_weapon_events: Callable[[Collection[str]], Iterable[ViewEvent]],
) -> ProjectedBatch:
    """Rows for ``notifications`` (non-empty, in notification order): ``project_parsed`` of ``parse_page``."""
    return project_parsed(parse_page(notifications), load_weapons, load_weapon_events)


def project_parsed(
    page: ParsedPage,
    load_weapons: Callable[[Collection[str]], Mapping[str, WeaponView]],
    load_weapon_events: Callable[[Collection[str]], Iterable[ViewEvent]],
    *, copy_envelopes: bool = True,
) -> ProjectedBatch:
    """Rows for the records of ``page``; without their envelopes unless ``copy_envelopes`` (records of the views'
    own log, which keeps them).

    ``load_weapons(ids)`` returns the stored state of those weapons that have
    one; ``load_weapon_events(ids)`` their projected records. Reprocessing a
    record already projected changes nothing.

    A weapon's state is continued from its stored state when every new record
    comes from the node whose record was folded last: one node's records come
    in version order, so they fold after it (always so for the node's own
    log). A record from another node may belong earlier in business time: the
    weapon is then folded afresh from all its records.
    """
    batch = ProjectedBatch(last_notification_id=page.last_notification_id, processed=page.processed,
                           skipped=page.skipped)
    parsed = page.records

    touched = {e.stream for _, _, e in parsed if e.type in WEAPON_EVENT_TYPES}
    stored_states = load_weapons(touched) if touched else {}
    # A correction changes an earlier record: the weapon is folded afresh, as for a partner's record.
    refold = {e.stream for _, _, e in parsed if e.stream in stored_states
              and (e.node != stored_states[e.stream].node_folded_last or e.type == CORRECTED)}
    stored_events: dict[str, dict[tuple[str, str, int], ViewEvent]] = {w: {} for w in refold}
    for event in load_weapon_events(refold) if refold else ():
        stored_events[event.stream][event.key] = event

    chain_ends = _chain_ends(stored_states, stored_events)
    new_events: dict[str, list[ViewEvent]] = {w: [] for w in touched}
    events = batch.events
    for notification_id, data, envelope in parsed:
        stream, node, record_type, sequence_on = envelope.stream, envelope.node, envelope.type, envelope.occurred_on
        is_weapon = record_type in WEAPON_EVENT_TYPES
        if is_weapon:
            # Only a weapon with a stored state can hold the record already (stored_events is of those).
            if stream in stored_states and _projected_already(envelope, stored_states, stored_events):
                continue
            chain = (stream, node)
            sequence_on = max(chain_ends.get(chain, sequence_on), sequence_on)
            chain_ends[chain] = sequence_on
        # Positional, in the order of ViewEvent's fields: a rebuild makes one per record.
        event = ViewEvent(stream, node, envelope.version, notification_id, record_type, envelope.occurred_on,
                          sequence_on, envelope.recorded_at, envelope.authority,
                          bytes(data) if copy_envelopes else None, envelope.body)
        events.append(event)
        if is_weapon:
            new_events[stream].append(event)
        if record_type in SHIPMENT_FACT_TYPES:
            collect_shipment_facts(event, batch)

    _merge_shipment_rows(batch)
    batch.new_weapon_ids = touched - stored_states.keys()
    for weapon_id in sorted(touched):
        if weapon_id in refold:
            batch.weapons.append(fold(weapon_id, [*stored_events[weapon_id].values(), *new_events[weapon_id]]))
        elif new_events[weapon_id]:
            batch.weapons.append(fold(weapon_id, new_events[weapon_id], start=stored_states.get(weapon_id)))
    return batch


def _parse(notification: StoredNotification) -> Envelope | None:
    try:
        envelope = Envelope.from_bytes(notification.state)
    except EncodingError as e:
        # The log's integrity is `armsledger verify`'s job; the views must not stop on it.
        logger.warning("views: notification %d skipped: %s", notification.id, e)
        return None
    if envelope.type not in PROJECTED_EVENT_TYPES:
        logger.debug("views: notification %d skipped: type %s is not projected", notification.id, envelope.type)
        return None
    return envelope


def _chain_ends(states: Mapping[str, WeaponView],
                events: Mapping[str, Mapping[tuple[str, str, int], ViewEvent]]) -> dict[tuple[str, str], int]:
    """``sequence_on`` of the last stored record of each (weapon, node) chain that is known."""
    ends: dict[tuple[str, str], tuple[int, int]] = {}
    for weapon_id, state in states.items():
        if state.last is not None:
            sequence_on, node, version = state.last
            ends[(weapon_id, node)] = (version, sequence_on)
    for chain in events.values():
        for event in chain.values():
            end = ends.get((event.stream, event.node))
            if end is None or end[0] < event.version:
                ends[(event.stream, event.node)] = (event.version, event.sequence_on)
    return {key: sequence_on for key, (_, sequence_on) in ends.items()}


def _projected_already(envelope: Envelope, states: Mapping[str, WeaponView],
                       events: Mapping[str, Mapping[tuple[str, str, int], ViewEvent]]) -> bool:
    """Same stream, node and version as a projected record: the same signed record."""
    if envelope.stream in events:
        return (envelope.stream, envelope.node, envelope.version) in events[envelope.stream]
    state = states.get(envelope.stream)
    return state is not None and state.last is not None and state.last[1] == envelope.node \
        and envelope.version <= state.last[2]


def _merge_shipment_rows(batch: ProjectedBatch) -> None:
    """One row per shipment, as if each fact had been written in turn: the last
    export facts, the earliest receipt (a row may be updated once per statement)."""
    batch.shipments = list({facts.shipment_id: facts for facts in batch.shipments}.values())
    earliest: dict[str, ShipmentReceipt] = {}
    for receipt in batch.receipts:
        if receipt.shipment_id not in earliest or receipt.received_on < earliest[receipt.shipment_id].received_on:
            earliest[receipt.shipment_id] = receipt
    batch.receipts = list(earliest.values())


SHIPMENT_FACT_TYPES = frozenset({SHIPMENT_OPENED, EXPORTED, SHIPMENT_RECEIPT_CONFIRMED, RECEIPT_CONFIRMED})


def collect_shipment_facts(event: ViewEvent, batch: ProjectedBatch) -> None:
    """Add to ``batch`` the shipment facts, receipt and shipment weapons that ``event`` (one of
    ``SHIPMENT_FACT_TYPES``) states; a rebuild and ``projected_rows`` both use it."""
    body = event.body
    if event.type == SHIPMENT_OPENED:
        batch.shipments.append(ShipmentFacts(
            shipment_id=event.stream, node=event.node, export_licence=str(body.get("export_licence", "")),
            import_authorization=str(body.get("import_authorization", "")),
            from_state=str(body.get("export_state", "")), to_state=str(body.get("import_state", "")),
            transit=tuple(body.get("transit_states", ())), consignee=str(body.get("consignee", "")),
            exported_on=event.occurred_on,
        ))
        batch.shipment_weapons.extend((event.stream, str(w)) for w in body.get("weapons", ()))
    elif event.type == EXPORTED and body.get("shipment"):
        batch.shipments.append(ShipmentFacts(
            shipment_id=str(body["shipment"]), node=event.node, export_licence=str(body.get("licence", "")),
            import_authorization=str(body.get("import_authorization", "")),
            from_state=str(body.get("from_state", "")), to_state=str(body.get("to_state", "")),
            transit=tuple(body.get("transit_states", ())), consignee=str(body.get("consignee", "")),
            exported_on=event.occurred_on,
        ))
        batch.shipment_weapons.append((str(body["shipment"]), event.stream))
    elif event.type == SHIPMENT_RECEIPT_CONFIRMED:
        batch.receipts.append(ShipmentReceipt(event.stream, event.occurred_on, event.node))
    elif event.type == RECEIPT_CONFIRMED and body.get("shipment"):
        batch.receipts.append(ShipmentReceipt(str(body["shipment"]), event.occurred_on, event.node))


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (as it was after it): projecting makes some
    hundred thousand objects per batch and no cycles; they are freed by their reference counts,
    and the collections they set off (each walking every object alive) were a tenth of the work."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
