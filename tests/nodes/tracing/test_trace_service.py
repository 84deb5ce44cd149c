"""Tracing (ITI paras 17-23): status from both sides' records, deadlines, signed fragments.

``trace_status`` and ``verify_fragment`` are pure and are tested on their own;
fragments are built by a real node (both backends through ``db_url``).
"""

from __future__ import annotations

import time
import uuid

import pytest

from domain.errors import InvalidField
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from domain.trace import TraceStatus
from domain.trace_status import trace_status
from ledger import acceptance
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id, public_key_from_bytes
from nodes.settings import TraceSettings
from nodes.tracing import service as tracing
from nodes.tracing.fragment import build_fragment, decode_item, verify_fragment

import insider
from memory_federation import MemoryFederation

T0 = 1_700_000_000
KEY = generate_key()


class Records:
    """Signed records of one trace, by either side, for ``trace_status``."""

    def __init__(self, priority: str = "routine"):
        self.trace = str(uuid.uuid4())
        self.versions = {"FR": 0, "BE": 0}
        self.request: list[Envelope] = []
        self.answer: list[Envelope] = []
        self.add("FR", "TraceRequest.Submitted", 0, addressee="BE", weapon_id="w", marking={}, priority=priority,
                 parent="", hop=1)

    def add(self, state: str, type_: str, day: float, **body) -> Envelope:
        self.versions[state] += 1
        side = self.request if state == "FR" else self.answer
        envelope = seal(KEY, node=state, stream=self.trace, version=self.versions[state], type=type_,
                        occurred_on=T0 + int(day * DAY), recorded_at=(T0 + int(day * DAY)) * 1_000_000,
                        authority=key_id(KEY), prev=side[-1].hash if side else GENESIS_PREV, body=body)
        side.append(envelope)
        return envelope

    def status(self, day: float, **kwargs):
        return trace_status(self.request, self.answer, now=T0 + int(day * DAY), **kwargs)


def acknowledged(r: Records, day: float = 0.5) -> Records:
    r.add("BE", "TraceAnswer.Acknowledged", day, requesting_state="FR", answering_state="BE")
    return r


def responded(r: Records, complete: bool = True, exported_to=()) -> Records:
    r.add("BE", "TraceAnswer.Responded", 3, weapon_id="w", fragment=(b"x",), exported_to=tuple(exported_to),
          complete=complete)
    return r


def forwarded(r: Records) -> Records:
    r.add("FR", "TraceRequest.Forwarded", 4, to_state="NL", next_trace="t2", reason="BE's response shows an export")
    return r


@pytest.mark.parametrize("steps, status, reason", [
    (lambda r: r, TraceStatus.SUBMITTED, ""),
    (acknowledged, TraceStatus.ACKNOWLEDGED, ""),
    (lambda r: acknowledged(r).add("BE", "TraceAnswer.Delayed", 1, ground="ongoing-investigation",
                                   explanation="trial pending", expected_by=T0 + 60 * DAY),
     TraceStatus.DELAYED, "ongoing-investigation: trial pending"),
    (lambda r: responded(acknowledged(r)), TraceStatus.TRACED, "complete record"),
    (lambda r: responded(acknowledged(r), complete=False), TraceStatus.PARTIAL, "partial record"),
    (lambda r: acknowledged(r).add("BE", "TraceAnswer.Untraceable", 2, reason="BE holds no record"),
     TraceStatus.UNTRACEABLE, "BE holds no record"),
    (lambda r: acknowledged(r).add("BE", "TraceAnswer.Restricted", 2, ground="confidentiality-law",
                                   explanation="holder data", weapon_id="w", fragment=()),
     TraceStatus.RESTRICTED, "confidentiality-law: holder data"),
    (lambda r: acknowledged(r).add("BE", "TraceAnswer.Refused", 2, ground="national-security", explanation="no"),
     TraceStatus.REFUSED, "national-security: no"),
    (lambda r: forwarded(responded(acknowledged(r), exported_to=("NL",))),
     TraceStatus.FORWARDED, "BE's response shows an export"),
    (lambda r: responded(acknowledged(r)).add("FR", "TraceRequest.Closed", 5, outcome="weapon returned"),
     TraceStatus.CLOSED, "weapon returned"),
], ids=["submitted", "acknowledged", "delayed", "traced", "partial", "untraceable", "restricted", "refused",
        "forwarded", "closed"])
