"""Correcting one of this node's own records (docs/corrections.md): the CLI's ``record correct`` and the API's
``POST /api/v1/records/{hash}/correct`` call ``correct_record``; the rules are ``domain.correction``'s.

A record is named by its envelope hash or the start of it (8 or more hexadecimal characters), as
``history`` prints it. Naming a correction corrects the record it corrected, again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.authority import AuthorityKind
from domain.corrected import corrections
from domain.correction import check_correctable, correction_fields
from domain.errors import InvalidField
from domain.event_types import CORRECTED, TRANSFERRED, WEAPON_PREFIX
from domain.licence import Licence, LicenceKind
from ledger.envelope import Envelope
from nodes.registry.application import Registry, retried_on_conflict
from nodes.values import one_by_prefix

#: Fewest characters of a hash accepted as its start.
MIN_HASH_PREFIX = 8


@dataclass(frozen=True)
class CorrectionRecorded:
    """What ``correct_record`` recorded: the weapon, the record corrected (its hash and type) and the new values."""

    weapon_id: UUID
    record: str
    record_type: str
    new_values: dict[str, Any]


def hash_prefix(typed: str, *, field_name: str = "record") -> str:
    """What the officer typed as a record's hash or its start, lower-cased; ``InvalidField`` on ``field_name``
    unless it is 8 to 64 hexadecimal characters."""
    text = typed.strip().lower()
    if not MIN_HASH_PREFIX <= len(text) <= 64 or text.strip("0123456789abcdef"):
        raise InvalidField(f"{typed.strip()[:80]!r} is not a record hash or the start of one ({MIN_HASH_PREFIX} "
                           "to 64 hexadecimal characters)", field=field_name)
    return text


def own_record(registry: Registry, typed: str) -> Envelope:
    """The one record of this node's log whose hash starts with ``typed``; ``InvalidField`` (field ``record``)
    when none or several do. Reads the whole log: a correction is rare, a hash index is not kept."""
    prefix = hash_prefix(typed)
    found = []
    for _, stored in registry.stored_notifications():
        envelope = Envelope.from_bytes(stored.state)
        if envelope.hash.hex().startswith(prefix):
            found.append(envelope)
    return one_by_prefix(typed, found, what="record of this node", field_name="record")


def record_type_of(registry: Registry, typed: str) -> str:
    """The type of the record a correction of ``typed`` corrects (a role check needs it before the write)."""
    return _corrected_record(registry, own_record(registry, typed))[0].type


@retried_on_conflict
def correct_record(registry: Registry, *, record: str, changes: Sequence[tuple[str, str]], reason: str,
                   by: str | None = None, occurred_on: int | None = None) -> CorrectionRecorded:
    """Append a signed ``Weapon.Corrected`` of the record ``record`` (its hash or its start) to its stream,
    setting each ``(field, value as typed)`` of ``changes``; signed by authority kind ``by`` (default: the
    kind that signed the original). Raises ``InvalidField`` / ``NotPermitted`` naming the field at fault
    (``domain.correction``); nothing is written then."""
    corrected, history = _corrected_record(registry, own_record(registry, record))
    kinds = {key_id: kind for kind, key_id in registry.identity.authority_key_ids.items()}
    authority = registry.authority(by if by else kinds.get(corrected.authority, ""))
    check_correctable(corrected, authority)
    earlier = corrections(history).get((corrected.node, corrected.version), {})
    fields = correction_fields(corrected, authority=authority, changes=changes, reason=reason, corrected=earlier,
                               licence=_transfer_licence(registry, corrected, kinds, dict(changes)))
    weapon = registry.weapon(corrected.stream)
    weapon.correct(authority=authority, occurred_on=int(time.time()) if occurred_on is None else occurred_on,
                   **fields)
    registry.save(weapon)
    return CorrectionRecorded(weapon.id, fields["record"], corrected.type, dict(fields["new_values"]))


def _transfer_licence(registry: Registry, record: Envelope, kinds: dict[str, str],
                      changes: dict[str, str]) -> Licence | None:
    """The transfer licence a live ``Weapon.Transferred`` names, as corrected (one the registry migrated from
    paper names a paper licence, none here); ``LicenceRefused`` (field ``value``) for a number not on record."""
    if record.type != TRANSFERRED or kinds.get(record.authority) == AuthorityKind.REGISTRY.value:
        return None
    if "licence" in changes:
        return registry.licence(changes["licence"], LicenceKind.TRANSFER_LICENCE, field="value")
    return registry.licence(str(record.body.get("licence", "")), LicenceKind.TRANSFER_LICENCE, field="record")


def _corrected_record(registry: Registry, found: Envelope) -> tuple[Envelope, list[Envelope]]:
    """The record a correction of ``found`` corrects (``found``, or the record a correction named) and its
    stream's records; ``InvalidField`` (field ``record``) for a record of no weapon."""
    if not found.type.startswith(WEAPON_PREFIX):
        raise InvalidField(f"{found.hash.hex()[:16]} is a {found.type}: only weapon records can be corrected",
                           field="record")
    history = registry.envelopes(found.stream)
    if found.type != CORRECTED:
        return found, history
    target = [e for e in history if e.version == found.body.get("record_version")]
    if not target:
        raise InvalidField(f"the correction {found.hash.hex()[:16]} names no record of its stream", field="record")
    return target[0], history
