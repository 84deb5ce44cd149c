"""Licences of this state as officers read them: kinds parsed as typed, one licence looked up.

``armsledger licence`` and the HTTP API call these, so a licence reads the same everywhere.
"""

from __future__ import annotations

import time
from typing import Any

from domain.licence import LicenceKind
from domain.time import format_time
from nodes.registry.application import Registry


def parse_kind(text: str, field: str = "kind") -> LicenceKind:
    """A kind as typed (``transfer-licence``, ``Transfer Licence``) as a ``LicenceKind``; ``InvalidField``."""
    return LicenceKind.parse((text or "").strip().lower().replace("-", "_").replace(" ", "_"), field=field)


def licence_document(registry: Registry, kind: LicenceKind, number: str, *, now: int | None = None) -> dict[str, Any]:
    """This state's licence ``number`` of ``kind`` with whether it is in force ``now``.

    ``LicenceRefused`` (field ``number``) if no such licence was issued here.
    """
    licence = registry.licence(number, kind, field="number")
    now = int(time.time()) if now is None else now
    in_force = licence.revoked_on is None and licence.valid_from <= now <= licence.valid_until
    return {
        "licence_id": str(licence.id), "number": licence.number, "kind": licence.kind.value,
        "issuer_state": licence.issuer_state, "holder": licence.holder,
        "valid_from": licence.valid_from, "valid_from_utc": format_time(licence.valid_from),
        "valid_until": licence.valid_until, "valid_until_utc": format_time(licence.valid_until),
        "export_state": licence.export_state, "import_state": licence.import_state,
        "transit_states": list(licence.transit_states), "consignee": licence.consignee,
        "end_user": licence.end_user, "quantity": licence.quantity, "weapons": list(licence.weapons),
        "revoked_on": licence.revoked_on, "revocation_reason": licence.revocation_reason, "in_force": in_force,
    }
