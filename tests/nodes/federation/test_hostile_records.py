"""Records a trusted partner signed and proved, yet out of the domain's schema (poison pills), and
reactions that fail: each is quarantined with a reason naming the field, and ingest goes on.

BE records the pills in its own log behind its registry's back (an insider, or a partner's bug),
so they are sealed, proved and relayed like its honest records; NL ingests through the real inbox
(on each backend) over the in-memory transport, and once over the real broker.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from eventsourcing.persistence import StoredEvent

from domain.event_types import TRACE_SUBMITTED
from ledger.audit_report import ProblemKind
from ledger.envelope import GENESIS_PREV, Envelope, seal
from nodes.bootstrap import init_node
from nodes.federation.inbox import Inbox
from nodes.federation.inbox_records import QUARANTINED, InboxBatch, QuarantineEntry, message_digest
from nodes.federation.ingest import INVALID_FIELD, MALFORMED, OVERSIZED, REACTION_FAILED, Ingest
from nodes.federation.reactions import REACTIONS_TOPIC
from nodes.federation.sync import sync
from nodes.federation.trust import trust_each_other
from nodes.federation.wire import CheckpointMessage, RecordMessage, decode_message, encode_message
from nodes.registry.verify import verify_store
from nodes.settings import Settings
from nodes.tracing import service as tracing

from federation_nodes import PASSPHRASE, Cluster, manufacture, now, publish, raw_messages
from inprocess_cli import Cli, node_environment
from insider import sql
from memory_transport import MemoryBroker, MemoryTransport


@pytest.fixture
def env(monkeypatch):
    return node_environment(monkeypatch)


@pytest.fixture
def pair(tmp_path, db_url):
    """BE (SQLite) and NL (``db_url``), trusting each other, each with a transport on one memory broker."""
    be = init_node(Settings.load(environ={}, home=tmp_path / "be", passphrase=PASSPHRASE), "BE")
    nl = init_node(Settings.load(environ={}, home=tmp_path / "nl", db=db_url, passphrase=PASSPHRASE), "NL")
    trust_each_other([be, nl])
    broker = MemoryBroker()
    yield be, nl, MemoryTransport(broker), MemoryTransport(broker)
    be.close()
    nl.close()


def submitted_body(be, addressee: str = "NL") -> dict:
    """The body of an honest trace request of BE to ``addressee``."""
    weapon = manufacture(be, f"P-{uuid.uuid4().hex[:6]}")
    trace = tracing.submit(be, to=addressee, weapon_id=weapon, circumstances="found", legal_basis="CPP",
                           intended_use="prosecution")
    [envelope] = [e for e in be.registry.envelopes(str(trace)) if e.type == TRACE_SUBMITTED]
    return dict(envelope.body)


def insert_signed(node, *, stream: str, version: int = 1, type: str = TRACE_SUBMITTED, body: dict,
                  prev: bytes = GENESIS_PREV, kind: str = "police") -> Envelope:
    """Sign a record with ``node``'s ``kind`` key and append it to its log, outside its rules."""
    authority = node.identity.authority_key_ids[kind]
    envelope = seal(node.identity.private_keys[authority], node=node.identity.state, stream=stream, version=version,
                    type=type, occurred_on=now() - 100, recorded_at=now() * 1_000_000, authority=authority,
                    prev=prev, body=body)
    node.registry.recorder.insert_events([StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                                                      topic=type, state=envelope.to_bytes())])
    return envelope


