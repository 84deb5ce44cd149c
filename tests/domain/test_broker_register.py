"""The broker register (FP art 15), pure: registration and its periods, suspension, revocation,
brokering activities only while in force, a licence naming a broker, the shipment's broker, and
what partners receive and accept of broker records."""

from __future__ import annotations

import pytest

from domain import event_types as types
from domain.authority import AuthorityKind
from domain.broker import Broker, BrokeringKind, BrokerState, broker_id, broker_of_shipment
from domain.errors import BrokerRefused, InvalidField, InvalidState, NotPermitted
from domain.licence import LicenceKind
from domain.schema import domain_schema
from domain.sharing import default_recipients_by_type
from domain.time import SECONDS_PER_DAY as DAY


@pytest.fixture
def licensing(authorities):
    return authorities[AuthorityKind.LICENSING]


@pytest.fixture
def broker(licensing, now) -> Broker:
    """BR-1, registered from 100 days ago to 10 days ago (lapsed now)."""
    return Broker.register(authority=licensing, registration_number="BR-1", name="Trade SA", seat="Brussels",
                           valid_from=now - 100 * DAY, valid_until=now - 10 * DAY, occurred_on=now - 100 * DAY)


def activity(broker: Broker, licensing, on: int, **overrides) -> None:
    fields = dict(kind="negotiation", parties=("Buyer Ltd", "Seller SA"), description="200 rifles")
    broker.record_activity(authority=licensing, occurred_on=on, **{**fields, **overrides})


def test_registration_id_is_derived_from_state_and_normalised_number(broker):
    assert broker.id == broker_id("BE", "br 1") != broker_id("NL", "BR-1")
    assert (broker.registration_number, broker.issuer_state, broker.name) == ("BR-1", "BE", "Trade SA")


def test_a_renewal_continues_the_period_and_a_lapse_stays_a_gap(broker, licensing, now):
    assert broker.state_on(now - 50 * DAY) is BrokerState.REGISTERED
    assert broker.state_on(now - 5 * DAY) is BrokerState.EXPIRED
    assert broker.state_on(now - 101 * DAY) is BrokerState.NOT_YET_VALID
    broker.renew(authority=licensing, valid_until=now + 100 * DAY, occurred_on=now - 2 * DAY)
    assert broker.periods[-1] == (now - 2 * DAY, now + 100 * DAY)
    assert broker.state_on(now - 5 * DAY) is BrokerState.EXPIRED    # the renewal does not cover the lapse
    assert broker.state_on(now) is BrokerState.REGISTERED


def test_activities_only_while_the_registration_is_in_force(broker, licensing, now):
    activity(broker, licensing, now - 50 * DAY)
    assert broker.activities == 1
    with pytest.raises(BrokerRefused, match="lapsed or expired") as lapsed:
        activity(broker, licensing, now - 5 * DAY)
    with pytest.raises(BrokerRefused, match="not registered before"):
        activity(broker, licensing, now - 101 * DAY)
    broker.suspend(authority=licensing, until=now - 40 * DAY, reason="audit", occurred_on=now - 45 * DAY)
    with pytest.raises(BrokerRefused, match="suspended .* audit"):
        activity(broker, licensing, now - 42 * DAY)
    activity(broker, licensing, now - 39 * DAY)                        # after the suspension
    broker.revoke(authority=licensing, reason="convicted", occurred_on=now - 30 * DAY)
    with pytest.raises(BrokerRefused, match="revoked .* convicted"):
        activity(broker, licensing, now - 20 * DAY)
    assert lapsed.value.field == "broker" and broker.activities == 2


@pytest.mark.parametrize(("overrides", "field"), [
    ({"kind": "smuggling"}, "kind"),
    ({"parties": ()}, "parties"),
    ({"parties": ("  ",)}, "parties"),
    ({"description": ""}, "weapons"),
])
def test_an_activity_must_say_what_and_between_whom(broker, licensing, now, overrides, field):
    with pytest.raises(InvalidField) as refused:
        activity(broker, licensing, now - 50 * DAY, **overrides)
    assert refused.value.field == field and broker.activities == 0


def test_a_revoked_registration_is_neither_renewed_suspended_nor_revoked_again(broker, licensing, now):
    broker.revoke(authority=licensing, reason="convicted", occurred_on=now - 20 * DAY)
    for command in (lambda: broker.renew(authority=licensing, valid_until=now + DAY, occurred_on=now),
                    lambda: broker.suspend(authority=licensing, until=now, reason="x", occurred_on=now),
                    lambda: broker.revoke(authority=licensing, reason="x", occurred_on=now)):
        with pytest.raises(InvalidState) as refused:
            command()
        assert refused.value.field == "broker"
    assert len(broker.collect_events()) == 2