def test_status_follows_the_signed_steps_of_both_sides(steps, status, reason):
    records = Records()
    steps(records)
    found = records.status(5)
    assert found.status is status
    assert reason in found.reason
    assert [s.type for s in found.steps] == [e.type for e in sorted(records.request + records.answer,
                                                                    key=lambda e: e.occurred_on)]


def test_a_forward_is_listed_with_the_next_trace():
    found = forwarded(responded(acknowledged(Records()), exported_to=("NL",))).status(5)
    assert found.forwarded == (("NL", "t2"),) and found.exported_to == ("NL",) and found.complete is True


@pytest.mark.parametrize("priority, ack_day, now_day, overdue, late", [
    ("routine", None, 1.5, [], False),
    ("routine", None, 2.5, ["acknowledgement"], False),
    ("urgent", None, 1.5, ["acknowledgement", "response"], False),   # urgent: answered within 24 hours
    ("routine", 3, 4, [], True),
    ("routine", 1, 31, ["response"], False),
    ("urgent", 0.5, 8, ["response"], False),
])
def test_overdue_acknowledgement_and_response(priority, ack_day, now_day, overdue, late):
    records = Records(priority)
    if ack_day is not None:
        acknowledged(records, ack_day)
    found = records.status(now_day)
    assert found.overdue == overdue
    assert found.acknowledgement.late is late


def test_a_delay_moves_the_response_deadline_to_the_date_announced():
    records = acknowledged(Records())
    records.add("BE", "TraceAnswer.Delayed", 1, ground="ongoing-investigation", explanation="trial",
                expected_by=T0 + 60 * DAY)
    assert records.status(45).overdue == []
    assert records.status(61).overdue == ["response"]


def test_deadlines_come_from_the_environment():
    settings = TraceSettings.load({"ARMSLEDGER_TRACE_ACK_DAYS": "5", "ARMSLEDGER_TRACE_AUTORESPOND": "off"})
    assert settings.acknowledge_days == 5 and settings.autorespond is False
    assert Records().status(4, deadlines=settings).overdue == []
    with pytest.raises(InvalidField, match="not a whole number"):
        TraceSettings.load({"ARMSLEDGER_TRACE_RESPONSE_DAYS": "a month"})


def test_status_needs_the_request():
    with pytest.raises(InvalidField):
        trace_status([], [], now=T0)


# --- fragments ------------------------------------------------------------------------------


@pytest.fixture
def be(tmp_path, db_url):
    federation = MemoryFederation(tmp_path, lambda s: db_url, ["BE"])
    yield federation["BE"]
    federation.close()


def weapon_with_life(node) -> str:
    now = int(time.time())
    weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "FR-1"), type="pistol", make="FN",
                                       model="57", calibre="5.7", year=2020, holder="FN Herstal",
                                       occurred_on=now - 90 * DAY)
    node.registry.record("mark", by="licensing", weapon_id=weapon, mark="BE-2020", reason="proof house",
                         occurred_on=now - 80 * DAY)
    node.registry.record("report_stolen", by="police", weapon_id=weapon, place="Liège", circumstances="burglary",
                         occurred_on=now - 10 * DAY)
    return str(weapon)


def check(node, items, **overrides):
    arguments = dict(origin="BE", node_key=node.identity.node_public, kept=node.sealer.checkpoints())
    return verify_fragment(items, **{**arguments, **overrides})


def test_a_fragment_cites_the_checkpoint_its_seal_stored_or_else_the_one_that_stood(be):
    weapon = weapon_with_life(be)
    reads = []
    latest = be.sealer.latest_checkpoint
    be.sealer.latest_checkpoint = lambda: reads.append(1) or latest()
    try:
        sealed = build_fragment(be, weapon)
        assert reads == []  # the seal stored one over the records shown: taken as it returned it
        again = build_fragment(be, weapon)  # nothing new to seal: the one that stood, as the seal's check read it
        assert reads == []
    finally:
        del be.sealer.latest_checkpoint
    assert again.items == sealed.items and check(be, sealed.items).ok
    assert {decode_item(item)[1] for item in sealed.items} == {latest()}


def test_a_fragment_verifies_from_its_bytes_and_the_node_key(be):
    weapon = weapon_with_life(be)
    fragment = build_fragment(be, weapon)
    assert [e.type for e in fragment.records] == ["Weapon.Manufactured", "Weapon.Marked", "Weapon.ReportedStolen"]
    assert fragment.complete and fragment.exported_to == ()
    result = check(be, fragment.items)
    assert result.ok, result.problems
    verified = [e for e in result.records if e.stream == weapon]
    assert [e.hash for e in verified] == [e.hash for e in fragment.records]


