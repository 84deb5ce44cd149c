"""Records as corrected: the values a ``Weapon.Corrected`` gives its earlier record, for every fold and verdict.

A correction names one earlier record of its own stream by its version (and hash); a later
correction of the same record corrects it again, field by field, and the latest value wins.
The signed original is never changed: readers fold the corrected values instead (the weapon
fold, the views, the diversion verdict) and show both (history). Pure; raises nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from domain.event_types import CORRECTED
from domain.records import SignedRecord
from domain.weapon_state import WeaponState, evolve

#: The corrected field that is the record's header, not its body: its business date.
OCCURRED_ON = "occurred_on"


class Correctable(Protocol):
    """What finding corrections needs of a record of one stream (an envelope, a view's row)."""

    @property
    def node(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def body(self) -> Mapping[str, Any]: ...


def corrections(records: Iterable[Correctable]) -> dict[tuple[str, int], dict[str, Any]]:
    """The new values of each corrected record of one stream, by (node, version): the corrections of one
    record merged in version order, so that the latest value of each field wins."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for record in sorted((r for r in records if r.type == CORRECTED), key=lambda r: (r.node, r.version)):
        version = record.body.get("record_version")
        values = record.body.get("new_values")
        if isinstance(version, int) and isinstance(values, Mapping):
            found.setdefault((record.node, version), {}).update(values)
    return found


def corrected_body(body: Mapping[str, Any], values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``body`` with the corrected ``values`` (the business date is the header's, not the body's)."""
    if not values:
        return body
    return {**body, **{k: v for k, v in values.items() if k != OCCURRED_ON}}


def corrected_date(occurred_on: int, values: Mapping[str, Any] | None) -> int:
    date = (values or {}).get(OCCURRED_ON)
    return date if isinstance(date, int) and not isinstance(date, bool) else occurred_on


@dataclass(frozen=True)
class CorrectedRecord:
    """A signed record read with its corrected values; its hash, signer and chain stay the original's."""

    original: SignedRecord
    body: Mapping[str, Any]
    occurred_on: int

    @property
    def node(self) -> str:
        return self.original.node

    @property
    def stream(self) -> str:
        return self.original.stream

    @property
    def version(self) -> int:
        return self.original.version

    @property
    def type(self) -> str:
        return self.original.type

    @property
    def recorded_at(self) -> int:
        return self.original.recorded_at

    @property
    def authority(self) -> str:
        return self.original.authority

    @property
    def hash(self) -> bytes:
        return self.original.hash


def as_corrected(records: Iterable[SignedRecord]) -> list[SignedRecord]:
    """``records`` without their corrections, each corrected record read with its corrected values."""
    records = list(records)
    streams = {r.stream for r in records if r.type == CORRECTED}
    if not streams:
        return records
    found = {(stream, *key): values for stream in streams
             for key, values in corrections(r for r in records if r.stream == stream).items()}
    read: list[SignedRecord] = []
    for record in records:
        if record.type == CORRECTED:
            continue
        values = found.get((record.stream, record.node, record.version))
        read.append(record if values is None else CorrectedRecord(
            record, corrected_body(record.body, values), corrected_date(record.occurred_on, values)))
    return read


def fold_own(records: Iterable[tuple[int, str, Mapping[str, Any]]]) -> WeaponState:
    """The state of one node's chain of weapon records, ``(version, type, body)`` in version order, corrected.

    The aggregate folds with it after a correction: the correction may change any earlier record."""
    records = list(records)
    found: dict[int, dict[str, Any]] = {}
    for _, record_type, body in records:
        if record_type == CORRECTED and isinstance(body.get("record_version"), int):
            found.setdefault(body["record_version"], {}).update(body.get("new_values") or {})
    state = WeaponState()
    for version, record_type, body in records:
        if record_type != CORRECTED:
            state = evolve(state, record_type, corrected_body(body, found.get(version)))
    return state
