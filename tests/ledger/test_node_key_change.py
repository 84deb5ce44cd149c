"""The acceptance rule for ``Authority.NodeKeyChanged``: the old node key hands over only to a key that
countersigned the change; the old key then signs nothing recorded after it (pure, no database)."""

from __future__ import annotations

import pytest

from ledger.acceptance import (
    NODE_KEY_CHANGE_TYPE,
    Reason,
    Signers,
    check_signed,
    learn_node_key,
    node_key_change_message,
)
from ledger.envelope import seal
from ledger.keys import generate_key, key_id, public_bytes, sign
from nodes.acceptance import DomainPolicy
from nodes.registry.identity import authorities_stream

OLD, NEW, ROGUE = generate_key(), generate_key(), generate_key()
REGISTER = str(authorities_stream("BE"))
POLICY = DomainPolicy("BE")
AT = 1_000_000_000


def announcement(signed_by=OLD, new=NEW, countersigned_by=None, previous=None, version=2, recorded_at=AT):
    previous_public = public_bytes(previous or signed_by)
    body = {"new_key_id": key_id(new), "new_public_key": public_bytes(new), "previous_public_key": previous_public,
            "countersignature": sign(countersigned_by or new, node_key_change_message(previous_public,
                                                                                     public_bytes(new)))}
    return seal(signed_by, node="BE", stream=REGISTER, version=version, type=NODE_KEY_CHANGE_TYPE, occurred_on=1,
                recorded_at=recorded_at, authority=key_id(signed_by), prev=bytes(32), body=body)


def register_record(key, recorded_at):
    body = {"key_id": "x", "kind": "police", "retired_from": 1, "successor": ""}
    return seal(key, node="BE", stream=REGISTER, version=3, type="Authority.Retired", occurred_on=1,
                recorded_at=recorded_at, authority=key_id(key), prev=bytes(32), body=body)


def test_an_announcement_signed_by_the_node_key_and_countersigned_hands_over():
    signers = Signers.of(public_bytes(OLD), {})
    change = announcement()
    assert check_signed(change, signers, POLICY, body=change.body) is None
    after = learn_node_key(change, change.body, signers, log_size=7)
    assert after.node_key_id == key_id(NEW)
    assert (after.earlier_node_keys[key_id(OLD)].retired_from, after.earlier_node_keys[key_id(OLD)].last_size) \
        == (AT, 7)
    assert check_signed(register_record(OLD, AT - 1), after, POLICY, body={}) is None  # before: still valid
    late = check_signed(register_record(OLD, AT), after, POLICY, body={})
    assert late is not None and late.reason is Reason.RETIRED
    assert check_signed(register_record(NEW, AT + 1), after, POLICY, body={}) is None
    stale = announcement(signed_by=OLD, new=ROGUE, recorded_at=AT - 1)  # the old key, dated before it handed over
    refused = check_signed(stale, after, POLICY, body=stale.body)
    assert refused is not None and refused.reason is Reason.REGISTER
    assert set(after.node_keys()) == {key_id(OLD), key_id(NEW)}


@pytest.mark.parametrize(("case", "change", "reason"), [
    ("signed by a key that is not the node key", announcement(signed_by=ROGUE), Reason.REGISTER),
    ("countersigned by another key than the new one", announcement(countersigned_by=ROGUE), Reason.CERTIFICATE),
    ("naming another previous key than its signer", announcement(previous=ROGUE), Reason.CERTIFICATE),
    ("announcing the key that signs it", announcement(new=OLD), Reason.CERTIFICATE),
])
def test_a_forged_announcement_is_refused_and_changes_nothing(case, change, reason):
    signers = Signers.of(public_bytes(OLD), {})
    refusal = check_signed(change, signers, POLICY, body=change.body)
    assert refusal is not None and refusal.reason is reason, case
    assert learn_node_key(change, change.body, signers).node_key_id == key_id(OLD)
