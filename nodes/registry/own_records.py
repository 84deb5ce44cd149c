"""This node's own records read back verified: the register of its authorities, and one stream.

What a node shows or signs with must be what its log certifies, not what a file
or a row says. ``own_signers`` reads the node's register of authorities (signed by
the node key named in node.json) and learns the keys it certifies;
``check_identity`` refuses a node.json whose state or keys that register does not
certify; ``verified_stream`` reads one stream and checks every record with the one
acceptance rule (``ledger.acceptance`` with ``nodes.acceptance.DomainPolicy``):
readable row, signer, signature, permission, chain and row columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.errors import UnknownWeapon
from domain.event_types import WEAPON_PREFIX
from domain.weapon import Weapon
from ledger.acceptance import (
    CertifiedKey,
    Reason,
    Refusal,
    Signers,
    check_link,
    check_row,
    check_signed,
    learn_node_key,
    learn_register,
)
from ledger.envelope import Envelope
from ledger.errors import EncodingError, LedgerError
from nodes.acceptance import DomainPolicy
from nodes.errors import NodeFileDamaged
from nodes.registry.identity import NODE_FILE, NodeIdentity, authorities_stream
from nodes.registry.mapper import domain_event_from

if TYPE_CHECKING:
    from nodes.registry.application import Registry


@dataclass(frozen=True)
class CheckedRecord:
    """One stored version of a stream: its envelope (None: unreadable) and why it fails (None: it verifies)."""

    version: int
    envelope: Envelope | None
    problem: str | None


def verified_stream(registry: Registry, stream: UUID, signers: Signers, policy: DomainPolicy) -> list[CheckedRecord]:
    """Every stored version of ``stream`` in order, each checked; a missing version is a problem of the next one.

    Cheap for one stream: one read, one signature per record. Never raises for bad data.
    ``signers`` start with the oldest node key; an accepted ``Authority.NodeKeyChanged`` hands over.
    """
    checked: list[CheckedRecord] = []
    previous: Envelope | None = None
    expected = 1
    for version, topic, state in _stored_rows(registry.recorder, stream):
        try:
            envelope = Envelope.from_bytes(state)  # type: ignore[arg-type]  # None: refused below
        except (LedgerError, TypeError, ValueError) as e:
            checked.append(CheckedRecord(version, None, f"the stored row is unreadable ({e})"))
            previous, expected = None, version + 1
            continue
        refusal = (_gap(version, expected)
                   or check_row(envelope, stream=str(stream), version=version, topic=topic)
                   or check_signed(envelope, signers, policy, body=envelope.body)
                   or check_link(envelope, previous=previous.hash if previous is not None else None)
                   or (_unchecked_link(version) if previous is None and version > 1 else None))
        checked.append(CheckedRecord(version, envelope, _said(refusal)))
        if refusal is None:  # the register's node key changes hand signing over to the next key
            signers = learn_node_key(envelope, envelope.body, signers)
        previous, expected = envelope, version + 1
    return checked


def _stored_rows(recorder: Any, stream: UUID) -> list[tuple[int, str, bytes | None]]:
    """(version, topic, state) of each stored row of ``stream``, in version order, as stored."""
    try:
        return [(e.originator_version, e.topic, e.state) for e in recorder.select_events(stream)]
    except EncodingError:
        # The PostgreSQL recorder refuses a NULL state (the library fails on bytes(None)): read
        # the rows as stored, so the damaged one is shown as such instead of stopping the read.
        schema = getattr(recorder.datastore, "schema", None)
        if schema is None:
            raise
    table = f'"{schema}"."{recorder.events_table_name}"'
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT originator_version, topic, state FROM {table} WHERE originator_id = %s "
                       "ORDER BY originator_version", (stream,))
        return [(r["originator_version"], r["topic"], None if r["state"] is None else bytes(r["state"]))
                for r in cursor.fetchall()]


def _gap(version: int, expected: int) -> Refusal | None:
    if version == expected:
        return None
    missing = f"version {expected}" if version == expected + 1 else f"versions {expected} to {version - 1}"
    return Refusal(Reason.CHAIN, f"{missing} of the stream is missing (deleted)")


def _unchecked_link(version: int) -> Refusal:
    return Refusal(Reason.CHAIN, f"version {version - 1} is unreadable, so this record's chain cannot be checked")


def _said(refusal: Refusal | None) -> str | None:
    return None if refusal is None else f"{refusal.reason.value}: {refusal.detail}"


def own_signers(registry: Registry, identity: NodeIdentity) -> tuple[Signers, list[str]]:
    """Who may sign this node's records, as its register of authorities (signed by the node key) says.

    Returns the signers and the problems of the register (empty when every record of it verifies).
    """
    certified: dict[str, CertifiedKey] = {}
    signers = Signers.of((*identity.earlier_node_keys, identity.node_public_key)[0], certified)
    problems: list[str] = []
    policy = DomainPolicy(identity.state)
    for record in verified_stream(registry, authorities_stream(identity.state), signers, policy):
        if record.problem is not None or record.envelope is None:
            problems.append(f"register of authorities, version {record.version}: {record.problem}")
            continue
        learn_register(record.envelope.type, record.envelope.body, certified)
        signers = learn_node_key(record.envelope, record.envelope.body, signers)
    if signers.node_key_id != identity.node_key_id and not problems:
        problems.append(f"the register hands the node key over to {signers.node_key_id} "
                        f"(Authority.NodeKeyChanged), but {NODE_FILE} names {identity.node_key_id}: node.json and "
                        "keys/node.key are from before a 'key rotate --node' (interrupted, or restored from an old "
                        "backup), or previous_node_keys was altered: see docs/keys.md")
    return signers, problems


def check_identity(registry: Registry, identity: NodeIdentity) -> Signers:
    """Refuse (``NodeFileDamaged``) a node.json that this log does not certify; returns the signers.

    The node's log holds its register of authorities for its state, signed by its node
    key, certifying each authority key: so node.json's state, node key and authority keys
    must all be found there, or the node would sign records the log disowns.
    """
    signers, problems = own_signers(registry, identity)
    named = f"{NODE_FILE} (state {identity.state}, node key {identity.node_key_id})"
    if problems:
        raise NodeFileDamaged(f"{named} does not match this node's log: {problems[0]}; "
                              "restore node.json and the keys from backup, then run 'armsledger verify'")
    if not signers.certified:
        raise NodeFileDamaged(f"{named} does not match this node's log: it holds no register of authorities "
                              f"of {identity.state} signed by that node key (node.json was altered, or --db "
                              "names another node's database)")
    for kind, wanted in identity.authority_key_ids.items():
        found = signers.certified.get(wanted)
        if found is None or found.kind != kind:
            raise NodeFileDamaged(f"{named}: the {kind} key {wanted} is not certified as {kind} in this node's "
                                  "log; node.json was altered: restore it from backup")
        if found.retired_from is not None or found.revoked_since is not None:
            ended = "revoked" if found.revoked_since is not None else "retired"
            raise NodeFileDamaged(f"{named}: the {kind} key {wanted} is {ended} in this node's log: node.json "
                                  f"and keys/{kind}.key are from before a key rotate or revoke (interrupted, or "
                                  "restored from an old backup): see docs/keys.md")
    return signers


def verified_history(registry: Registry, identity: NodeIdentity,
                     weapon_id: UUID) -> tuple[Weapon | None, list[CheckedRecord]]:
    """The weapon's records, each checked, and its aggregate replayed from the verified ones.

    The replay stops at the first record that fails: what follows a broken link cannot be
    trusted to apply to the state before it. The aggregate is None when the first record
    fails. ``UnknownWeapon`` when the stream holds no record, or does not open as a weapon.
    """
    signers, _ = own_signers(registry, identity)
    checked = verified_stream(registry, weapon_id, signers, DomainPolicy(identity.state))
    first = checked[0].envelope if checked else None
    if not checked or (first is not None and not first.type.startswith(WEAPON_PREFIX)):
        raise UnknownWeapon(f"no record of weapon {weapon_id}", field="weapon")
    weapon: Weapon | None = None
    for record in checked:
        if record.problem is not None or record.envelope is None:
            break
        weapon = domain_event_from(record.envelope).mutate(weapon)
    return (weapon if isinstance(weapon, Weapon) else None), checked
