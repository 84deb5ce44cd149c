"""The rules of one register row: its text becomes a new ``Weapon`` with pending events, or a ``RowRefused``.

The domain decides (``Weapon.manufacture``, ``Weapon.migrate_transfer``); this
module reads the row's columns into domain values and names the CSV column at
fault in every refusal (docs/csv-layout.md, "Historical transfers").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from domain.authority import Authority, AuthorityKind
from domain.errors import DomainError, InvalidField
from domain.marking import Marking
from domain.time import format_time, parse_time
from domain.weapon import Weapon
from nodes.migration.reader import TRANSFER_COLUMNS

DEFAULT_AUTHORITY = AuthorityKind.REGISTRY

# Domain error fields -> the CSV column the user has to fix.
_MANUFACTURE_COLUMNS = {"holder": "first_holder", "occurred_on": "manufactured_on", "authority": "by"}
_TRANSFER_COLUMNS = {"to": "current_holder", "licence": "transfer_licence", "occurred_on": "transferred_on",
                     "authority": "by", "weapon": "current_holder"}


class RowRefused(Exception):
    """A row fails validation: ``field`` is the CSV column at fault."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def weapon_of(row: Mapping[str, str], *, state: str, authorities: Mapping[AuthorityKind, Authority]) -> Weapon:
    """The weapon ``row`` describes, with its pending events (manufacture, then the migrated transfer if any).

    Requires the row's required columns (``nodes.migration.reader.REQUIRED_COLUMNS``)
    and ``authorities`` of node ``state`` that may sign imported records.
    Raises ``RowRefused`` naming the column at fault.
    """
    with _refusals_named(_MANUFACTURE_COLUMNS):
        kind = AuthorityKind.parse((row.get("by") or "").strip().lower() or DEFAULT_AUTHORITY.value, field="by")
        authority = authorities.get(kind)
        marking = Marking.read(row["manufacturer"], row["country"], row["serial"])
        year = _whole_number(row["year"], "year")
        manufactured_on = _date(row["manufactured_on"], "manufactured_on")
        if authority is None:  # kinds that may not record a manufacture: let the domain say so
            authority = Authority(key_id="", kind=kind, state=state)
        weapon = Weapon.manufacture(
            authority=authority, marking=marking, type=row["type"], make=row.get("make", ""),
            model=row.get("model", ""), calibre=row["calibre"], year=year, holder=row["first_holder"],
            occurred_on=manufactured_on,
        )
        if manufactured_on < int(datetime(year, 1, 1, tzinfo=UTC).timestamp()):
            raise InvalidField(f"{format_time(manufactured_on)[:10]} is before the year of manufacture {year}",
                               field="manufactured_on")
    transfer = {name: (row.get(name) or "").strip() for name in TRANSFER_COLUMNS}
    if any(transfer.values()):
        for name in TRANSFER_COLUMNS:
            if not transfer[name]:
                raise RowRefused(name, "is required with a current holder (current_holder, transferred_on "
                                       "and transfer_licence go together)")
        with _refusals_named(_TRANSFER_COLUMNS):
            transferred_on = _date(transfer["transferred_on"], "transferred_on")
            if transferred_on < manufactured_on:
                raise InvalidField("is before manufactured_on", field="transferred_on")
            weapon.migrate_transfer(authority=authority, to_holder=transfer["current_holder"],
                                    licence_reference=transfer["transfer_licence"], occurred_on=transferred_on)
    return weapon


@contextlib.contextmanager
def _refusals_named(columns: dict[str, str]) -> Iterator[None]:
    """Re-raise ``DomainError`` as ``RowRefused`` naming the CSV column, not the domain field."""
    try:
        yield
    except DomainError as error:
        column = columns.get(error.field or "", error.field)
        raise RowRefused(column, error.args[0] if error.args else str(error)) from error


def _whole_number(text: str, field: str) -> int:
    value = (text or "").strip()
    if not value:
        raise InvalidField("is required", field=field)
    try:
        return int(value)
    except ValueError:
        raise InvalidField(f"{text!r} is not a whole number", field=field) from None


def _date(text: str, field: str) -> int:
    if not (text or "").strip():
        raise InvalidField("is required (YYYY-MM-DD)", field=field)
    return parse_time(text, field=field)
