"""Rules of the Weapon aggregate, each with its failing case.

Every refusal is checked for its error class and the ``field`` it names.
"""

from __future__ import annotations

import dataclasses
import functools

import pytest

from domain.authority import AuthorityKind
from domain.errors import InvalidField, InvalidState, LicenceRefused, UnknownWeapon
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY, year_of
from domain.weapon import Status, Weapon
from domain.weapon_state import OPENING_TYPES

from weapon_life import lose_find_seize_and_destroy

STATE = "BE"  # the state of the ``authorities`` fixture (conftest.py)

L, C, P, D, R = (AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE,
                 AuthorityKind.DEACTIVATION, AuthorityKind.REGISTRY)

OPENING = {Weapon.Manufactured, Weapon.Imported, Weapon.Seized}
NON_OPENING = [Weapon.Exported, Weapon.ReceiptConfirmed, Weapon.Transferred, Weapon.Marked, Weapon.ReportedLost,
               Weapon.ReportedStolen, Weapon.Recovered, Weapon.Confiscated, Weapon.Deactivated, Weapon.Destroyed,
               Weapon.Reactivated]
# Records of components and conversions (tests/domain/test_component_rules.py shows they open no record).
COMPONENT_RECORDS = {Weapon.Assembled, Weapon.ComponentReplaced, Weapon.Converted}


def replay(events) -> Weapon | None:
    return functools.reduce(lambda weapon, event: event.mutate(weapon), events, None)


@pytest.fixture
def a(authorities):
    """Authority by kind, short: ``a[P]``."""
    return authorities


@pytest.fixture
def transfer_licence(make_licence, now):
    return make_licence(LicenceKind.TRANSFER_LICENCE, number="TL-1", holder="Jan Peeters")


@pytest.fixture
def full_life(a, make_weapon, make_licence, transfer_licence, now):
    """Events of one weapon through every kind of record except export and import."""
    w = make_weapon()
    w.mark(authority=a[L], mark="BE-NAT-1", reason="national mark", occurred_on=now)
    w.transfer(authority=a[L], to_holder="Jan Peeters", licence=transfer_licence, occurred_on=now)
    lose_find_seize_and_destroy(w, a, now)
    return w, w.collect_events()


def imported_weapon(a, now, serial="I-1", shipment="SHIP-1") -> Weapon:
    marking = Marking.read("Glock", "AT", serial)
    return Weapon.register_import(
        marking.weapon_id(), authority=a[C], marking=marking, type="pistol", make="Glock", model="17",
        calibre="9x19", year=2019, from_state="AT", import_year=2024, import_authorization="IA-1",
        holder="Dealer BVBA", occurred_on=now, shipment=shipment,
    )


# --- opening a record ---------------------------------------------------------------------


@pytest.mark.parametrize("event_class", NON_OPENING, ids=lambda c: c.TOPIC)
def test_no_record_can_open_with_a_non_opening_event(event_class, full_life, a, make_weapon, make_licence, now):
    _, events = full_life
    exported = make_weapon("E-1")
    exported.export(authority=a[C], licence=make_licence(), import_authorization="IA-9", to_state="NL",
                    occurred_on=now, shipment="S")
    imported = imported_weapon(a, now)
    imported.confirm_receipt(authority=a[C], occurred_on=now)
    restored = make_weapon("R-1")
    restored.deactivate(authority=a[D], certificate="DC-R", method="", standard="EU 2018/337",
                        inspecting_body="BE proof", inspected_on=now, occurred_on=now)
    restored.reactivate(authority=a[L], licence=make_licence(LicenceKind.REACTIVATION_LICENCE, number="RL-1",
                                                             weapons=(str(restored.id),)),
                        reason="museum piece restored", occurred_on=now)
    every = [*events, *exported.collect_events(), *imported.collect_events(), *restored.collect_events()]
    event = next(e for e in every if type(e) is event_class)
    first = dataclasses.replace(event, originator_version=1)
    if event_class in (Weapon.ReportedLost, Weapon.ReportedStolen):
        first = dataclasses.replace(first, marking={})  # a report that describes the weapon opens its record
    with pytest.raises(UnknownWeapon) as info:
        first.mutate(None)
    assert info.value.field == "weapon"
    with pytest.raises(UnknownWeapon):
        replay([first])


