"""Subject access: a private holder's identity and every record this node holds that mentions it.

``subject_access`` is what ``armsledger person show`` and ``GET /api/v1/persons/{ref}`` answer; the caller
checks the reader's role (``domain.person.check_subject_access``) and records the read in the read audit
(action ``person``) before showing anything.
"""

from __future__ import annotations

from typing import Any

from domain.person import PersonErased, check_person_reference
from nodes.persons.mentions import records_mentioning
from nodes.persons.vault import IdentityVault
from nodes.ports import Node


def subject_access(node: Node, vault: IdentityVault, ref: str) -> dict[str, Any]:
    """``{"person", "identity" (None once erased), "erased", "records": [...]}``; the records are those of
    ``nodes.persons.mentions.records_mentioning``, own first. ``UnknownPerson`` (field ``person``) for a
    reference this node never stored; ``InvalidField`` for a malformed one."""
    ref = check_person_reference(ref)
    try:
        identity: dict[str, str] | None = vault.identity(ref).as_dict()
    except PersonErased:
        identity = None
    return {"person": ref, "identity": identity, "erased": identity is None,
            "records": [m.as_dict() for m in records_mentioning(node, ref)]}
