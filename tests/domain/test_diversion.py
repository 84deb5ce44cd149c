"""Diversion analysis (``domain.diversion``): one scenario per rule, incomplete evidence, precedence.

Every scenario is a federated lifecycle of real signed envelopes from the
nodes of BE, NL, DE and FR, each (node, stream) chained by ``prev``; the
analysis gets them shuffled, as records arrive from partners in any order.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import pytest

from domain.diversion import Custodian, Rule, analyse
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY, format_time, parse_time
from ledger.envelope import GENESIS_PREV, Envelope, seal, verify_chain, verify_envelope
from ledger.keys import generate_key, key_id

T0 = parse_time("2024-03-01")
MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "123456"}
WEAPON = str(Marking.read(**MARKING).weapon_id())
NAME = "FN HERSTAL BE 123456"
KEYS = {state: generate_key() for state in ("BE", "NL", "DE", "FR")}
DESCRIPTION = {"type": "pistol", "make": "FN", "model": "Five-seveN", "calibre": "5.7x28"}


def day(n: int) -> int:
    return T0 + n * DAY


class Ledgers:
    """Signs records as the nodes of four states would, chaining each (node, stream)."""

    def __init__(self) -> None:
        self.heads: dict[tuple[str, str], tuple[int, bytes]] = {}
        self.records: list[Envelope] = []
        self.ticks = 0

    def record(self, node: str, type: str, on: int, stream: str = WEAPON, /, **body) -> Envelope:
        version, prev = self.heads.get((node, stream), (0, GENESIS_PREV))
        self.ticks += 1
        envelope = seal(KEYS[node], node=node, stream=stream, version=version + 1, type=type, occurred_on=day(on),
                        recorded_at=day(on) * 1_000_000 + self.ticks, authority=key_id(KEYS[node]), prev=prev,
                        body=body)
        self.heads[(node, stream)] = (version + 1, envelope.hash)
        self.records.append(envelope)
        return envelope

    # --- the records of the domain, with the body fields of domain/weapon.py ---

    def manufactured(self, on: int = 0, holder: str = "FN Herstal SA") -> Envelope:
        return self.record("BE", "Weapon.Manufactured", on, marking=MARKING, year=2020, holder=holder, **DESCRIPTION)

    def transferred(self, node: str, on: int, to: str, frm: str = "") -> Envelope:
        return self.record(node, "Weapon.Transferred", on, from_holder=frm, to_holder=to, licence="TL-1")

    def exported(self, on: int, to: str = "NL", frm: str = "BE", shipment: str = "S-1", via: tuple = (),
                 consignee: str = "Wapenhandel BV", licence: str = "EL-1", ia: str = "IA-1") -> Envelope:
        return self.record(frm, "Weapon.Exported", on, licence=licence, import_authorization=ia, from_state=frm,
                           to_state=to, transit_states=via, consignee=consignee, shipment=shipment)

    def opened(self, on: int, to: str = "NL", shipment: str = "S-1") -> Envelope:
        return self.record("BE", "Shipment.Opened", on, shipment, export_licence="EL-1",
                           import_authorization="IA-1", transit_no_objections=(), export_state="BE",
                           import_state=to, transit_states=(), consignee="Wapenhandel BV", weapons=(WEAPON,))

    def imported(self, node: str, on: int, holder: str = "Wapenhandel BV", shipment: str = "S-1",
                 frm: str = "BE") -> Envelope:
        return self.record(node, "Weapon.Imported", on, marking=MARKING, year=2020, from_state=frm,
                           import_state=node, import_year=2024, import_authorization="IA-1", shipment=shipment,
                           holder=holder, **DESCRIPTION)

    def receipt(self, node: str, on: int, shipment: str = "S-1", received_by: str = "", frm: str = "BE") -> Envelope:
        return self.record(node, "Weapon.ReceiptConfirmed", on, shipment=shipment, from_state=frm,
                           received_by=received_by)

    def seized(self, node: str, on: int, place: str = "", marking: dict = MARKING, flags: tuple = ()) -> Envelope:
        return self.record(node, "Weapon.Seized", on, marking=marking, place=place, state=node,
                           circumstances="found in a car", flags=flags, **DESCRIPTION)

    def reported(self, kind: str, node: str, on: int, place: str = "") -> Envelope:
        return self.record(node, f"Weapon.Reported{kind}", on, place=place, circumstances="burglary")

    def recovered(self, node: str, on: int, holder: str = "") -> Envelope:
        return self.record(node, "Weapon.Recovered", on, place="", holder=holder)

    def deactivated(self, node: str, on: int) -> Envelope:
        return self.record(node, "Weapon.Deactivated", on, certificate="DC-9", method="EU 2015/2403")

    def destroyed(self, node: str, on: int) -> Envelope:
        return self.record(node, "Weapon.Destroyed", on, method="shredding", certificate="DS-7")

    def licence(self, node: str, kind: str, number: str, *, to: str = "NL", via: tuple = (),
                consignee: str = "Wapenhandel BV", holder: str = "FN Herstal SA") -> Envelope:
        return self.record(node, "Licence.Issued", -30, f"licence-{node}-{number}", number=number, kind=kind,
                           issuer_state=node, holder=holder, valid_from=day(-30), valid_until=day(300),
                           export_state="BE", import_state=to, transit_states=via, consignee=consignee,
                           end_user="", quantity=1, weapons=())

    def certified(self, node: str, name: str) -> Envelope:
        return self.record(node, "Authority.Certified", -60, f"authorities-{node}",
                           key_id=key_id(KEYS[node]), public_key=b"", kind="deactivation", name=name)


@dataclass
class Case:
    rule: Rule
    custodian: Custodian | None
    on: int | None                      # day of the point of diversion (None: no legal custody known)
    evidence: list[Envelope]
    says: tuple[str, ...]               # facts the sentence must mention
    complete: bool = True
    other_rules: tuple[Rule, ...] = ()
    kwargs: dict = field(default_factory=dict)
    place: str | None = None


FN = Custodian("FN Herstal SA", "BE")


def record_after_destruction(b: Ledgers) -> Case:
    b.certified("BE", "Banc d'Epreuves de Liege")
    made, destroyed = b.manufactured(), b.destroyed("BE", 100)
    seized = b.seized("FR", 200, place="Lille")
    return Case(Rule.RECORD_AFTER_DESTRUCTION, Custodian("Banc d'Epreuves de Liege", "BE"), 100,
                [made, destroyed, seized], ("destruction", "Banc d'Epreuves de Liege", "DS-7", "seized in FR",
                                            "Lille", format_time(day(100)), format_time(day(200))),
                other_rules=(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE,), place="BE")


def record_after_deactivation(b: Ledgers) -> Case:
    b.manufactured(), b.exported(10, to="DE", consignee="Waffen GmbH"), b.imported("DE", 11, holder="Waffen GmbH")
    receipt = b.receipt("DE", 11)
    deactivated = b.deactivated("DE", 50)
    b.record("DE", "Weapon.Marked", 51, mark="DE-DEAKT", reason="deactivation mark")
    stolen = b.reported("Stolen", "DE", 90, place="Köln")
    return Case(Rule.RECORD_AFTER_DEACTIVATION, Custodian("the deactivation body of DE", "DE"), 50,
                [receipt, deactivated, stolen], ("deactivation", "DC-9", "reported stolen in DE"),
                other_rules=(Rule.LOST_OR_STOLEN,))


def deactivation_then_destruction_is_lawful(b: Ledgers) -> Case:
    b.manufactured()
    b.deactivated("BE", 50)
    b.record("BE", "Weapon.Marked", 51, mark="BE-DEACT", reason="deactivation mark")
    destroyed = b.destroyed("BE", 60)
    return Case(Rule.NO_DIVERSION_FOUND, Custodian("the destruction authority of BE", "BE"), 60, [destroyed],
                ("was destroyed", "DS-7"))


def export_never_confirmed_then_seized(b: Ledgers) -> Case:
    made, export, opened = b.manufactured(), b.exported(10), b.opened(10)
    seized = b.seized("FR", 40, place="Lille")
    return Case(Rule.EXPORT_NEVER_CONFIRMED, FN, 10, [made, export, opened, seized],
                (NAME, "FN Herstal SA", "from BE to NL", "S-1", "Wapenhandel BV", "NL never confirmed receipt",
                 "seized in FR (Lille)", format_time(day(10)), format_time(day(40))),
                other_rules=(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE,), place="in transit from BE to NL",
                kwargs={"answered": ("NL",), "now": day(45)})


def export_never_confirmed_overdue(b: Ledgers) -> Case:
    b.manufactured()
    transfer = b.transferred("BE", 3, "Dealer BVBA")
    export = b.exported(10, via=("DE",))
    return Case(Rule.EXPORT_NEVER_CONFIRMED, Custodian("Dealer BVBA", "BE"), 10, [transfer, export],
                ("Dealer BVBA", "via DE", "NL never confirmed receipt", "within 90 days"),
                place="in transit from BE to NL via DE",
                kwargs={"answered": ("NL",), "now": day(100), "overdue_days": 90})


def export_not_yet_overdue(b: Ledgers) -> Case:
    b.manufactured()
    export = b.exported(10)
    return Case(Rule.NO_DIVERSION_FOUND, FN, 10, [export], ("in transit from BE to NL", "not yet overdue"),
                kwargs={"answered": ("NL",), "now": day(99), "overdue_days": 90})


def receipt_by_another_state(b: Ledgers) -> Case:
    made, export = b.manufactured(), b.exported(10)
    imported = b.imported("DE", 12, holder="Waffen GmbH")
    b.receipt("DE", 12)
    return Case(Rule.ROUTE_OR_CONSIGNEE_DEVIATION, FN, 10, [made, export, imported],
                ("deviated from its licence", "imported in DE", "not NL"), place="DE")


def consignee_differs_from_import_authorization(b: Ledgers) -> Case:
    authorization = b.licence("NL", "import_authorization", "IA-1", consignee="Wapenhandel BV")
    made, export = b.manufactured(), b.exported(10, consignee="Shell Trading Ltd")
    b.imported("NL", 12, holder="Shell Trading Ltd"), b.receipt("NL", 12)
    return Case(Rule.ROUTE_OR_CONSIGNEE_DEVIATION, FN, 10, [authorization, made, export],
                ("consignee Shell Trading Ltd", "IA-1", "authorises Wapenhandel BV"), place="NL")


def transit_off_the_export_licence(b: Ledgers) -> Case:
    licence = b.licence("BE", "export_licence", "EL-1", via=("DE",))
    made, export = b.manufactured(), b.exported(10, via=("FR",))
    b.imported("NL", 12), b.receipt("NL", 12)
    return Case(Rule.ROUTE_OR_CONSIGNEE_DEVIATION, FN, 10, [licence, made, export],
                ("routed via FR", "EL-1", "only via DE"), kwargs={"licences": (licence,), "records_without": licence})


def seized_off_route_in_transit(b: Ledgers) -> Case:
    made, export = b.manufactured(), b.exported(10, via=("DE",))
    seized = b.seized("FR", 11, place="Lille")
    imported = b.imported("NL", 15)
    b.receipt("NL", 15)
    return Case(Rule.ROUTE_OR_CONSIGNEE_DEVIATION, FN, 10, [made, export, seized, imported],
                ("during transit it was seized in FR (Lille)", "off the licensed route from BE to NL via DE"),
                other_rules=(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE,), place="Lille, FR")


def stolen(b: Ledgers) -> Case:
    b.manufactured()
    transfer = b.transferred("BE", 5, "Jan Peeters", "FN Herstal SA")
    report = b.reported("Stolen", "BE", 50, place="Antwerp")
    return Case(Rule.LOST_OR_STOLEN, Custodian("Jan Peeters", "BE"), 50, [transfer, report],
                ("Jan Peeters", "reported stolen (Antwerp, BE)", format_time(day(50)), "never recovered"),
                place="Antwerp, BE")


def lost_and_recovered_is_lawful(b: Ledgers) -> Case:
    b.manufactured()
    b.transferred("BE", 5, "Jan Peeters")
    b.reported("Lost", "BE", 50, place="Ghent")
    recovered = b.recovered("BE", 60)
    return Case(Rule.NO_DIVERSION_FOUND, Custodian("Jan Peeters", "BE"), 60, [recovered],
                ("is in legal custody", "Jan Peeters"))


def found_with_no_export(b: Ledgers) -> Case:
    b.manufactured(), b.exported(10), b.imported("NL", 11), b.receipt("NL", 11, received_by="Wapenhandel BV")
    transfer = b.transferred("NL", 20, "Schutterij Sint-Joris", "Wapenhandel BV")
    seized = b.seized("DE", 60, place="Aachen")
    return Case(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE, Custodian("Schutterij Sint-Joris", "NL"), 20,
                [transfer, seized], ("Schutterij Sint-Joris", "in NL", "seized in DE (Aachen)",
                                     "no export from NL to DE"), place="NL")


def obliterated_serial(b: Ledgers) -> Case:
    made = b.manufactured()
    transfer = b.transferred("BE", 5, "Jan Peeters")
    seized = b.seized("BE", 60, place="Charleroi", marking={**MARKING, "serial": "12?456"})
    return Case(Rule.TAMPERED_MARKING, Custodian("Jan Peeters", "BE"), 5, [made, transfer, seized],
                ("tampered", "12?456", "obliterated"), place="BE")


def altered_serial(b: Ledgers) -> Case:
    made = b.manufactured()
    seized = b.seized("BE", 60, marking={**MARKING, "serial": "128456"})
    return Case(Rule.TAMPERED_MARKING, FN, 0, [made, seized], ("128456", "not FN Herstal BE 123456", "manufacture"))


def marking_flagged(b: Ledgers) -> Case:
    made = b.manufactured()
    seized = b.seized("BE", 60, flags=("marking-ground-off",))
    return Case(Rule.TAMPERED_MARKING, FN, 0, [made, seized], ("marking-ground-off",))


def known_only_from_its_seizure(b: Ledgers) -> Case:
    seized = b.seized("FR", 60, place="Marseille")
    return Case(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, None, [seized],
                ("Cannot yet say", "waiting for BE", "first recorded when seized in FR (Marseille)"),
                complete=False, kwargs={"expected_from": ("BE",)}, place="Marseille, FR")


def in_legal_custody(b: Ledgers) -> Case:
    b.manufactured(), b.transferred("BE", 3, "Dealer BVBA"), b.exported(10), b.imported("NL", 11)
    receipt = b.receipt("NL", 12, received_by="Wapenhandel BV")
    return Case(Rule.NO_DIVERSION_FOUND, Custodian("Wapenhandel BV", "NL"), 12, [receipt],
                ("is in legal custody", "Wapenhandel BV", "in NL"), place="NL")


# --- incomplete evidence ---------------------------------------------------------------


def unconfirmed_export_destination_silent(b: Ledgers) -> Case:
    made, export = b.manufactured(), b.exported(10)
    seized = b.seized("FR", 40, place="Lille")
    return Case(Rule.EXPORT_NEVER_CONFIRMED, FN, 10, [made, export, seized],
                ("Cannot yet say", "no records held from NL", "on the records held so far"), complete=False,
                other_rules=(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE,))


def unconfirmed_export_destination_asked(b: Ledgers) -> Case:
    made, export = b.manufactured(), b.exported(10)
    return Case(Rule.EXPORT_NEVER_CONFIRMED, FN, 10, [made, export], ("Cannot yet say", "waiting for NL"),
                complete=False, kwargs={"expected_from": ("NL",), "now": day(200)})


def custody_known_only_from_exporters_copy(b: Ledgers) -> Case:
    b.manufactured(), b.exported(10), b.opened(10)
    receipt = b.record("BE", "Shipment.ReceiptConfirmed", 12, "S-1", confirmed_by_state="NL",
                       confirmation="NL-RC-1")
    return Case(Rule.NO_DIVERSION_FOUND, Custodian("Wapenhandel BV", "NL"), 12, [receipt],
                ("Cannot yet say", "no records held from NL", "held by Wapenhandel BV in NL"), complete=False)


def lawful_but_a_partner_has_not_answered(b: Ledgers) -> Case:
    made = b.manufactured()
    return Case(Rule.NO_DIVERSION_FOUND, FN, 0, [made], ("Cannot yet say", "waiting for DE and FR"),
                complete=False, kwargs={"expected_from": ("DE", "FR")})


# --- precedence: two rules fire, the first in order names the verdict ---------------------


def deactivated_then_found_abroad(b: Ledgers) -> Case:
    made, deactivated = b.manufactured(), b.deactivated("BE", 50)
    seized = b.seized("FR", 70, place="Calais")
    return Case(Rule.RECORD_AFTER_DEACTIVATION, Custodian("the deactivation body of BE", "BE"), 50,
                [made, deactivated, seized], ("deactivation", "seized in FR"),
                other_rules=(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE,))


def destroyed_then_found_obliterated(b: Ledgers) -> Case:
    made, destroyed = b.manufactured(), b.destroyed("BE", 50)
    seized = b.seized("BE", 70, marking={**MARKING, "serial": "1234??"})
    return Case(Rule.RECORD_AFTER_DESTRUCTION, Custodian("the destruction authority of BE", "BE"), 50,
                [made, destroyed, seized], ("destruction process",), other_rules=(Rule.TAMPERED_MARKING,))


def unconfirmed_export_with_wrong_consignee(b: Ledgers) -> Case:
    authorization = b.licence("NL", "import_authorization", "IA-1", consignee="Wapenhandel BV")
    made, export = b.manufactured(), b.exported(10, consignee="Shell Trading Ltd")
    return Case(Rule.EXPORT_NEVER_CONFIRMED, FN, 10, [made, export], ("NL never confirmed receipt",),
                other_rules=(Rule.ROUTE_OR_CONSIGNEE_DEVIATION,),
                kwargs={"answered": ("NL",), "now": day(200), "licences": (authorization,),
                        "records_without": authorization})


def stolen_then_found_abroad_obliterated(b: Ledgers) -> Case:
    made = b.manufactured()
    report = b.reported("Lost", "BE", 50, place="Namur")
    seized = b.seized("NL", 80, place="Maastricht", marking={**MARKING, "serial": "?23456"})
    return Case(Rule.LOST_OR_STOLEN, FN, 50, [made, report, seized],
                ("reported lost (Namur, BE)", "seized in NL (Maastricht)"),
                other_rules=(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE, Rule.TAMPERED_MARKING))


def found_abroad_obliterated(b: Ledgers) -> Case:
    made = b.manufactured()
    seized = b.seized("NL", 80, place="Maastricht", marking={**MARKING, "serial": "?23456"})
    return Case(Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE, FN, 0, [made, seized], ("no export from BE to NL",),
                other_rules=(Rule.TAMPERED_MARKING,))


SCENARIOS = [
    record_after_destruction, record_after_deactivation, deactivation_then_destruction_is_lawful,
    export_never_confirmed_then_seized, export_never_confirmed_overdue, export_not_yet_overdue,
    receipt_by_another_state, consignee_differs_from_import_authorization, transit_off_the_export_licence,
    seized_off_route_in_transit, stolen, lost_and_recovered_is_lawful, found_with_no_export, obliterated_serial,
    altered_serial, marking_flagged, known_only_from_its_seizure, in_legal_custody,
    unconfirmed_export_destination_silent, unconfirmed_export_destination_asked,
    custody_known_only_from_exporters_copy, lawful_but_a_partner_has_not_answered,
    deactivated_then_found_abroad, destroyed_then_found_obliterated, unconfirmed_export_with_wrong_consignee,
    stolen_then_found_abroad_obliterated, found_abroad_obliterated,
]


def run(scenario, seed: int = 0):
    b = Ledgers()
    case = scenario(b)
    kwargs = dict(case.kwargs)
    left_out = kwargs.pop("records_without", None)
    kwargs.setdefault("now", day(400))
    records = [r for r in b.records if r is not left_out]
    random.Random(seed).shuffle(records)
    return b, case, analyse(WEAPON, records, **kwargs)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_verdict(scenario):
    _, case, verdict = run(scenario)
    assert verdict.rule is case.rule, verdict.sentence
    assert verdict.last_legal_custodian == case.custodian
    assert verdict.occurred_on == (None if case.on is None else day(case.on))
    assert [e.hash for e in verdict.evidence] == [r.hash.hex() for r in case.evidence]
    assert [(e.node, e.type, e.version) for e in verdict.evidence] == [(r.node, r.type, r.version)
                                                                      for r in case.evidence]
    assert verdict.complete is case.complete
    assert bool(verdict.missing) is not case.complete
    assert set(case.other_rules) <= set(verdict.other_rules), verdict.other_rules
    if case.place is not None:
        assert verdict.place == case.place
    for fact in case.says:
        assert fact in verdict.sentence, f"{fact!r} not in {verdict.sentence!r}"
    if case.complete:
        assert verdict.sentence.startswith(f"Weapon {NAME} ")
    assert verdict.sentence.endswith(".") and "\n" not in verdict.sentence


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_verdict_does_not_depend_on_the_order_records_arrive_in(scenario):
    first, second = run(scenario, seed=1)[2], run(scenario, seed=2)[2]
    assert first.to_dict() | {"evidence": None} == second.to_dict() | {"evidence": None}
    assert [e.type for e in first.evidence] == [e.type for e in second.evidence]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_scenarios_are_real_signed_chains(scenario):
    b = Ledgers()
    scenario(b)
    chains: dict[tuple[str, str], list[Envelope]] = {}
    for record in b.records:
        assert verify_envelope(record, KEYS[record.node].public_key())
        chains.setdefault((record.node, record.stream), []).append(record)
    assert all(verify_chain(chain) for chain in chains.values())
    assert all(Envelope.from_bytes(r.to_bytes()) == r for r in b.records)


def test_missing_names_the_silent_destination_and_the_unanswered_state():
    _, _, silent = run(unconfirmed_export_destination_silent)
    assert [m.state for m in silent.missing] == ["NL"]
    assert "destination of shipment S-1" in silent.missing[0].reason
    _, _, asked = run(unconfirmed_export_destination_asked)
    assert [(m.state, m.reason) for m in asked.missing] == [("NL", "has not answered the trace request yet")]


def test_a_destination_that_answered_with_nothing_makes_the_evidence_complete():
    b = Ledgers()
    b.manufactured(), b.exported(10)
    assert not analyse(WEAPON, b.records, now=day(200)).complete
    verdict = analyse(WEAPON, b.records, now=day(200), answered=("NL",))
    assert verdict.complete and verdict.rule is Rule.EXPORT_NEVER_CONFIRMED


def test_receipt_without_a_shipment_number_still_proves_arrival():
    b = Ledgers()
    b.manufactured(), b.exported(10), b.imported("NL", 11, shipment=""), b.receipt("NL", 11, shipment="")
    verdict = analyse(WEAPON, b.records, now=day(400))
    assert verdict.rule is Rule.NO_DIVERSION_FOUND
    assert verdict.last_legal_custodian == Custodian("Wapenhandel BV", "NL")


def test_records_on_one_day_follow_recording_time():
    b = Ledgers()
    b.manufactured(), b.transferred("BE", 5, "First Holder"), b.transferred("BE", 5, "Second Holder")
    verdict = analyse(WEAPON, list(reversed(b.records)), now=day(400))
    assert verdict.last_legal_custodian == Custodian("Second Holder", "BE")


def test_records_of_other_weapons_and_shipments_are_ignored():
    b = Ledgers()
    b.manufactured()
    other = str(Marking.read("Glock", "AT", "X1").weapon_id())
    b.record("FR", "Weapon.Seized", 30, other, marking={}, place="", state="FR", circumstances="",
             flags=(), **DESCRIPTION)
    b.record("DE", "Shipment.ReceiptConfirmed", 31, "S-OTHER", confirmed_by_state="DE", confirmation="")
    verdict = analyse(WEAPON, b.records, now=day(400))
    assert verdict.rule is Rule.NO_DIVERSION_FOUND and [e.type for e in verdict.evidence] == ["Weapon.Manufactured"]


def test_no_records_at_all_is_no_legal_custody_not_a_guess():
    verdict = analyse(WEAPON, [], now=day(400), expected_from=("BE",))
    assert verdict.rule is Rule.NO_LEGAL_CUSTODY_ON_RECORD and verdict.last_legal_custodian is None
    assert not verdict.complete and verdict.sentence.startswith("Cannot yet say")


def test_to_dict_is_json():
    _, case, verdict = run(export_never_confirmed_then_seized)
    document = json.loads(json.dumps(verdict.to_dict()))
    assert document["rule"] == "export-never-confirmed"
    assert document["last_legal_custodian"] == {"holder": "FN Herstal SA", "state": "BE"}
    assert document["occurred_on"] == day(10) and document["occurred_on_utc"] == "2024-03-11T00:00:00Z"
    assert document["evidence"][1] == {"hash": case.evidence[1].hash.hex(), "node": "BE", "stream": WEAPON,
                                       "type": "Weapon.Exported", "version": 2}
    assert document["complete"] is True and document["missing"] == []
    assert document["other_rules"] == ["no-export-from-last-legal-state"]