def test_exactly_manufacture_import_and_seizure_open_a_record():
    # Weapon.Created is eventsourcing's unused default: weapons open with one of three events.
    classes = {c for c in vars(Weapon).values()
               if isinstance(c, type) and issubclass(c, Weapon.Event) and c not in (Weapon.Event, Weapon.Created)}
    assert classes == OPENING | set(NON_OPENING) | COMPONENT_RECORDS | {Weapon.Corrected}
    assert {c for c in classes if c.TOPIC in OPENING_TYPES} == OPENING


def test_manufacture_opens_a_record(make_weapon):
    w = make_weapon(holder="FN Herstal")
    (event,) = w.collect_events()
    assert type(event) is Weapon.Manufactured and event.originator_version == 1
    assert w.status is Status.ACTIVE and w.holder == "FN Herstal" and w.place == STATE
    assert replay([event]).marking == w.marking


def test_import_opens_a_record(a, now):
    w = imported_weapon(a, now)
    (event,) = w.collect_events()
    assert type(event) is Weapon.Imported
    assert w.status is Status.ACTIVE and w.place == STATE and w.holder == "Dealer BVBA"
    assert w.import_marking == {"country": STATE, "year": 2024}
    assert w.marking["country"] == "AT"


def test_seizure_opens_the_record_of_an_unrecorded_weapon(a, now):
    # ITI para 9: a weapon found here and never recorded is registered by its seizure.
    marking = Marking.read("Zastava", "RS", "M70-1")
    w = Weapon.register_seizure(marking.weapon_id(), authority=a[P], marking=marking, place="Antwerp",
                                circumstances="raid", type="rifle", calibre="7.62x39", occurred_on=now)
    (event,) = w.collect_events()
    assert type(event) is Weapon.Seized and event.flags == ()
    assert w.status is Status.SEIZED and w.marking == marking.as_dict() and w.type == "rifle"
    assert replay([event]).status is Status.SEIZED


def test_replay_gives_the_live_state(full_life):
    live, events = full_life
    replayed = replay(events)
    for name in ("status", "holder", "place", "flags", "marks", "marking", "deactivation_certificate", "version"):
        assert getattr(replayed, name) == getattr(live, name), name


# --- after destruction ---------------------------------------------------------------------


@pytest.fixture
def destroyed(a, make_weapon, now):
    w = make_weapon()
    w.destroy(authority=a[D], method="shredding", certificate="DS-1", occurred_on=now)
    return w


@pytest.fixture
def commands(a, now, make_licence, transfer_licence):
    """Every command but ``seize`` by name, each a function of the weapon, with arguments an active weapon passes."""
    licence = make_licence()
    return {
        "mark": lambda w: w.mark(authority=a[L], mark="X", reason="", occurred_on=now),
        "transfer": lambda w: w.transfer(authority=a[L], to_holder="Jan Peeters", licence=transfer_licence,
                                         occurred_on=now),
        "export": lambda w: w.export(authority=a[C], licence=licence, import_authorization="IA", to_state="NL",
                                     occurred_on=now, shipment="S"),
        "report_lost": lambda w: w.report_lost(authority=a[P], place="", circumstances="", occurred_on=now),
        "report_stolen": lambda w: w.report_stolen(authority=a[P], place="", circumstances="", occurred_on=now),
        "recover": lambda w: w.recover(authority=a[P], place="", holder="", occurred_on=now),
        "confiscate": lambda w: w.confiscate(authority=a[P], order="O-1", occurred_on=now),
        "deactivate": lambda w: w.deactivate(authority=a[D], certificate="DC", method="", standard="EU 2018/337",
                                            inspecting_body="BE proof", inspected_on=now, occurred_on=now),
        "destroy": lambda w: w.destroy(authority=a[D], method="again", certificate="", occurred_on=now),
        "confirm_receipt": lambda w: w.confirm_receipt(authority=a[C], occurred_on=now),
        "import_": lambda w: w.import_(authority=a[C], marking=Marking.read("FN Herstal", STATE, "1001"),
                                       type="pistol", make="", model="", calibre="5.7", year=2020,
                                       from_state="NL", import_year=2024, import_authorization="IA",
                                       holder="X", occurred_on=now),
    }