def test_a_tampered_item_is_reported_and_never_used(be):
    weapon = weapon_with_life(be)
    items = list(build_fragment(be, weapon).items)
    position = next(i for i, item in enumerate(items) if decode_item(item)[0].type == "Weapon.ReportedStolen")
    item = dict(canonical_decode(items[position]))
    envelope = dict(canonical_decode(item["envelope"]))
    envelope["body"] = {**envelope["body"], "place": "Antwerpen"}   # the place of the theft, rewritten
    item["envelope"] = canonical_encode(envelope)
    items[position] = canonical_encode(item)
    result = check(be, items)
    assert len(result.problems) == 1 and f"item {position + 1} (Weapon.ReportedStolen" in result.problems[0]
    assert "Weapon.ReportedStolen" not in [e.type for e in result.records]
    assert "Weapon.Manufactured" in [e.type for e in result.records]


def test_garbage_and_foreign_items_are_reported(be):
    weapon = weapon_with_life(be)
    items = list(build_fragment(be, weapon).items)
    result = check(be, [b"\x01not msgpack", *items], origin="NL")
    assert result.records == ()
    assert "item 1: unreadable" in result.problems[0]
    assert all("not by NL" in p for p in result.problems[1:])


def test_nothing_verifies_without_the_partners_node_key(be):
    items = build_fragment(be, weapon_with_life(be)).items
    assert check(be, items, node_key=public_key_from_bytes(bytes(range(32)))).records == ()
    untrusted = check(be, items, node_key=None)
    assert untrusted.records == () and "not a trusted partner" in untrusted.problems[0]


def test_a_checkpoint_that_contradicts_the_one_kept_is_a_second_history(be):
    items = build_fragment(be, weapon_with_life(be)).items
    shown = decode_item(items[0])[1]
    other = sign_checkpoint(be.identity.private_keys[be.identity.node_key_id], "BE", shown.size, bytes(32), 1)
    result = check(be, items, kept=[other])
    assert result.records == () and "two histories" in result.problems[0]


def test_a_record_signed_by_an_uncertified_key_is_rejected(be):
    weapon = weapon_with_life(be)
    items = build_fragment(be, weapon).items
    certificates = [i for i in items if decode_item(i)[0].type.startswith("Authority.")]
    others = [i for i in items if not decode_item(i)[0].type.startswith("Authority.")]
    result = check(be, others)  # certificates withheld and none received before
    assert result.records == ()
    assert all("has not certified" in p for p in result.problems)
    assert check(be, others, certificates=[decode_item(i)[0] for i in certificates]).ok


def test_register_records_held_are_not_verified_again_but_an_item_with_another_signature_is(be, monkeypatch):
    weapon = weapon_with_life(be)
    items = build_fragment(be, weapon).items
    held = [decode_item(i)[0] for i in items if decode_item(i)[0].type.startswith("Authority.")]
    verified = []
    real = acceptance.verify_signatures
    monkeypatch.setattr(acceptance, "verify_signatures", lambda triples: verified.extend(triples) or real(triples))
    result = check(be, items, certificates=held)
    assert result.ok and len(result.records) == len(items)
    # Only the weapon's own records were verified: the register's are held from ingest, byte for byte.
    assert sorted(h for _, _, h in verified) == sorted(e.hash for e in result.records if e.type.startswith("Weapon."))
    # The same register record with another signature is not the record held: verified, refused, reported.
    position = next(n for n, i in enumerate(items) if decode_item(i)[0].type == "Authority.Certified")
    item = dict(canonical_decode(items[position]))
    envelope = dict(canonical_decode(item["envelope"]))
    envelope["sig"] = bytes(64)
    item["envelope"] = canonical_encode(envelope)
    forged = [*items[:position], canonical_encode(item), *items[position + 1:]]
    result = check(be, forged, certificates=held)
    assert any(f"item {position + 1} (Authority.Certified" in p and "signature does not verify" in p
               for p in result.problems)


def test_a_restricted_fragment_withholds_domestic_records(be):
    weapon = weapon_with_life(be)
    fragment = build_fragment(be, weapon, restricted=True)
    assert [e.type for e in fragment.records] == ["Weapon.Manufactured"]
    result = check(be, fragment.items)
    assert result.ok and result.notes == ()   # version 1 alone is a whole prefix: nothing to note


