"""Verifying an evidence bundle offline: no database, no network, no node directory.

``verify_bundle`` checks every part of the file that is signed (docs/evidence.md): each node key
against its key id and fingerprint (and against the keys you trust); each checkpoint's signature
over its signed bytes, and each cosignature; each record and certificate by the one acceptance
rule (``ledger.acceptance``: signer certified by the node key before, Ed25519 signature, permission
of its authority kind), its readable fields against its signed bytes, its chain with the versions
shown, and its RFC 9162 inclusion proof to a verified checkpoint. The verdict and the HTML report
are the exporting node's reading of the records: not signed, not checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidField
from ledger.acceptance import CertifiedKey, Signers, check_link, check_signed, read_certificate
from ledger.checkpoint import Checkpoint, envelope_leaf, verify_checkpoint
from ledger.cosignature import verify_checkpoint_cosignature
from ledger.envelope import Envelope
from ledger.errors import LedgerError, VerificationError
from ledger.keys import key_id, public_key_from_bytes
from ledger.proofs import verify_inclusion
from nodes.acceptance import DomainPolicy
from nodes.evidence.bundle import FORMAT, FORMAT_FIELD, node_key_document, record_entry
from nodes.evidence.proofs import checkpoint_document

_SECTIONS = {"weapon_id": str, "node_keys": list, "checkpoints": list, "certificates": list, "records": list}


@dataclass(frozen=True)
class Finding:
    """One part of the bundle and whether it verified."""

    subject: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "passed": self.passed, "detail": self.detail}


@dataclass
class BundleReport:
    """Every finding, the keys each state's records were checked against, and the records without proof."""

    weapon_id: str
    findings: list[Finding] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # state -> "trusted (...)" or "claimed by the bundle only"
    unproved: list[str] = field(default_factory=list)
    records: int = 0

    @property
    def valid(self) -> bool:
        return all(f.passed for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"weapon_id": self.weapon_id, "valid": self.valid, "records": self.records, "keys": self.keys,
                "unproved": self.unproved, "failures": [f.to_dict() for f in self.findings if not f.passed],
                "checked": len(self.findings)}


def verify_bundle(data: bytes, trusted: Mapping[str, bytes] | None = None) -> BundleReport:
    """Check the bundle ``data`` against ``trusted`` node keys (state -> raw public key); states not in
    ``trusted`` are checked against the key the bundle claims, and the report says so.

    ``InvalidField`` (field ``file``) when ``data`` is not an evidence bundle at all, naming what is
    missing; every other fault is a failing ``Finding``.
    """
    bundle = _parse(data)
    trusted = dict(trusted or {})
    report = BundleReport(weapon_id=bundle["weapon_id"])
    keys = _node_keys(bundle["node_keys"], trusted, report)
    checkpoints = _checkpoints(bundle["checkpoints"], keys, report)
    certified: _Certified = {}
    for entry in _entries(bundle["certificates"], "certificate", report):
        found = _record(entry, keys, {}, checkpoints, report, what="certificate")
        if found is not None:
            envelope, leaf = found
            key = read_certificate(envelope.body)
            if isinstance(key, CertifiedKey):
                certified.setdefault(envelope.node, {})[key.key_id] = (key, leaf)
    shown: dict[tuple[str, str], dict[int, Envelope]] = {}
    for entry in _entries(bundle["records"], "record", report):
        report.records += 1
        found = _record(entry, keys, certified, checkpoints, report, what="record")
        if found is not None:
            envelope = found[0]
            if envelope.stream != report.weapon_id:
                report.findings.append(Finding(_name(envelope), False, f"a record of stream {envelope.stream}, "
                                                                        f"not of weapon {report.weapon_id}"))
            shown.setdefault((envelope.node, envelope.stream), {})[envelope.version] = envelope
    for versions in shown.values():
        for version, envelope in sorted(versions.items()):
            previous, following = versions.get(version - 1), versions.get(version + 1)
            refusal = check_link(envelope, previous=previous.hash if previous else None,
                                 next_prev=following.prev if following else None)
            if refusal is not None:
                report.findings.append(Finding(_name(envelope), False, f"chain: {refusal.detail}"))
    return report


