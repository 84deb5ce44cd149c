"""The one rule that decides whether a signed record is acceptable.

Pure checks over one record and what is known of its origin's log: who may sign
it (the origin's node key, or an authority key that node key certified and had
not retired by the record's signed recording time), its Ed25519
signature, the signer's permission, the per-stream chain, inclusion in a
checkpoint and the stored row's columns. ``revoked_signer`` flags, without
refusing it, a record signed at or after the time its key was revoked since. ``ledger.audit`` (``armsledger
verify``), ingest and trace-fragment verification all decide with these
functions; docs/verification.md describes the protocol.

Which authority kind may record which type is firearms law, so it is not here:
the caller passes a ``Policy`` (``nodes.acceptance`` wraps the domain's table).
The ledger keeps what is structural: the node key signs only its register of
authorities (``Authority.*`` records), and a certificate must name its key. The node key
itself changes by an ``Authority.NodeKeyChanged`` record that the current node key signs and
the new key countersigns (``learn_node_key``); earlier node keys stay valid for what they
signed before (docs/keys.md).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from ledger.checkpoint import Checkpoint, envelope_leaf
from ledger.envelope import (
    GENESIS_PREV,
    REGISTER_PREFIX as REGISTER_PREFIX,  # the node key's register: Authority.* records
)
from ledger.errors import LedgerError, VerificationError
from ledger.keys import (
    key_id,
    public_key_from_bytes,
    verify_signatures as verify_signatures,  # the one bulk verifier, kept with the keys
)
from ledger.proofs import verify_inclusion, verify_inclusions

CERTIFICATE_TYPE = "Authority.Certified"
"""Type of an authority certificate; body ``{key_id, public_key, kind, name}``, signed by the node key."""

RETIREMENT_TYPE = "Authority.Retired"
"""An authority key retired from a time on; body ``{key_id, kind, retired_from, successor}``, by the node key."""

REVOCATION_TYPE = "Authority.Revoked"
"""An authority key revoked since a time; body ``{key_id, kind, since, reason, successor}``, by the node key."""

NODE_KEY_CHANGE_TYPE = "Authority.NodeKeyChanged"
"""The node key hands over to a new one; body ``{new_key_id, new_public_key, previous_public_key,
countersignature}``, signed by the old node key, the countersignature by the new key (``node_key_change_message``)."""

NODE_KEY_CHANGE_CONTEXT = b"armsledger node key change v1\n"
"""Prefix of the message the new node key countersigns: proof that whoever announced it holds it."""


class Reason(StrEnum):
    """Why a record is refused; each caller words it in its own report (audit problem, quarantine)."""

    UNCERTIFIED = "uncertified"  # signed by a key the node key had not certified before this record
    REGISTER = "register"        # node key outside its register, or a register record by another key
    CERTIFICATE = "certificate"  # a certificate that does not name its key properly
    SIGNATURE = "signature"      # the Ed25519 signature does not verify
    PERMISSION = "permission"    # the policy refuses this type to the signer's kind
    CHAIN = "chain"              # prev does not link with the neighbouring version held
    INCLUSION = "inclusion"      # the inclusion proof does not lead to the checkpoint's root
    ROW = "row"                  # a stored column differs from the signed envelope
    RETIRED = "retired"          # signed by a key at or after the time it was retired from


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    detail: str


class SignedRecord(Protocol):
    """What the checks read of a record: an ``Envelope``, or a summary with the same fields."""

    @property
    def stream(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def authority(self) -> str: ...
    @property
    def recorded_at(self) -> int: ...  # microseconds since the epoch, signed
    @property
    def prev(self) -> bytes: ...
    @property
    def hash(self) -> bytes: ...
    @property
    def sig(self) -> bytes: ...


class SignedAt(Protocol):
    """What ``revoked_signer`` reads of a record: who signed it and when (any record type that has them)."""

    @property
    def authority(self) -> str: ...
    @property
    def recorded_at(self) -> int: ...


class Policy(Protocol):
    """Which signer may record which type (a rule of the domain, passed in by the node layer)."""

    def refusal(self, record_type: str, stream: str, kind: str | None) -> str | None:
        """Why an authority of ``kind`` (``None``: the node key) may not record ``record_type``
        in ``stream``; ``None`` when it may."""
        ...


@dataclass(frozen=True)
class CertifiedKey:
    """A key the node key certified and, where its register says so, retired or revoked (epoch seconds)."""

    key_id: str
    public_key: bytes  # raw, 32 bytes
    kind: str
    retired_from: int | None = None  # records recorded at or after it are refused
    revoked_since: int | None = None  # records recorded at or after it are flagged (``revoked_signer``)
    revoked_reason: str = ""


@dataclass(frozen=True)
class NodeKey:
    """A node key of an origin. Once it handed over to the next key: ``retired_from`` (microseconds, the
    signed recording time of the announcement), records it signed at or after it are refused; ``last_size``
    (the announcement's log index + 1, where known), checkpoints it signed of a larger size are refused:
    it seals the log up to its own announcement, so a partner can prove that record with a key it trusts."""

    key_id: str
    public_key: bytes  # raw, 32 bytes
    retired_from: int | None = None
    last_size: int | None = None


@dataclass(frozen=True)
class Signers:
    """Who may sign an origin's records: its node key, the keys it certified so far, and its earlier node keys
    (each for what it signed before it handed over: ``learn_node_key``)."""

    node_key_id: str
    node_key: bytes  # raw, 32 bytes
    certified: Mapping[str, CertifiedKey]
    earlier_node_keys: Mapping[str, NodeKey] = field(default_factory=dict)

    @classmethod
    def of(cls, node_key: bytes, certified: Mapping[str, CertifiedKey]) -> Signers:
        return cls(key_id(node_key), node_key, certified)

    def node_keys(self) -> dict[str, NodeKey]:
        """Every node key of the origin by id, the current one without an end: for checking checkpoints."""
        return {**self.earlier_node_keys, self.node_key_id: NodeKey(self.node_key_id, self.node_key)}


def node_key_change_message(previous_public_key: bytes, new_public_key: bytes) -> bytes:
    """What the new node key signs in an ``Authority.NodeKeyChanged`` body (its ``countersignature``)."""
    return NODE_KEY_CHANGE_CONTEXT + previous_public_key + new_public_key


def read_node_key_change(body: Mapping[str, Any], signed_by: bytes) -> NodeKey | Refusal:
    """The new node key an ``Authority.NodeKeyChanged`` body signed by node key ``signed_by`` announces, or why
    it announces none: fields, key id, the previous key being the signer, the new key's countersignature."""
    new, claimed, previous, counter = (body.get(name) for name in (
        "new_public_key", "new_key_id", "previous_public_key", "countersignature"))
    if not (isinstance(new, bytes) and len(new) == 32 and isinstance(previous, bytes)
            and isinstance(counter, bytes)):
        return Refusal(Reason.CERTIFICATE, "a node key change needs new_public_key (32 bytes), new_key_id, "
                                           "previous_public_key and countersignature")
    if claimed != key_id(new):
        return Refusal(Reason.CERTIFICATE,
                       f"node key change names key id {claimed!r} for a key whose id is {key_id(new)}")
    if previous != signed_by:
        return Refusal(Reason.CERTIFICATE, f"node key change names previous key {key_id(previous)}, but is signed "
                                           f"by {key_id(signed_by)}")
    if new == signed_by:
        return Refusal(Reason.CERTIFICATE, "node key change announces the key that signs it")
    if not verify_signatures([(new, counter, node_key_change_message(previous, new))])[0]:
        return Refusal(Reason.CERTIFICATE, f"node key change: the countersignature does not verify for the new "
                                           f"key {claimed}: nothing proves its holder announced it")
    return NodeKey(claimed, new)


def learn_node_key(record: SignedRecord, body: Mapping[str, Any], signers: Signers, *,
                   log_size: int | None = None) -> Signers:
    """The signers after an accepted ``record`` (``check_signed`` passed): a node key change signed by the
    current node key makes the new key current and keeps the old one for what it signed before ``record``.

    ``log_size``: the record's log index + 1 in its origin's log, when known (``NodeKey.last_size``)."""
    if record.type != NODE_KEY_CHANGE_TYPE or record.authority != signers.node_key_id:
        return signers
    new = read_node_key_change(body, signers.node_key)
    if isinstance(new, Refusal):
        return signers
    old = NodeKey(signers.node_key_id, signers.node_key, record.recorded_at, log_size)
    return Signers(new.key_id, new.public_key, signers.certified, {**signers.earlier_node_keys, old.key_id: old})


def read_certificate(body: Mapping[str, Any]) -> CertifiedKey | Refusal:
    """The key an ``Authority.Certified`` body certifies, or why it certifies nothing."""
    public, claimed, kind = body.get("public_key"), body.get("key_id"), body.get("kind")
    if not (isinstance(public, bytes) and len(public) == 32 and isinstance(kind, str)
            and isinstance(body.get("name"), str)):
        return Refusal(Reason.CERTIFICATE, "certificate body needs public_key (32 bytes), key_id, kind and name")
    if claimed != key_id(public):
        return Refusal(Reason.CERTIFICATE,
                       f"certificate names key id {claimed!r} for a key whose id is {key_id(public)}")
    try:
        public_key_from_bytes(public)
    except LedgerError as e:
        return Refusal(Reason.CERTIFICATE, f"certificate: {e}")
    return CertifiedKey(claimed, public, kind)


def learn_register(record_type: str, body: Mapping[str, Any], certified: MutableMapping[str, CertifiedKey]) -> None:
    """Learn what an accepted register record (signed by the node key) tells of its keys into ``certified``.

    A certificate adds its key (a key certified again keeps what was learnt of it: a
    retired or revoked key is not restored by certifying it again); a retirement or
    revocation marks a key certified earlier, the earliest time winning. Records of
    other types, and bodies without the fields, change nothing.
    """
    if record_type == CERTIFICATE_TYPE:
        key = read_certificate(body)
        if isinstance(key, CertifiedKey) and key.key_id not in certified:
            certified[key.key_id] = key
        return
    if record_type not in (RETIREMENT_TYPE, REVOCATION_TYPE):
        return
    named = body.get("key_id")
    known = certified.get(named) if isinstance(named, str) else None
    at = body.get("retired_from" if record_type == RETIREMENT_TYPE else "since")
    if known is None or not isinstance(at, int) or isinstance(at, bool):
        return
    if record_type == RETIREMENT_TYPE:
        certified[known.key_id] = replace(known, retired_from=_earliest(known.retired_from, at))
    else:
        reason = body.get("reason")
        certified[known.key_id] = replace(known, revoked_since=_earliest(known.revoked_since, at),
                                          revoked_reason=reason if isinstance(reason, str) else "")


def _earliest(known: int | None, at: int) -> int:
    return at if known is None else min(known, at)


def revoked_signer(record: SignedAt, certified: Mapping[str, CertifiedKey]) -> CertifiedKey | None:
    """The revoked key that signed ``record`` at or after the time it was revoked since, else ``None``.

    ``certified``: every key of the record's origin with every revocation held, also those
    recorded after ``record``: a record signed with a stolen key before the revocation was
    recorded is flagged (docs/keys.md), never used as evidence.
    """
    key = certified.get(record.authority)
    if key is None or key.revoked_since is None or record.recorded_at < key.revoked_since * 1_000_000:
        return None
    return key


def revoked_words(key: CertifiedKey) -> str:
    """What a flag says of a record signed by revoked ``key`` (``revoked_signer``)."""
    return (f"SIGNED BY A REVOKED KEY: key {key.key_id} ({key.kind}) is revoked since "
            f"{_utc(key.revoked_since or 0)} ({key.revoked_reason or 'no reason given'}); not evidence")


def signer(record: SignedRecord, signers: Signers) -> tuple[bytes, str | None] | Refusal:
    """(raw key, kind) that must have signed ``record`` (kind ``None``: the node key), or why none may."""
    earlier = signers.earlier_node_keys.get(record.authority)
    if record.authority == signers.node_key_id or earlier is not None:
        if not record.type.startswith(REGISTER_PREFIX):
            return Refusal(Reason.REGISTER, f"{record.type} is signed by the node key, which signs only "
                                            f"{REGISTER_PREFIX}* records")
        if record.authority == signers.node_key_id or earlier is None:
            return signers.node_key, None
        if earlier.retired_from is not None and record.recorded_at >= earlier.retired_from:
            return Refusal(Reason.RETIRED, f"{record.type} is signed by node key {record.authority}, which handed "
                                           f"over to {signers.node_key_id} at {_utc(earlier.retired_from // 1_000_000)}"
                                           f", but recorded at {_utc(record.recorded_at // 1_000_000)}")
        return earlier.public_key, None
    if record.type.startswith(REGISTER_PREFIX):
        return Refusal(Reason.REGISTER, f"{record.type} is signed by key {record.authority}, "
                                        f"not by the node key {signers.node_key_id}")
    found = signers.certified.get(record.authority)
    if found is None:
        return Refusal(Reason.UNCERTIFIED, f"{record.type} is signed by key {record.authority}, which the node key "
                                           f"has not certified: no earlier {CERTIFICATE_TYPE} record names it")
    return found.public_key, found.kind


def check_signed(record: SignedRecord, signers: Signers, policy: Policy, *,
                 signature_ok: bool | None = None, signature_by: tuple[bytes, bool] | None = None,
                 body: Mapping[str, Any] | None = None) -> Refusal | None:
    """The first refusal of: signer, signature, permission, certificate body; ``None`` if all hold.

    ``signature_ok``: the result of ``verify_signatures`` for this record with the key
    ``signer`` names, when already known (None: verified here). ``signature_by``: (raw key, the
    result of ``verify_signatures`` for this record with that key), when known: used only if
    that key is the one ``signer`` names, else verified here. ``body`` is required
    for a certificate (``CERTIFICATE_TYPE``) and a node key change (``NODE_KEY_CHANGE_TYPE``),
    and read for nothing else.
    """
    found = signer(record, signers)
    if isinstance(found, Refusal):
        return found
    raw, kind = found
    if signature_ok is None and signature_by is not None and signature_by[0] == raw:
        signature_ok = signature_by[1]
    if signature_ok is None:
        signature_ok = verify_signatures([(raw, record.sig, record.hash)])[0]
    if not signature_ok:
        return Refusal(Reason.SIGNATURE, f"{record.type}: Ed25519 signature does not verify for key "
                                         f"{record.authority}")
    retired = _retired(record, signers.certified.get(record.authority) if kind is not None else None)
    if retired is not None:
        return retired
    why = policy.refusal(record.type, record.stream, kind)
    if why is not None:
        return Refusal(Reason.PERMISSION, why)
    if record.type == CERTIFICATE_TYPE:
        certificate = read_certificate(body if body is not None else {})
        if isinstance(certificate, Refusal):
            return certificate
    if record.type == NODE_KEY_CHANGE_TYPE:
        if record.authority != signers.node_key_id:
            return Refusal(Reason.REGISTER, f"a node key change is signed by key {record.authority}, not by the "
                                            f"current node key {signers.node_key_id}: only it announces its successor")
        change = read_node_key_change(body if body is not None else {}, raw)
        if isinstance(change, Refusal):
            return change
    return None


def _retired(record: SignedRecord, key: CertifiedKey | None) -> Refusal | None:
    """Whether ``key`` was retired, as far as known, by ``record``'s signed recording time.

    A retirement is never set in the past (``nodes.registry.key_changes``), so no record the
    key signed while in use is refused, whether the retirement is read before or after it.
    A revocation refuses nothing: it flags (``revoked_signer``), in every place alike.
    """
    if key is None:
        return None
    recorded = record.recorded_at // 1_000_000
    if key.retired_from is not None and recorded >= key.retired_from:
        return Refusal(Reason.RETIRED, f"{record.type} is signed by key {record.authority}, retired from "
                                       f"{_utc(key.retired_from)}, but recorded at {_utc(recorded)}")
    return None


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_link(record: SignedRecord, *, previous: bytes | None = None,
               next_prev: bytes | None = None) -> Refusal | None:
    """Whether ``record`` chains with its neighbours in its stream, where they are held.

    ``previous``: hash of version - 1 (for version 1 the chain starts at ``GENESIS_PREV``);
    ``next_prev``: ``prev`` of version + 1. ``None`` where that version is not held.
    """
    if record.version == 1:
        previous = GENESIS_PREV
    if previous is not None and record.prev != previous:
        what = "the first version must start the chain" if record.version == 1 else \
            f"prev is not the hash of version {record.version - 1}"
        return Refusal(Reason.CHAIN, what)
    if next_prev is not None and next_prev != record.hash:
        return Refusal(Reason.CHAIN, f"version {record.version + 1} does not follow it")
    return None


def check_inclusion(record: SignedRecord, index: int, proof: Sequence[bytes],
                    checkpoint: Checkpoint) -> Refusal | None:
    """Whether ``proof`` leads from ``record``'s leaf at ``index`` to ``checkpoint``'s root (RFC 9162 2.1.3.2).

    Requires a checkpoint whose signature the caller verified.
    """
    try:
        verify_inclusion(index, checkpoint.size, envelope_leaf(record.hash), list(proof), checkpoint.root)
    except VerificationError as e:
        return Refusal(Reason.INCLUSION, f"not in the log at the checkpoint of size {checkpoint.size}: {e}")
    return None


def check_inclusions(records: Sequence[SignedRecord], indexes: Sequence[int], proofs: Sequence[Sequence[bytes]],
                     checkpoint: Checkpoint) -> list[Refusal | None]:
    """``check_inclusion`` of each record at its index with its proof: the same verdicts, in order.

    All are checked at once (``verify_inclusions``: paths that meet are followed up once); only
    when one fails is each checked alone, to say which and why. Requires a checkpoint whose
    signature the caller verified, and as many indexes and proofs as records.
    """
    try:
        verify_inclusions(indexes, checkpoint.size, [envelope_leaf(r.hash) for r in records], proofs,
                          checkpoint.root)
    except VerificationError:
        return [check_inclusion(r, i, p, checkpoint) for r, i, p in zip(records, indexes, proofs, strict=True)]
    return [None] * len(records)


def check_row(record: SignedRecord, *, stream: str | None = None, version: int | None = None,
              topic: str | None = None) -> Refusal | None:
    """Whether the stored row's unsigned columns repeat the signed envelope (``None``: column not checked)."""
    differing = [f"{name} {column!r} (signed: {signed!r})" for name, column, signed in (
        ("stream", stream, record.stream), ("version", version, record.version), ("topic", topic, record.type))
        if column is not None and column != signed]
    if differing:
        return Refusal(Reason.ROW, f"the row's {', '.join(differing)} differs from the signed envelope")
    return None

