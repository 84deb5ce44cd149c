"""The deactivation certificate as a file, and its offline verification (FP art 9, EU 2018/337).

The certificate is the signed ``Weapon.Deactivated`` record itself. The file holds that envelope,
the node key's ``Authority.Certified`` record of the key that signed it, the node's public key with
its fingerprint, and the readable fields, each derived from the signed bytes. ``verify_certificate``
checks a file with the one acceptance rule (``ledger.acceptance`` with the domain's permissions) and
nothing else: no database, no network. Every part of the file is derived from the signed records, so
the file is compared byte for byte with the one they give: one changed byte fails it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.event_types import AUTHORITY_CERTIFIED, DEACTIVATED
from domain.time import format_time
from ledger.acceptance import Refusal, Signers, check_signed, read_certificate
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from ledger.keys import fingerprint, key_id
from nodes.acceptance import DomainPolicy

FORMAT = 1
FORMAT_FIELD = "armsledger_deactivation_certificate"
MAX_FILE_BYTES = 1_000_000

#: The checks of a verification, in order, with what each establishes.
CHECKS = {
    "document": "the file is a deactivation certificate of format 1",
    "node key": "the node key in the file matches its key id and fingerprint",
    "authority certificate": "the node key certified the key that signed the deactivation",
    "signature": "the deactivation record is signed by that key, whose authority may record it",
    "content": "every byte of the file follows from the signed records",
    "trusted key": "the node key is the one you trust for that state",
}


def readable_fields(record: Envelope, authority_certificate: Envelope) -> dict[str, Any]:
    """What a reader needs of the certificate, each value from the signed records (empty where an older
    record does not state it)."""
    body = record.body
    inspected = body.get("inspected_on")
    return {
        "number": str(body.get("certificate", "")),
        "weapon_id": record.stream,
        "marking": {k: str(dict(body.get("marking") or {}).get(k, "")) for k in ("manufacturer", "country", "serial")},
        "description": {k: body.get(k, "") for k in ("type", "make", "model", "calibre", "year")},
        "standard": str(body.get("standard", "")),
        "inspecting_body": str(body.get("inspecting_body", "")),
        "inspected_on": format_time(inspected)[:10] if isinstance(inspected, int) and inspected else "",
        "deactivated_on": format_time(record.occurred_on)[:10],
        "method": str(body.get("method", "")),
        "state": record.node,
        "authority": str(authority_certificate.body.get("name", "")),
        "authority_key_id": record.authority,
        "officer": str(body.get("officer", "")),
        "record_hash": record.hash.hex(),
    }


def certificate_bytes(record: Envelope, authority_certificate: Envelope, node_public_key: bytes) -> bytes:
    """The file of the certificate ``record`` (a ``Weapon.Deactivated``), signed under ``authority_certificate``
    by a key certified by the node key ``node_public_key``."""
    document = {
        FORMAT_FIELD: FORMAT,
        "certificate": readable_fields(record, authority_certificate),
        "record": base64.b64encode(record.to_bytes()).decode(),
        "authority_certificate": base64.b64encode(authority_certificate.to_bytes()).decode(),
        "node": {"state": record.node, "node_key_id": key_id(node_public_key),
                 "node_public_key": node_public_key.hex(), "fingerprint": fingerprint(node_public_key)},
        "how_to_verify": f"armsledger certificate verify FILE --node-key {record.node}.pub (the identity "
                         f"{record.node} publishes with 'armsledger key export'; compare its fingerprint)",
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def claimed_state(data: bytes) -> str:
    """The issuing state a certificate file names (its verification decides whether that is true); "" if none."""
    return _claimed(data, "state")


def claimed_key_id(data: bytes) -> str:
    """The node key id a certificate file names (its verification decides whether that is true); "" if none."""
    return _claimed(data, "node_key_id")


def _claimed(data: bytes, field: str) -> str:
    try:
        node = json.loads(data.decode("utf-8")).get("node")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return ""
    return str(node.get(field, "")) if isinstance(node, dict) else ""


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class CertificateReport:
    """The verdict of each check in ``CHECKS`` order, and the readable fields of a file that passed them."""

    checks: tuple[Check, ...]
    fields: Mapping[str, Any]
    fingerprint: str

    @property
    def valid(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checks": [c.to_dict() for c in self.checks], "fingerprint": self.fingerprint,
                "certificate": dict(self.fields)}


class _Failed(Exception):
    def __init__(self, name: str, detail: str):
        super().__init__(detail)
        self.name, self.detail = name, detail


def verify_certificate(data: bytes, *, trusted_key: bytes | None, trusted_from: str = "") -> CertificateReport:
    """Check the certificate file ``data`` against ``trusted_key`` (the raw node key the reader trusts for
    the issuing state; None: none is known, and that check fails). ``trusted_from`` says where that key came
    from, for the report. Pure; raises nothing: every problem is a failed check, and the checks after the
    first failure are reported as not made."""
    passed: list[Check] = []
    found: dict[str, Any] = {"fields": {}, "fingerprint": ""}
    try:
        _run_checks(data, trusted_key, trusted_from, passed, found)
    except _Failed as failure:
        passed.append(Check(failure.name, False, failure.detail))
        made = {c.name for c in passed}
        passed += [Check(name, False, "not checked: an earlier check failed") for name in CHECKS if name not in made]
    return CertificateReport(tuple(passed), found["fields"], found["fingerprint"])


def _run_checks(data: bytes, trusted_key: bytes | None, trusted_from: str, passed: list[Check],
                found: dict[str, Any]) -> None:
    document = _document(data)
    node = document["node"]
    passed.append(Check("document", True, f"format {FORMAT}, issued by {node.get('state')!r}"))

    node_key = _node_key(node)
    found["fingerprint"] = fingerprint(node_key)
    passed.append(Check("node key", True, f"{node['state']} node key {key_id(node_key)}, fingerprint "
                                          f"{found['fingerprint']}"))

    record, authority_certificate = _envelope(document, "record"), _envelope(document, "authority_certificate")
    policy = DomainPolicy(node["state"])
    if authority_certificate.type != AUTHORITY_CERTIFIED or authority_certificate.node != node["state"]:
        raise _Failed("authority certificate", f"is a {authority_certificate.type} of {authority_certificate.node}, "
                                               f"not an {AUTHORITY_CERTIFIED} of {node['state']}")
    refusal = check_signed(authority_certificate, Signers.of(node_key, {}), policy, body=authority_certificate.body)
    certified = read_certificate(authority_certificate.body)
    if refusal is not None:
        raise _Failed("authority certificate", refusal.detail)
    if isinstance(certified, Refusal):
        raise _Failed("authority certificate", certified.detail)
    if certified.key_id != record.authority:
        raise _Failed("authority certificate", f"certifies key {certified.key_id}, but key {record.authority} "
                                               "signed the deactivation")
    passed.append(Check("authority certificate", True, f"the {node['state']} node key certified key "
                                                       f"{certified.key_id} ({certified.kind}, "
                                                       f"{authority_certificate.body.get('name')!r})"))

    if record.type != DEACTIVATED or record.node != node["state"]:
        raise _Failed("signature", f"the record is a {record.type} of {record.node}, not a {DEACTIVATED} of "
                                   f"{node['state']}")
    refusal = check_signed(record, Signers.of(node_key, {certified.key_id: certified}), policy)
    if refusal is not None:
        raise _Failed("signature", refusal.detail)
    passed.append(Check("signature", True, f"record {record.hash.hex()} verifies, and a {certified.kind} "
                                           "authority may record it"))

    expected = certificate_bytes(record, authority_certificate, node_key)
    if expected != data:
        raise _Failed("content", _difference(document, json.loads(expected)))
    found["fields"] = document["certificate"]
    passed.append(Check("content", True, "every field, and the layout, is the one the signed records give"))

    if trusted_key is None:
        raise _Failed("trusted key", f"no key of {node['state']} is trusted here: give --node-key FILE (the "
                                     f"identity {node['state']} publishes) or compare the fingerprint "
                                     f"{found['fingerprint']} with the one {node['state']} publishes")
    source = f", {trusted_from}" if trusted_from else ""
    if bytes(trusted_key) != node_key:
        raise _Failed("trusted key", f"the file's node key {key_id(node_key)} is not the key you trust for "
                                     f"{node['state']} ({key_id(trusted_key)}{source})")
    passed.append(Check("trusted key", True, f"the node key of {node['state']} you trust ({key_id(node_key)}{source})"))


def _document(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_FILE_BYTES:
        raise _Failed("document", f"is {len(data)} bytes long, over {MAX_FILE_BYTES}")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Failed("document", "is not UTF-8 JSON") from None
    if not isinstance(document, dict) or document.get(FORMAT_FIELD) != FORMAT:
        raise _Failed("document", f"is not a deactivation certificate ({FORMAT_FIELD}: {FORMAT})")
    node = document.get("node")
    if not isinstance(node, dict) or not all(isinstance(node.get(k), str) for k in (
            "state", "node_key_id", "node_public_key", "fingerprint")):
        raise _Failed("document", "its node needs state, node_key_id, node_public_key and fingerprint")
    return document


def _node_key(node: Mapping[str, str]) -> bytes:
    try:
        public = bytes.fromhex(node["node_public_key"])
    except ValueError:
        public = b""
    if len(public) != 32:
        raise _Failed("node key", "node_public_key is not a 32-byte Ed25519 key in hex")
    if key_id(public) != node["node_key_id"] or fingerprint(public) != node["fingerprint"]:
        raise _Failed("node key", f"node_key_id or fingerprint is not that of node_public_key ({key_id(public)})")
    return public


def _envelope(document: Mapping[str, Any], name: str) -> Envelope:
    check = "signature" if name == "record" else "authority certificate"
    text = document.get(name)
    try:
        return Envelope.from_bytes(base64.b64decode(str(text), validate=True))
    except (binascii.Error, ValueError, LedgerError) as e:
        raise _Failed(check, f"{name} is not a signed record in base64 ({e})") from None


def _difference(given: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    for name in sorted(set(given) | set(expected)):
        if given.get(name) != expected.get(name):
            inner = given.get(name), expected.get(name)
            if isinstance(inner[0], dict) and isinstance(inner[1], dict):
                keys = sorted(k for k in set(inner[0]) | set(inner[1]) if inner[0].get(k) != inner[1].get(k))
                return f"{name}.{keys[0]} differs from the signed records: the file was changed after export"
            return f"{name} differs from the signed records: the file was changed after export"
    return "the layout differs from the exported file's (a space or line changed): it was changed after export"
