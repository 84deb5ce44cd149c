"""The verdict of the diversion analysis: the rule that fired, the last legal custodian, the evidence.

Plain values, ready for JSON (``Verdict.to_dict``); the rules are listed in
precedence order in ``Rule`` and explained in docs/diversion.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from domain.records import SignedRecord
from domain.time import format_time


class Rule(str, Enum):
    """Stable identifiers of the rules, in order of precedence."""

    RECORD_AFTER_DESTRUCTION = "record-after-destruction"
    RECORD_AFTER_DEACTIVATION = "record-after-deactivation"
    EXPORT_NEVER_CONFIRMED = "export-never-confirmed"
    ROUTE_OR_CONSIGNEE_DEVIATION = "route-or-consignee-deviation"
    LOST_OR_STOLEN = "lost-or-stolen"
    NO_EXPORT_FROM_LAST_LEGAL_STATE = "no-export-from-last-legal-state"
    TAMPERED_MARKING = "tampered-marking"
    COMPONENT_FROM_OTHER_WEAPON = "component-from-other-weapon"
    NO_LEGAL_CUSTODY_ON_RECORD = "no-legal-custody-on-record"
    NO_DIVERSION_FOUND = "no-diversion-found"


@dataclass(frozen=True)
class Custodian:
    holder: str
    state: str


@dataclass(frozen=True)
class Evidence:
    """One envelope the verdict rests on, by hash and origin node."""

    hash: str
    node: str
    stream: str
    type: str
    version: int

    @classmethod
    def of(cls, envelope: SignedRecord) -> Evidence:
        return cls(envelope.hash.hex(), envelope.node, envelope.stream, envelope.type, envelope.version)


@dataclass(frozen=True)
class Missing:
    """Evidence not held: a state that has not answered, or whose records we lack."""

    state: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    weapon_id: str
    rule: Rule
    last_legal_custodian: Custodian | None
    place: str
    occurred_on: int | None
    evidence: tuple[Evidence, ...]
    sentence: str
    complete: bool
    missing: tuple[Missing, ...] = ()
    other_rules: tuple[Rule, ...] = ()
    reactivated: bool = False   # the weapon was deactivated once and restored under licence (FP art 9)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``occurred_on`` as epoch seconds and as ISO 8601 UTC)."""
        custodian = self.last_legal_custodian
        return {
            "weapon_id": self.weapon_id,
            "rule": self.rule.value,
            "last_legal_custodian": None if custodian is None else vars(custodian).copy(),
            "place": self.place,
            "occurred_on": self.occurred_on,
            "occurred_on_utc": None if self.occurred_on is None else format_time(self.occurred_on),
            "evidence": [vars(e).copy() for e in self.evidence],
            "sentence": self.sentence,
            "complete": self.complete,
            "missing": [vars(m).copy() for m in self.missing],
            "other_rules": [r.value for r in self.other_rules],
            "reactivated": self.reactivated,
        }