def _parse(data: bytes) -> dict[str, Any]:
    try:
        bundle = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidField("is not an evidence bundle: not a JSON document", field="file") from None
    if not isinstance(bundle, dict) or bundle.get(FORMAT_FIELD) != FORMAT:
        raise InvalidField(f"is not an evidence bundle: no {FORMAT_FIELD!r}: {FORMAT} field", field="file")
    for name, kind in _SECTIONS.items():
        if not isinstance(bundle.get(name), kind):
            raise InvalidField(f"is not an evidence bundle: its {name!r} is missing or not a {kind.__name__}",
                               field="file")
    return bundle


def _entries(section: list[Any], what: str, report: BundleReport) -> list[dict[str, Any]]:
    entries = []
    for position, entry in enumerate(section):
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            report.findings.append(Finding(f"{what} {position}", False, "not a JSON object"))
    return entries


def _node_keys(section: list[Any], trusted: dict[str, bytes], report: BundleReport) -> dict[str, bytes]:
    keys = dict(trusted)
    for entry in _entries(section, "node key", report):
        state = str(entry.get("state", ""))
        try:
            claimed = bytes.fromhex(str(entry.get("node_public_key")))
            public_key_from_bytes(claimed)
        except (ValueError, LedgerError):
            report.findings.append(Finding(f"node key of {state}", False, "not a 32-byte Ed25519 public key"))
            continue
        if node_key_document(state, claimed) != entry:
            report.findings.append(Finding(f"node key of {state}", False,
                                           "its key id or fingerprint is not that of its public key"))
            continue
        if state in trusted and trusted[state] != claimed:
            report.findings.append(Finding(f"node key of {state}", False,
                                           f"not the key you trust for {state} (the bundle claims "
                                           f"{key_id(claimed)}, you trust {key_id(trusted[state])})"))
            continue
        report.findings.append(Finding(f"node key of {state}", True, entry["fingerprint"]))
        keys.setdefault(state, claimed)
        report.keys[state] = "trusted (--trust)" if state in trusted else "claimed by the bundle only"
    return keys


def _checkpoints(section: list[Any], keys: dict[str, bytes], report: BundleReport) -> dict[tuple[str, int], Checkpoint]:
    good: dict[tuple[str, int], Checkpoint] = {}
    for entry in _entries(section, "checkpoint", report):
        subject = f"checkpoint of {entry.get('origin')} at size {entry.get('size')}"
        try:
            checkpoint = Checkpoint.from_bytes(bytes.fromhex(str(entry.get("bytes"))))
        except (ValueError, LedgerError) as e:
            report.findings.append(Finding(subject, False, f"its bytes are not a checkpoint: {e}"))
            continue
        public = keys.get(checkpoint.origin)
        if public is None:
            report.findings.append(Finding(subject, False, f"no node key of {checkpoint.origin} to check it with"))
            continue
        listed = {k: v for k, v in entry.items() if k != "cosignatures"}
        if checkpoint_document(checkpoint, public) != listed:
            report.findings.append(Finding(subject, False, "its fields do not follow from its signed bytes"))
            continue
        try:
            verify_checkpoint(checkpoint, public_key_from_bytes(public))
        except VerificationError as e:
            report.findings.append(Finding(subject, False, str(e)))
            continue
        good[(checkpoint.origin, checkpoint.size)] = checkpoint
        report.findings.append(Finding(subject, True, "signed by the node key of " + checkpoint.origin))
        for cosignature in entry.get("cosignatures") or []:
            report.findings.append(_cosignature(subject, checkpoint, cosignature, keys))
    return good


def _cosignature(subject: str, checkpoint: Checkpoint, cosignature: Any, keys: dict[str, bytes]) -> Finding:
    witness = str(cosignature.get("witness", "")) if isinstance(cosignature, dict) else ""
    what = f"{subject}: cosignature of {witness or '?'}"
    public = keys.get(witness)
    if public is None or not isinstance(cosignature, dict) or cosignature.get("witness_key") != key_id(public):
        return Finding(what, False, "the witness's node key is not in the bundle nor trusted")
    try:
        sig = bytes.fromhex(str(cosignature.get("signature")))
    except ValueError:
        return Finding(what, False, "its signature is not hex")
    try:
        verify_checkpoint_cosignature(public_key_from_bytes(public), checkpoint, sig)
    except LedgerError as e:
        return Finding(what, False, str(e))
    return Finding(what, True, "verifies")