COMMANDS = ["mark", "transfer", "export", "report_lost", "report_stolen", "recover", "confiscate", "deactivate",
            "destroy", "confirm_receipt", "import_"]


def _refused(weapon: Weapon, *runs) -> list[InvalidState]:
    """The errors of ``runs`` on ``weapon``: each must raise ``InvalidState`` naming the weapon and record nothing."""
    errors = []
    for run in runs:
        before = weapon.version
        with pytest.raises(InvalidState) as info:
            run(weapon)
        assert info.value.field == "weapon"
        assert weapon.version == before
        errors.append(info.value)
    return errors


@pytest.mark.parametrize("command", COMMANDS)
def test_nothing_but_a_seizure_after_destruction(command, destroyed, commands):
    _refused(destroyed, commands[command])


def test_seizure_after_destruction_is_recorded_and_flagged(destroyed, a, now):
    destroyed.seize(authority=a[P], place="Brussels", circumstances="found at a market", occurred_on=now)
    event = destroyed.collect_events()[-1]
    assert type(event) is Weapon.Seized
    assert "after-destruction" in event.flags
    assert "after-destruction" in destroyed.flags
    assert destroyed.status is Status.DESTROYED  # the seizure does not undo the destruction record
    destroyed.seize(authority=a[C], place="Port of Antwerp", circumstances="again", occurred_on=now)
    assert destroyed.collect_events()[-1].flags == ("after-destruction",)


def test_seizure_of_a_lost_weapon_is_flagged(a, make_weapon, now):
    w = make_weapon()
    w.report_stolen(authority=a[P], place="", circumstances="", occurred_on=now)
    w.seize(authority=a[P], place="", circumstances="", occurred_on=now)
    assert w.collect_events()[-1].flags == ("reported-stolen",)
    assert w.status is Status.SEIZED


# --- deactivated weapons ----------------------------------------------------------------


@pytest.fixture
def deactivated(a, make_weapon, now):
    w = make_weapon()
    w.deactivate(authority=a[D], certificate="DC-1", method="EU 2015/2403", standard="EU 2018/337",
                 inspecting_body="BE proof", inspected_on=now, occurred_on=now)
    return w


def test_deactivated_weapon_cannot_be_transferred_or_exported(deactivated, commands):
    for error in _refused(deactivated, commands["transfer"], commands["export"]):
        assert "deactivated" in str(error)


def test_deactivated_weapon_stays_deactivated_after_theft_and_recovery(deactivated, a, now, commands):
    # Bug fixed: recovery used to set the status to ACTIVE, and the weapon could then be sold as a firearm.
    deactivated.report_stolen(authority=a[P], place="", circumstances="", occurred_on=now)
    deactivated.recover(authority=a[P], place="", holder="", occurred_on=now)
    _refused(deactivated, commands["transfer"], commands["export"])
    replayed = replay(deactivated.collect_events())
    with pytest.raises(InvalidState):
        commands["transfer"](replayed)


def test_deactivation_is_recorded_with_its_certificate(deactivated):
    event = deactivated.collect_events()[-1]
    assert type(event) is Weapon.Deactivated and event.certificate == "DC-1"
    assert deactivated.status is Status.DEACTIVATED


