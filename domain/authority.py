"""Authorities and which kind may record which event.

Every record is made by an authority of the node's state; its kind decides what
it may record. The table below is a rule of the domain: ingest applies it to
partner records too, so a customs key cannot forge a destruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain.errors import InvalidField, NotPermitted


class AuthorityKind(str, Enum):
    LICENSING = "licensing"            # licensing authority: manufacture, licences, transfers
    CUSTOMS = "customs"                # exit and receipt of shipments (FP art 10(4))
    POLICE = "police"                  # seizures, lost/stolen, recoveries, traces
    DEACTIVATION = "deactivation"      # deactivation body (FP art 9)
    REGISTRY = "registry"              # national registry: migration of legacy records

    @classmethod
    def parse(cls, value: str, field: str = "authority") -> AuthorityKind:
        try:
            return cls(value)
        except ValueError:
            kinds = ", ".join(k.value for k in cls)
            raise InvalidField(f"{value!r} is not an authority kind ({kinds})", field=field) from None


L, C, P, D, R = (AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE,
                 AuthorityKind.DEACTIVATION, AuthorityKind.REGISTRY)

PERMISSIONS: dict[str, frozenset[AuthorityKind]] = {
    "Weapon.Manufactured": frozenset({L, R}),
    "Weapon.Imported": frozenset({L, C, R}),
    "Weapon.Exported": frozenset({C, L}),
    "Weapon.ReceiptConfirmed": frozenset({C}),
    "Weapon.Transferred": frozenset({L, R}),
    "Weapon.Marked": frozenset({L, P, R}),
    "Weapon.ReportedLost": frozenset({P, L, R}),
    "Weapon.ReportedStolen": frozenset({P}),
    "Weapon.Recovered": frozenset({P}),
    "Weapon.Seized": frozenset({P, C}),
    "Weapon.Confiscated": frozenset({P, R}),
    "Weapon.Deactivated": frozenset({D}),
    "Weapon.Destroyed": frozenset({P, D, R}),
    "Licence.Issued": frozenset({L}),
    "Licence.Revoked": frozenset({L}),
    "Shipment.Opened": frozenset({C, L}),
    "Shipment.ReceiptConfirmed": frozenset({C}),
    # Tracing (ITI paras 17-23) is police work; the registry answers from its records.
    "TraceRequest.Submitted": frozenset({P}),
    "TraceRequest.Forwarded": frozenset({P}),
    "TraceRequest.Closed": frozenset({P}),
    "TraceAnswer.Acknowledged": frozenset({P, R}),
    "TraceAnswer.Responded": frozenset({P, R}),
    "TraceAnswer.Untraceable": frozenset({P, R}),
    "TraceAnswer.Delayed": frozenset({P, R}),
    "TraceAnswer.Restricted": frozenset({P, R}),
    "TraceAnswer.Refused": frozenset({P, R}),
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
