"""Which authority kind may record which event (``domain.authority.PERMISSIONS``).

The matrix runs every entry of the table against every authority kind: the
permitted kinds record the event, every other kind is refused with
``NotPermitted`` naming the field ``authority``, and nothing is recorded.
"""

from __future__ import annotations

import uuid

import pytest

from domain.alarm import Alarm
from domain.authority import PERMISSIONS, Authority, AuthorityKind, check_permitted
from domain.broker import Broker
from domain.component import Component, component_id
from domain.disclosure import DisclosureAnswer, DisclosureRequest
from domain.erasure import PersonErasure
from domain.errors import InvalidField, NotPermitted
from domain.hit import HitNotice
from domain.licence import Licence, LicenceKind
from domain.marking import Marking
from domain.retention import RecordDue, RetentionClass
from domain.shipment import Shipment
from domain.time import SECONDS_PER_DAY as DAY
from domain.trace import TraceAnswer, TraceRequest
from domain.weapon import Weapon

from signed_streams import PartnerRecord

L, C, P, D, R = (AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE,
                 AuthorityKind.DEACTIVATION, AuthorityKind.REGISTRY)


class Recipes:
    """For each event type: set up (with permitted authorities), then run the command as ``by``."""

    def __init__(self, authorities, make_weapon, make_licence, now):
        self.a, self.make_weapon, self.make_licence, self.now = authorities, make_weapon, make_licence, now

    def run(self, event_type: str, by: Authority):
        name = event_type.replace(".", "_")
        return getattr(self, name)(by)

    def has(self, event_type: str) -> bool:
        return hasattr(self, event_type.replace(".", "_"))

    # --- brokers (FP art 15)
    def Broker_Registered(self, by):
        return Broker.register(authority=by, registration_number="BR-1", name="Trade SA", seat="Brussels",
                               valid_from=self.now - DAY, valid_until=self.now + DAY, occurred_on=self.now - DAY)

    def _broker(self):
        return self.Broker_Registered(self.a[AuthorityKind.LICENSING])

    def Broker_Renewed(self, by):
        broker = self._broker()
        broker.renew(authority=by, valid_until=self.now + 2 * DAY, occurred_on=self.now)
        return broker

    def Broker_Suspended(self, by):
        broker = self._broker()
        broker.suspend(authority=by, until=self.now, reason="audit", occurred_on=self.now)
        return broker

    def Broker_Revoked(self, by):
        broker = self._broker()
        broker.revoke(authority=by, reason="convicted", occurred_on=self.now)
        return broker

    def Broker_ActivityRecorded(self, by):
        broker = self._broker()
        broker.record_activity(authority=by, kind="negotiation", parties=("A", "B"), description="rifles",
                               occurred_on=self.now)
        return broker
    # --- components and conversions: police and customs record what they find in a seized weapon
    def _worked_on_by(self, by):
        w = self.make_weapon()
        if by.kind in (P, C):
            w.seize(authority=by, place="Gent", circumstances="raid", occurred_on=self.now)
        return w

    def Weapon_Assembled(self, by):
        w = self._worked_on_by(by)
        frame = Marking.read("FN", "BE", "F-1")
        w.assemble(authority=by, parts=(("frame", str(component_id("frame", frame)), frame.as_dict()),),
                   occurred_on=self.now)
        return w

    def Weapon_ComponentReplaced(self, by):
        w = self.Weapon_Assembled(self.a[L])
        w.replace_component(authority=by, kind="frame", installed=str(uuid.uuid4()), installed_marking={},
                            reason="worn", occurred_on=self.now)
        return w

    def Weapon_Converted(self, by):
        w = self._worked_on_by(by)
        w.convert(authority=by, conversion="calibre", calibre="7.62", occurred_on=self.now)
        return w

    def Component_Registered(self, by):
        return Component.register(authority=by, kind="frame", marking=Marking.read("FN", "BE", "F-2"),
                                  occurred_on=self.now)

    def Component_Installed(self, by):
        c = self.Component_Registered(self.a[L])
        c.install(authority=by, weapon_id=str(uuid.uuid4()), weapon_marking={}, host=None, occurred_on=self.now)
        return c

    def Component_Removed(self, by):
        c = self.Component_Installed(self.a[L])
        c.remove(authority=by, weapon_id=c.weapon_id, reason="worn", occurred_on=self.now)
        return c

    def Component_Destroyed(self, by):
        c = self.Component_Registered(self.a[L])
        c.destroy(authority=by, method="shredded", occurred_on=self.now)
        return c

    def Component_Seized(self, by):
        c = self.Component_Registered(self.a[P])
        c.seize(authority=by, weapon_id=str(uuid.uuid4()), host=None, occurred_on=self.now)
        return c

    # --- hit notices
    def HitNotice_Sent(self, by):
        report = PartnerRecord(node="NL", stream=str(uuid.uuid4()), version=3, type="Weapon.ReportedStolen")
        return HitNotice.send(authority=by, report=report, weapon_id=report.stream, marking={}, place="Lille",
                              recorded_type="Weapon.Seized", recorded_version=2, occurred_on=self.now)

    def PersonErasure_Recorded(self, by):
        allowed_by = RecordDue("s", 1, "Weapon.Transferred", RetentionClass.OTHER, 20, self.now - DAY)
        return PersonErasure.erase(authority=by, reference="person:AAAAAAAAAAAAAAAAAAAAAAAAAA", allowed_by=allowed_by,
                                   partners=("NL",), occurred_on=self.now)

    def Alarm_Settled(self, by):
        return Alarm.settle(authority=by, entry="ab" * 32, origin="NL", alarm="fork-or-rewrite",
                            reason="reviewed with NL's operator", occurred_on=self.now)

    # --- weapons
    def Weapon_Manufactured(self, by):
        return Weapon.manufacture(authority=by, marking=Marking.read("FN", "BE", "M-1"), type="pistol", make="FN",
                                  model="", calibre="9", year=2020, holder="FN", occurred_on=self.now)

    def Weapon_Imported(self, by):
        marking = Marking.read("Glock", "AT", "I-1")
        return Weapon.register_import(marking.weapon_id(), authority=by, marking=marking, type="pistol", make="",
                                      model="", calibre="9", year=2019, from_state="AT", import_year=2024,
                                      import_authorization="IA-1", holder="Dealer", occurred_on=self.now,
                                      shipment="S-1")

    def Weapon_Exported(self, by):
        w = self.make_weapon()
        w.export(authority=by, licence=self.make_licence(), import_authorization="IA-1", to_state="NL",
                 occurred_on=self.now, shipment="S-1")
        return w

    def Weapon_ReceiptConfirmed(self, by):
        w = self.Weapon_Imported(self.a[C])
        w.confirm_receipt(authority=by, occurred_on=self.now)
        return w

    def Weapon_Transferred(self, by):
        w = self.make_weapon()
        licence = self.make_licence(LicenceKind.TRANSFER_LICENCE, number="TL-1", holder="Jan")
        w.transfer(authority=by, to_holder="Jan", licence=licence, occurred_on=self.now)
        return w

    def Weapon_Marked(self, by):
        w = self.make_weapon()
        w.mark(authority=by, mark="BE-1", reason="", occurred_on=self.now)
        return w

    def Weapon_ReportedLost(self, by):
        w = self.make_weapon()
        w.report_lost(authority=by, place="", circumstances="", occurred_on=self.now)
        return w

    def Weapon_ReportedStolen(self, by):
        w = self.make_weapon()
        w.report_stolen(authority=by, place="", circumstances="", occurred_on=self.now)
        return w

    def Weapon_Recovered(self, by):
        w = self.make_weapon()
        w.report_stolen(authority=self.a[P], place="", circumstances="", occurred_on=self.now)
        w.recover(authority=by, place="", holder="", occurred_on=self.now)
        return w

    def Weapon_Seized(self, by):
        w = self.make_weapon()
        w.seize(authority=by, place="", circumstances="", occurred_on=self.now)
        return w

    def Weapon_Confiscated(self, by):
        w = self.make_weapon()
        w.seize(authority=self.a[P], place="", circumstances="", occurred_on=self.now)
        w.confiscate(authority=by, order="O-1", occurred_on=self.now)
        return w

    def Weapon_Corrected(self, by):
        # The table lets every kind sign a correction; which record a kind may correct is the correction's
        # own rule (domain.correction, tests/domain/test_correction_rules.py).
        w = self.make_weapon()
        w.correct(authority=by, occurred_on=self.now, record="ab" * 32, record_version=1,
                  record_type="Weapon.Manufactured", old_values={"model": "Five-seveN"},
                  new_values={"model": "Five-seveN MK2"}, reason="misread")
        return w

    def Weapon_Deactivated(self, by):
        w = self.make_weapon()
        w.deactivate(authority=by, certificate="DC-1", method="", standard="EU 2018/337", inspecting_body="BE proof",
                     inspected_on=self.now, occurred_on=self.now)
        return w

    def Weapon_Reactivated(self, by):
        w = self.Weapon_Deactivated(self.a[D])
        licence = self.make_licence(LicenceKind.REACTIVATION_LICENCE, number="RL-1", weapons=(str(w.id),))
        w.reactivate(authority=by, licence=licence, reason="restored for a museum", occurred_on=self.now)
        return w

    def Weapon_Destroyed(self, by):
        w = self.make_weapon()
        w.destroy(authority=by, method="shredding", certificate="", occurred_on=self.now)
        return w

    # --- licences and shipments
    def Licence_Issued(self, by):
        return Licence.issue(authority=by, number="TL-9", kind=LicenceKind.TRANSFER_LICENCE, holder="Jan",
                             valid_from=self.now, valid_until=self.now + DAY, occurred_on=self.now)

    def Licence_Revoked(self, by):
        licence = self.make_licence()
        licence.revoke(authority=by, reason="end user changed", occurred_on=self.now)
        return licence

    def Shipment_Opened(self, by):
        return Shipment.open(authority=by, export_licence="EL-1", import_authorization="IA-1", import_state="NL",
                             weapons=(str(uuid.uuid4()),), occurred_on=self.now)

    def Shipment_ReceiptConfirmed(self, by):
        shipment = self.Shipment_Opened(self.a[C])
        shipment.confirm_receipt(authority=by, confirmed_by_state="NL", confirmation="NL-RC-1",
                                 occurred_on=self.now)
        return shipment

    # --- tracing (ITI paras 17-23)
    def TraceRequest_Submitted(self, by):
        return TraceRequest.submit(authority=by, addressee="FR", weapon_id=str(uuid.uuid4()),
                                   marking={"manufacturer": "MAS", "country": "FR", "serial": "1"}, type="rifle",
                                   calibre="7.5", circumstances="found in a raid", legal_basis="ITI para 17",
                                   intended_use="criminal investigation", priority="routine", occurred_on=self.now)

    def TraceRequest_Forwarded(self, by):
        trace = self.TraceRequest_Submitted(self.a[P])
        trace.forward(authority=by, to_state="NL", next_trace=str(uuid.uuid4()), reason="exported to NL",
                      occurred_on=self.now)
        return trace

    def TraceRequest_Closed(self, by):
        trace = self.TraceRequest_Submitted(self.a[P])
        trace.close(authority=by, outcome="traced", occurred_on=self.now)
        return trace

    def TraceAnswer_Acknowledged(self, by):
        return TraceAnswer.acknowledge(trace_id=uuid.uuid4(), authority=by, requesting_state="FR",
                                       occurred_on=self.now)

    def _answer(self):
        return self.TraceAnswer_Acknowledged(self.a[P])

    def TraceAnswer_Responded(self, by):
        answer = self._answer()
        answer.respond(authority=by, weapon_id="", fragment=(), exported_to=(), complete=True, occurred_on=self.now)
        return answer

    def TraceAnswer_Untraceable(self, by):
        answer = self._answer()
        answer.untraceable(authority=by, reason="no record", occurred_on=self.now)
        return answer

    def TraceAnswer_Delayed(self, by):
        answer = self._answer()
        answer.delay(authority=by, ground="ongoing-investigation", explanation="pending", expected_by=self.now + DAY,
                     occurred_on=self.now)
        return answer

    def TraceAnswer_Restricted(self, by):
        answer = self._answer()
        answer.restrict(authority=by, ground="confidentiality-law", explanation="holder withheld", weapon_id="",
                        fragment=(), occurred_on=self.now)
        return answer

    def TraceAnswer_Refused(self, by):
        answer = self._answer()
        answer.refuse(authority=by, ground="national-security", explanation="refused", occurred_on=self.now)
        return answer


    # --- disclosure of a holder's identity (docs/personal-data.md)
    def DisclosureRequest_Requested(self, by):
        return DisclosureRequest.request(authority=by, addressee="NL", person="person:AAAAAAAAAAAAAAAAAAAAAAAAAA",
                                         weapon_id=str(uuid.uuid4()), purpose="case 1", legal_basis="CPP art 36",
                                         answer_key=b"k" * 32, occurred_on=self.now)

    def DisclosureAnswer_Released(self, by):
        return DisclosureAnswer.release(request_id=uuid.uuid4(), authority=by, requesting_state="NL",
                                        person="person:AAAAAAAAAAAAAAAAAAAAAAAAAA", commitment="0" * 64,
                                        sealed_identity=b"box", occurred_on=self.now)

    def DisclosureAnswer_Refused(self, by):
        return DisclosureAnswer.refuse(request_id=uuid.uuid4(), authority=by, requesting_state="NL",
                                       person="person:AAAAAAAAAAAAAAAAAAAAAAAAAA", reason="no case",
                                       occurred_on=self.now)