def test_deactivation_needs_a_certificate(a, make_weapon, now):
    with pytest.raises(InvalidField) as info:
        make_weapon().deactivate(authority=a[D], certificate=" ", method="", standard="EU 2018/337",
                                 inspecting_body="BE proof", inspected_on=now, occurred_on=now)
    assert info.value.field == "certificate"


def test_deactivated_weapon_cannot_be_deactivated_again(deactivated, a, now):
    with pytest.raises(InvalidState) as info:
        deactivated.deactivate(authority=a[D], certificate="DC-2", method="", standard="EU 2018/337",
                               inspecting_body="BE proof", inspected_on=now, occurred_on=now)
    assert info.value.field == "weapon"


def test_seizure_of_a_deactivated_weapon_is_flagged(deactivated, a, now):
    deactivated.seize(authority=a[P], place="", circumstances="", occurred_on=now)
    assert deactivated.collect_events()[-1].flags == ("after-deactivation",)


# --- export (FP art 10(2)) -------------------------------------------------------------------


def _export(w, a, licence, *, to_state="NL", import_authorization="IA-NL-1", occurred_on):
    w.export(authority=a[C], licence=licence, import_authorization=import_authorization, to_state=to_state,
             occurred_on=occurred_on, shipment="SHIP-1")


def test_export_under_a_covering_licence(a, make_weapon, make_licence, now):
    w = make_weapon()
    _export(w, a, make_licence(consignee="Dealer NL"), occurred_on=now)
    event = w.collect_events()[-1]
    assert type(event) is Weapon.Exported
    assert (event.licence, event.import_authorization, event.from_state, event.to_state, event.consignee) == (
        "EL-1", "IA-NL-1", STATE, "NL", "Dealer NL")
    assert w.status is Status.EXPORTED and w.place == "NL"


def test_export_under_a_licence_listing_the_weapon_issued_to_someone_else(a, make_weapon, make_licence, now):
    w = make_weapon(holder="Jan Peeters")
    _export(w, a, make_licence(holder="Broker SA", weapons=(str(w.id),)), occurred_on=now)
    assert w.status is Status.EXPORTED


@pytest.mark.parametrize(
    ("case", "error", "field"),
    [
        ("expired", LicenceRefused, "licence"),
        ("not yet valid", LicenceRefused, "licence"),
        ("revoked", LicenceRefused, "licence"),
        ("wrong destination", LicenceRefused, "to"),
        ("transfer licence", LicenceRefused, "licence"),
        ("import authorization as export licence", LicenceRefused, "licence"),
        ("other weapons listed", LicenceRefused, "licence"),
        ("issued to another holder", LicenceRefused, "licence"),
        ("no licence", InvalidField, "licence"),
        ("no import authorization", InvalidField, "import_authorization"),
        ("blank import authorization", InvalidField, "import_authorization"),
        ("destination is home", InvalidField, "to"),
        ("destination not a country", InvalidField, "to"),
    ],
)
def test_export_refused(case, error, field, a, make_weapon, make_licence, now):
    w = make_weapon()
    licence = make_licence()
    kwargs = {}
    if case == "expired":
        licence = make_licence(valid_from=now - 20 * DAY, valid_until=now - DAY)
    elif case == "not yet valid":
        licence = make_licence(valid_from=now + DAY, valid_until=now + 20 * DAY)
    elif case == "revoked":
        licence.revoke(authority=a[L], reason="end user changed", occurred_on=now - DAY)
    elif case == "wrong destination":
        kwargs["to_state"] = "FR"
    elif case == "transfer licence":
        licence = make_licence(LicenceKind.TRANSFER_LICENCE)
    elif case == "import authorization as export licence":
        licence = make_licence(LicenceKind.IMPORT_AUTHORIZATION)
    elif case == "other weapons listed":
        licence = make_licence(weapons=(str(make_weapon("9999").id),))
    elif case == "issued to another holder":
        licence = make_licence(holder="Someone Else")
    elif case == "no licence":
        licence = None
    elif case == "no import authorization":
        kwargs["import_authorization"] = ""
    elif case == "blank import authorization":
        kwargs["import_authorization"] = "   "
    elif case == "destination is home":
        kwargs["to_state"] = STATE
    elif case == "destination not a country":
        kwargs["to_state"] = "XX"
    version = w.version
    with pytest.raises(error) as info:
        _export(w, a, licence, occurred_on=now, **kwargs)
    assert info.value.field == field
    assert w.version == version and w.status is Status.ACTIVE


