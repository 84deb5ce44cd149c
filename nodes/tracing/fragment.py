"""Signed lifecycle fragments: what a state holds about a weapon, provable offline (ITI para 20).

A trace response carries the addressee's own records of the weapon as a tuple
of items, each the canonical msgpack bytes of::

    {"envelope": <envelope bytes>, "checkpoint": <checkpoint bytes>, "index": <leaf index>,
     "proof": (<32-byte hash>, ...)}

that is, the record exactly as signed by the responding state's authority, the
responder's latest signed checkpoint (RFC 9162 log head), the record's leaf
index in that log and its inclusion proof (RFC 9162 section 2.1.3). The
fragment also carries the responder's ``Authority.*`` records (signed by its node
key), so the requester verifies every item from the bytes plus its trust store:
checkpoint signed by the partner's node key and agreeing with the checkpoints of
that partner it kept; then the acceptance rule (``nodes.acceptance``): leaf proven
in that checkpoint, signature by an authority key the partner's node key
certified, of a kind permitted to record the event, versions held chained.
An item that fails any check is reported and never used. The one signature not
verified again is that of a register record the requester holds, byte for byte,
from its ingest (docs/tracing.md, "What the verdict trusts").

``build_fragment`` runs on the responder, ``verify_fragment`` (pure) on the requester.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from domain.event_types import (
    EXPORTED,
    IMPORTED,
    LICENCE_EVENT_TYPES,
    MANUFACTURED,
    RECEIPT_CONFIRMED,
    SHIPMENT_EVENT_TYPES,
    WEAPON_PREFIX,
)
from domain.licence import LicenceKind, licence_id
from ledger.acceptance import (
    CERTIFICATE_TYPE,
    NODE_KEY_CHANGE_TYPE,
    CertifiedKey,
    NodeKey,
    Refusal,
    Signers,
    check_inclusion,
    check_link,
    check_signed,
    learn_node_key,
    learn_register,
)
from ledger.audit_checkpoints import checkpoint_refusal
from ledger.checkpoint import Checkpoint
from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from ledger.keys import Ed25519PublicKey, key_id, public_bytes
from nodes.acceptance import DomainPolicy
from nodes.registry.identity import authorities_stream

if TYPE_CHECKING:
    from nodes.ports import Node
    from nodes.registry.application import Registry

_ITEM_FIELDS = frozenset({"envelope", "checkpoint", "index", "proof"})
# A restricted answer (ITI para 22) releases only the cross-border path of the weapon:
# how it came into being here and how it left, not its domestic holders.
_RESTRICTED_TYPES = frozenset({MANUFACTURED, IMPORTED, EXPORTED, RECEIPT_CONFIRMED, *SHIPMENT_EVENT_TYPES})


@dataclass(frozen=True)
class Fragment:
    """What ``build_fragment`` found: the items to send and what they show."""

    items: tuple[bytes, ...]
    records: tuple[Envelope, ...]     # the weapon's own records (no certificates)
    exported_to: tuple[str, ...]      # destinations of the exports among them, in order
    complete: bool                    # the records run from manufacture or import here on


@dataclass(frozen=True)
class FragmentCheck:
    """The verified records of a fragment, and a line per item or stream that failed."""

    records: tuple[Envelope, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()   # streams shown only in part (a restricted answer): not failures

    @property
    def ok(self) -> bool:
        return not self.problems


def build_fragment(node: Node, weapon_id: UUID | str, *, restricted: bool = False) -> Fragment:
    """The signed fragment this node holds about ``weapon_id`` (possibly empty).

    Includes the weapon's stream, the streams of our shipments it travelled in,
    our export licences its exports cite, and the authority register. Seals a
    checkpoint first so that every record is covered. ``restricted`` keeps only
    the cross-border path (manufacture/import, export, receipt, shipments).
    Requires an unlocked node (sealing signs).
    """
    registry, state = node.registry, node.identity.state
    weapon = [e for e in registry.envelopes(weapon_id) if e.type.startswith(WEAPON_PREFIX)]
    if not weapon:
        return Fragment((), (), (), False)
    streams = [weapon]
    for shipment in dict.fromkeys(str(e.body["shipment"]) for e in weapon if e.body.get("shipment")):
        streams.append(_own_stream(registry, shipment, SHIPMENT_EVENT_TYPES))  # empty for a partner's shipment
    if not restricted:
        for number in dict.fromkeys(str(e.body.get("licence", "")) for e in weapon if e.type == EXPORTED):
            if number:
                streams.append(_own_stream(registry, str(licence_id(state, LicenceKind.EXPORT_LICENCE, number)),
                                           LICENCE_EVENT_TYPES))
    records = [e for stream in streams for e in stream if not restricted or e.type in _RESTRICTED_TYPES]
    certificates = registry.envelopes(authorities_stream(state))
    # The fragment needs the checkpoint, not the fsync of the mark. One this seal stored covers every record read
    # above (they were logged before it): taken as the sealer read it back; else the one that stood, as the seal's
    # check read it.
    checkpoint = node.sealer.seal_or_latest(mark_later=True)
    assert checkpoint is not None, "seal() leaves a checkpoint over a log that holds records"
    # The leaves of the streams shown, looked up by stream (not the whole leaf index), all in one read.
    shown = (*certificates, *records)
    leaves = {(stream, version): index
              for stream, versions in node.sealer.leaves_of_streams(e.stream for e in shown).items()
              for version, (index, _) in versions.items()}
    indexes = [leaves[(envelope.stream, envelope.version)] for envelope in shown]
    proofs = node.sealer.inclusion_proofs(indexes, checkpoint.size)  # the subtree roots they share made once
    signed_head = checkpoint.to_bytes()
    items = [canonical_encode({"envelope": envelope.to_bytes(), "checkpoint": signed_head, "index": index,
                               "proof": tuple(proof)})
             for envelope, index, proof in zip(shown, indexes, proofs, strict=True)]
    exported_to = tuple(dict.fromkeys(str(e.body.get("to_state", "")) for e in weapon
                                      if e.type == EXPORTED and e.body.get("to_state")))
    complete = weapon[0].type in (MANUFACTURED, IMPORTED)
    return Fragment(tuple(items), tuple(records), exported_to, complete)


def _own_stream(registry: Registry, stream: str, types: frozenset[str]) -> list[Envelope]:
    try:
        UUID(stream)
    except ValueError:
        return []
    return [e for e in registry.envelopes(stream) if e.type in types]


def decode_item(item: bytes, parsed: dict[bytes, Checkpoint] | None = None,
                ) -> tuple[Envelope, Checkpoint, int, tuple[bytes, ...]]:
    """Parse one fragment item; raises ``LedgerError`` (or a subclass) naming what is wrong.

    ``parsed``: checkpoints parsed already, by their bytes, to which this one is added (the items of one
    fragment cite one checkpoint, most often: it is parsed once).
    """
    value = canonical_decode(bytes(item))
    if not isinstance(value, dict) or set(value) != _ITEM_FIELDS:
        raise LedgerError("not a fragment item {envelope, checkpoint, index, proof}")
    index, proof = value["index"], value["proof"]
    if not isinstance(index, int) or isinstance(index, bool) or not isinstance(proof, tuple) \
            or not all(isinstance(p, bytes) for p in proof):
        raise LedgerError("fragment item: index must be an integer and proof a list of hashes")
    if not isinstance(value["envelope"], bytes) or not isinstance(value["checkpoint"], bytes):
        raise LedgerError("fragment item: envelope and checkpoint must be bytes")
    envelope = Envelope.from_bytes(value["envelope"])
    raw = value["checkpoint"]
    checkpoint = parsed.get(raw) if parsed is not None else None
    if checkpoint is None:
        checkpoint = Checkpoint.from_bytes(raw)
        if parsed is not None:
            parsed[raw] = checkpoint
    return envelope, checkpoint, index, proof


def cited_sizes(items: object) -> set[int]:
    """The sizes of the checkpoints ``items`` cite (those that read as a fragment item's checkpoint); pure.

    Which of the partner's kept checkpoints ``verify_fragment`` compares with (its ``kept``): no item
    ``decode_item`` reads well is left out, since this reads them no more strictly. Anything else is
    skipped here and reported by ``verify_fragment``.
    """
    sizes: set[int] = set()
    seen: set[bytes] = set()
    try:
        listed = list(items)  # type: ignore[call-overload]
    except TypeError:
        return sizes
    for item in listed:
        try:
            value = canonical_decode(bytes(item))
            raw = value.get("checkpoint") if isinstance(value, dict) else None
            if isinstance(raw, bytes) and raw not in seen:
                seen.add(raw)
                sizes.add(Checkpoint.from_bytes(raw).size)
        except (LedgerError, TypeError, ValueError):
            continue
    return sizes


def verify_fragment(
    items: Iterable[bytes], *, origin: str, node_key: Ed25519PublicKey | None,
    kept: Iterable[Checkpoint] = (), certificates: Sequence[Envelope] = (), earlier_keys: Iterable[NodeKey] = (),
) -> FragmentCheck:
    """Verify a fragment from ``origin`` (see the module docstring); pure.

    ``node_key``: the partner's trusted node key (None: not a partner, nothing
    verifies). ``kept``: that partner's checkpoints kept on ingest; one of the
    same size must have the same root (else the partner shows two histories).
    ``certificates``: its register records (``Authority.*``) held already, each accepted at ingest by the
    same rule and kept in the inbox, where ``armsledger verify`` checks it again: their Ed25519 signatures
    (and those of fragment items that are the same records, signature included) are not verified here
    again; their signer, permission, body and chain are.
    ``earlier_keys``: the partner's node keys before ``node_key`` (``Partner.previous_keys``), each valid for
    the checkpoints and register records it signed before it handed over.
    Returns the verified records (certificates included) and the problems.
    """
    items = list(items)
    if node_key is None:
        refused = f"{origin} is not a trusted partner: none of its {len(items)} fragment items can be verified"
        return FragmentCheck((), (refused,) if items else ())
    node_key_id = key_id(node_key)
    earlier = {k.key_id: k for k in earlier_keys}
    node_keys = {**earlier, node_key_id: NodeKey(node_key_id, public_bytes(node_key))}
    kept_roots = {c.size: c.root for c in kept}
    problems: list[str] = []
    checked: dict[Checkpoint, str | None] = {}  # checkpoint -> problem (None: good)
    parsed: dict[bytes, Checkpoint] = {}  # the items' checkpoints by their bytes, each parsed once
    proven: list[tuple[int, Envelope]] = []
    for position, item in enumerate(items, start=1):
        try:
            envelope, checkpoint, index, proof = decode_item(item, parsed)
        except (LedgerError, TypeError, ValueError) as e:
            problems.append(f"item {position}: unreadable ({e})")
            continue
        what = f"item {position} ({envelope.type} {envelope.stream} v{envelope.version})"
        if envelope.node != origin:
            problems.append(f"{what}: recorded by {envelope.node}, not by {origin}")
            continue
        if checkpoint not in checked:
            checked[checkpoint] = _checkpoint_problem(checkpoint, origin, node_keys, kept_roots)
        if checked[checkpoint] is not None:
            problems.append(f"{what}: {checked[checkpoint]}")
            continue
        refusal = check_inclusion(envelope, index, proof, checkpoint)
        if refusal is not None:
            problems.append(f"{what}: {origin}'s record {refusal.detail}")
            continue
        proven.append((position, envelope))
    # The one acceptance rule (ledger.acceptance with the domain's permissions): the register first, in
    # version order from the partner's first node key held (its announcements hand over to the next),
    # learning its certificates; then every other record against the keys they certify.
    policy = DomainPolicy(origin)
    certified: dict[str, CertifiedKey] = {}
    first = earlier[next(iter(earlier))] if earlier else NodeKey(node_key_id, public_bytes(node_key))
    signers = Signers(first.key_id, first.public_key, certified)
    register = str(authorities_stream(origin))
    candidates = {e.hash: e for e in (*certificates, *(e for _, e in proven))
                  if e.node == origin and (e.type == CERTIFICATE_TYPE or e.type == NODE_KEY_CHANGE_TYPE)
                  and e.stream == register}
    held = {(e.hash, e.sig) for e in certificates}
    judged: dict[bytes, Refusal | None] = {}
    for record in sorted(candidates.values(), key=lambda e: e.version):
        judged[record.hash] = check_signed(record, signers, policy, body=record.body,
                                           signature_ok=True if (record.hash, record.sig) in held else None)
        if judged[record.hash] is None:
            learn_register(record.type, record.body, certified)
            signers = learn_node_key(record, record.body, signers)
    signers = Signers(node_key_id, public_bytes(node_key), certified, {**signers.earlier_node_keys, **earlier})
    records: list[Envelope] = []
    for position, envelope in proven:
        what = f"item {position} ({envelope.type} {envelope.stream} v{envelope.version})"
        refusal = judged[envelope.hash] if envelope.hash in judged else check_signed(
            envelope, signers, policy, body=envelope.body,
            signature_ok=True if (envelope.hash, envelope.sig) in held else None)
        if refusal is not None:
            problems.append(f"{what}: {refusal.detail}")
        else:
            records.append(envelope)
    notes: list[str] = []
    return FragmentCheck(tuple(_chained(records, problems, notes)), tuple(problems), tuple(notes))


def _checkpoint_problem(checkpoint: Checkpoint, origin: str, node_keys: Mapping[str, NodeKey],
                        kept_roots: dict[int, bytes]) -> str | None:
    if checkpoint.origin != origin:
        return f"its checkpoint is of {checkpoint.origin}'s log, not {origin}'s"
    why = checkpoint_refusal(checkpoint, node_keys)
    if why is not None:
        return f"its checkpoint is not signed by {origin}'s node key ({why})"
    if checkpoint.size in kept_roots and kept_roots[checkpoint.size] != checkpoint.root:
        return (f"its checkpoint of size {checkpoint.size} has another root than the one {origin} sent us "
                "before: two histories of one log")
    return None


def _chained(records: list[Envelope], problems: list[str], notes: list[str]) -> list[Envelope]:
    """Drop the records of any stream whose versions held do not link; a partial stream is noted, not dropped."""
    streams: dict[str, dict[int, Envelope]] = defaultdict(dict)
    for envelope in records:
        streams[envelope.stream][envelope.version] = envelope
    broken = set()
    for stream, versions in streams.items():
        if sorted(versions) != list(range(1, len(versions) + 1)):
            notes.append(f"stream {stream}: versions {sorted(versions)} are not the whole "
                         "stream (records withheld); each record shown is proven on its own")
        for version in sorted(versions):
            previous = versions.get(version - 1)
            refusal = check_link(versions[version], previous=previous.hash if previous is not None else None)
            if refusal is not None:
                problems.append(f"stream {stream} version {version}: {refusal.detail}")
                broken.add(stream)
                break
    return [e for e in records if e.stream not in broken]
