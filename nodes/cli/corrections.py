"""``record correct``: a signed correction of one of this node's own records (docs/corrections.md).

One call of ``nodes.registry.corrections.correct_record``, then ``node.settle()``. The record is named
by its hash or the start of it (8+ characters, as ``history`` prints it); each ``--field`` takes the
``--value`` given in the same position. Output: the weapon id; with ``--json`` an object with the record
corrected and the new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.authority import AuthorityKind
from domain.corrected import OCCURRED_ON
from domain.errors import InvalidField
from domain.event_types import CORRECTED
from domain.time import format_time
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option
from nodes.registry import corrections


def add_record_commands(events: Commands) -> None:
    """``record correct``."""
    parser = add_command(events, "correct", correct,
                         "correct fields of one of this node's own weapon records (a signed correction is "
                         "appended; the original stays as signed)")
    parser.add_argument("--record", required=True, metavar="HASH",
                        help="the record's hash, or its start (8+ characters), as history prints it")
    parser.add_argument("--field", action="append", default=[], required=True,
                        help="a field to correct (repeatable; occurred_on is the record's date)")
    parser.add_argument("--value", action="append", default=[], required=True,
                        help="its new value (one per --field, in the same order; a date as YYYY-MM-DD)")
    parser.add_argument("--reason", required=True, help="why the record was wrong")
    parser.add_argument("--date", help="date of the correction, YYYY-MM-DD or ISO 8601 in UTC (default: now)")
    parser.add_argument("--by", default=None, choices=[k.value for k in AuthorityKind],
                        help="kind of authority correcting it (default: the kind that signed the record)")
    add_json_option(parser)


def correct(run: Invocation) -> int:
    a = run.args
    if len(a.field) != len(a.value):
        raise InvalidField(f"{len(a.field)} --field and {len(a.value)} --value: give one value per field",
                           field="value")
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        recorded = corrections.correct_record(node.registry, record=a.record, changes=list(zip(a.field, a.value)),
                                              reason=a.reason, by=a.by, occurred_on=occurred_on)
        node.settle()
    changed = ", ".join(f"{name} {value_text(name, value)}" for name, value in recorded.new_values.items())
    run.emit({"weapon_id": str(recorded.weapon_id), "event": CORRECTED, "record": recorded.record,
              "record_type": recorded.record_type, "new_values": recorded.new_values},
             f"{recorded.weapon_id}: {recorded.record_type} {recorded.record[:16]} corrected ({changed})")
    return 0


def value_text(name: str, value: Any) -> str:
    """A corrected value as an officer reads it: a date as YYYY-MM-DD."""
    return format_time(value)[:10] if name == OCCURRED_ON and isinstance(value, int) else str(value)


def corrected_text(body: Mapping[str, Any]) -> str:
    """A correction's line in ``history``: which record, each field from old to new, and why."""
    old, new = body.get("old_values") or {}, body.get("new_values") or {}
    changes = ", ".join(f"{k} {value_text(k, old.get(k))} -> {value_text(k, v)}" for k, v in new.items())
    name = str(body.get("record_type", "")).split(".", 1)[-1]
    return f"corrects {name} {str(body.get('record', ''))[:12]}: {changes}; reason: {body.get('reason', '')}"