#: Per origin, the keys its node key certified, each with the leaf index of its certificate (None: unproved).
_Certified = dict[str, dict[str, tuple[CertifiedKey, int | None]]]


def _record(entry: dict[str, Any], keys: dict[str, bytes], certified: _Certified,
            checkpoints: dict[tuple[str, int], Checkpoint], report: BundleReport, *,
            what: str) -> tuple[Envelope, int | None] | None:
    """Check one record or certificate; append its findings; return its envelope and leaf index if it verifies."""
    subject = f"{what} {entry.get('origin')} {entry.get('stream')} v{entry.get('version')}"
    try:
        stored = bytes.fromhex(str(entry.get("envelope")))
        envelope = Envelope.from_bytes(stored)  # refuses bytes that are not canonical: to_bytes() would give them
    except (ValueError, LedgerError) as e:
        report.findings.append(Finding(subject, False, f"its bytes are not a signed envelope: {e}"))
        return None
    subject = f"{what} {_name(envelope)}"
    proof = entry.get("proof")
    derived = record_entry(envelope, str(entry.get("source")), {
        "leaf_hash": envelope_leaf(envelope.hash).hex(), "proof": proof, "note": entry.get("note")}, stored)
    if derived != entry:
        differing = sorted(k for k in set(derived) | set(entry) if derived.get(k) != entry.get(k))
        report.findings.append(Finding(subject, False, f"{', '.join(differing)} do not follow from its signed bytes"))
        return None
    node_key = keys.get(envelope.node)
    if node_key is None:
        report.findings.append(Finding(subject, False, f"no node key of {envelope.node} to check it with"))
        return None
    known = certified.get(envelope.node, {})
    signers = Signers(key_id(node_key), node_key, {k: c for k, (c, _) in known.items()})
    refusal = check_signed(envelope, signers, DomainPolicy(envelope.node), body=envelope.body)
    if refusal is not None:
        report.findings.append(Finding(subject, False, f"{refusal.reason}: {refusal.detail}"))
        return None
    if proof is None:
        report.unproved.append(f"{subject}: {entry.get('note') or 'no inclusion proof'}")
        report.findings.append(Finding(subject, True, "signature verifies; no inclusion proof"))
        return envelope, None
    leaf = _inclusion(envelope, proof, checkpoints)
    if isinstance(leaf, str):
        report.findings.append(Finding(subject, False, leaf))
        return None
    cert_leaf = known.get(envelope.authority, (None, None))[1]
    if cert_leaf is not None and cert_leaf > leaf:
        report.findings.append(Finding(subject, False, f"signed by key {envelope.authority} before the node key "
                                                       f"certified it (leaf {leaf}, certificate at leaf {cert_leaf})"))
        return None
    proved = f"leaf {leaf} of checkpoint {proof['tree_size']}"
    report.findings.append(Finding(subject, True, f"signature verifies; {proved}"))
    return envelope, leaf


def _inclusion(envelope: Envelope, proof: Any, checkpoints: dict[tuple[str, int], Checkpoint]) -> int | str:
    """The leaf index the proof puts ``envelope`` at, or why it fails."""
    try:
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [bytes.fromhex(p) for p in proof["audit_path"]]
        checkpoint = checkpoints.get((envelope.node, int(proof["checkpoint"])))
    except (KeyError, TypeError, ValueError):
        return "its proof is not leaf_index, tree_size, audit_path (hex) and checkpoint"
    if checkpoint is None or checkpoint.size != size:
        return f"its proof leads to a checkpoint of {envelope.node} at size {size} that is not in the bundle or fails"
    try:
        verify_inclusion(index, size, envelope_leaf(envelope.hash), path, checkpoint.root)
    except VerificationError as e:
        return f"inclusion: {e}"
    return index


def _name(envelope: Envelope) -> str:
    return f"{envelope.node} {envelope.type} v{envelope.version} (stream {envelope.stream})"
