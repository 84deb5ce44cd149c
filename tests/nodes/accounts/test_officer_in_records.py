"""Every signed record names its officer (``Registry.acting_as``); records signed before that still load,
verify and are accepted from partners. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import StoredEvent

from domain.errors import InvalidField
from domain.marking import Marking
from ledger.envelope import GENESIS_PREV, Envelope, seal
from nodes.acceptance import RECORD_SCHEMA
from nodes.bootstrap import init_node
from nodes.registry.mapper import to_microseconds
from nodes.registry.verify import verify_store
from nodes.settings import Settings

ALICE = "5b1f8f3e-8c1e-4d4b-9d0e-6f3f2f1a0b01"
BOB = "0e9a3c2d-1b4a-4f6e-8a7b-3c2d1e0f9a02"
DESCRIPTION = {"type": "pistol", "make": "FN", "model": "Five-seveN", "calibre": "5.7x28mm", "year": 2020}


@pytest.fixture
def node(tmp_path, db_url):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


def manufacture(registry, serial: str) -> uuid.UUID:
    return registry.manufacture(marking=Marking.read("FN Herstal", "BE", serial), holder="FN Herstal",
                                occurred_on=int(time.time()) - 60, **DESCRIPTION)


def bodies(registry, stream) -> list[dict]:
    return [dict(envelope.body) for envelope in registry.envelopes(stream)]


def test_records_made_while_acting_as_an_officer_name_it_in_the_signed_body(node):
    registry = node.registry
    with registry.acting_as(ALICE):
        weapon = manufacture(registry, "A1")
        with registry.acting_as(BOB):
            registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="burglary")
        registry.record("recover", by="police", weapon_id=weapon, place="Gent", holder="Police Gent")
    registry.record("report_lost", by="police", weapon_id=weapon, place="Gent", circumstances="lost")
    assert [body["officer"] for body in bodies(registry, weapon)] == [ALICE, BOB, ALICE, ""]
    node.settle()
    report = verify_store(node)
    assert report.ok, report.problems


def test_an_officer_set_in_one_thread_is_not_named_by_another(node):
    registry = node.registry
    other_thread: list[uuid.UUID] = []
    with registry.acting_as(ALICE):
        thread = threading.Thread(target=lambda: other_thread.append(manufacture(registry, "T2")))
        thread.start()
        thread.join()
        mine = manufacture(registry, "T1")
    assert bodies(registry, mine)[0]["officer"] == ALICE
    assert bodies(registry, other_thread[0])[0]["officer"] == ""


@pytest.mark.parametrize("officer", ["x" * 65, "alice", ALICE.upper(), ALICE.replace("-", ""), None])
def test_an_officer_is_named_by_an_account_id_only(node, officer):
    with pytest.raises(InvalidField) as refused, node.registry.acting_as(officer):
        pass
    assert refused.value.field == "officer"
    weapon = manufacture(node.registry, "N1")  # the refused block named no one
    assert bodies(node.registry, weapon)[0]["officer"] == ""


def test_a_record_signed_before_records_named_officers_loads_verifies_and_chains(node):
    registry = node.registry
    marking = Marking.read("FN Herstal", "BE", "OLD1")
    authority = registry.authority("licensing")
    old = seal(registry.identity.private_keys[authority.key_id], node="BE", stream=str(marking.weapon_id()),
               version=1, type="Weapon.Manufactured", occurred_on=int(time.time()) - 3600,
               recorded_at=to_microseconds(datetime.now(UTC)),
               authority=authority.key_id, prev=GENESIS_PREV,
               body={"marking": marking.as_dict(), "holder": "FN Herstal", **DESCRIPTION})
    assert "officer" not in old.body
    registry.recorder.insert_events([StoredEvent(originator_id=marking.weapon_id(), originator_version=1,
                                                 topic=old.type, state=old.to_bytes())])
    weapon = registry.weapon(marking.weapon_id())
    assert weapon.holder == "FN Herstal" and weapon.version == 1
    with registry.acting_as(ALICE):
        registry.record("report_stolen", by="police", weapon_id=weapon.id, place="Gent", circumstances="x")
    stored = registry.envelopes(weapon.id)
    assert stored[0].to_bytes() == old.to_bytes()  # never rewritten
    assert stored[1].prev == old.hash and stored[1].body["officer"] == ALICE
    node.settle()
    report = verify_store(node)
    assert report.ok, report.problems


def partner_body(**officer: str) -> dict:
    return {"place": "Gent", "circumstances": "burglary", **officer}


@pytest.mark.parametrize("body", [partner_body(), partner_body(officer=""), partner_body(officer=ALICE)],
                         ids=["without", "operator", "officer"])
def test_a_partner_record_with_or_without_an_officer_fits_the_schema(body):
    RECORD_SCHEMA.check(stream=str(uuid.uuid4()), type="Weapon.ReportedStolen", body=body)


@pytest.mark.parametrize("officer", ["x" * 65, "alice", 7, None, ALICE.upper()])
def test_a_partner_record_naming_no_account_id_is_refused_naming_the_officer(officer):
    with pytest.raises(InvalidField) as refused:
        RECORD_SCHEMA.check(stream=str(uuid.uuid4()), type="Weapon.ReportedStolen",
                            body={"place": "Gent", "circumstances": "", "officer": officer})
    assert refused.value.field == "body.officer"


def test_the_envelope_of_an_old_record_reads_back_as_the_operators():
    from nodes.registry.mapper import domain_event_from

    envelope = Envelope(node="BE", stream=str(uuid.uuid4()), version=2, type="Weapon.ReportedStolen",
                        occurred_on=1, recorded_at=2, authority="k", prev=GENESIS_PREV,
                        body={"place": "Gent", "circumstances": ""})
    event = domain_event_from(envelope)
    assert event.officer == "" and vars(event)["officer"] == ""
