"""The registry application on both backends: the rules hold end to end, and the log verifies.

Every test takes ``db_url`` and so runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict

import pytest

from domain.authority import PERMISSIONS, AuthorityKind
from domain.errors import (
    DomainError,
    DuplicateMarking,
    InvalidField,
    InvalidState,
    LicenceRefused,
    NotPermitted,
    UnknownWeapon,
)
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import CLOCK_TOLERANCE_SECONDS, SECONDS_PER_DAY as DAY, parse_time
from domain.weapon import Status
from ledger.envelope import GENESIS_PREV, Envelope, verify_chain, verify_envelope
from ledger.keys import public_key_from_bytes
from nodes.bootstrap import init_node
from nodes.registry.application import Registry
from nodes.registry.identity import authorities_stream
from nodes.settings import Settings

KINDS = [k.value for k in AuthorityKind]


@pytest.fixture
def node(tmp_path, db_url):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


@pytest.fixture
def registry(node) -> Registry:
    return node.registry


@pytest.fixture
def now() -> int:
    return int(time.time()) - 60


def rows(registry: Registry) -> int:
    return sum(1 for _ in registry.stored_notifications())


def manufacture(registry: Registry, serial: str, *, holder: str = "FN Herstal", by: str = "licensing",
                occurred_on: int | None = None, manufacturer: str = "FN Herstal", year: int = 2020) -> uuid.UUID:
    return registry.manufacture(by=by, marking=Marking.read(manufacturer, "BE", serial), type="pistol", make="FN",
                                model="Five-seveN", calibre="5.7x28", year=year, holder=holder,
                                occurred_on=occurred_on or int(time.time()) - 30 * DAY)


def issue(registry: Registry, number: str, kind: LicenceKind, holder: str, now: int, **fields) -> uuid.UUID:
    fields.setdefault("valid_from", now - 30 * DAY)
    fields.setdefault("valid_until", now + 10 * DAY)
    if kind is LicenceKind.EXPORT_LICENCE:
        fields.setdefault("export_state", "BE")
        fields.setdefault("import_state", "NL")
    return registry.issue_licence(number=number, kind=kind, holder=holder, occurred_on=now - 30 * DAY, **fields)


def import_fields(now: int, **overrides) -> dict:
    fields = dict(type="pistol", make="FN", model="Five-seveN", calibre="5.7x28", year=2020, from_state="NL",
                  import_year=2025, import_authorization="IA-BE-7", holder="Dealer BVBA", occurred_on=now,
                  shipment="SHIP-NL-1")
    fields.update(overrides)
    return fields


def audit(node) -> dict[str, list[Envelope]]:
    """Check every stored envelope: signature by a certified key of a permitted kind, and every chain."""
    registry = node.registry
    certified = registry.authority_register().keys
    node_public = node.identity.node_public
    streams: dict[str, list[Envelope]] = defaultdict(list)
    for _, stored in registry.stored_notifications():
        envelope = Envelope.from_bytes(stored.state)
        assert envelope.node == "BE"
        if envelope.type.startswith("Authority."):
            assert envelope.authority == node.identity.node_key_id
            verify_envelope(envelope, node_public)
        else:
            public, kind = certified[envelope.authority]
            verify_envelope(envelope, public_key_from_bytes(public))
            assert kind in PERMISSIONS[envelope.type], (envelope.type, kind)
        streams[envelope.stream].append(envelope)
    for stream, envelopes in streams.items():
        assert verify_chain(envelopes)
        assert envelopes == registry.envelopes(stream)
    return streams


# --- a weapon's whole life -------------------------------------------------------------------


def test_full_life_of_a_weapon(node, registry, now):
    issue(registry, "TL-1", LicenceKind.TRANSFER_LICENCE, "Jan Peeters", now)
    issue(registry, "EL-1", LicenceKind.EXPORT_LICENCE, "Jan Peeters", now, consignee="Dealer NL")
    marking = Marking.read("FN Herstal", "BE", "LIFE-1")
    wid = manufacture(registry, "LIFE-1", occurred_on=now - 20 * DAY)
    assert wid == marking.weapon_id()
    registry.transfer(weapon_id=wid, to_holder="Jan Peeters", licence="TL-1", occurred_on=now - 19 * DAY)
    shipment = registry.export(weapon_ids=[str(wid)], licence="EL-1", import_authorization="IA-NL-1", to_state="NL",
                               occurred_on=now - 18 * DAY)
    assert registry.weapon(wid).status is Status.EXPORTED
    assert registry.repository.get(shipment).weapons == (str(wid),)
    # It comes back: the importing customs register the import and confirm receipt.
    assert registry.import_weapon(marking=marking, **import_fields(now - 10 * DAY)) == wid
    registry.record("confirm_receipt", by="customs", weapon_id=wid, occurred_on=now - 9 * DAY,
                    received_by="Dealer BVBA")
    registry.record("mark", by="licensing", weapon_id=wid, occurred_on=now - 9 * DAY, mark="BE-25-7", reason="import")
    registry.record("report_lost", by="police", weapon_id=wid, occurred_on=now - 8 * DAY, place="Gent",
                    circumstances="")
    registry.record("recover", by="police", weapon_id=wid, occurred_on=now - 7 * DAY, place="Gent", holder="")
    registry.record("report_stolen", by="police", weapon_id=wid, occurred_on=now - 6 * DAY, place="Gent",
                    circumstances="burglary")
    registry.record("recover", by="police", weapon_id=wid, occurred_on=now - 5 * DAY, place="Brussels", holder="")
    assert registry.seize(weapon_id=wid, occurred_on=now - 4 * DAY, place="Brussels", circumstances="raid") == wid
    registry.record("confiscate", by="police", weapon_id=wid, occurred_on=now - 3 * DAY, order="court order 1")
    registry.record("deactivate", by="deactivation", weapon_id=wid, occurred_on=now - 2 * DAY, certificate="DC-1",
                    method="EU 2015/2403", standard="EU 2018/337", inspecting_body="Proof House",
                    inspected_on=now - 2 * DAY)
    registry.record("destroy", by="deactivation", weapon_id=wid, occurred_on=now - DAY, method="shredding",
                    certificate="DS-1")
    registry.seize(by="customs", marking=marking, occurred_on=now, place="Port of Antwerp", circumstances="container")

    weapon = registry.weapon(wid)
    assert weapon.status is Status.DESTROYED and weapon.flags == ("after-destruction",)
    envelopes = registry.envelopes(wid)
    assert [e.type.split(".")[1] for e in envelopes] == [
        "Manufactured", "Transferred", "Exported", "Imported", "ReceiptConfirmed", "Marked", "ReportedLost",
        "Recovered", "ReportedStolen", "Recovered", "Seized", "Confiscated", "Deactivated", "Destroyed", "Seized"]
    assert envelopes[-1].body["flags"] == ("after-destruction",)
    assert envelopes[4].body["from_state"] == "NL"
    assert [e.occurred_on for e in envelopes] == sorted(e.occurred_on for e in envelopes)
    assert [e.prev for e in envelopes[1:]] == [e.hash for e in envelopes[:-1]]
    assert envelopes[0].prev == GENESIS_PREV

    streams = audit(node)
    assert {str(wid), str(shipment), str(authorities_stream("BE"))} <= streams.keys()
    assert [e.type for e in streams[str(shipment)]] == ["Shipment.Opened"]


def test_every_signature_verifies_only_with_its_certified_key(node, registry):
    wid = manufacture(registry, "SIG-1")
    (envelope,) = registry.envelopes(wid)
    certified = registry.authority_register().keys
    assert len(certified) == len(AuthorityKind)
    assert {kind for _, kind in certified.values()} == set(AuthorityKind)
    public, kind = certified[envelope.authority]
    assert kind is AuthorityKind.LICENSING
    assert verify_envelope(envelope, public_key_from_bytes(public))
    for other_key_id, (other_public, _) in certified.items():
        if other_key_id != envelope.authority:
            with pytest.raises(Exception, match="does not verify"):
                verify_envelope(envelope, public_key_from_bytes(other_public))


# --- refusals write nothing -------------------------------------------------------------------


def test_refused_commands_write_nothing(registry, now):
    issue(registry, "TL-1", LicenceKind.TRANSFER_LICENCE, "Jan Peeters", now)
    issue(registry, "EL-OLD", LicenceKind.EXPORT_LICENCE, "FN Herstal", now, valid_from=now - 9 * DAY,
          valid_until=now - 8 * DAY)
    wid = manufacture(registry, "REF-1")
    other = manufacture(registry, "REF-2")
    refusals = [
        (DuplicateMarking, "serial", lambda: manufacture(registry, "ref 1")),
        (NotPermitted, "authority", lambda: manufacture(registry, "REF-3", by="customs")),
        (InvalidField, "occurred_on", lambda: manufacture(registry, "REF-4", occurred_on=int(time.time()) + DAY)),
        (InvalidField, "licence", lambda: registry.transfer(weapon_id=wid, to_holder="Jan Peeters", licence="")),
        (LicenceRefused, "licence", lambda: registry.transfer(weapon_id=wid, to_holder="Piet", licence="TL-1")),
        (LicenceRefused, "licence", lambda: registry.transfer(weapon_id=wid, to_holder="Jan Peeters", licence="TL-9")),
        (LicenceRefused, "licence", lambda: registry.export(weapon_ids=[wid, other], licence="EL-OLD",
                                                            import_authorization="IA", to_state="NL")),
        (LicenceRefused, "licence", lambda: registry.export(weapon_ids=[wid], licence="TL-1",
                                                            import_authorization="IA", to_state="NL")),
        (NotPermitted, "authority", lambda: registry.record("destroy", by="customs", weapon_id=wid, method="x",
                                                            certificate="")),
        (InvalidState, "weapon", lambda: registry.record("recover", by="police", weapon_id=wid, place="",
                                                         holder="")),
        (InvalidField, "command", lambda: registry.record("seize", by="police", weapon_id=wid)),
        (InvalidField, "weapon", lambda: registry.record("mark", by="police", weapon_id="not-a-uuid", mark="x",
                                                         reason="")),
        (UnknownWeapon, "weapon", lambda: registry.record("mark", by="police", weapon_id=uuid.uuid4(), mark="x",
                                                          reason="")),
        (InvalidField, "number", lambda: issue(registry, "tl 1", LicenceKind.TRANSFER_LICENCE, "X", now)),
        (InvalidField, "authority", lambda: registry.record("mark", by="army", weapon_id=wid, mark="x", reason="")),
    ]
    for error, field, command in refusals:
        before = rows(registry)
        with pytest.raises(error) as info:
            command()
        assert info.value.field == field, (error, str(info.value))
        assert rows(registry) == before, str(info.value)
    assert registry.weapon(wid).version == 1 and registry.weapon(other).version == 1


def test_a_shipment_is_all_or_nothing(registry, now):
    # One weapon of the shipment is not covered by the licence: neither weapon nor the shipment is recorded.
    issue(registry, "EL-1", LicenceKind.EXPORT_LICENCE, "FN Herstal", now)
    covered = manufacture(registry, "SH-1")
    not_covered = manufacture(registry, "SH-2", holder="Someone Else")
    before = rows(registry)
    with pytest.raises(LicenceRefused) as info:
        registry.export(weapon_ids=[covered, not_covered], licence="EL-1", import_authorization="IA", to_state="NL")
    assert info.value.field == "licence"
    assert rows(registry) == before
    assert registry.weapon(covered).status is Status.ACTIVE


# --- unknown weapons ------------------------------------------------------------------------


def test_no_record_for_an_unknown_weapon(registry, now):
    issue(registry, "TL-1", LicenceKind.TRANSFER_LICENCE, "Jan Peeters", now)
    issue(registry, "EL-1", LicenceKind.EXPORT_LICENCE, "FN Herstal", now)
    unknown = uuid.uuid4()
    before = rows(registry)
    commands = [
        lambda: registry.record("mark", by="police", weapon_id=unknown, mark="x", reason=""),
        lambda: registry.record("destroy", by="police", weapon_id=unknown, method="x", certificate=""),
        lambda: registry.record("report_stolen", by="police", weapon_id=unknown, place="", circumstances=""),
        lambda: registry.transfer(weapon_id=unknown, to_holder="Jan Peeters", licence="TL-1"),
        lambda: registry.export(weapon_ids=[unknown], licence="EL-1", import_authorization="IA", to_state="NL"),
        lambda: registry.seize(weapon_id=unknown, place="", circumstances=""),
        lambda: registry.weapon(unknown),
        lambda: registry.weapon(authorities_stream("BE")),  # a stream, but not a weapon's
    ]
    for command in commands:
        with pytest.raises(UnknownWeapon) as info:
            command()
        assert info.value.field == "weapon"
    assert rows(registry) == before


def test_a_seizure_registers_an_unrecorded_weapon(registry, now):
    # ITI para 9.
    marking = Marking.read("Zastava", "RS", "M70-123")
    wid = registry.seize(by="police", marking=marking, occurred_on=now, place="Antwerp", circumstances="raid",
                         type="rifle", calibre="7.62x39")
    assert wid == marking.weapon_id()
    weapon = registry.weapon(wid)
    assert weapon.status is Status.SEIZED and weapon.marking == marking.as_dict()
    assert [e.type for e in registry.envelopes(wid)] == ["Weapon.Seized"]


def test_a_weapon_with_an_obliterated_serial_gets_a_random_id(registry, now):
    marking = Marking.read("Zastava", "RS", "M70-?23")
    first = registry.seize(marking=marking, occurred_on=now, place="", circumstances="")
    second = registry.seize(marking=marking, occurred_on=now, place="", circumstances="")
    assert first != second and first.version == 4 and second.version == 4
    assert registry.weapon(first).marking["serial"] == "M70-?23"
    with pytest.raises(InvalidField) as info:
        registry.manufacture(marking=marking, type="rifle", make="", model="", calibre="7.62", year=2000,
                             holder="x")
    assert info.value.field == "serial"


def test_an_import_registers_a_weapon_first_seen_here(registry, now):
    marking = Marking.read("Glock", "AT", "ABC123")
    wid = registry.import_weapon(marking=marking, **import_fields(now, from_state="AT"))
    assert wid == marking.weapon_id()
    assert registry.weapon(wid).status is Status.ACTIVE
    with pytest.raises(InvalidState) as info:  # it is here already
        registry.import_weapon(marking=marking, **import_fields(now, from_state="AT"))
    assert info.value.field == "weapon"


# --- duplicate markings --------------------------------------------------------------------


def test_the_same_marking_cannot_be_manufactured_twice(registry):
    wid = manufacture(registry, "DUP-1")
    for serial, manufacturer in (("DUP-1", "FN Herstal"), ("dup 1", "fn herstal"), ("D.U.P/1", "F-N HERSTAL")):
        with pytest.raises(DuplicateMarking) as info:
            manufacture(registry, serial, manufacturer=manufacturer)
        assert info.value.field == "serial"
    assert len(registry.envelopes(wid)) == 1


def test_duplicate_marking_from_a_second_registry_is_caught_by_the_database(node, registry, now):
    # manufacture_many has no look-up before writing: the unique (stream, version) constraint refuses it.
    other = Registry(node.settings.db, node.identity)
    try:
        wid = manufacture(registry, "DB-1")
        fields = dict(type="pistol", make="", model="", calibre="9", year=2020, holder="X", occurred_on=now)
        before = rows(registry)
        with pytest.raises(DuplicateMarking) as info:
            other.manufacture_many([("licensing", Marking.read("FN Herstal", "BE", "DB-1"), fields)])
        assert info.value.field == "serial"
        assert rows(registry) == before
        # The loser's mapper cached the hash of its refused envelope; its next record must still chain.
        other.record("mark", by="police", weapon_id=wid, mark="BE-1", reason="", occurred_on=now)
        assert verify_chain(registry.envelopes(wid))
    finally:
        other.close()


def test_manufacture_race_between_two_registries(node, registry):
    other = Registry(node.settings.db, node.identity)
    try:
        for round_ in range(3):
            serial = f"RACE-{round_}"
            barrier = threading.Barrier(2)
            outcomes: list[object] = []

            def attempt(app: Registry) -> None:
                barrier.wait()
                try:
                    outcomes.append(manufacture(app, serial))
                except DomainError as e:
                    outcomes.append(e)

            threads = [threading.Thread(target=attempt, args=(app,)) for app in (registry, other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            successes = [o for o in outcomes if isinstance(o, uuid.UUID)]
            failures = [o for o in outcomes if not isinstance(o, uuid.UUID)]
            assert len(successes) == 1, outcomes
            assert len(failures) == 1 and isinstance(failures[0], DuplicateMarking), outcomes
            assert failures[0].field == "serial"
            assert len(registry.envelopes(successes[0])) == 1
    finally:
        other.close()


# --- business date and recording time ----------------------------------------------------------


def test_business_date_is_not_the_recording_time(registry):
    decades_ago = parse_time("1985-06-15")
    before = time.time()
    wid = manufacture(registry, "OLD-1", occurred_on=decades_ago, year=1985)
    after = time.time()
    (envelope,) = registry.envelopes(wid)
    assert envelope.occurred_on == decades_ago
    assert before * 1e6 - 1e6 <= envelope.recorded_at <= after * 1e6 + 1e6  # microseconds


def test_a_business_date_in_the_future_is_refused(registry):
    wid = manufacture(registry, "FUT-1")
    before = rows(registry)
    for future in (int(time.time()) + CLOCK_TOLERANCE_SECONDS + 60, int(time.time() * 1000)):
        with pytest.raises(InvalidField) as info:
            registry.record("mark", by="police", weapon_id=wid, mark="x", reason="", occurred_on=future)
        assert info.value.field == "occurred_on"
    assert rows(registry) == before
    # Within the clock tolerance is accepted.
    registry.record("mark", by="police", weapon_id=wid, mark="x", reason="", occurred_on=int(time.time()) + 60)
    assert rows(registry) == before + 1


# --- who may record what ---------------------------------------------------------------------


def test_permissions_at_the_registry(registry, now):
    issue(registry, "TL-1", LicenceKind.TRANSFER_LICENCE, "Jan Peeters", now)
    issue(registry, "EL-1", LicenceKind.EXPORT_LICENCE, "FN Herstal", now)
    serials = iter(range(10_000))

    def fresh() -> uuid.UUID:
        return manufacture(registry, f"P-{next(serials)}")

    def stolen() -> uuid.UUID:
        wid = fresh()
        registry.record("report_stolen", by="police", weapon_id=wid, place="", circumstances="", occurred_on=now)
        return wid

    def seized() -> uuid.UUID:
        wid = fresh()
        registry.seize(by="police", weapon_id=wid, place="", circumstances="", occurred_on=now)
        return wid

    def imported() -> uuid.UUID:
        return registry.import_weapon(by="customs", marking=Marking.read("Glock", "AT", f"I-{next(serials)}"),
                                      **import_fields(now))

    commands = {
        "Weapon.Manufactured": lambda by: manufacture(registry, f"P-{next(serials)}", by=by),
        "Weapon.Imported": lambda by: registry.import_weapon(
            by=by, marking=Marking.read("Glock", "AT", f"I-{next(serials)}"), **import_fields(now)),
        "Weapon.Exported": lambda by: registry.export(by=by, weapon_ids=[fresh()], licence="EL-1",
                                                      import_authorization="IA", to_state="NL", occurred_on=now),
        "Weapon.ReceiptConfirmed": lambda by: registry.record("confirm_receipt", by=by, weapon_id=imported(),
                                                              occurred_on=now),
        "Weapon.Transferred": lambda by: registry.transfer(by=by, weapon_id=fresh(), to_holder="Jan Peeters",
                                                           licence="TL-1", occurred_on=now),
        "Weapon.Marked": lambda by: registry.record("mark", by=by, weapon_id=fresh(), mark="M", reason="",
                                                    occurred_on=now),
        "Weapon.ReportedLost": lambda by: registry.record("report_lost", by=by, weapon_id=fresh(), place="",
                                                          circumstances="", occurred_on=now),
        "Weapon.ReportedStolen": lambda by: registry.record("report_stolen", by=by, weapon_id=fresh(), place="",
                                                            circumstances="", occurred_on=now),
        "Weapon.Recovered": lambda by: registry.record("recover", by=by, weapon_id=stolen(), place="", holder="",
                                                       occurred_on=now),
        "Weapon.Seized": lambda by: registry.seize(by=by, weapon_id=fresh(), place="", circumstances="",
                                                   occurred_on=now),
        "Weapon.Confiscated": lambda by: registry.record("confiscate", by=by, weapon_id=seized(), order="O",
                                                         occurred_on=now),
        "Weapon.Deactivated": lambda by: registry.record("deactivate", by=by, weapon_id=fresh(), certificate="DC",
                                                         method="", standard="EU 2018/337", inspecting_body="PH",
                                                         inspected_on=now, occurred_on=now),
        "Weapon.Destroyed": lambda by: registry.record("destroy", by=by, weapon_id=fresh(), method="shredding",
                                                       certificate="", occurred_on=now),
        "Licence.Issued": lambda by: registry.issue_licence(
            by=by, number=f"TL-{next(serials)}", kind=LicenceKind.TRANSFER_LICENCE, holder="Jan",
            valid_from=now, valid_until=now + DAY, occurred_on=now),
    }
    mismatches = []
    for event_type, command in commands.items():
        for kind in AuthorityKind:
            before = rows(registry)
            try:
                command(kind.value)
            except NotPermitted as e:
                refused_cleanly = e.field == "authority" and rows(registry) == before + _setup_rows(event_type)
                if kind in PERMISSIONS[event_type] or not refused_cleanly:
                    mismatches.append((event_type, kind.value, str(e)))
            else:
                if kind not in PERMISSIONS[event_type]:
                    mismatches.append((event_type, kind.value, "recorded"))
    assert not mismatches


def _setup_rows(event_type: str) -> int:
    # Records written by the set-up of a command before the command under test is refused.
    return {"Weapon.Exported": 1, "Weapon.ReceiptConfirmed": 1, "Weapon.Transferred": 1, "Weapon.Marked": 1,
            "Weapon.ReportedLost": 1, "Weapon.ReportedStolen": 1, "Weapon.Recovered": 2, "Weapon.Seized": 1,
            "Weapon.Confiscated": 2, "Weapon.Deactivated": 1, "Weapon.Destroyed": 1}.get(event_type, 0)
