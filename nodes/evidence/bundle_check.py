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
from dataclasses import dataclass, field, replace
from typing import Any

from domain.errors import InvalidField
from ledger.acceptance import (
    NODE_KEY_CHANGE_TYPE,
    CertifiedKey,
    Signers,
    check_link,
    check_signed,
    learn_node_key,
    read_certificate,
)
from ledger.audit_checkpoints import checkpoint_refusal
from ledger.checkpoint import Checkpoint, envelope_leaf
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
    claimed = _node_keys(bundle["node_keys"], trusted, report)
    parsed = _parsed_checkpoints(bundle["checkpoints"], report)
    registers = _entries(bundle["certificates"], "certificate", report)
    keys = _follow_node_keys([e for e in registers if e.get("type") == NODE_KEY_CHANGE_TYPE], claimed, trusted,
                             parsed, report)
    checkpoints = _checkpoints(parsed, keys, report)
    certified: _Certified = {}
    for entry in registers:
        if entry.get("type") == NODE_KEY_CHANGE_TYPE:
            continue  # checked by _follow_node_keys
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


def _node_keys(section: list[Any], trusted: dict[str, bytes], report: BundleReport) -> dict[str, list[bytes]]:
    """Per state, the node keys the bundle lists for it, oldest first (a trusted key it does not list: that key)."""
    keys: dict[str, list[bytes]] = {}
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
        keys.setdefault(state, []).append(claimed)
        report.findings.append(Finding(f"node key of {state}", True, entry["fingerprint"]))
    for state, public in trusted.items():
        listed = keys.setdefault(state, [public])
        if public not in listed:
            report.findings.append(Finding(f"node key of {state}", False,
                                           f"not the key you trust for {state} (the bundle claims "
                                           f"{', '.join(key_id(k) for k in listed)}, you trust {key_id(public)})"))
            keys[state] = [public]
    for state in keys:
        report.keys[state] = "trusted (--trust)" if state in trusted else "claimed by the bundle only"
    return keys


def _follow_node_keys(announcements: list[dict[str, Any]], claimed: dict[str, list[bytes]],
                      trusted: dict[str, bytes], parsed: list[tuple[dict[str, Any], Checkpoint]],
                      report: BundleReport) -> dict[str, Signers]:
    """Per state, its node keys as its ``Authority.NodeKeyChanged`` records hand over from the first key listed
    (each proven in a checkpoint of the key it hands over from: ``learn_node_key``); every key listed, and the
    key trusted, must be reached."""
    keys = {state: Signers.of(listed[0], {}) for state, listed in claimed.items()}
    for entry in sorted(announcements, key=lambda e: (str(e.get("origin")), str(e.get("version")).zfill(20))):
        current = keys.get(str(entry.get("origin")))
        usable = {(c.origin, c.size): c for _, c in parsed
                  if current is not None and checkpoint_refusal(c, current.node_keys()) is None}
        found = _record(entry, keys, {}, usable, report, what="node key change")
        if found is not None and current is not None:
            envelope, leaf = found
            keys[envelope.node] = learn_node_key(envelope, envelope.body, current,
                                                 log_size=None if leaf is None else leaf + 1)
    for state, listed in claimed.items():
        reached = keys[state].node_keys()
        for public in listed:
            if key_id(public) not in reached:
                report.findings.append(Finding(f"node key of {state}", False, (
                    f"{key_id(public)} is not reached from {state}'s first node key by the announcements in the "
                    "bundle")))
        if state in trusted and key_id(trusted[state]) not in reached:
            report.findings.append(Finding(f"node key of {state}", False,
                                           f"the key you trust ({key_id(trusted[state])}) is not reached"))
    return keys


def _parsed_checkpoints(section: list[Any], report: BundleReport) -> list[tuple[dict[str, Any], Checkpoint]]:
    parsed = []
    for entry in _entries(section, "checkpoint", report):
        try:
            parsed.append((entry, Checkpoint.from_bytes(bytes.fromhex(str(entry.get("bytes"))))))
        except (ValueError, LedgerError) as e:
            subject = f"checkpoint of {entry.get('origin')} at size {entry.get('size')}"
            report.findings.append(Finding(subject, False, f"its bytes are not a checkpoint: {e}"))
    return parsed


def _checkpoints(parsed: list[tuple[dict[str, Any], Checkpoint]], keys: dict[str, Signers],
                 report: BundleReport) -> dict[tuple[str, int], Checkpoint]:
    good: dict[tuple[str, int], Checkpoint] = {}
    for entry, checkpoint in parsed:
        subject = f"checkpoint of {entry.get('origin')} at size {entry.get('size')}"
        signers = keys.get(checkpoint.origin)
        if signers is None:
            report.findings.append(Finding(subject, False, f"no node key of {checkpoint.origin} to check it with"))
            continue
        node_keys = signers.node_keys()
        signer = node_keys.get(checkpoint.signer)
        listed = {k: v for k, v in entry.items() if k != "cosignatures"}
        if signer is not None and checkpoint_document(checkpoint, signer.public_key) != listed:
            report.findings.append(Finding(subject, False, "its fields do not follow from its signed bytes"))
            continue
        why = checkpoint_refusal(checkpoint, node_keys)
        if why is not None:
            report.findings.append(Finding(subject, False, why))
            continue
        good[(checkpoint.origin, checkpoint.size)] = checkpoint
        report.findings.append(Finding(subject, True, f"signed by the node key {checkpoint.signer} of "
                                                      f"{checkpoint.origin}"))
        for cosignature in entry.get("cosignatures") or []:
            report.findings.append(_cosignature(subject, checkpoint, cosignature, keys))
    return good


def _cosignature(subject: str, checkpoint: Checkpoint, cosignature: Any, keys: dict[str, Signers]) -> Finding:
    witness = str(cosignature.get("witness", "")) if isinstance(cosignature, dict) else ""
    what = f"{subject}: cosignature of {witness or '?'}"
    signers = keys.get(witness)
    key = signers.node_keys().get(str(cosignature.get("witness_key"))) \
        if signers is not None and isinstance(cosignature, dict) else None
    if key is None:
        return Finding(what, False, "the witness's node key is not in the bundle nor trusted")
    public = key.public_key
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


def _record(entry: dict[str, Any], keys: dict[str, Signers], certified: _Certified,
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
    node_keys = keys.get(envelope.node)
    if node_keys is None:
        report.findings.append(Finding(subject, False, f"no node key of {envelope.node} to check it with"))
        return None
    known = certified.get(envelope.node, {})
    signers = replace(node_keys, certified={k: c for k, (c, _) in known.items()})
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
