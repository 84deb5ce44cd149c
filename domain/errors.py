"""Errors of the domain layer: every refusal a user can cause.

Hierarchy::

    DomainError                 root; ``field`` names the input at fault, if any
    ├── InvalidField            a value is malformed (bad country code, empty serial, ...)
    └── RuleViolation           a firearms-law rule refuses the record
        ├── UnknownWeapon       no record of the weapon and the event cannot open one
        ├── DuplicateMarking    the marking is registered already (ITI para 8(a))
        ├── NotPermitted        the authority kind may not record this event
        ├── InvalidState        the weapon's status forbids the event (destroyed, deactivated, ...)
        ├── LicenceRefused      missing, expired, wrong-kind or non-covering licence
        ├── BrokerRefused       a broker not registered, or not in force, where one must be
        ├── UnknownPerson       no holder of this reference in the identity vault
        └── PersonErased        the holder's identity was erased and cannot be read

The CLI maps every ``DomainError`` to exit code 2 and the API to a 4xx.
"""

from __future__ import annotations


class DomainError(Exception):
    """Root of the domain errors. ``field`` names the offending input (or None)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.field}: {text}" if self.field else text


class InvalidField(DomainError):
    """A value is malformed; ``field`` names it."""


class RuleViolation(DomainError):
    """A rule of the domain refuses the record."""


class UnknownWeapon(RuleViolation):
    """The weapon has no record here and this event cannot register it."""


class DuplicateMarking(RuleViolation):
    """A weapon with this marking is registered already."""


class NotPermitted(RuleViolation):
    """The recording authority's kind may not record this event."""


class InvalidState(RuleViolation):
    """The weapon's current status forbids this event."""


class LicenceRefused(RuleViolation):
    """The licence or authorization is missing, expired, of the wrong kind or does not cover."""


class BrokerRefused(RuleViolation):
    """The broker named is not registered here, or its registration is not in force on the date."""


class UnknownPerson(RuleViolation):
    """No holder of this reference in the node's identity vault."""


class PersonErased(RuleViolation):
    """The holder's identity was erased (its data key destroyed): it cannot be read any more."""
