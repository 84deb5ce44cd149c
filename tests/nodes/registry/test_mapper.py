"""The envelope mapper: domain event -> signed envelope -> domain event, and the ``prev`` chain.

The first half is pure (a mapper with in-memory keys); the second half runs the
mapper inside the registry on both backends, with a cold cache.
"""

from __future__ import annotations

import time
import uuid

import pytest

from domain.authority import Authority, AuthorityKind
from domain.component import Component
from domain.licence import Licence, LicenceKind
from domain.marking import Marking
from domain.shipment import Shipment
from domain.time import SECONDS_PER_DAY as DAY
from domain.trace import TraceAnswer, TraceRequest
from domain.weapon import Weapon
from ledger.envelope import GENESIS_PREV, Envelope, verify_chain, verify_envelope
from ledger.keys import generate_key, key_id
from nodes.bootstrap import init_node
from nodes.registry.application import Registry
from nodes.registry.identity import AuthorityRegister
from nodes.registry.mapper import EnvelopeMapper, domain_event_from
from nodes.settings import Settings

from weapon_life import lose_find_seize_and_destroy

L, C, P = AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE
KEYS = {kind: generate_key() for kind in AuthorityKind}
NODE_KEY = generate_key()
A = {kind: Authority(key_id=key_id(key), kind=kind, state="BE") for kind, key in KEYS.items()}
PRIVATE = {key_id(key): key for key in [*KEYS.values(), NODE_KEY]}