def test_licence_validity_is_judged_on_the_business_date(a, make_weapon, make_licence, now):
    # An export made while the licence was in force may be recorded after it expired.
    licence = make_licence(valid_from=now - 20 * DAY, valid_until=now - 5 * DAY)
    w = make_weapon()
    _export(w, a, licence, occurred_on=now - 6 * DAY)
    assert w.status is Status.EXPORTED


@pytest.mark.parametrize("status", ["lost", "stolen", "seized", "exported"])
def test_only_a_lawfully_held_weapon_is_exported(status, a, make_weapon, make_licence, now):
    w = make_weapon()
    if status == "lost":
        w.report_lost(authority=a[P], place="", circumstances="", occurred_on=now)
    elif status == "stolen":
        w.report_stolen(authority=a[P], place="", circumstances="", occurred_on=now)
    elif status == "seized":
        w.seize(authority=a[P], place="", circumstances="", occurred_on=now)
    else:
        _export(w, a, make_licence(), occurred_on=now)
    with pytest.raises(InvalidState) as info:
        _export(w, a, make_licence(), occurred_on=now)
    assert info.value.field == "weapon"


# --- transfer (FP art 7) ---------------------------------------------------------------------


def test_transfer_to_a_licensed_acquirer(a, make_weapon, transfer_licence, now):
    w = make_weapon()
    w.transfer(authority=a[L], to_holder="jan  peeters", licence=transfer_licence, occurred_on=now)
    event = w.collect_events()[-1]
    assert (event.from_holder, event.to_holder, event.licence) == ("FN Herstal", "jan  peeters", "TL-1")
    assert w.holder == "jan  peeters"


@pytest.mark.parametrize(
    ("case", "error", "field"),
    [
        ("no licence", InvalidField, "licence"),
        ("export licence", LicenceRefused, "licence"),
        ("someone else's licence", LicenceRefused, "licence"),
        ("expired", LicenceRefused, "licence"),
        ("not yet valid", LicenceRefused, "licence"),
        ("revoked", LicenceRefused, "licence"),
        ("no acquirer", InvalidField, "to"),
    ],
)
def test_transfer_refused(case, error, field, a, make_weapon, make_licence, transfer_licence, now):
    w = make_weapon()
    licence, to_holder = transfer_licence, "Jan Peeters"
    if case == "no licence":
        licence = None
    elif case == "export licence":
        licence = make_licence(holder="Jan Peeters")
    elif case == "someone else's licence":
        to_holder = "Piet Janssens"
    elif case == "expired":
        licence = make_licence(LicenceKind.TRANSFER_LICENCE, holder="Jan Peeters", valid_from=now - 9 * DAY,
                               valid_until=now - DAY)
    elif case == "not yet valid":
        licence = make_licence(LicenceKind.TRANSFER_LICENCE, holder="Jan Peeters", valid_from=now + DAY,
                               valid_until=now + 9 * DAY)
    elif case == "revoked":
        licence.revoke(authority=a[L], reason="conviction", occurred_on=now - 1)
    elif case == "no acquirer":
        to_holder = " "
    with pytest.raises(error) as info:
        w.transfer(authority=a[L], to_holder=to_holder, licence=licence, occurred_on=now)
    assert info.value.field == field
    assert w.holder == "FN Herstal" and w.version == 1


