"""The acceptance rule as a table: one record accepted, and one case per refusal reason.

The same table holds what each caller makes of a refusal (the audit's problem kind,
ingest's quarantine reason), so the three callers are held to one rule.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.acceptance import (
    CERTIFICATE_TYPE,
    CertifiedKey,
    Reason,
    Signers,
    check_inclusion,
    check_link,
    check_row,
    check_signed,
    read_certificate,
    verify_signatures,
)
from ledger.audit_records import KIND_OF
from ledger.audit_report import ProblemKind
from ledger.checkpoint import envelope_leaf, sign_checkpoint
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id, public_bytes
from ledger.merkle import MerkleTree
from nodes.acceptance import DomainPolicy
from nodes.federation import ingest_reasons
from nodes.federation.ingest_reasons import Refused
from nodes.registry.identity import authorities_stream

NODE, LICENSING, POLICE, ROGUE = generate_key(), generate_key(), generate_key(), generate_key()
REGISTER = str(authorities_stream("BE"))
CERTIFIED = {key_id(k): CertifiedKey(key_id(k), public_bytes(k), kind)
             for k, kind in ((LICENSING, "licensing"), (POLICE, "police"))}
SIGNERS = Signers(key_id(NODE), public_bytes(NODE), CERTIFIED)
POLICY = DomainPolicy("BE")


def record(key=LICENSING, type_="Weapon.Manufactured", stream="w1", version=1, prev=GENESIS_PREV, body=None,
           authority=None):
    return seal(key, node="BE", stream=stream, version=version, type=type_, occurred_on=1, recorded_at=1,
                authority=authority or key_id(key), prev=prev, body=body if body is not None else {"n": 1})


def certificate(key=ROGUE, **changes):
    public = public_bytes(key)
    body = {"key_id": key_id(public), "public_key": public, "kind": "police", "name": "BE police"} | changes
    return record(NODE, CERTIFICATE_TYPE, REGISTER, 2, bytes(32), body)


def refusal_of(envelope, **checks):
    return check_signed(envelope, SIGNERS, POLICY, body=envelope.body, **checks)


# (case, record, refusal reason or None, audit problem kind, ingest quarantine reason)
TABLE = [
    ("accepted", record(), None, None, None),
    ("accepted certificate", certificate(), None, None, None),
    ("uncertified key", record(ROGUE), Reason.UNCERTIFIED, ProblemKind.CERTIFICATE, ingest_reasons.UNCERTIFIED),
    ("node key outside the register", record(NODE), Reason.REGISTER, ProblemKind.CERTIFICATE,
     ingest_reasons.NOT_PERMITTED),
    ("register record by an authority key", record(LICENSING, CERTIFICATE_TYPE, REGISTER), Reason.REGISTER,
     ProblemKind.CERTIFICATE, ingest_reasons.NOT_PERMITTED),
    ("bad signature", replace(record(), body={"n": 2}), Reason.SIGNATURE, ProblemKind.SIGNATURE,
     ingest_reasons.BAD_SIGNATURE),
    ("signed by another key than it names", record(ROGUE, authority=key_id(LICENSING)), Reason.SIGNATURE,
     ProblemKind.SIGNATURE, ingest_reasons.BAD_SIGNATURE),
    ("police may not manufacture", record(POLICE), Reason.PERMISSION, ProblemKind.PERMISSION,
     ingest_reasons.NOT_PERMITTED),
    ("not a recordable type", record(type_="Weapon.Teleported"), Reason.PERMISSION, ProblemKind.PERMISSION,
     ingest_reasons.NOT_PERMITTED),
    ("node key record outside its register stream", record(NODE, CERTIFICATE_TYPE, "w1"), Reason.PERMISSION,
     ProblemKind.PERMISSION, ingest_reasons.NOT_PERMITTED),
    ("certificate naming another key id", certificate(key_id=key_id(LICENSING)), Reason.CERTIFICATE,
     ProblemKind.CERTIFICATE, ingest_reasons.BROKEN_CHAIN),
    ("certificate with a short key", certificate(public_key=b"short"), Reason.CERTIFICATE,
     ProblemKind.CERTIFICATE, ingest_reasons.BROKEN_CHAIN),
]


@pytest.mark.parametrize(("case", "envelope", "reason", "kind", "quarantine"), TABLE, ids=[row[0] for row in TABLE])
def test_the_rule_and_what_each_caller_makes_of_it(case, envelope, reason, kind, quarantine):
    refusal = refusal_of(envelope)
    assert (refusal.reason if refusal else None) == reason
    if refusal is not None:
        assert KIND_OF[refusal.reason] is kind  # the audit (armsledger verify)
        assert Refused.by_rule(refusal, case).reason == quarantine  # ingest


def test_a_signature_verified_elsewhere_is_taken_as_given():
    assert refusal_of(record(), signature_ok=False).reason is Reason.SIGNATURE
    assert refusal_of(replace(record(), body={"n": 2}), signature_ok=True) is None


def test_a_signature_verified_elsewhere_with_a_key_counts_for_that_key_only():
    licensing, police = public_bytes(LICENSING), public_bytes(POLICE)
    forged = replace(record(), body={"n": 2})
    assert refusal_of(record(), signature_by=(licensing, False)).reason is Reason.SIGNATURE
    assert refusal_of(forged, signature_by=(licensing, True)) is None  # taken as given: the signer's key
    assert refusal_of(forged, signature_by=(police, True)).reason is Reason.SIGNATURE  # another key: verified
    assert refusal_of(record(), signature_by=(police, False)) is None


def test_links_with_the_neighbours_held():
    first = record()
    second = record(version=2, prev=first.hash)
    assert check_link(first) is None and check_link(second, previous=first.hash) is None
    assert check_link(second) is None  # version 1 not held: nothing to link with
    assert check_link(first, next_prev=second.prev) is None
    assert check_link(record(prev=bytes([1]) * 32)).reason is Reason.CHAIN
    assert check_link(second, previous=bytes(32)).reason is Reason.CHAIN
    assert check_link(first, next_prev=bytes(32)).reason is Reason.CHAIN
    assert Refused.by_rule(check_link(second, previous=bytes(32)), "x").reason == ingest_reasons.FORK
    assert KIND_OF[Reason.CHAIN] is ProblemKind.CHAIN


def test_inclusion_in_a_checkpoint():
    records = [record(stream=f"w{i}") for i in range(5)]
    tree = MerkleTree()
    for r in records:
        tree.append(envelope_leaf(r.hash))
    checkpoint = sign_checkpoint(NODE, "BE", 5, tree.root(5), 1)
    proof = tree.inclusion_proof(3, 5)
    assert check_inclusion(records[3], 3, proof, checkpoint) is None
    refusal = check_inclusion(records[3], 2, proof, checkpoint)
    assert refusal.reason is Reason.INCLUSION
    assert Refused.by_rule(refusal, "x").reason == ingest_reasons.BAD_PROOF


def test_the_rows_columns_must_repeat_the_envelope():
    envelope = record()
    assert check_row(envelope, stream="w1", version=1, topic="Weapon.Manufactured") is None
    for columns in ({"stream": "w2"}, {"version": 2}, {"topic": "Weapon.Destroyed"}):
        refusal = check_row(envelope, **columns)
        assert refusal.reason is Reason.ROW and str(next(iter(columns.values()))) in refusal.detail
    assert KIND_OF[Reason.ROW] is ProblemKind.MISFILED


def test_read_certificate_returns_the_key():
    assert read_certificate(certificate().body) == CertifiedKey(key_id(ROGUE), public_bytes(ROGUE), "police")


def test_verify_signatures_never_raises():
    message = b"m"
    assert verify_signatures([(public_bytes(NODE), NODE.sign(message), message), (public_bytes(NODE), b"", message),
                              (b"not a key", bytes(64), message)]) == [True, False, False]