def every_kind_of_event() -> list[list]:
    """Streams (lists of events in version order) holding every event type there is."""
    now = int(time.time()) - 60
    transfer_licence = Licence.issue(authority=A[L], number="TL-1", kind=LicenceKind.TRANSFER_LICENCE, holder="Jan",
                                     valid_from=now - DAY, valid_until=now + DAY, occurred_on=now - DAY)
    export_licence = Licence.issue(authority=A[L], number="EL-1", kind=LicenceKind.EXPORT_LICENCE, holder="Jan",
                                   valid_from=now - DAY, valid_until=now + DAY, occurred_on=now - DAY,
                                   export_state="BE", import_state="NL", transit_states=("DE",), quantity=2)
    marking = Marking.read("FN Herstal", "BE", "MAP-1")
    w = Weapon.manufacture(authority=A[L], marking=marking, type="pistol", make="FN", model="57", calibre="5.7",
                           year=2020, holder="FN", occurred_on=now)
    w.mark(authority=A[L], mark="BE-1", reason="national", occurred_on=now)
    w.transfer(authority=A[L], to_holder="Jan", licence=transfer_licence, occurred_on=now)
    w.export(authority=A[C], licence=export_licence, import_authorization="IA-1", to_state="NL",
             transit_states=("DE",), occurred_on=now, shipment="S-1")
    w.import_(authority=A[C], marking=marking, type="pistol", make="FN", model="57", calibre="5.7", year=2020,
              from_state="NL", import_year=2025, import_authorization="IA-2", holder="Dealer", occurred_on=now,
              shipment="S-2")
    w.confirm_receipt(authority=A[C], occurred_on=now, received_by="Dealer")
    lose_find_seize_and_destroy(w, A, now)
    seized = Marking.read("Zastava", "RS", "M70-1")
    s = Weapon.register_seizure(seized.weapon_id(), authority=A[P], marking=seized, place="", circumstances="",
                                occurred_on=now)
    transfer_licence.revoke(authority=A[L], reason="conviction", occurred_on=now)
    shipment = Shipment.open(authority=A[C], export_licence="EL-1", import_authorization="IA-1", import_state="NL",
                             weapons=(str(w.id),), transit_states=("DE",), transit_no_objections=("TNO-1",),
                             occurred_on=now)
    shipment.confirm_receipt(authority=A[C], confirmed_by_state="NL", confirmation="RC-1", occurred_on=now)
    trace = TraceRequest.submit(authority=A[P], addressee="FR", weapon_id=str(s.id), marking=seized.as_dict(),
                                type="rifle", calibre="7.62", circumstances="raid", legal_basis="ITI para 17",
                                intended_use="investigation", priority="urgent", occurred_on=now)
    trace.forward(authority=A[P], to_state="NL", next_trace=str(uuid.uuid4()), reason="exported", occurred_on=now)
    trace.close(authority=A[P], outcome="traced", occurred_on=now)
    answer = TraceAnswer.acknowledge(trace_id=uuid.uuid4(), authority=A[P], requesting_state="FR", occurred_on=now)
    answer.delay(authority=A[P], ground="ongoing-investigation", explanation="x", expected_by=now + DAY,
                 occurred_on=now)
    answer.respond(authority=A[P], weapon_id=str(s.id), fragment=(b"\x01\x02",), exported_to=("NL",),
                   complete=False, occurred_on=now)
    refused = TraceAnswer.acknowledge(trace_id=uuid.uuid4(), authority=A[P], requesting_state="FR", occurred_on=now)
    refused.refuse(authority=A[P], ground="national-security", explanation="x", occurred_on=now)
    restricted = TraceAnswer.acknowledge(trace_id=uuid.uuid4(), authority=A[P], requesting_state="FR",
                                         occurred_on=now)
    restricted.restrict(authority=A[P], ground="confidentiality-law", explanation="x", weapon_id="", fragment=(),
                        occurred_on=now)
    untraceable = TraceAnswer.acknowledge(trace_id=uuid.uuid4(), authority=A[P], requesting_state="FR",
                                          occurred_on=now)
    untraceable.untraceable(authority=A[P], reason="no record", occurred_on=now)
    built = Weapon.manufacture(authority=A[L], marking=Marking.read("FN Herstal", "BE", "MAP-2"), type="pistol",
                               make="FN", model="57", calibre="5.7", year=2020, holder="FN", occurred_on=now)
    frame_marking = Marking.read("FN Herstal", "BE", "F-MAP")
    frame = Component.register(authority=A[L], kind="frame", marking=frame_marking, occurred_on=now)
    built.assemble(authority=A[L], parts=(("frame", str(frame.id), frame_marking.as_dict()),), occurred_on=now)
    frame.install(authority=A[L], weapon_id=str(built.id), weapon_marking=built.marking, host=None, occurred_on=now)
    built.replace_component(authority=A[L], kind="frame", installed=str(uuid.uuid4()), installed_marking={},
                            reason="cracked", occurred_on=now)
    frame.remove(authority=A[L], weapon_id=str(built.id), reason="cracked", occurred_on=now)
    frame.destroy(authority=A[L], method="shredded", occurred_on=now)
    frame.seize(authority=A[P], weapon_id=str(s.id), host=None, occurred_on=now)
    built.convert(authority=A[L], conversion="calibre", calibre="9x19", occurred_on=now)
    register = AuthorityRegister.open(state="BE", node_key_id=key_id(NODE_KEY), occurred_on=now)
    register.certify(node_key_id=key_id(NODE_KEY), public_key=KEYS[P].public_key().public_bytes_raw(), kind=P,
                     name="BE police", occurred_on=now)
    restored = Weapon.manufacture(authority=A[L], marking=Marking.read("FN Herstal", "BE", "MAP-2"), type="rifle",
                                  make="FN", model="FAL", calibre="7.62", year=1960, holder="Museum", occurred_on=now)
    restored.deactivate(authority=A[AuthorityKind.DEACTIVATION], certificate="DC-1", method="",
                        standard="EU 2018/337", inspecting_body="PH", inspected_on=now, occurred_on=now)
    reactivation = Licence.issue(authority=A[L], number="RL-1", kind=LicenceKind.REACTIVATION_LICENCE,
                                 holder="Museum", valid_from=now - DAY, valid_until=now + DAY, occurred_on=now - DAY,
                                 weapons=(str(restored.id),))
    restored.reactivate(authority=A[L], licence=reactivation, reason="display", occurred_on=now)
    restored.correct(authority=A[L], occurred_on=now, record="ab" * 32, record_version=1,
                     record_type="Weapon.Manufactured", old_values={"holder": "Museum"},
                     new_values={"holder": "Museum SA"}, reason="legal name")
    police = key_id(KEYS[P].public_key())
    register.retire(node_key_id=key_id(NODE_KEY), retired=police, kind=P, retired_from=now + DAY, successor="",
                    occurred_on=now)
    register.revoke(node_key_id=key_id(NODE_KEY), revoked=police, kind=P, since=now, reason="leak", successor="",
                    occurred_on=now)
    register.change_node_key(node_key_id=key_id(NODE_KEY), previous_public_key=bytes(32), new_public_key=bytes(32),
                             countersignature=bytes(64), occurred_on=now)
    trust = AuthorityRegister.open_trust(state="BE", node_key_id=key_id(NODE_KEY), occurred_on=now)
    trust.change_trust(node_key_id=key_id(NODE_KEY), partner="NL", public_key=bytes(32), added=True, reason="",
                       occurred_on=now)
    aggregates = [transfer_licence, export_licence, w, s, shipment, trace, answer, refused, restricted, untraceable,
                  register, restored, reactivation, built, frame, trust]
    return [a.collect_events() for a in aggregates]


