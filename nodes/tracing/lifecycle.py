"""The federated lifecycle of a weapon and its point of diversion (DESIGN.md "Tracing and the point of diversion").

Joins our records of the weapon, partners' records received and the verified
fragments of trace responses, and hands them to ``domain.diversion``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from domain.component import components_named
from domain.diversion import Verdict, analyse
from domain.event_types import (
    COMPONENT_INSTALLED,
    COMPONENT_PREFIX,
    COMPONENT_REMOVED,
    COMPONENT_SEIZED,
    EXPORTED,
    LICENCE_ISSUED,
)
from domain.licence import licence_id
from domain.records import SignedRecord
from domain.trace import TraceStatus
from ledger.acceptance import CertifiedKey, Signers, learn_register, revoked_signer
from ledger.envelope import Envelope
from nodes.acceptance import DomainPolicy
from nodes.federation.crossborder import partner_states
from nodes.ports import Node
from nodes.registry.identity import authorities_stream
from nodes.registry.own_records import own_signers, verified_stream
from nodes.tracing.reading import trace, traces_about


@dataclass(frozen=True)
class FederatedLifecycle:
    """Every verified record held about one weapon, and the trace answers given and awaited."""

    weapon_id: str
    records: tuple[SignedRecord, ...]
    licences: tuple[SignedRecord, ...]
    answered: tuple[str, ...]
    expected_from: tuple[str, ...]
    unverified: tuple[str, ...]      # fragment items that failed verification: reported, never used
    failed_own: tuple[str, ...] = ()  # our own stored records that failed verification: reported, never used
    # Records signed by a key at or after the time its node revoked it since (docs/keys.md), with that key:
    # shown, flagged, never used as evidence.
    revoked: tuple[tuple[SignedRecord, CertifiedKey], ...] = ()


def federated_lifecycle(node: Node, weapon_id: UUID | str, *, now: int | None = None) -> FederatedLifecycle:
    """Join our records of the weapon, partners' records received, and verified trace fragments.

    Also gathers the shipments the weapon travelled in, the licences and
    authorizations its exports cite (ours and received), and the partners'
    authority certificates (to name authorities). Trace states that answered
    are ``answered``; states asked that have not answered are ``expected_from``.
    """
    wid = str(weapon_id)
    registry, inbox, partners = node.registry, node.inbox, partner_states(node)
    records: dict[bytes, SignedRecord] = {}
    signers, failed_own = own_signers(registry, node.identity)
    policy = DomainPolicy(node.identity.state)

    def own(stream: UUID | str) -> list[Envelope]:
        """Our records of ``stream`` that verify (the one acceptance rule); the others go to ``failed_own``."""
        checked = verified_stream(registry, UUID(str(stream)), signers, policy)
        failed_own.extend(f"our record {stream} version {r.version}: {r.problem}" for r in checked if r.problem)
        return [r.envelope for r in checked if r.problem is None and r.envelope is not None]

    def add(envelopes: Iterable[SignedRecord]) -> None:
        for envelope in envelopes:
            records.setdefault(envelope.hash, envelope)

    add(own(wid))
    add(inbox.received_about(wid, partners))
    add(own(authorities_stream(node.identity.state)))
    registers = {partner: inbox.received(node=partner, stream=str(authorities_stream(partner)))
                 for partner in partners}
    for register in registers.values():
        add(register)
    # A weapon's components, and the other weapons a part of it was found to come from (docs/diversion.md).
    for cid in components_named((e.type, e.body) for e in list(records.values()) if e.stream == wid):
        add(own(cid))
        add(inbox.received_about(cid, partners))
    parts = [e for e in list(records.values()) if e.type.startswith(COMPONENT_PREFIX)]
    donors = {str(e.body.get("from_weapon", "")) for e in parts if e.type == COMPONENT_SEIZED}
    donors |= {str(e.body.get("weapon_id", "")) for e in parts if e.type in (COMPONENT_INSTALLED, COMPONENT_REMOVED)}
    for donor in donors - {"", wid}:
        add(own(donor))
        add(inbox.received_about(donor, partners))
    answered: list[str] = []
    expected: list[str] = []
    unverified: list[str] = []
    for submitted in traces_about(node, wid):
        step = trace(node, submitted.stream, now=now, registers=registers)
        # A refusal gives no evidence: the state is still owed, like one that has not answered.
        gave = step.response.done_on is not None and step.status is not TraceStatus.REFUSED
        (answered if gave else expected).append(step.addressee)
        if step.fragment is not None:
            add(step.fragment.records)
            unverified += [f"{step.addressee} (trace {step.trace_id}): {p}" for p in step.fragment.problems]
    weapon = [e for e in records.values() if e.stream == wid]
    for shipment in dict.fromkeys(str(e.body["shipment"]) for e in weapon if e.body.get("shipment")):
        try:
            add(own(shipment))
        except ValueError:
            continue  # a shipment reference that is not an id: nothing to join
        add(inbox.received_about(shipment, partners))
    licences: list[SignedRecord] = []
    for export in (e for e in weapon if e.type == EXPORTED):
        origin, destination = str(export.body.get("from_state") or export.node), str(export.body.get("to_state"))
        for issuer, kind, number in ((origin, "export_licence", export.body.get("licence")),
                                     (destination, "import_authorization", export.body.get("import_authorization"))):
            if not number:
                continue
            stream = str(licence_id(issuer, kind, str(number)))
            licences += (own(stream) if issuer == node.identity.state
                         else inbox.received(node=issuer, stream=stream) if issuer in partners else [])
    licences += [e for e in records.values() if e.type == LICENCE_ISSUED]
    keys = _registers(node, signers, registers)
    revoked = {e.hash: (e, key) for e in (*records.values(), *licences)
               if (key := revoked_signer(e, keys.get(e.node, {}))) is not None}
    return FederatedLifecycle(wid, tuple(e for e in records.values() if e.hash not in revoked),
                              tuple({e.hash: e for e in licences if e.hash not in revoked}.values()),
                              tuple(dict.fromkeys(answered)), tuple(s for s in dict.fromkeys(expected)
                                                                    if s not in answered), tuple(unverified),
                              tuple(failed_own), tuple(revoked.values()))


def _registers(node: Node, own: Signers, registers: Mapping[str, Iterable[Envelope]],
               ) -> dict[str, dict[str, CertifiedKey]]:
    """Every state's certified keys with all their retirements and revocations held (by state), from the
    partners' ``registers`` held."""
    keys: dict[str, dict[str, CertifiedKey]] = {node.identity.state: dict(own.certified)}
    for partner, register in registers.items():
        learnt = keys.setdefault(partner, {})
        for envelope in register:
            learn_register(envelope.type, envelope.body, learnt)  # accepted at ingest: signed by its node key
    return keys


def diversion_verdict(node: Node, weapon_id: UUID | str, *,
                      now: int | None = None) -> tuple[Verdict, FederatedLifecycle]:
    """The point of diversion of ``weapon_id`` on the federated evidence held here (``domain.diversion``)."""
    now = int(time.time()) if now is None else now
    life = federated_lifecycle(node, weapon_id, now=now)
    verdict = analyse(life.weapon_id, life.records, now=now, expected_from=life.expected_from,
                      answered=life.answered, licences=life.licences,
                      overdue_days=node.settings.overdue_days)
    return verdict, life
