"""Domestic transfers under the sharing policy: none by default; a state's sharing.json may add partners for
transfers that name private holders by reference only; a transfer with a holder's name stays national.
Recoveries go to every partner, as the reports they withdraw, unless they name a holder."""

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
], ids=["references", "from-no-one", "from-a-name", "to-a-name", "to-a-malformed-reference"])
def test_only_transfers_naming_no_one_leave_the_state(from_holder, to_holder, shared_to):
    transfer = record("Weapon.Transferred", from_holder=from_holder, to_holder=to_holder, licence="TL-1")
    assert withheld(transfer) is (not shared_to)
    assert recipients_of(transfer, SharingRules()) == set()  # the default shares no domestic transfer
    assert recipients_of(transfer, SHARED) == shared_to


@pytest.mark.parametrize(("holder", "shared_to"), [
    ("", PARTNERS),          # returned to no one named: where the report went, to every partner
    (ANNA, PARTNERS),        # a private holder by reference
    ("Jan Peeters", set()),  # a name: a dealer's or a person's, the body cannot tell
], ids=["no-holder", "a-reference", "a-name"])
def test_a_recovery_goes_where_the_report_went_unless_it_names_its_holder(holder, shared_to):
    recovery = record("Weapon.Recovered", place="Gent", holder=holder, restored_status="active")
    assert withheld(recovery) is (not shared_to)
    assert recipients_of(recovery, SharingRules()) == set(shared_to)  # by default, as loss and theft reports
    assert recipients_of(recovery, SHARED) == set(shared_to)
    correction = record("Weapon.Corrected", **correcting("Weapon.Recovered", {"holder": ""}, {"holder": holder}))
    assert withheld(correction) is (not shared_to)


def test_other_records_are_not_judged_by_their_holder():
    made = record("Weapon.Manufactured", holder="Jan Peeters", marking={"country": "BE"})
    assert not withheld(made)
    assert recipients_of(made, SHARED) == set(PARTNERS)


def record(type_: str, /, **body) -> Envelope:
    return Envelope(node="BE", stream=str(uuid.uuid4()), version=1, type=type_, occurred_on=1, recorded_at=1,
                    authority="k", prev=GENESIS_PREV, body=body, sig=b"")


def recipients_of(envelope: Envelope, rules: SharingRules) -> set[str]:
    return set(recipients(envelope, SharingContext(own_state="BE", partners=PARTNERS, own_records=lambda _: [],
                                                   rules=rules)))


@pytest.mark.parametrize(("old", "new", "kept_home"), [
    ({"to_holder": ANNA}, {"to_holder": BO}, False),
    ({"to_holder": ANNA}, {"to_holder": "Jan Peeters"}, True),   # a correction must not carry a name out
    ({"to_holder": "Jan Peeters"}, {"to_holder": ANNA}, True),   # nor the name it replaces
    ({"licence": "TL-1"}, {"licence": "TL-2"}, False),
])
def test_a_correction_of_a_transfer_is_judged_by_the_holders_it_carries(old, new, kept_home):
    correction = record("Weapon.Corrected", **correcting("Weapon.Transferred", old, new))
    assert withheld(correction) is kept_home
    seizure_fix = record("Weapon.Corrected", **correcting("Weapon.Seized", {"place": "Jan Peeters"}, {"place": "Gent"}))
    assert not withheld(seizure_fix)  # only holder fields are judged


def correcting(corrected_type: str, old: dict, new: dict) -> dict:
    return {"record": "ab" * 32, "record_version": 2, "record_type": corrected_type, "old_values": old,
            "new_values": new, "reason": "misread"}
