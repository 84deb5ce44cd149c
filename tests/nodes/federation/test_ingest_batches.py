"""Ingest in batches: the bytes checked apart (``ingest_checks``, on worker processes for a large
batch), the next batch read while one is recorded. Whatever the batch boundaries, the same
messages are accepted and the same ones refused, for the same reasons, as one at a time."""

from __future__ import annotations

import gc
import json
import pickle
from dataclasses import replace

import pytest

from ledger.acceptance import Signers, check_inclusion
from ledger.envelope import Envelope
from ledger.keys import public_bytes
from nodes.bootstrap import init_node
from nodes.errors import StorageError
from nodes.federation import ingest_run
from nodes.federation.inbox import Inbox
from nodes.federation.ingest import BAD_PROOF, BAD_SIGNATURE, INVALID_FIELD, MALFORMED, STREAM_MISMATCH, Ingest
from nodes.federation.ingest_checks import Checked, check_message, check_messages, verdicts, with_verdicts
from nodes.federation.relay import Relay
from nodes.federation.trust import trust_each_other
from nodes.federation.wire import RecordMessage, decode_message, encode_message
from nodes.settings import Settings

from federation_nodes import PASSPHRASE, manufacture_many
from memory_transport import MemoryTransport

RECORDS = 120


@pytest.fixture(scope="module")
def relayed(tmp_path_factory):
    """NL, and what BE's relay sends it: certificates, a checkpoint and RECORDS manufactures."""
    root = tmp_path_factory.mktemp("batches")
    be = init_node(Settings.load(environ={}, home=root / "be", passphrase=PASSPHRASE), "BE")
    nl = init_node(Settings.load(environ={}, home=root / "nl", passphrase=PASSPHRASE), "NL")
    trust_each_other([be, nl])
    (root / "be" / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all"}}))
    manufacture_many(be, RECORDS)
    transport = MemoryTransport()
    Relay(be, transport, be.inbox).relay()
    yield be, nl, transport.published("NL")
    be.close()
    nl.close()


def _forged(messages: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The messages with, after the 70th, a bad signature, a record under another stream's key,
    a record out of the schema, bytes that are no message and a record whose inclusion proof was changed."""
    records = [(i, k, decode_message(v)) for i, (k, v) in enumerate(messages)
               if isinstance(decode_message(v), RecordMessage)]
    _, key, message = records[-1]
    envelope = Envelope.from_bytes(message.envelope)
    bad_sig = replace(message, envelope=replace(envelope, sig=bytes(64)).to_bytes())
    out_of_schema = replace(message, envelope=replace(envelope, body={**envelope.body, "calibre": 9}).to_bytes())
    other_key = records[-2][1]
    bad_proof = replace(message, proof=(bytes(32), *message.proof[1:]))
    forged = [(key, encode_message(bad_sig)), (other_key, encode_message(message)),
              (key, encode_message(out_of_schema)), (key, b"\x81\xa1v\x01"), (key, encode_message(bad_proof))]
    return messages[:70] + forged + messages[70:]


def _published(messages, inbox_file):
    """A transport holding ``messages`` in NL's inbox topic, and a fresh inbox in ``inbox_file``."""
    transport = MemoryTransport()
    transport.ensure_topics(["NL"])
    transport.publish(transport.inbox_topic("NL"), messages)
    return transport, Inbox.open(str(inbox_file))


def _ingest_all(nl, messages, tmp_path, batch_size: int, pool_size: int = 1):
    """Publish ``messages`` to a fresh inbox topic and step a fresh ingest through them; returns
    (accepted envelope bytes, sorted (reason, offset) of the quarantine, the ingest's steps)."""
    transport, inbox = _published(messages, tmp_path / f"inbox-{batch_size}-{pool_size}.db")
    ingest = Ingest(nl, transport, inbox, lambda state, items: None, batch_size=batch_size, pool_size=pool_size)
    try:
        steps = 0
        while ingest.step(0.0).read:
            steps += 1
        accepted = {bytes(n.state) for n in inbox.recorder.select_notifications(start=1, limit=10_000)
                    if not n.topic.startswith("armsledger.")}
        quarantined = sorted((e["reason"], e["offset"]) for e in inbox.quarantined())
        return accepted, quarantined, steps
    finally:
        ingest.close()
        inbox.close()


def test_any_batch_size_accepts_and_refuses_the_same_messages(relayed, tmp_path):
    _, nl, messages = relayed
    messages = _forged(messages)
    one_by_one = _ingest_all(nl, messages, tmp_path, 1)
    accepted, quarantined, _ = one_by_one
    assert len(accepted) == RECORDS + 6  # the manufactures and BE's certificates
    assert quarantined == sorted([(BAD_SIGNATURE, 70), (STREAM_MISMATCH, 71), (INVALID_FIELD, 72), (MALFORMED, 73),
                                  (BAD_PROOF, 74)])
    # One at a time each record is proved against a checkpoint kept by an earlier step; in a batch, against the
    # checkpoint kept earlier in the same list.
    for batch_size in (3, 50, 500):
        again = _ingest_all(nl, messages, tmp_path, batch_size)
        assert again[:2] == one_by_one[:2], batch_size
        assert again[2] == -(-len(messages) // batch_size), batch_size  # full batches, read ahead, none lost


def test_records_proved_against_a_checkpoint_kept_earlier_in_the_list_are_proved_together(relayed, tmp_path,
                                                                                         monkeypatch):
    _, nl, messages = relayed
    kinds = [type(decode_message(value)).__name__ for _, value in messages]
    assert kinds.index("CheckpointMessage") < kinds.index("RecordMessage")  # as a relay pass sends them
    alone = []
    monkeypatch.setattr(ingest_run, "check_inclusion", lambda *args: alone.append(args) or check_inclusion(*args))
    accepted, quarantined, steps = _ingest_all(nl, messages, tmp_path, 500)
    assert (len(accepted), quarantined, steps) == (RECORDS + 6, [], 1)
    assert alone == []  # none proved one at a time
    (tmp_path / "forged").mkdir()
    accepted, quarantined, _ = _ingest_all(nl, _forged(messages), tmp_path / "forged", 500)
    assert (BAD_PROOF, 74) in quarantined and len(accepted) == RECORDS + 6  # the others still accepted


def test_the_worker_processes_decide_as_this_process(relayed, tmp_path):
    _, nl, messages = relayed
    messages = _forged(messages) * 2  # over the pool's threshold; the second half is duplicates
    here = _ingest_all(nl, messages, tmp_path, 500, pool_size=1)
    on_workers = _ingest_all(nl, messages, tmp_path, 500, pool_size=2)
    assert on_workers[:2] == here[:2]
    assert len(here[0]) == RECORDS + 6


def test_a_step_after_another_ingest_moved_the_position_conflicts_then_reads_it(relayed, tmp_path):
    # A step takes the position where its last step left it, without reading it: another ingest of the node
    # that moved it meanwhile makes its record a conflict, and the step after reads the position again.
    _, nl, messages = relayed
    transport, inbox = _published(messages, tmp_path / "shared.db")
    first = Ingest(nl, transport, inbox, lambda state, items: None, batch_size=40, pool_size=1)
    second = Ingest(nl, transport, inbox, lambda state, items: None, batch_size=40, pool_size=1)
    try:
        assert first.step(0.0).read == 40  # and reads offsets 40..79 ahead
        assert second.step(0.0).read == 40  # records 40..79 (and reads 80.. ahead)
        done = first.step(0.0)  # still at 40 as far as it knows: its batch read ahead, recorded by the other
        assert done.conflicts == 1 and not done.accepted and first.reached is None
        done = first.step(0.0)  # reads the position, 80, and the batch there
        assert done.read == 40 and not done.conflicts
        assert len(done.accepted) == 40 and first.reached == (second.reached[0], 120)
        while first.step(0.0).read or second.step(0.0).read:
            pass
        accepted = [n for n in inbox.recorder.select_notifications(start=1, limit=10_000)
                    if not n.topic.startswith("armsledger.")]
        assert len(accepted) == len({bytes(n.state) for n in accepted}) == RECORDS + 6
        assert inbox.quarantined() == []
    finally:
        first.close()
        second.close()
        inbox.close()


def test_check_message_finds_what_the_bytes_alone_tell(relayed):
    be, _, messages = relayed
    identity = be.identity
    key = public_bytes(identity.private_keys[identity.node_key_id].public_key())
    records = [decode_message(v) for _, v in messages if isinstance(decode_message(v), RecordMessage)]
    register = next(m for m in records if Envelope.from_bytes(m.envelope).type.startswith("Authority."))
    value = encode_message(register)
    signers = {"BE": Signers.of(key, {})}

    found = check_message(value, signers)
    assert found.message == register and found.envelope == Envelope.from_bytes(register.envelope)
    assert found.signature == (key, True) and found.invalid is None and not found.malformed
    assert check_message(value, {}).signature is None  # no signers for BE: left to ingest
    envelope = Envelope.from_bytes(register.envelope)
    forged = encode_message(replace(register, envelope=replace(envelope, sig=bytes(64)).to_bytes()))
    assert check_message(forged, signers).signature == (key, False)

    assert check_message(b"\xc1", signers).message is None
    assert check_message(b"\xc1", signers).malformed.startswith("not a federation message: ")
    not_envelope = encode_message(replace(register, envelope=b"\x90"))
    assert check_message(not_envelope, signers).malformed.startswith("the record is not an envelope: ")
    out_of_schema = encode_message(replace(register, envelope=replace(envelope, stream="x").to_bytes()))
    assert check_message(out_of_schema, signers).invalid == ("stream", "'x' is not a UUID")
    assert check_messages([value, b"\xc1"], signers) == [check_message(value, signers),
                                                         check_message(b"\xc1", signers)]


def test_records_after_a_certificate_in_the_same_list_are_checked_with_its_key(relayed):
    be, _, messages = relayed
    identity = be.identity
    node_key = public_bytes(identity.private_keys[identity.node_key_id].public_key())
    values = [v for _, v in messages]
    signers = {"BE": Signers.of(node_key, {})}  # BE's certificates not known yet: they are in the list
    found = check_messages(values, signers)
    records = [c for c in found if c.envelope is not None]
    certificates = [c for c in records if c.envelope.type == "Authority.Certified"]
    manufactures = [c for c in records if c.envelope.type == "Weapon.Manufactured"]
    assert certificates and len(manufactures) == RECORDS
    assert all(c.signature == (node_key, True) for c in certificates)
    certified = {c.envelope.body["key_id"]: c.envelope.body["public_key"] for c in certificates}
    assert all(c.signature == (certified[c.envelope.authority], True) for c in manufactures)
    manufacture = next(v for v, c in zip(values, found) if c.envelope is not None
                       and c.envelope.type == "Weapon.Manufactured")
    assert check_messages([manufacture], signers)[0].signature is None  # without its certificate before it


def test_what_the_checks_find_comes_back_from_a_worker_process_unchanged(relayed):
    be, _, messages = relayed
    identity = be.identity
    node_key = public_bytes(identity.private_keys[identity.node_key_id].public_key())
    values = [v for _, v in messages]
    record = next(decode_message(v) for v in reversed(values) if isinstance(decode_message(v), RecordMessage))
    envelope = Envelope.from_bytes(record.envelope)
    out_of_schema = replace(record, envelope=replace(envelope, body={**envelope.body, "calibre": 9}).to_bytes())
    bad_sig = replace(record, envelope=replace(envelope, sig=bytes(64)).to_bytes())
    values += [encode_message(out_of_schema), encode_message(bad_sig), b"\xc1", encode_message(replace(
        record, envelope=b"\x90"))]
    found = check_messages(values, {"BE": Signers.of(node_key, {})})
    kinds = {type(c.message).__name__ for c in found}
    assert {"RecordMessage", "CheckpointMessage", "NoneType"} <= kinds
    assert {c.invalid is not None for c in found} == {True, False}
    assert {c.signature for c in found if c.signature is not None and not c.signature[1]}  # the forged one

    # As a verifying process sends them back (``verdicts``), made ``Checked`` again from the bytes ingest holds.
    sent = pickle.loads(pickle.dumps(verdicts(values, {"BE": Signers.of(node_key, {})}),
                                     protocol=pickle.HIGHEST_PROTOCOL))
    back = with_verdicts(values, sent)
    assert back == found
    for before, after in zip(found, back):
        assert type(after.message) is type(before.message)
        assert type(after.envelope) is type(before.envelope)
        if before.envelope is not None:
            assert after.envelope.__dict__.keys() <= before.envelope.__dict__.keys()
            assert after.envelope.hash == before.envelope.hash
            assert after.envelope.to_bytes() == after.message.envelope
            assert after.envelope.body == before.envelope.body
    # A record goes back as its hash and verdicts alone, not as the parsed message and envelope or its bytes, which
    # cost ingest more to unpickle than parsing the bytes it holds again; anything else goes back whole.
    records = [i for i, c in enumerate(found) if c.envelope is not None and c.envelope.type == "Weapon.Manufactured"]
    assert records and all(type(sent[i]) is tuple for i in records)
    assert all(len(pickle.dumps(sent[i], protocol=pickle.HIGHEST_PROTOCOL)) < 200 for i in records)
    assert all(type(sent[i]) is Checked for i, c in enumerate(found) if c.message is None)
    with pytest.raises(ValueError):
        with_verdicts(values[1:], sent)


def test_a_batch_is_checked_and_recorded_with_the_cyclic_collector_paused_and_it_runs_again_after(relayed, tmp_path):
    _, nl, messages = relayed
    transport, inbox = _published(messages, tmp_path / "collector.db")
    record, collecting = inbox.record, []

    def recording(batch, tracking=None):
        collecting.append(gc.isenabled())
        return record(batch, tracking)

    def failing(batch, tracking=None):
        collecting.append(gc.isenabled())
        raise StorageError("recording received messages: disk full")

    inbox.record = recording
    ingest = Ingest(nl, transport, inbox, lambda state, items: None, batch_size=40, pool_size=1)
    try:
        assert gc.isenabled()
        steps = 0
        while ingest.step(0.0).read:
            steps += 1
            assert gc.isenabled()
        assert steps >= 3 and len(collecting) >= steps and not any(collecting)
        accepted = [n for n in inbox.recorder.select_notifications(start=1, limit=10_000)
                    if not n.topic.startswith("armsledger.")]
        assert len(accepted) == RECORDS + 6

        transport.publish(transport.inbox_topic("NL"), messages[-1:])  # a redelivery, and the database fails
        inbox.record = failing
        collecting.clear()
        with pytest.raises(StorageError):
            ingest.step(0.0)
        assert collecting == [False]
        assert gc.isenabled()
    finally:
        ingest.close()
        inbox.close()