STREAMS = every_kind_of_event()
EVENTS = [event for stream in STREAMS for event in stream]


def _ids(events):
    seen: dict[str, int] = {}
    ids = []
    for event in events:
        topic = type(event).TOPIC
        seen[topic] = seen.get(topic, 0) + 1
        ids.append(topic if seen[topic] == 1 else f"{topic}-{seen[topic]}")
    return ids


def test_the_streams_hold_every_event_type():
    topics = {type(e).TOPIC for e in EVENTS}
    for aggregate in (Weapon, Licence, Shipment, TraceRequest, TraceAnswer, AuthorityRegister, Component):
        declared = {c.TOPIC for c in vars(aggregate).values()
                    if isinstance(c, type) and issubclass(c, aggregate.Event) and c.TOPIC != aggregate.Event.TOPIC}
        assert declared and declared <= topics, sorted(declared - topics)


def mapper_with_store() -> tuple[EnvelopeMapper, dict]:
    store: dict[tuple[uuid.UUID, int], bytes] = {}

    def load_prev(stream: uuid.UUID, version: int) -> bytes:
        return Envelope.from_bytes(store[(stream, version)]).hash

    return EnvelopeMapper("BE", PRIVATE, load_prev), store


@pytest.mark.parametrize("event", EVENTS, ids=_ids(EVENTS))
def test_round_trip(event):
    mapper, store = mapper_with_store()
    for earlier in STREAMS[next(i for i, s in enumerate(STREAMS) if event in s)]:
        if earlier.originator_version < event.originator_version:
            stored = mapper.to_stored_event(earlier)
            store[(stored.originator_id, stored.originator_version)] = stored.state
    stored = mapper.to_stored_event(event)
    assert stored.topic == type(event).TOPIC
    assert (stored.originator_id, stored.originator_version) == (event.originator_id, event.originator_version)
    back = mapper.to_domain_event(stored)
    assert type(back) is type(event)
    assert back == event
    assert vars(back) == vars(event)

    envelope = Envelope.from_bytes(stored.state)
    assert envelope.type == type(event).TOPIC and envelope.node == "BE"
    assert (envelope.occurred_on, envelope.authority) == (event.occurred_on, event.authority)
    assert not {"originator_id", "originator_version", "timestamp", "occurred_on", "authority",
                "originator_topic"} & envelope.body.keys()
    assert verify_envelope(envelope, PRIVATE[event.authority].public_key())
    assert domain_event_from(envelope) == event


