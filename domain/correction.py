"""The rules of a correction: which records and fields may be corrected, by whom, to which values.

A mistaken record is never edited (its signature and chain would break): a ``Weapon.Corrected`` is
appended to the same stream (``domain.weapon``), and every reader folds the corrected values
(``domain.corrected``). The rules (docs/corrections.md): only the node's own weapon records; only the
fields in ``CORRECTABLE`` (never the marking, which gives the weapon its id, nor what a rule derived);
values checked as when recording (``domain.schema`` and the recording commands' own checks); only an
authority kind that may record the corrected type may correct it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.corrected import OCCURRED_ON
from domain.errors import DomainError, InvalidField, NotPermitted
from domain.licence import Licence
from domain.marking import check_text
from domain.numbers import check_whole
from domain.records import SignedRecord
from domain.schema import Format, MayLack, Whole, domain_schema
from domain.time import check_occurred_on, format_time, parse_time

_DESCRIPTION = ("type", "make", "model", "calibre")

#: The fields of each weapon record that a correction may change. Not the marking: the weapon's id is
#: derived from it (DESIGN.md "Identity and marking"), so a wrong serial is corrected by recording the
#: marks read (``record mark``) while the id stays; not the licences, shipments and states a rule checked
#: when recording (but a transfer's licence, checked again); not the flags and statuses a rule derived.
CORRECTABLE: dict[str, frozenset[str]] = {
    types.MANUFACTURED: frozenset({*_DESCRIPTION, "year", "holder", OCCURRED_ON}),
    types.IMPORTED: frozenset({*_DESCRIPTION, "year", "holder", "import_year", OCCURRED_ON}),
    types.EXPORTED: frozenset({"consignee", OCCURRED_ON}),
    types.RECEIPT_CONFIRMED: frozenset({"received_by", OCCURRED_ON}),
    types.TRANSFERRED: frozenset({"from_holder", "to_holder", "licence", OCCURRED_ON}),
    types.MARKED: frozenset({"mark", "reason", OCCURRED_ON}),
    types.REPORTED_LOST: frozenset({"place", "circumstances", OCCURRED_ON}),
    types.REPORTED_STOLEN: frozenset({"place", "circumstances", OCCURRED_ON}),
    types.RECOVERED: frozenset({"place", "holder", OCCURRED_ON}),
    types.SEIZED: frozenset({*_DESCRIPTION, "place", "circumstances", OCCURRED_ON}),
    types.CONFISCATED: frozenset({"order", OCCURRED_ON}),
    types.DEACTIVATED: frozenset({"certificate", "method", "standard", "inspecting_body", OCCURRED_ON}),
    types.DESTROYED: frozenset({"method", "certificate", OCCURRED_ON}),
    types.REACTIVATED: frozenset({"reason", OCCURRED_ON}),
}
# Longest text as the recording commands take it (``check_text``'s default elsewhere: 200).
_MAX_LENGTH = {"circumstances": 2000, "reason": 2000, "type": 64, "calibre": 32, "mark": 64, "certificate": 64,
               "licence": 64}
# Text that the recording command requires (check_text(required=True)): a correction cannot blank it.
_REQUIRED = frozenset({"type", "calibre", "holder", "to_holder", "mark", "order", "certificate", "standard",
                       "inspecting_body", "method", "reason"})


def check_correctable(record: SignedRecord, authority: Authority) -> None:
    """Raise unless ``authority`` may correct ``record``: ``NotPermitted`` (field ``record``) for a partner's
    record, ``InvalidField`` (field ``record``) for a type that cannot be corrected, ``NotPermitted`` (field
    ``by``) for a kind that may not record that type."""
    if record.node != authority.state:
        raise NotPermitted(f"the record was signed by {record.node}: a node corrects only its own records",
                           field="record")
    if record.type not in CORRECTABLE:
        raise InvalidField(f"a {record.type} cannot be corrected (correctable: weapon records but "
                           f"{', '.join(sorted(types.WEAPON_EVENT_TYPES - CORRECTABLE.keys()))})", field="record")
    try:
        check_permitted(record.type, authority.kind)
    except NotPermitted:
        raise NotPermitted(f"a {authority.kind.value} authority may not record a {record.type}, so it may not "
                           "correct one", field="by") from None


def correction_fields(record: SignedRecord, *, authority: Authority, changes: Sequence[tuple[str, str]],
                      reason: str, corrected: Mapping[str, Any], licence: Licence | None = None) -> dict[str, Any]:
    """The body of a ``Weapon.Corrected`` of ``record`` (the node's own) setting each ``(field, value as typed)``
    of ``changes``; ``corrected`` holds the values earlier corrections gave (they are the old values).
    ``licence``: the transfer licence a ``Weapon.Transferred`` names as corrected (None for one migrated from
    paper): the corrected acquirer and date must be ones it allows, as when recording (FP art 7).

    Raises as ``check_correctable``, and ``InvalidField`` naming ``field`` (unknown, not correctable, given
    twice, none given), ``value`` (refused by the recording rules, or unchanged) or ``reason`` (blank).
    """
    check_correctable(record, authority)
    if not changes:
        raise InvalidField("name at least one field to correct", field="field")
    current = {**record.body, OCCURRED_ON: record.occurred_on, **corrected}
    kinds = domain_schema().bodies[record.type]
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, typed in changes:
        if name in new:
            raise InvalidField(f"{name} is given twice", field="field")
        if name not in kinds and name != OCCURRED_ON:
            raise InvalidField(f"a {record.type} has no field {name!r} (fields: {', '.join(sorted(kinds))}, "
                               f"{OCCURRED_ON})", field="field")
        if name not in CORRECTABLE[record.type]:
            raise InvalidField(f"{name} of a {record.type} cannot be corrected ({_why_not(name)}; correctable: "
                               f"{', '.join(sorted(CORRECTABLE[record.type]))})", field="field")
        value = _value(name, typed, kinds.get(name), required=name in _REQUIRED)
        if value == current.get(name):
            raise InvalidField(f"{name} is {typed!r} already", field="value")
        old[name], new[name] = current.get(name), value
    merged = {**current, **new}
    _check_together(record, merged)
    if licence is not None and record.type == types.TRANSFERRED and new.keys() & {"to_holder", "licence", OCCURRED_ON}:
        try:
            licence.check_allows_holding(str(merged["to_holder"]), int(merged[OCCURRED_ON]))
        except DomainError as e:
            raise InvalidField(f"licence {licence.number}: {e.args[0]}", field="value") from None
        if "licence" in new:  # the number as the licence has it, not as typed
            new["licence"] = licence.number
    return {"record": record.hash.hex(), "record_version": record.version, "record_type": record.type,
            "old_values": old, "new_values": new, "reason": check_text(reason, "reason", max_length=2000)}


def _value(name: str, typed: str, kind: Any, *, required: bool) -> Any:
    """The value ``typed`` for field ``name``, checked by the rules of recording; ``InvalidField`` on ``value``."""
    if name == OCCURRED_ON:
        return check_occurred_on(parse_time(typed, field="value"), field="value")
    while isinstance(kind, MayLack | Format):
        kind = kind.kind
    if isinstance(kind, Whole):
        try:
            number = int(typed.strip())
        except ValueError:
            raise InvalidField(f"{name}: {typed!r} is not a whole number", field="value") from None
        if name == "year":
            return check_whole(number, "value", least=1800, most=datetime.now(UTC).year)
        return check_whole(number, "value", least=kind.low, most=kind.high)
    try:
        return check_text(typed, name, required=required, max_length=_MAX_LENGTH.get(name, 200))
    except InvalidField as e:
        raise InvalidField(f"{name} {e.args[0]}", field="value") from None


def _check_together(record: SignedRecord, body: Mapping[str, Any]) -> None:
    """The record as corrected must fit its schema (formats such as country codes) and the rules that join
    fields (no year of manufacture after the date, no inspection after the deactivation)."""
    signed = {k: v for k, v in body.items() if k in record.body}
    try:
        domain_schema().check(stream=record.stream, type=record.type, body=signed)
    except InvalidField as e:
        raise InvalidField(f"{str(e.field).removeprefix('body.')}: {e.args[0]}", field="value") from None
    date = body[OCCURRED_ON]
    if int(body.get("year") or 0) > datetime.fromtimestamp(date, tz=UTC).year:
        raise InvalidField(f"the year {body['year']} is after the record's date {format_time(date)[:10]}",
                           field="value")
    inspected = body.get("inspected_on")
    if isinstance(inspected, int) and inspected > date:
        raise InvalidField(f"the inspection ({format_time(inspected)}) would be after the deactivation "
                           f"({format_time(date)})", field="value")


def _why_not(name: str) -> str:
    if name == "marking":
        return "the weapon's id is derived from it: record the marks read with `record mark`"
    return "a rule checked or derived it when recording"
