"""Domestic transfers under the sharing policy: none by default; a state's sharing.json may add partners for
transfers that name private holders by reference only; a transfer with a holder's name stays national."""

from __future__ import annotations

import uuid

import pytest

from domain.person import new_person_reference
from domain.sharing import withheld
from ledger.envelope import GENESIS_PREV, Envelope
from nodes.federation.sharing import SharingContext, SharingRules, recipients

PARTNERS = frozenset({"NL", "DE", "FR", "US"})

ANNA, BO = new_person_reference(), new_person_reference()
SHARED = SharingRules.parse({"share": {"Weapon.Transferred": ["NL"], "*": "all"}})


@pytest.mark.parametrize(("from_holder", "to_holder", "shared_to"), [
    (ANNA, BO, {"NL", "DE", "FR", "US"}),
    ("", ANNA, {"NL", "DE", "FR", "US"}),                  # no holder before: nothing named
    ("FN Herstal", ANNA, set()),                           # a name: a dealer's or a person's, the body cannot tell
    (ANNA, "Jan Peeters", set()),                          # signed before holders were pseudonymised
    (ANNA, "person:not-a-reference", set()),
])
def test_only_transfers_naming_no_one_leave_the_state(from_holder, to_holder, shared_to):
    transfer = record("Weapon.Transferred", from_holder=from_holder, to_holder=to_holder, licence="TL-1")
    assert withheld(transfer) is (not shared_to)
    assert recipients_of(transfer, SharingRules()) == set()  # the default shares no domestic transfer
    assert recipients_of(transfer, SHARED) == shared_to


def test_other_records_are_not_judged_by_their_holder():
    made = record("Weapon.Manufactured", holder="Jan Peeters", marking={"country": "BE"})
    assert not withheld(made)
    assert recipients_of(made, SHARED) == set(PARTNERS)


def record(record_type: str, **body) -> Envelope:
    return Envelope(node="BE", stream=str(uuid.uuid4()), version=1, type=record_type, occurred_on=1, recorded_at=1,
                    authority="k", prev=GENESIS_PREV, body=body, sig=b"")


def recipients_of(envelope: Envelope, rules: SharingRules) -> set[str]:
    return set(recipients(envelope, SharingContext(own_state="BE", partners=PARTNERS, own_records=lambda _: [],
                                                   rules=rules)))
