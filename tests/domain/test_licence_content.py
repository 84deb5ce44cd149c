"""FP art 10(3) content of licences, their state on a day and the quantity left; records signed
before the place of issue and the description existed stay readable and acceptable."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import InvalidField, LicenceRefused
from domain.event_types import LICENCE_ISSUED
from domain.licence import Licence, LicenceKind, LicenceState
from domain.time import SECONDS_PER_DAY as DAY
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.acceptance import RECORD_SCHEMA
from nodes.registry.licences import replay_licence


def test_place_of_issue_and_description_are_recorded(make_licence):
    licence = make_licence(place_of_issue="Brussels", description="2 pistols FN Five-seveN", quantity=2,
                           end_user="Police NL")
    (event,) = licence.collect_events()
    assert (event.place_of_issue, event.description) == ("Brussels", "2 pistols FN Five-seveN")
    assert (licence.place_of_issue, licence.description, licence.issued_on) == (
        "Brussels", "2 pistols FN Five-seveN", event.occurred_on)
    assert licence.missing_content() == []


def test_missing_content_names_what_a_cross_border_licence_does_not_state(make_licence):
    assert make_licence().missing_content() == ["place_of_issue", "end_user", "description", "quantity"]
    # A licence to hold crosses no border: art 10(3) does not apply.
    assert make_licence(LicenceKind.TRANSFER_LICENCE, number="TL-1").missing_content() == []


@pytest.mark.parametrize("field", ["place_of_issue", "description"])
def test_content_with_control_characters_is_refused_naming_the_field(make_licence, field):
    with pytest.raises(InvalidField) as refused:
        make_licence(**{field: "Brussels\x00"})
    assert refused.value.field == field


def test_state_on_a_day(make_licence, authorities, now):
    licence = make_licence()
    assert licence.state_on(now) is LicenceState.VALID
    assert licence.state_on(now + 11 * DAY) is LicenceState.EXPIRED
    assert licence.state_on(now - 11 * DAY) is LicenceState.NOT_YET_VALID
    licence.revoke(authority=authorities["licensing"], reason="closed", occurred_on=now - DAY)
    assert licence.state_on(now) is LicenceState.REVOKED and licence.state_on(now - 2 * DAY) is LicenceState.VALID
    with pytest.raises(InvalidField) as refused:
        LicenceState.parse("lapsed")
    assert refused.value.field == "state" and "valid, expired, revoked" in str(refused.value)


def test_the_quantity_left_is_checked_across_shipments(make_licence):
    licence = make_licence(quantity=2)
    licence.check_quantity_left(0, 2)
    licence.check_quantity_left(1, 1)
    with pytest.raises(LicenceRefused) as refused:
        licence.check_quantity_left(2, 1, field="import_authorization")
    assert refused.value.field == "import_authorization"
    assert "covers 2 weapons; 2 shipped under it already, 0 left: this shipment holds 1" in str(refused.value)
    make_licence(number="EL-9").check_quantity_left(10_000, 1)  # 0: not limited


def old_issued_body(**extra) -> dict:
    """A ``Licence.Issued`` body as signed before licences stated place of issue and description."""
    return dict(number="IA-OLD", kind="import_authorization", issuer_state="NL", holder="Dealer NL",
                valid_from=1_600_000_000, valid_until=1_900_000_000, export_state="BE", import_state="NL",
                transit_states=(), consignee="Dealer NL", end_user="", quantity=3, weapons=(), officer="", **extra)


@pytest.mark.parametrize("extra", [{}, {"place_of_issue": "Den Haag", "description": "3 rifles"}],
                         ids=["before", "after"])
def test_records_with_and_without_the_new_content_are_accepted_and_read(extra):
    key = generate_key()
    body = old_issued_body(**extra)
    stream = str(uuid.uuid4())
    envelope = seal(key, node="NL", stream=stream, version=1, type=LICENCE_ISSUED, occurred_on=1_600_000_000,
                    recorded_at=1_600_000_000_000_000, authority=key_id(key), prev=GENESIS_PREV, body=body)
    RECORD_SCHEMA.check(stream=stream, type=LICENCE_ISSUED, body=envelope.body, node="NL")
    licence = replay_licence([envelope])
    assert isinstance(licence, Licence) and licence.quantity == 3
    assert licence.place_of_issue == extra.get("place_of_issue", "")
    assert ("place_of_issue" in licence.missing_content()) is (not extra)


def test_the_new_content_of_the_wrong_type_is_refused_naming_the_body_field():
    with pytest.raises(InvalidField) as refused:
        RECORD_SCHEMA.check(stream=str(uuid.uuid4()), type=LICENCE_ISSUED, body=old_issued_body(place_of_issue=7))
    assert refused.value.field == "body.place_of_issue"
    with pytest.raises(InvalidField) as refused:  # the fields that were always there stay required
        body = old_issued_body()
        del body["quantity"]
        RECORD_SCHEMA.check(stream=str(uuid.uuid4()), type=LICENCE_ISSUED, body=body)
    assert refused.value.field == "body.quantity"