def test_a_weapon_not_held_gives_an_empty_fragment(be):
    fragment = build_fragment(be, Marking.read("Glock", "AT", "X1").weapon_id())
    assert fragment.items == () and not fragment.complete


def test_checkpoint_bytes_in_items_parse(be):
    items = build_fragment(be, weapon_with_life(be)).items
    assert isinstance(decode_item(items[0])[1], Checkpoint)
    assert decode_item(items[0])[1].origin == "BE"


# --- submitting ------------------------------------------------------------------------------


def test_a_request_names_a_trusted_partner_and_the_weapon(tmp_path):
    federation = MemoryFederation(tmp_path, lambda s: str(tmp_path / f"{s}.db"), ["FR", "BE"])
    try:
        fr = federation["FR"]
        marking = Marking.read("FN Herstal", "BE", "FR-1")
        seized = fr.registry.seize(marking=marking, place="Lille", circumstances="traffic stop", type="pistol",
                                   calibre="5.7")
        arguments = dict(circumstances="found in a car", legal_basis="CPP art 60", intended_use="prosecution")
        with pytest.raises(InvalidField, match="not a trusted partner") as e:
            tracing.submit(fr, to="US", weapon_id=seized, **arguments)
        assert e.value.field == "to"
        with pytest.raises(InvalidField, match="not both"):
            tracing.submit(fr, to="BE", weapon_id=seized, marking=marking, **arguments)
        trace_id = tracing.submit(fr, to="BE", weapon_id=seized, priority="urgent", **arguments)
        found = tracing.trace(fr, trace_id)
        assert found.role == "requester" and found.status is TraceStatus.SUBMITTED
        assert found.request["marking"]["serial"] == "FR-1" and found.request["type"] == "pistol"
        assert found.request["calibre"] == "5.7" and found.request["priority"] == "urgent"
        assert [t.trace_id for t in tracing.traces(fr)] == [str(trace_id)]
    finally:
        federation.close()


def test_a_record_filed_under_a_request_topic_is_not_taken_for_a_request(tmp_path):
    federation = MemoryFederation(tmp_path, lambda s: str(tmp_path / f"{s}.db"), ["FR", "BE"])
    try:
        fr = federation["FR"]
        seized = fr.registry.seize(marking=Marking.read("FN Herstal", "BE", "FR-2"), place="Lille",
                                   circumstances="traffic stop", type="pistol", calibre="5.7")
        trace_id = tracing.submit(fr, to="BE", weapon_id=seized, circumstances="found in a car",
                                  legal_basis="CPP art 60", intended_use="prosecution")
        # The seizure's row claims to be a trace request; its signed type says otherwise.
        insider.set_topic(fr.settings.db, fr.registry.recorder.events_table_name, seized, 1,
                          "TraceRequest.Submitted")
        assert [t.trace_id for t in tracing.traces(fr)] == [str(trace_id)]
        assert [e.stream for e in tracing.traces_about(fr, seized)] == [str(trace_id)]
    finally:
        federation.close()


def test_traces_about_a_weapon_read_each_request_once_and_find_those_made_since(tmp_path, db_url):
    federation = MemoryFederation(tmp_path, lambda s: db_url if s == "FR" else str(tmp_path / f"{s}.db"), ["FR", "BE"])
    try:
        fr = federation["FR"]
        first, second = (fr.registry.seize(marking=Marking.read("FN Herstal", "BE", serial), place="Lille",
                                           circumstances="traffic stop", type="pistol", calibre="5.7")
                         for serial in ("FR-3", "FR-4"))
        arguments = dict(circumstances="found in a car", legal_basis="CPP art 60", intended_use="prosecution")
        one = tracing.submit(fr, to="BE", weapon_id=first, **arguments)
        assert [e.stream for e in tracing.traces_about(fr, first)] == [str(one)]
        assert tracing.traces_about(fr, second) == []

        two, three = (tracing.submit(fr, to="BE", weapon_id=w, **arguments) for w in (first, second))
        rows_read = []
        select = fr.registry.recorder.select_notifications
        fr.registry.recorder.select_notifications = lambda *a, **k: rows_read.append(len(page := select(*a, **k))) \
            or page
        try:
            assert [e.stream for e in tracing.traces_about(fr, first)] == [str(one), str(two)]
            assert [e.stream for e in tracing.traces_about(fr, second)] == [str(three)]
        finally:
            del fr.registry.recorder.select_notifications
        assert sum(rows_read) == 2  # the two requests made since the first look, not the first one again
    finally:
        federation.close()
