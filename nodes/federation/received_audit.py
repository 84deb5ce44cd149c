"""Audit of the partner records a node holds in its inbox (part of ``armsledger verify``).

Each received record is judged again by the acceptance rule (``ledger.acceptance``
with ``nodes.acceptance.DomainPolicy``), against the partner's node key in the
trust store and the certificates of that partner held before it: signature,
certificate, permission, the chain with the neighbouring versions held, and the
row's columns (id, version, topic) against the signed envelope. Rows are told
apart by their bytes, never by the unsigned topic column. Inclusion was proved
at ingest; the inbox keeps no proofs, so it is not proved again (docs/verification.md).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from eventsourcing.persistence import Notification

from ledger.acceptance import (
    CERTIFICATE_TYPE,
    CertifiedKey,
    Refusal,
    Signers,
    check_link,
    check_row,
    check_signed,
    learn_node_key,
    learn_register,
    revoked_signer,
    revoked_words,
    verify_signatures,
)
from ledger.audit_checkpoints import checkpoint_refusal
from ledger.audit_records import KIND_OF
from ledger.audit_report import Problem, ProblemKind
from ledger.checkpoint import Checkpoint
from ledger.envelope import Envelope
from ledger.errors import CheckpointError, EncodingError, LedgerError
from ledger.keys import key_id
from nodes.acceptance import DomainPolicy
from nodes.federation.inbox_records import (
    INTERNAL_PREFIX,
    PARTNER_CHECKPOINT,
    received_stream_id,
)
from nodes.federation.trust import Partner

_CHUNK = 1000  # signatures per task on the executor


@dataclass
class ReceivedAudit:
    """What ``audit_received`` found: how many partner records it checked, and the problems."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    flagged: list[Problem] = field(default_factory=list)  # signed by a key after it was revoked since


def audit_received(rows: Iterable[Notification], partners: dict[str, Partner], *,
                   executor: Executor | None = None) -> ReceivedAudit:
    """Audit the inbox ``rows`` (``Inbox.stored_rows()``, in arrival order) against the trusted ``partners``.

    ``executor``: where signatures are verified, in chunks (``None``: in this process).
    Never raises for what it finds: every finding is a ``Problem`` naming the partner,
    stream and version (``position`` is the row's place in the inbox).
    """
    result = ReceivedAudit()
    received: list[tuple[Notification, Envelope]] = []
    for row in rows:
        try:
            if row.state is None:  # a damaged row (the column allows NULL): named, never a TypeError
                raise EncodingError("the row holds no bytes (NULL)")
            received.append((row, Envelope.from_bytes(row.state)))
        except LedgerError as e:
            if row.topic == PARTNER_CHECKPOINT:
                _check_checkpoint(row, partners, result)
            elif not row.topic.startswith(INTERNAL_PREFIX):
                result.checked += 1
                result.problems.append(Problem(None, row.originator_version, row.id, ProblemKind.ENCODING,
                                               f"a received record's bytes are not a signed envelope: {e}"))
            # else bookkeeping: quarantine entries, cosignatures
    signature_ok = _signatures(received, partners, executor)
    signers: dict[str, Signers] = {}
    policies: dict[str, DomainPolicy] = {}
    certified: dict[str, dict[str, CertifiedKey]] = defaultdict(dict)
    held: dict[tuple[str, str], dict[int, tuple[int, Envelope]]] = defaultdict(dict)  # -> (row id, envelope)
    untrusted: dict[str, int] = defaultdict(int)
    accepted: list[tuple[int, Envelope]] = []
    for at, (row, envelope) in enumerate(received):
        result.checked += 1
        origin = envelope.node
        partner = partners.get(origin)
        if partner is None:
            untrusted[origin] += 1
            continue
        if origin not in signers:
            # From the first node key trusted: the announcements held hand over to the next (docs/keys.md).
            signers[origin] = partner.first_signers(certified[origin])
            policies[origin] = DomainPolicy(origin)
        refusals = [check_row(envelope, stream=_stream_of(row, envelope), version=row.originator_version,
                              topic=row.topic),
                    check_signed(envelope, signers[origin], policies[origin], body=envelope.body,
                                 signature_ok=signature_ok.get(at))]
        for refusal in refusals:
            if refusal is not None:
                result.problems.append(_problem(envelope, row.id, refusal))
        if refusals[1] is None:
            learn_register(envelope.type, envelope.body, certified[origin])
            signers[origin] = learn_node_key(envelope, envelope.body, signers[origin])
            accepted.append((row.id, envelope))
        held[(origin, envelope.stream)][envelope.version] = (row.id, envelope)
    for position, envelope in accepted:
        # Against every revocation held of its origin, also those received after it (docs/keys.md).
        revoked = revoked_signer(envelope, certified[envelope.node])
        if revoked is not None:
            result.flagged.append(Problem(envelope.stream, envelope.version, position, ProblemKind.REVOKED,
                                          revoked_words(revoked), envelope.node))
    for versions in held.values():
        # The partner shares some records of a stream and not others: only neighbours held are linked.
        for version, (position, envelope) in versions.items():
            previous = versions.get(version - 1)
            refusal = check_link(envelope, previous=previous[1].hash if previous is not None else None)
            if refusal is not None:
                result.problems.append(_problem(envelope, position, refusal))
    for origin, count in sorted(untrusted.items()):
        result.problems.append(Problem(None, None, None, ProblemKind.UNTRUSTED,
                                       f"{count} records held of {origin}, which is not a trusted partner: "
                                       "they cannot be verified (armsledger trust add)", origin))
    return result