def rekeyed(messages: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The record messages among ``messages`` keyed by their envelope's stream: the relay keys a message by its
    row's stream column, which cannot hold "not-a-uuid"; anyone with access to the broker can re-key it."""
    found = []
    for key, value in messages:
        message = decode_message(value)
        if isinstance(message, RecordMessage):
            stream = Envelope.from_bytes(message.envelope).stream.encode()
            if stream != key:
                found.append((stream, value))
    return found


def pills(be) -> list[tuple[str, Envelope]]:
    """(field the refusal must name, pill): every one correctly signed by BE's competent authority."""
    body = submitted_body(be)
    stream = lambda: str(uuid.uuid4())  # noqa: E731
    return [
        ("stream", insert_signed(be, stream="not-a-uuid", body=body)),
        ("version", insert_signed(be, stream=stream(), version=2**63 + 5, body=body)),
        ("body.hop", insert_signed(be, stream=stream(), body={**body, "hop": -1})),
        ("body.hop", insert_signed(be, stream=stream(), body={**body, "hop": 2**60})),
        ("body.requesting_state", insert_signed(be, stream=stream(), body={**body, "requesting_state": 7})),
        ("body.marking", insert_signed(be, stream=stream(), body={**body, "marking": "AB12"})),
        ("body.weapon_id", insert_signed(be, stream=stream(), body={k: v for k, v in body.items()
                                                                    if k != "weapon_id"})),
        ("body.surplus", insert_signed(be, stream=stream(), body={**body, "surplus": "x"})),
        ("body.circumstances", insert_signed(be, stream=stream(), body={**body, "circumstances": "x" * 20_000})),
        # well typed, yet values the domain itself refuses
        ("body.weapon_id", insert_signed(be, stream=stream(), body={**body, "weapon_id": "not-a-uuid"})),
        ("body.parent", insert_signed(be, stream=stream(), body={**body, "parent": "garbage", "hop": 2})),
        ("body.marking", insert_signed(be, stream=stream(), body={**body, "marking": {**body["marking"],
                                                                                      "country": "QQ"}})),
        ("body.marking", insert_signed(be, stream=stream(), body={**body, "marking": {**body["marking"],
                                                                                      "serial": " "}})),
        ("body.priority", insert_signed(be, stream=stream(), body={**body, "priority": "whenever"})),
        ("body.requesting_state", insert_signed(be, stream=stream(), body={**body, "requesting_state": "FR"})),
    ]


def test_poison_pills_of_a_trusted_partner_are_quarantined_naming_the_field_and_ingest_goes_on(pair):
    be, nl, be_transport, nl_transport = pair
    expected = pills(be)
    sync(be, be_transport, 10)
    be_transport.publish(be_transport.inbox_topic("NL"), rekeyed(be_transport.published("NL")))
    first = sync(nl, nl_transport, 10)
    assert first.quiet
    entries = {e["detail"]: e for e in nl.inbox.quarantined()}
    for field, pill in expected:
        [entry] = [e for d, e in entries.items() if f"stream {pill.stream[:64]}:" in d and pill.type[:40] in d]
        assert entry["reason"] == INVALID_FIELD and f"field {field!r}" in entry["detail"], entry
        assert nl.inbox.received(node="BE", stream=pill.stream[:64]) == []
    # Later records of BE are ingested.
    weapon = manufacture(be, "AFTER-1")
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
    sync(be, be_transport, 10)
    second = sync(nl, nl_transport, 10)
    assert second.quiet and second.quarantined == 0
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == ["Weapon.ReportedStolen"]
    # A restart reads the same quarantine and goes on (nothing left that raises).
    assert sync(nl, nl_transport, 10).quiet


def test_a_poison_pill_over_the_real_broker_is_quarantined_and_the_next_records_arrive(tmp_path, kafka_bootstrap,
                                                                                         db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        pill = insert_signed(be, stream="not-a-uuid", body=submitted_body(be))
        cluster.sync("BE")
        publish(cluster, "NL", rekeyed([(key, value) for _, key, value in raw_messages(cluster, "NL")]))
        weapon = manufacture(be, "AFTER-2")
        be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
        cluster.settle()
        [entry] = [e for e in nl.inbox.quarantined() if e["reason"] == INVALID_FIELD]
        assert "field 'stream'" in entry["detail"] and pill.type in entry["detail"]
        assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == ["Weapon.ReportedStolen"]


def test_a_failing_reaction_is_listed_in_the_quarantine_and_blocks_nothing(pair, monkeypatch):
    be, nl, be_transport, nl_transport = pair
    submitted_body(be)  # an honest trace request of BE to NL: NL acknowledges it by itself

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the step")

    monkeypatch.setattr(tracing, "acknowledge", broken)
    monkeypatch.setattr(tracing, "acknowledge_and_respond", broken)  # the step taken when autoresponding
    sync(be, be_transport, 10)
    report = sync(nl, nl_transport, 10)
    assert report.quiet and report.failed_reactions == 1
    [entry] = nl.inbox.quarantined()
    [request] = [m for m in nl.inbox.received_notifications(1, 100) if m[1].type == TRACE_SUBMITTED]
    assert entry["reason"] == REACTION_FAILED and entry["origin"] == "BE" and entry["topic"] == REACTIONS_TOPIC
    assert request[1].stream in entry["detail"] and "RuntimeError: a bug in the step" in entry["detail"]
    [parked] = nl.inbox.parked()
    assert parked.entry.message == request[1].to_bytes()  # the record it failed on, byte for byte
    # The next start (new federation, catch-up of reactions) neither raises nor lists it twice;
    # later records of BE still arrive.
    weapon = manufacture(be, "AFTER-3")
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
    sync(be, be_transport, 10)
    again = sync(nl, nl_transport, 10)
    assert again.quiet and again.failed_reactions == 0 and len(nl.inbox.quarantined()) == 1
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == ["Weapon.ReportedStolen"]


def test_an_oversized_message_keeps_only_its_hash_size_offset_and_origin(pair):
    be, nl, be_transport, nl_transport = pair
    limit = nl.settings.max_message_bytes
    assert limit == 1 << 20
    big_checkpoint = encode_message(CheckpointMessage("BE", b"x" * (limit + 1), 0, ()))
    junk = b"\x00" * (2 * limit)
    topic = nl_transport.inbox_topic("NL")
    nl_transport.ensure_topics(["NL"])
    nl_transport.publish(topic, [(b"BE", big_checkpoint), (b"", junk)])
    weapon = manufacture(be, "AFTER-4")
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
    sync(be, be_transport, 10)
    report = sync(nl, nl_transport, 10)
    assert report.quiet and report.quarantined == 2
    entries = sorted(nl.inbox.quarantined(), key=lambda e: e["offset"])
    assert [(e["reason"], e["offset"], e["origin"], e["size"]) for e in entries] == [
        (OVERSIZED, 0, "BE", 2 + len(big_checkpoint)), (OVERSIZED, 1, "", len(junk))]
    assert message_digest(b"BE", big_checkpoint).hex() in entries[0]["detail"]
    assert message_digest(b"", junk).hex() in entries[1]["detail"]
    stored = [bytes(n.state) for n in nl.inbox.recorder.select_notifications(start=1, limit=1000)
              if n.topic == QUARANTINED]
    assert len(stored) == 2 and all(len(state) < 1000 for state in stored)  # not a byte of the messages
    # Later records are ingested; the same bytes sent again are the same entries.
    assert [e.type for e in nl.inbox.received(node="BE", stream=str(weapon))] == ["Weapon.ReportedStolen"]
    nl_transport.publish(topic, [(b"", junk)])
    assert sync(nl, nl_transport, 10).quarantined == 0 and len(nl.inbox.quarantined()) == 2


def test_the_maximum_message_size_is_a_setting(tmp_path, db_url):
    settings = Settings.load(environ={"ARMSLEDGER_MAX_MESSAGE_BYTES": "100"}, home=tmp_path / "x", db=db_url)
    node = init_node(replace(settings, passphrase=PASSPHRASE), "DK")
    try:
        ingest = Ingest(node, MemoryTransport(), node.inbox, lambda state, items: None)
        report = ingest.process([(0, b"DK", b"y" * 98), (1, b"DK", b"z" * 99)])  # 100 bytes, then 101
        assert report.quarantined == 2
        assert sorted(e["reason"] for e in node.inbox.quarantined()) == [MALFORMED, OVERSIZED]
    finally:
        ingest.close()
        node.close()


def test_ingest_keeps_the_quarantine_under_its_cap(tmp_path, db_url):
    settings = Settings.load(environ={"ARMSLEDGER_QUARANTINE_ENTRIES": "5"}, home=tmp_path / "x", db=db_url,
                             passphrase=PASSPHRASE)
    node = init_node(settings, "DK")
    ingest = Ingest(node, MemoryTransport(), node.inbox, lambda state, items: None)
    try:
        for start in range(0, 40, 10):
            report = ingest.process([(i, b"DK", f"junk {i}".encode()) for i in range(start, start + 10)])
            assert report.quarantined == 10
        kept = node.inbox.quarantined()
        assert len(kept) == 5 and [e["offset"] for e in kept] == list(range(35, 40))  # the newest stay
    finally:
        ingest.close()
        node.close()


def test_the_quarantine_command_pages_through_the_entries(env, capsys, tmp_path, db_url):
    cli = Cli(capsys, tmp_path / "nl", db_url)
    cli.ok("init", "--state", "NL")
    with Inbox.open(db_url) as inbox:
        assert inbox.record(InboxBatch(quarantined=[
            QuarantineEntry(received_at=1_700_000_000_000_000, topic="t.inbox.NL", offset=i, origin="BE",
                            reason=MALFORMED, kind="error", detail=f"junk {i}", key=b"", message=b"x%d" % i)
            for i in range(5)]))
    first = cli.ok("quarantine", "--limit", "2", "--json").json()
    assert [e["offset"] for e in first] == [0, 1]
    text = cli.ok("quarantine", "--limit", "2").out
    assert f"--after {first[-1]['id']} --limit 2" in text
    rest = cli.ok("quarantine", "--after", str(first[-1]["id"]), "--json").json()
    assert [e["offset"] for e in rest] == [2, 3, 4]
    with Inbox.open(db_url) as inbox:  # an alarm beyond the first page still makes the command exit 1
        assert inbox.record(InboxBatch(quarantined=[QuarantineEntry(
            received_at=1_700_000_000_000_000, topic="t.inbox.NL", offset=9, origin="BE", reason="fork-or-rewrite",
            kind="alarm", detail="two histories", key=b"", message=b"y")]))
    alarmed = cli("quarantine", "--limit", "2")
    assert alarmed.code == 1 and "1 more alarm in the quarantine, outside this page" in alarmed.out
    assert "limit" in cli.refused("quarantine", "--limit", "0").err
    assert "after" in cli.refused("quarantine", "--after", "-1").err


def test_a_received_row_with_no_bytes_is_named_by_verify(pair):
    """A NULL state in the inbox (both backends: PostgreSQL's recorder cannot read it as a notification)."""
    be, nl, be_transport, nl_transport = pair
    weapon = manufacture(be, "NULL-1")
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
    sync(be, be_transport, 10)
    sync(nl, nl_transport, 10)
    [row] = [e for e in nl.inbox.received(node="BE", stream=str(weapon))]
    assert verify_store(nl).ok
    db = nl.settings.db
    table = "inbox_events" if not db.startswith("postgresql://") else nl.inbox.recorder.events_table_name
    sql(db, f"UPDATE {table} SET state = NULL WHERE topic = ?", row.type)
    report = verify_store(nl)
    [problem] = report.problems
    assert problem.kind is ProblemKind.ENCODING and problem.position is not None and "NULL" in problem.reason