@pytest.mark.parametrize(("command", "field"), [
    (lambda b, a, now: b.renew(authority=a, valid_until=now - 20 * DAY, occurred_on=now), "valid_until"),
    (lambda b, a, now: b.suspend(authority=a, until=now - DAY, reason="x", occurred_on=now), "until"),
    (lambda b, a, now: b.suspend(authority=a, until=now, reason=" ", occurred_on=now), "reason"),
])
def test_bad_dates_and_reasons_are_refused_naming_the_field(broker, licensing, now, command, field):
    with pytest.raises(InvalidField) as refused:
        command(broker, licensing, now)
    assert refused.value.field == field


def test_only_the_licensing_authority_keeps_the_register(authorities, broker, now):
    with pytest.raises(NotPermitted):
        Broker.register(authority=authorities[AuthorityKind.CUSTOMS], registration_number="BR-2", name="X",
                        seat="Y", valid_from=now, valid_until=now, occurred_on=now)
    with pytest.raises(NotPermitted):
        activity(broker, authorities[AuthorityKind.POLICE], now - 50 * DAY)
    with pytest.raises(InvalidField) as backwards:
        Broker.register(authority=authorities[AuthorityKind.LICENSING], registration_number="BR-2", name="X",
                        seat="Y", valid_from=now, valid_until=now - 1, occurred_on=now)
    assert backwards.value.field == "valid_until"


def test_a_licence_names_only_a_broker_in_force_and_only_for_a_border_crossing(make_licence, broker, now):
    named = make_licence(broker=broker, occurred_on=now - 50 * DAY)
    assert named.broker == "BR-1" and named.collect_events()[0].broker == "BR-1"
    assert make_licence(LicenceKind.IMPORT_AUTHORIZATION, broker=broker, occurred_on=now - 50 * DAY).broker == "BR-1"
    assert make_licence(number="EL-2").broker == ""
    with pytest.raises(BrokerRefused) as lapsed:
        make_licence(broker=broker, occurred_on=now - 5 * DAY)
    with pytest.raises(InvalidField) as holding:
        make_licence(LicenceKind.TRANSFER_LICENCE, broker=broker, occurred_on=now - 50 * DAY)
    assert lapsed.value.field == holding.value.field == "broker"


def test_the_shipment_broker_is_the_licences_or_the_same_one_named():
    assert broker_of_shipment("BR-1", "") == "BR-1"
    assert broker_of_shipment("BR-1", " br 1 ") == "BR-1"
    assert broker_of_shipment("", "BR-9") == "BR-9"
    assert broker_of_shipment("", "") == ""
    with pytest.raises(BrokerRefused) as other:
        broker_of_shipment("BR-1", "BR-2")
    assert other.value.field == "broker"


def test_the_register_goes_to_every_partner_and_activities_to_none():
    partners = frozenset({"NL", "DE"})
    for record_type in types.BROKER_REGISTER_TYPES:
        assert default_recipients_by_type(record_type, partners) == partners
    assert default_recipients_by_type(types.BROKER_ACTIVITY_RECORDED, partners) == frozenset()


def test_partners_accept_broker_records_and_licences_signed_before_brokers_existed(broker, licensing, now):
    schema = domain_schema()
    activity(broker, licensing, now - 50 * DAY, kind=BrokeringKind.ARRANGING_TRANSFER, weapons=(str(broker.id),))
    registered, recorded = broker.collect_events()
    for event in (registered, recorded):
        schema.check(stream=str(broker.id), type=event.TOPIC, body=body_of(event), node="BE")
    with pytest.raises(InvalidField) as forged:
        schema.check(stream=str(broker.id), type=registered.TOPIC, body={**body_of(registered), "issuer_state": "NL"},
                     node="BE")
    assert forged.value.field == "body.issuer_state"
    old_licence = {"number": "EL-1", "kind": "export_licence", "issuer_state": "BE", "holder": "FN", "valid_from": 0,
                   "valid_until": 1, "export_state": "BE", "import_state": "NL", "transit_states": (), "consignee": "",
                   "end_user": "", "quantity": 0, "weapons": ()}
    schema.check(stream=str(broker.id), type=types.LICENCE_ISSUED, body=old_licence, node="BE")


def body_of(event) -> dict:
    """The signed body of ``event``: its fields but the envelope's header and eventsourcing's own."""
    header = ("originator_id", "originator_version", "originator_topic", "timestamp", "occurred_on", "authority")
    return {k: v for k, v in vars(event).items() if k not in header}
