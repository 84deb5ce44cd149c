"""Officers' roles: what each may record and read (separation of duties).

A role is what an officer's account is given; it is not a key. The service signs an
officer's record with the key of the authority kind the role stands for, after
checking that the role may record that record type. Two roles stand for no authority:
the auditor reads and verifies but records nothing, and the admin manages accounts
but records nothing and reads no weapon.

``tracing`` stands for the police authority (tracing is police work, ITI paras 17-23)
but may record only the steps of a trace.
"""

from __future__ import annotations

from enum import Enum

from domain import event_types as types
from domain.authority import PERMISSIONS, AuthorityKind
from domain.choice import parse_choice
from domain.errors import NotPermitted


class Role(str, Enum):
    LICENSING = "licensing"
    CUSTOMS = "customs"
    POLICE = "police"
    TRACING = "tracing"
    DEACTIVATION = "deactivation"
    REGISTRY = "registry"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: str, field: str = "role") -> Role:
        """The role named ``value``; ``InvalidField`` on ``field`` otherwise."""
        return parse_choice(cls, value, field=field, noun="a role")


class Right(str, Enum):
    RECORD = "record"   # append signed records (within the role's record types)
    READ = "read"       # weapons, licences, shipments, traces, verdicts, statistics
    AUDIT = "audit"     # verify status, checkpoints, quarantine, the read audit
    ADMIN = "admin"     # accounts, roles, tokens, bulk import


# The authority whose key signs a role's records; None: the role records nothing.
ROLE_AUTHORITY: dict[Role, AuthorityKind | None] = {
    Role.LICENSING: AuthorityKind.LICENSING,
    Role.CUSTOMS: AuthorityKind.CUSTOMS,
    Role.POLICE: AuthorityKind.POLICE,
    Role.TRACING: AuthorityKind.POLICE,
    Role.DEACTIVATION: AuthorityKind.DEACTIVATION,
    Role.REGISTRY: AuthorityKind.REGISTRY,
    Role.AUDITOR: None,
    Role.ADMIN: None,
}

_TRACE_STEPS = frozenset(t for t in PERMISSIONS
                         if t.startswith((types.TRACE_REQUEST_PREFIX, types.TRACE_ANSWER_PREFIX)))
# A tracing officer may also ask a partner for the identity behind a holder reference its records name.
_TRACE_STEPS |= {types.DISCLOSURE_REQUESTED}
_RECORDERS = frozenset(role for role, kind in ROLE_AUTHORITY.items() if kind is not None)

ROLE_RIGHTS: dict[Role, frozenset[Right]] = {
    **{role: frozenset({Right.RECORD, Right.READ}) for role in _RECORDERS},
    Role.AUDITOR: frozenset({Right.READ, Right.AUDIT}),
    Role.ADMIN: frozenset({Right.ADMIN}),
}


def check_right(role: Role, right: Right) -> None:
    """Raise ``NotPermitted`` (field ``role``) unless ``role`` holds ``right``."""
    if right not in ROLE_RIGHTS[role]:
        raise NotPermitted(f"the {role.value} role lacks the right to {right.value}", field="role")


def recordable(role: Role) -> frozenset[str]:
    """The record types an officer of ``role`` may record."""
    kind = ROLE_AUTHORITY[role]
    if kind is None:
        return frozenset()
    allowed = frozenset(t for t, kinds in PERMISSIONS.items() if kind in kinds)
    return allowed & _TRACE_STEPS if role is Role.TRACING else allowed


def authority_for(role: Role, event_type: str) -> AuthorityKind:
    """The authority kind that signs ``event_type`` for an officer of ``role``.

    ``NotPermitted`` naming the role and the record type when the role may not record it.
    """
    kind = ROLE_AUTHORITY[role]
    if kind is None or event_type not in recordable(role):
        raise NotPermitted(f"the {role.value} role may not record {event_type}", field="role")
    return kind

