"""Writing an evidence bundle: every record this node holds of a weapon, with its proofs, in one file.

The file (JSON, format in docs/evidence.md) holds our records and the partners' records received,
each with its bytes exactly as signed and its RFC 9162 inclusion proof to a signed checkpoint; those
checkpoints with the cosignatures this node holds of them; the ``Authority.Certified`` records of
the keys that signed (with their own proofs); the node keys involved with fingerprints; the
diversion verdict; and a readable HTML report. ``nodes.evidence.bundle_check`` verifies it offline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import UnknownWeapon
from domain.event_types import AUTHORITY_CERTIFIED, NODE_KEY_CHANGED
from domain.time import format_time
from ledger.envelope import Envelope
from ledger.keys import key_id
from nodes.bootstrap import Node
from nodes.evidence.proofs import Prover, checkpoint_document, node_keys_by_state, signer_key
from nodes.federation.crossborder import partner_states
from nodes.registry.certificate_file import fingerprint
from nodes.registry.identity import authorities_stream
from nodes.registry.own_records import verified_history
from nodes.tracing.verdict_report import verdict_document
from nodes.values import plain

FORMAT_FIELD = "armsledger_evidence"
FORMAT = 1
MAX_FILE_BYTES = 200_000_000

_TEMPLATES = Path(__file__).resolve().parent.parent / "registry" / "templates"


def record_entry(envelope: Envelope, source: str, proof: dict[str, Any], stored: bytes | None = None) -> dict[str, Any]:
    """One record of the bundle: its readable fields, its bytes as signed and stored, and its proof.
    ``stored``: the canonical bytes ``envelope`` was parsed from, when at hand (saves encoding them again)."""
    return {
        "source": source,
        "origin": envelope.node, "stream": envelope.stream, "version": envelope.version, "type": envelope.type,
        "authority": envelope.authority,
        "occurred_on_utc": format_time(envelope.occurred_on), "recorded_at_utc": format_time(envelope.recorded_at),
        "body": json.loads(json.dumps(dict(envelope.body), default=plain)),
        "envelope": (envelope.to_bytes() if stored is None else stored).hex(),
        "signed_bytes": envelope.signed_bytes.hex(),
        "envelope_hash": envelope.hash.hex(),
        "signature": envelope.sig.hex(),
        "leaf_hash": proof["leaf_hash"],
        "proof": proof["proof"],
        **({"note": proof["note"]} if proof.get("note") else {}),
    }


def node_key_document(state: str, public_key: bytes) -> dict[str, Any]:
    return {"state": state, "node_key_id": key_id(public_key), "node_public_key": public_key.hex(),
            "fingerprint": fingerprint(public_key)}


def export_bundle(node: Node, weapon_id: UUID, *, now: int | None = None) -> dict[str, Any]:
    """The evidence bundle of ``weapon_id`` as held here. ``UnknownWeapon`` (field ``weapon``) when this
    node holds no record of it, neither its own nor a partner's."""
    state = node.identity.state
    prover = Prover(node)
    own, received = held_records(node, weapon_id)
    partners = partner_states(node)
    records = [record_entry(e, "own", prover.own(e)) for e in own]
    records += [record_entry(e, "partner", prover.partner(e)) for e in received]
    certificates = [record_entry(e, "own" if e.node == state else "partner", prover.of(e))
                    for e in _certificates(node, [*own, *received], partners)]
    # Every node key of each state, oldest first: the bundle's announcements lead from each to the next.
    keys = node_keys_by_state(node)
    cosignatures = node.inbox.cosignatures()
    checkpoints = []
    for (origin, _), checkpoint in sorted(prover.checkpoints.items()):
        document = checkpoint_document(checkpoint, signer_key(checkpoint, keys))
        cosigned = checkpoint.to_bytes()
        document["cosignatures"] = [
            {"witness": c.witness, "witness_key": c.witness_key, "signature": c.sig.hex()}
            for c in cosignatures if origin == state and c.checkpoint == cosigned]
        checkpoints.append(document)
    involved = {state} | {r["origin"] for r in records} | {
        c["witness"] for cp in checkpoints for c in cp["cosignatures"]}
    bundle: dict[str, Any] = {
        FORMAT_FIELD: FORMAT,
        "weapon_id": str(weapon_id),
        "exported_by": state,
        "exported_at_utc": format_time(int(time.time()) if now is None else now),
        "how_to_verify": "armsledger evidence verify FILE --trust STATE.pub ... (identities each state publishes "
                         "with 'armsledger key export'; compare their fingerprints); by hand: docs/evidence.md",
        "node_keys": [node_key_document(s, public) for s in sorted(involved) if s in keys for public in keys[s]],
        "checkpoints": checkpoints,
        "certificates": certificates,
        "records": records,
        "verdict": json.loads(json.dumps(verdict_document(node, weapon_id), default=plain)),
    }
    bundle["report_html"] = render_report(bundle)
    return bundle


def held_records(node: Node, weapon_id: UUID) -> tuple[list[Envelope], list[Envelope]]:
    """Our records of ``weapon_id`` (readable ones, verified or not: the bundle's verifier says which fail)
    and the partners' records received. ``UnknownWeapon`` (field ``weapon``) when there are none."""
    try:
        _, checked = verified_history(node.registry, node.identity, weapon_id)
    except UnknownWeapon:
        checked = []
    own = [c.envelope for c in checked if c.envelope is not None]
    received = node.inbox.received_about(str(weapon_id), partner_states(node))
    if not own and not received:
        raise UnknownWeapon(f"this node holds no record of weapon {weapon_id}", field="weapon")
    return own, received


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    return (json.dumps(bundle, ensure_ascii=False, indent=1) + "\n").encode()


def render_report(bundle: dict[str, Any]) -> str:
    """The readable report: the timeline of the records, the verdict and the node keys' fingerprints."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape  # here: only the report needs it

    environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))
    timeline = sorted(bundle["records"], key=lambda r: (r["occurred_on_utc"], r["origin"], r["version"]))
    return environment.get_template("evidence_report.html").render(b=bundle, timeline=timeline)


def _certificates(node: Node, records: list[Envelope], partners: list[str]) -> list[Envelope]:
    """The ``Authority.Certified`` records, ours and partners', of the keys that signed ``records``, and the
    ``Authority.NodeKeyChanged`` records of their origins (each node key announces the next)."""
    wanted: dict[str, set[str]] = {}
    for envelope in records:
        wanted.setdefault(envelope.node, set()).add(envelope.authority)
    found = []
    for origin, signers in sorted(wanted.items()):
        stream = authorities_stream(origin)
        if origin == node.identity.state:
            register = node.registry.envelopes(stream)
        elif origin in partners:
            register = node.inbox.received(node=origin, stream=str(stream))
        else:
            continue
        found += [e for e in register if (e.type == AUTHORITY_CERTIFIED and e.body.get("key_id") in signers)
                  or e.type == NODE_KEY_CHANGED]
    return found
