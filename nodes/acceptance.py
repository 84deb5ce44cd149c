"""The acceptance rule with this project's law: ``ledger.acceptance`` plus the domain's permissions.

The checks themselves are pure and live once in ``ledger.acceptance`` (signature,
certificate, chain, inclusion, row columns), where the log audit can reach them
without importing firearms law. What they need of the domain, which authority
kind may record which type (``domain.authority.PERMISSIONS``) and which records
form a node's register of authorities, is given here as ``DomainPolicy``. The
audit (``armsledger verify``), ingest and trace fragments all pass this policy.
"""

from __future__ import annotations

import functools

from domain.authority import AuthorityKind, check_permitted
from domain.errors import DomainError
from domain.event_types import (
    AUTHORITY_CERTIFIED,
    AUTHORITY_RETIRED,
    AUTHORITY_REVOKED,
    NODE_KEY_CHANGED,
    TRUST_CHANGED,
    TRUST_REGISTER_OPENED,
)
from domain.schema import RecordSchema, domain_schema
from nodes.registry.identity import REGISTER_OPENED, AuthorityRegister, authorities_stream, trust_stream

REGISTER_TYPES = frozenset({REGISTER_OPENED, AUTHORITY_CERTIFIED, AUTHORITY_RETIRED, AUTHORITY_REVOKED,
                            NODE_KEY_CHANGED})
"""The records of a node's register of authorities, which with ``TRUST_TYPES`` are the only ones its node key signs."""

TRUST_TYPES = frozenset({TRUST_REGISTER_OPENED, TRUST_CHANGED})
"""The records of a node's record of its trust store (national: never shared, so never received)."""

RECORD_SCHEMA = RecordSchema({**domain_schema().bodies, **RecordSchema.of((AuthorityRegister,)).bodies})
"""Every record type a node may hold, with its body fields (``domain.schema``): partner records are checked
against it before anything else is."""


class DomainPolicy:
    """``ledger.acceptance.Policy`` for the records of ``state``: the domain's permission table."""

    def __init__(self, state: str):
        self.state = state
        self.register = str(authorities_stream(state))
        self.trust = str(trust_stream(state))

    def refusal(self, record_type: str, stream: str, kind: str | None) -> str | None:
        """Why an authority of ``kind`` (``None``: ``state``'s node key) may not record ``record_type``
        in ``stream``; ``None`` when it may."""
        if kind is None:
            if record_type in TRUST_TYPES:
                return None if stream == self.trust else f"{record_type} not in {self.state}'s record of trust"
            if record_type not in REGISTER_TYPES:
                return f"{record_type} is not a recordable event"
            if stream != self.register:
                return f"{record_type} not in {self.state}'s register of authorities"
            return None
        return _kind_refusal(record_type, kind)


@functools.lru_cache(maxsize=1024)
def _kind_refusal(record_type: str, kind: str) -> str | None:
    """Why an authority of ``kind`` may not record ``record_type`` by the domain's permission table, which
    nothing else decides: asked once per pair, not once per record of a log."""
    try:
        check_permitted(record_type, AuthorityKind(kind))
    except ValueError:
        return f"{kind!r} is not an authority kind"
    except DomainError as e:
        return str(e.args[0])  # without the field name: the caller says what it refused
    return None