def _signatures(received: list[tuple[Notification, Envelope]], partners: dict[str, Partner],
                executor: Executor | None) -> dict[int, bool]:
    """Whether each record's signature verifies with the key its authority names, where a key of
    that id is known (the node key or a certified one): by index in ``received``. Which key may
    sign which record, and from when on, is the rule's to decide, in arrival order."""
    candidates: dict[str, dict[str, bytes]] = {origin: {k.key_id: k.public_key for k in p.node_keys().values()}
                                               for origin, p in partners.items()}
    for _, envelope in received:
        public = envelope.body.get("public_key") if envelope.type == CERTIFICATE_TYPE else None
        if envelope.node in candidates and isinstance(public, bytes) and len(public) == 32:
            candidates[envelope.node][key_id(public)] = public
    at, tasks = [], []
    for index, (_, envelope) in enumerate(received):
        raw = candidates.get(envelope.node, {}).get(envelope.authority)
        if raw is not None:
            at.append(index)
            tasks.append((raw, envelope.sig, envelope.hash))
    chunks = [tasks[i:i + _CHUNK] for i in range(0, len(tasks), _CHUNK)]
    if executor is None:
        results = [ok for chunk in chunks for ok in verify_signatures(chunk)]
    else:
        results = [ok for verified in executor.map(verify_signatures, chunks) for ok in verified]
    return dict(zip(at, results))


def _stream_of(row: Notification, envelope: Envelope) -> str:
    """The envelope's stream when the row's id is the one derived from it (``received_stream_id``),
    else the row's id, which then differs from the signed stream."""
    if isinstance(row.originator_id, uuid.UUID):
        row_id = row.originator_id
    else:  # SQLite holds the id as text, which a damaged row may hold anything in
        try:
            row_id = uuid.UUID(str(row.originator_id))
        except ValueError:
            return f"id {str(row.originator_id)[:64]!r}"
    return envelope.stream if row_id == received_stream_id(envelope.node, envelope.stream) else f"id {row_id}"


def _problem(envelope: Envelope, position: int | None, refusal: Refusal) -> Problem:
    return Problem(envelope.stream, envelope.version, position, KIND_OF[refusal.reason], refusal.detail,
                   envelope.node)


def _check_checkpoint(row: Notification, partners: dict[str, Partner], result: ReceivedAudit) -> None:
    try:
        if row.state is None:
            raise EncodingError("the row holds no bytes (NULL)")
        checkpoint = Checkpoint.from_bytes(row.state)
        partner = partners.get(checkpoint.origin)
        why = checkpoint_refusal(checkpoint, partner.node_keys()) if partner is not None else None
        if why is not None:
            raise CheckpointError(why)
    except LedgerError as e:
        result.problems.append(Problem(None, None, row.id, ProblemKind.CHECKPOINT,
                                       f"a kept partner checkpoint does not verify: {e}"))