@pytest.mark.parametrize("status", ["lost", "stolen", "seized", "confiscated"])
def test_only_a_lawfully_held_weapon_changes_hands(status, a, make_weapon, transfer_licence, now):
    w = make_weapon()
    if status == "lost":
        w.report_lost(authority=a[P], place="", circumstances="", occurred_on=now)
    elif status == "stolen":
        w.report_stolen(authority=a[P], place="", circumstances="", occurred_on=now)
    else:
        w.seize(authority=a[P], place="", circumstances="", occurred_on=now)
        if status == "confiscated":
            w.confiscate(authority=a[P], order="O-1", occurred_on=now)
    with pytest.raises(InvalidState) as info:
        w.transfer(authority=a[L], to_holder="Jan Peeters", licence=transfer_licence, occurred_on=now)
    assert info.value.field == "weapon"


# --- other status rules -----------------------------------------------------------------


def test_recovery_needs_a_loss_or_theft(a, make_weapon, now):
    with pytest.raises(InvalidState) as info:
        make_weapon().recover(authority=a[P], place="", holder="", occurred_on=now)
    assert info.value.field == "weapon"


def test_a_missing_weapon_cannot_go_missing_again(a, make_weapon, now):
    w = make_weapon()
    w.report_lost(authority=a[P], place="", circumstances="", occurred_on=now)
    for command in (w.report_lost, w.report_stolen):
        with pytest.raises(InvalidState) as info:
            command(authority=a[P], place="", circumstances="", occurred_on=now)
        assert info.value.field == "weapon"


def test_only_a_seized_weapon_is_confiscated(a, make_weapon, now):
    with pytest.raises(InvalidState) as info:
        make_weapon().confiscate(authority=a[P], order="O-1", occurred_on=now)
    assert info.value.field == "weapon"


@pytest.mark.parametrize("status", ["exported", "stolen"])
def test_a_weapon_not_here_is_not_destroyed(status, a, make_weapon, make_licence, now):
    w = make_weapon()
    if status == "exported":
        _export(w, a, make_licence(), occurred_on=now)
    else:
        w.report_stolen(authority=a[P], place="", circumstances="", occurred_on=now)
    with pytest.raises(InvalidState) as info:
        w.destroy(authority=a[D], method="shredding", certificate="", occurred_on=now)
    assert info.value.field == "weapon"


# --- import and receipt ------------------------------------------------------------------


def test_receipt_confirmation_names_the_exporting_state(a, now):
    # Bug fixed: from_state used to be the importing state itself, so the confirmation
    # would have been routed back to ourselves instead of the exporter (DESIGN.md sharing policy).
    w = imported_weapon(a, now, shipment="SHIP-AT-1")
    w.confirm_receipt(authority=a[C], occurred_on=now, received_by="Dealer BVBA")
    event = w.collect_events()[-1]
    assert type(event) is Weapon.ReceiptConfirmed
    assert (event.shipment, event.from_state, event.received_by) == ("SHIP-AT-1", "AT", "Dealer BVBA")
    assert w.awaiting_receipt == ""
    with pytest.raises(InvalidState) as info:
        w.confirm_receipt(authority=a[C], occurred_on=now)
    assert info.value.field == "weapon"


def test_receipt_needs_an_import_awaiting_it(a, make_weapon, now):
    with pytest.raises(InvalidState) as info:
        make_weapon().confirm_receipt(authority=a[C], occurred_on=now)
    assert info.value.field == "weapon"


def test_an_exported_weapon_can_come_back_by_import(a, make_weapon, make_licence, now):
    w = make_weapon()
    _export(w, a, make_licence(), occurred_on=now - 2 * DAY)
    w.import_(authority=a[C], marking=Marking.read("FN Herstal", STATE, "1001"), type="pistol", make="FN",
              model="", calibre="5.7x28", year=2020, from_state="NL", import_year=2025,
              import_authorization="IA-BE-1", holder="Dealer BVBA", occurred_on=now)
    assert w.status is Status.ACTIVE and w.holder == "Dealer BVBA"
    assert w.marking["manufacturer"] == "FN Herstal"


