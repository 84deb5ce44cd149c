"""Authorities and which kind may record which event.

Every record is made by an authority of the node's state; its kind decides what
it may record. The table below is a rule of the domain: ingest applies it to
partner records too, so a customs key cannot forge a destruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain import event_types as types
from domain.choice import parse_choice
from domain.errors import NotPermitted


class AuthorityKind(str, Enum):
    LICENSING = "licensing"            # licensing authority: manufacture, licences, transfers
    CUSTOMS = "customs"                # exit and receipt of shipments (FP art 10(4))
    POLICE = "police"                  # seizures, lost/stolen, recoveries, traces
    DEACTIVATION = "deactivation"      # deactivation body (FP art 9)
    REGISTRY = "registry"              # national registry: migration of legacy records

    @classmethod
    def parse(cls, value: str, field: str = "authority") -> AuthorityKind:
        """The kind named ``value``; ``InvalidField`` on ``field`` otherwise."""
        return parse_choice(cls, value, field=field, noun="an authority kind")


L, C, P, D, R = (AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE,
                 AuthorityKind.DEACTIVATION, AuthorityKind.REGISTRY)

PERMISSIONS: dict[str, frozenset[AuthorityKind]] = {
    types.MANUFACTURED: frozenset({L, R}),
    types.IMPORTED: frozenset({L, C, R}),
    types.EXPORTED: frozenset({C, L}),
    types.RECEIPT_CONFIRMED: frozenset({C}),
    types.TRANSFERRED: frozenset({L, R}),
    types.MARKED: frozenset({L, P, R}),
    types.REPORTED_LOST: frozenset({P, L, R}),
    types.REPORTED_STOLEN: frozenset({P}),
    types.RECOVERED: frozenset({P}),
    types.SEIZED: frozenset({P, C}),
    types.CONFISCATED: frozenset({P, R}),
    types.DEACTIVATED: frozenset({D}),
    types.DESTROYED: frozenset({P, D, R}),
    # Reactivation is a licensing decision: the weapon becomes a firearm again in a holder's hands (FP art 9).
    types.REACTIVATED: frozenset({L}),
    # Components and conversions (EU 2021/555 art 1(3)-(4)): the licensing authority records the lawful
    # assembly, replacement and conversion; police and customs what they find in a seized weapon.
    types.ASSEMBLED: frozenset({L, R, P, C}),
    types.COMPONENT_REPLACED: frozenset({L, R}),
    types.CONVERTED: frozenset({L, R, P, C}),
    types.COMPONENT_REGISTERED: frozenset({L, R, P, C}),
    types.COMPONENT_INSTALLED: frozenset({L, R}),
    types.COMPONENT_REMOVED: frozenset({L, R}),
    types.COMPONENT_DESTROYED: frozenset({L, P, D, R}),
    types.COMPONENT_SEIZED: frozenset({P, C}),
    # Any kind may sign a correction; only a kind that may record the corrected type may correct it
    # (domain.correction, which reads the record corrected).
    types.CORRECTED: frozenset({L, C, P, D, R}),
    types.LICENCE_ISSUED: frozenset({L}),
    types.LICENCE_REVOKED: frozenset({L}),
    types.SHIPMENT_OPENED: frozenset({C, L}),
    types.SHIPMENT_RECEIPT_CONFIRMED: frozenset({C}),
    # FP art 15: the licensing authority registers brokers and records their activities.
    types.BROKER_REGISTERED: frozenset({L}),
    types.BROKER_RENEWED: frozenset({L}),
    types.BROKER_SUSPENDED: frozenset({L}),
    types.BROKER_REVOKED: frozenset({L}),
    types.BROKER_ACTIVITY_RECORDED: frozenset({L}),
    # Tracing (ITI paras 17-23) is police work; the registry answers from its records.
    types.TRACE_SUBMITTED: frozenset({P}),
    types.TRACE_FORWARDED: frozenset({P}),
    types.TRACE_CLOSED: frozenset({P}),
    types.TRACE_ACKNOWLEDGED: frozenset({P, R}),
    types.TRACE_RESPONDED: frozenset({P, R}),
    types.TRACE_UNTRACEABLE: frozenset({P, R}),
    types.TRACE_DELAYED: frozenset({P, R}),
    types.TRACE_RESTRICTED: frozenset({P, R}),
    types.TRACE_REFUSED: frozenset({P, R}),
    # Signed by the authority that recorded the seizure or import it tells of, in the same
    # transaction: the notice states no more than that record, and no other key signs for it.
    types.HIT_NOTICE_SENT: frozenset({P, C, L, R}),
    # The registry keeps the register of persons and erases an identity when its retention period ends.
    types.PERSON_ERASED: frozenset({R}),
    # The registry keeps the node's records and reviews the alarms its partners' evidence raised.
    types.ALARM_SETTLED: frozenset({R}),
    # Disclosure of a holder's identity (docs/personal-data.md): police ask, as for a trace; the registry,
    # which keeps the identity vault, releases or refuses.
    types.DISCLOSURE_REQUESTED: frozenset({P}),
    types.DISCLOSURE_RELEASED: frozenset({R}),
    types.DISCLOSURE_REFUSED: frozenset({R}),
}


def check_permitted(event_type: str, kind: AuthorityKind) -> None:
    """Raise ``NotPermitted`` unless an authority of ``kind`` may record ``event_type``."""
    allowed = PERMISSIONS.get(event_type)
    if allowed is None:
        raise NotPermitted(f"{event_type} is not a recordable event", field="type")
    if kind not in allowed:
        names = ", ".join(sorted(k.value for k in allowed))
        raise NotPermitted(
            f"a {kind.value} authority may not record {event_type} (permitted: {names})",
            field="authority",
        )


@dataclass(frozen=True)
class Authority:
    """Who records: the key id of its signing key, its kind and its state."""

    key_id: str
    kind: AuthorityKind
    state: str