@pytest.fixture
def recipes(authorities, make_weapon, make_licence, now):
    return Recipes(authorities, make_weapon, make_licence, now)


MATRIX = [(event_type, kind) for event_type in PERMISSIONS for kind in AuthorityKind]


@pytest.mark.parametrize(("event_type", "kind"), MATRIX, ids=[f"{e}-{k.value}" for e, k in MATRIX])
def test_permission_matrix(event_type, kind, recipes, authorities):
    if not recipes.has(event_type):
        pytest.skip(f"no recipe for {event_type} in tests/domain/test_authority.py yet")
    by = authorities[kind]
    if kind in PERMISSIONS[event_type]:
        aggregate = recipes.run(event_type, by)
        event = aggregate.collect_events()[-1]
        assert event.TOPIC == event_type
        assert event.authority == by.key_id
    else:
        with pytest.raises(NotPermitted) as info:
            recipes.run(event_type, by)
        assert info.value.field == "authority"
        assert kind.value in str(info.value)


@pytest.mark.parametrize("aggregate", [Weapon, Licence, Shipment, TraceRequest, TraceAnswer, HitNotice, Component,
                                       DisclosureRequest, DisclosureAnswer],
                         ids=lambda c: c.__name__)
def test_every_event_class_has_a_permission_entry(aggregate):
    topics = {c.TOPIC for c in vars(aggregate).values()
              if isinstance(c, type) and issubclass(c, aggregate.Event) and c is not aggregate.Event
              and c.TOPIC != aggregate.Event.TOPIC}
    assert topics, aggregate
    assert topics <= PERMISSIONS.keys(), sorted(topics - PERMISSIONS.keys())


def test_every_kind_may_record_something_and_no_event_is_open_to_all():
    for kind in AuthorityKind:
        assert any(kind in kinds for kinds in PERMISSIONS.values()), kind
    # A correction is the one exception: who may correct depends on the record corrected (domain.correction).
    assert all(kinds and (kinds != frozenset(AuthorityKind) or event_type == "Weapon.Corrected")
               for event_type, kinds in PERMISSIONS.items())


def test_unknown_event_type_is_not_recordable():
    with pytest.raises(NotPermitted) as info:
        check_permitted("Weapon.Teleported", AuthorityKind.REGISTRY)
    assert info.value.field == "type"


@pytest.mark.parametrize("value", ["Police", "army", "", "licencing"])
def test_unknown_authority_kind_is_refused(value):
    with pytest.raises(InvalidField) as info:
        AuthorityKind.parse(value)
    assert info.value.field == "authority"
    assert AuthorityKind.parse("police") is AuthorityKind.POLICE