def test_a_weapon_that_comes_back_keeps_its_description_and_dates_its_import_marking(a, make_weapon, make_licence,
                                                                                        now):
    w = make_weapon()
    _export(w, a, make_licence(), occurred_on=now - 2 * DAY)
    w.import_(authority=a[C], marking=Marking.read("FN Herstal", STATE, "1001"), from_state="NL",
              import_authorization="IA-BE-1", holder="Dealer BVBA", occurred_on=now, model="Five-seveN MK3")
    event = w.collect_events()[-1]
    assert (event.type, event.make, event.model, event.calibre, event.year) == (
        "pistol", "FN", "Five-seveN MK3", "5.7x28", 2020)
    assert event.import_year == year_of(now)


def test_a_first_import_without_a_description_is_refused(a, now):
    marking = Marking.read("Glock", "AT", "I-2")
    with pytest.raises(InvalidField) as info:
        Weapon.register_import(marking.weapon_id(), authority=a[C], marking=marking, from_state="AT",
                               import_authorization="IA-1", holder="Dealer BVBA", occurred_on=now)
    assert info.value.field == "type"


def test_an_import_year_given_is_kept(a, now):
    event = imported_weapon(a, now).collect_events()[-1]
    assert event.import_year == 2024 and event.year == 2019


def test_a_weapon_held_here_cannot_be_imported(a, make_weapon, now):
    w = make_weapon()
    with pytest.raises(InvalidState) as info:
        w.import_(authority=a[C], marking=Marking.read("FN Herstal", STATE, "1001"), type="pistol", make="",
                  model="", calibre="5.7", year=2020, from_state="NL", import_year=2025,
                  import_authorization="IA", holder="X", occurred_on=now)
    assert info.value.field == "weapon"


@pytest.mark.parametrize(
    ("override", "field"),
    [({"from_state": "ZZ"}, "from_state"), ({"import_authorization": ""}, "import_authorization"),
     ({"holder": ""}, "holder"), ({"type": ""}, "type"), ({"calibre": ""}, "calibre")],
)
def test_import_refused(override, field, a, now):
    marking = Marking.read("Glock", "AT", "I-2")
    fields = dict(type="pistol", make="Glock", model="17", calibre="9x19", year=2019, from_state="AT",
                  import_year=2024, import_authorization="IA-1", holder="Dealer", occurred_on=now)
    fields.update(override)
    with pytest.raises(InvalidField) as info:
        Weapon.register_import(marking.weapon_id(), authority=a[C], marking=marking, **fields)
    assert info.value.field == field


# --- manufacture --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "field"),
    [({"year": 1700}, "year"), ({"year": 3000}, "year"), ({"year": "nineteen"}, "year"), ({"year": None}, "year"),
     ({"type": " "}, "type"), ({"calibre": ""}, "calibre"), ({"holder": ""}, "holder"),
     ({"model": "x" * 201}, "model")],
)
def test_manufacture_refused(override, field, a, now):
    fields = dict(type="pistol", make="FN", model="57", calibre="5.7", year=2020, holder="FN", occurred_on=now)
    fields.update(override)
    with pytest.raises(InvalidField) as info:
        Weapon.manufacture(authority=a[L], marking=Marking.read("FN", STATE, "1"), **fields)
    assert info.value.field == field


def test_manufacture_of_an_obliterated_marking_is_refused(a, now):
    with pytest.raises(InvalidField) as info:
        Weapon.manufacture(authority=a[L], marking=Marking.read("FN", STATE, "1?3"), type="pistol", make="",
                           model="", calibre="9", year=2020, holder="FN", occurred_on=now)
    assert info.value.field == "serial"
