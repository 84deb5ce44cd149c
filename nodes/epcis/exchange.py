"""What the CLI and the API call: export a selection of our records, read a document, import it all or
nothing. Neither holds a rule: the selection and the recording are in ``export`` and ``recording``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain import event_types as types
from domain.errors import InvalidField
from nodes.epcis.export import Exported, shipment_document, since_document, weapon_document
from nodes.epcis.reading import steps_of
from nodes.epcis.recording import lawful_authority, record_steps
from nodes.federation import crossborder
from nodes.registry.application import Registry
from nodes.registry.group_commit import GroupCommitter

if TYPE_CHECKING:
    from nodes.bootstrap import Node


def export_selection(registry: Registry, *, weapon: UUID | None = None, shipment: UUID | None = None,
                     since: int | None = None) -> Exported:
    """The document of one weapon, one shipment of ours, or every record since a date: exactly one of them;
    ``InvalidField`` (field ``weapon``) otherwise."""
    given = [name for name, value in (("weapon", weapon), ("shipment", shipment), ("since", since))
             if value is not None]
    if len(given) != 1:
        raise InvalidField("give exactly one of a weapon (its id or marking), a shipment or a date since",
                           field="weapon")
    if weapon is not None:
        return weapon_document(registry, weapon)
    if shipment is not None:
        return shipment_document(registry, shipment)
    assert since is not None
    return since_document(registry, since)


def parse_document(data: bytes | str, field: str = "file") -> Any:
    """The JSON of an EPCIS document; ``InvalidField`` on ``field`` when it is not UTF-8 JSON."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidField(f"is not a JSON document: {e}", field=field) from None


def import_command(document: Any, node: Node, by: Callable[[str], str] = lawful_authority,
                   ) -> Callable[[Registry], list[dict[str, Any]]]:
    """The one registry command that records ``document`` at ``node``; reads it first (``InvalidField``
    naming the event and field of the first event we do not record), so a malformed document is refused
    before anything runs. A receipt is confirmed as ``armsledger record receipt`` confirms it."""
    steps = steps_of(document)
    if not steps:
        raise InvalidField("holds no event to record", field="eventList")

    def receive(weapon: UUID, by: str, received_by: str, occurred_on: int) -> object:
        return crossborder.confirm_receipt(node, weapon_id=weapon, by=by, received_by=received_by,
                                           occurred_on=occurred_on)

    return lambda registry: record_steps(registry, steps, by, receive)


def record_types(document: Any) -> list[str]:
    """The record types ``document`` asks for, in order (for a role check before recording): a receipt
    may open the weapon's record by an import too. ``InvalidField`` as ``import_command``."""
    steps = steps_of(document)
    if not steps:
        raise InvalidField("holds no event to record", field="eventList")
    return list(dict.fromkeys(t for step in steps for t in _WRITES.get(step.record_type, (step.record_type,))))


_WRITES = {types.RECEIPT_CONFIRMED: (types.IMPORTED, types.RECEIPT_CONFIRMED)}


def import_document(node: Node, command: Callable[[Registry], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run ``command`` (``import_command``'s) at ``node`` in one transaction: every record, or none when
    one is refused (its error names the event and the field). The node is settled afterwards."""
    with GroupCommitter(node, settle=False) as committer:
        done = committer.submit(command)
    node.settle()
    return done