@pytest.mark.parametrize("events", STREAMS, ids=lambda s: type(s[0]).TOPIC.split(".")[0] + f"-{len(s)}")
def test_each_stream_chains_and_replays(events):
    mapper, _ = mapper_with_store()
    envelopes = [Envelope.from_bytes(mapper.to_stored_event(e).state) for e in events]
    assert envelopes[0].prev == GENESIS_PREV
    assert verify_chain(envelopes)
    replayed = None
    for envelope in envelopes:
        replayed = domain_event_from(envelope).mutate(replayed)
    assert replayed.version == len(events)


def test_prev_is_loaded_when_the_cache_is_cold():
    weapon_events = next(s for s in STREAMS if isinstance(s[0], Weapon.Manufactured))
    warm, store = mapper_with_store()
    expected = []
    for event in weapon_events:
        stored = warm.to_stored_event(event)
        store[(stored.originator_id, stored.originator_version)] = stored.state
        expected.append(stored.state)
    loads = []

    def load_prev(stream, version):
        loads.append((stream, version))
        return Envelope.from_bytes(store[(stream, version)]).hash

    cold = EnvelopeMapper("BE", PRIVATE, load_prev)
    stored = cold.to_stored_event(weapon_events[5])
    assert loads == [(weapon_events[5].originator_id, 5)]
    # Same prev as the warm mapper's; the signature differs only if Ed25519 were randomised (it is not).
    assert stored.state == expected[5]
    cold.to_stored_event(weapon_events[6])
    assert len(loads) == 1  # the hash of what it just wrote is cached


def test_a_locked_node_cannot_sign():
    mapper = EnvelopeMapper("BE", {}, lambda stream, version: GENESIS_PREV)
    with pytest.raises(PermissionError):
        mapper.to_stored_event(EVENTS[0])


# --- inside the registry ------------------------------------------------------------------


@pytest.fixture
def node(tmp_path, db_url):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


def test_prev_survives_a_new_registry_instance(node):
    now = int(time.time()) - 60
    first = node.registry
    wid = first.manufacture(marking=Marking.read("FN", "BE", "COLD-1"), type="pistol", make="", model="",
                            calibre="9", year=2020, holder="FN", occurred_on=now)
    first.record("mark", by="police", weapon_id=wid, mark="M-1", reason="", occurred_on=now)
    second = Registry(node.settings.db, node.identity)
    try:
        # The aggregate was read by the first instance: the second one's mapper has nothing cached.
        weapon = first.weapon(wid)
        weapon.mark(authority=second.authority("police"), mark="M-2", reason="", occurred_on=now)
        second.save(weapon)
        # And the ordinary path through a fresh instance.
        third = Registry(node.settings.db, node.identity)
        try:
            third.record("report_lost", by="police", weapon_id=wid, place="", circumstances="", occurred_on=now)
        finally:
            third.close()
        first.record("recover", by="police", weapon_id=wid, place="", holder="", occurred_on=now)
    finally:
        second.close()
    envelopes = first.envelopes(wid)
    assert [e.version for e in envelopes] == [1, 2, 3, 4, 5]
    assert verify_chain(envelopes)
    assert [e.prev for e in envelopes[1:]] == [e.hash for e in envelopes[:-1]]


def test_stored_state_is_the_envelope_bytes(node):
    registry = node.registry
    wid = registry.manufacture(marking=Marking.read("FN", "BE", "RAW-1"), type="pistol", make="", model="",
                               calibre="9", year=2020, holder="FN", occurred_on=int(time.time()) - 60)
    ((_, stored),) = [(n, s) for n, s in registry.stored_notifications() if s.originator_id == wid]
    envelope = Envelope.from_bytes(stored.state)
    assert stored.state == envelope.to_bytes()
    assert stored.topic == envelope.type == "Weapon.Manufactured"
    assert registry.weapon(wid).marking == envelope.body["marking"]
