"""Ingest against a real broker: forged and malformed messages are quarantined with the right reason,
out-of-order messages wait and then settle, checkpoints are kept, checked and cosigned."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ledger.checkpoint import LEGACY_CHECKPOINT_FORMAT, sign_checkpoint
from ledger.cosignature import cosign_checkpoint, cosignature_line, verify_checkpoint_cosignature, witness_verifier
from ledger.envelope import Envelope, seal
from ledger.keys import generate_key, public_bytes, public_key_from_bytes, sign
from ledger.note import open_note, verify_cosignature
from ledger.signed_proof import sign_proof
from nodes.federation.inbox import received_stream_id
from nodes.federation.ingest import BAD_PROOF, BAD_SIGNATURE, FORK, MALFORMED, NOT_PERMITTED, STREAM_MISMATCH, UNTRUSTED
from nodes.federation.wire import CheckpointMessage, CosignatureMessage, RecordMessage, decode_message, encode_message
from nodes.registry.identity import authorities_stream

from federation_nodes import Cluster, manufacture, publish, raw_messages
from memory_transport import MemoryTransport


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url):
    # NL ingests into db_url; BE sends; FR sends too, but NL does not trust FR.
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "NL", "FR"], db={"NL": db_url}, trust=False)
    cluster.trust("BE", "NL")
    cluster.trust("NL", "BE")
    cluster.trust("FR", "NL")
    yield cluster
    cluster.close()


def stolen_weapon(cluster: Cluster, serial: str = "W-1"):
    be = cluster["BE"]
    weapon = manufacture(be, serial)
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="burglary")
    return weapon


def reasons(cluster: Cluster, state: str = "NL") -> list[str]:
    return sorted(e["reason"] for e in cluster[state].inbox.quarantined())


def test_forged_and_malformed_messages_are_quarantined_with_their_reason(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    weapon = stolen_weapon(cluster)
    cluster.sync("BE")
    cluster.sync("FR")  # FR publishes its certificates to NL, which does not trust FR
    legit = [(key, decode_message(value)) for _, key, value in raw_messages(cluster, "NL")
             if decode_message(value).origin == "BE"]
    key, theft = next((k, m) for k, m in legit if isinstance(m, RecordMessage)
                      and Envelope.from_bytes(m.envelope).type == "Weapon.ReportedStolen")
    envelope = Envelope.from_bytes(theft.envelope)

    altered = replace(envelope, body={**envelope.body, "place": "Brussels"})  # the signature is the old one
    customs = be.identity.authority_key_ids["customs"]
    destroyed = seal(be.identity.private_keys[customs], node="BE", stream=envelope.stream, version=3,
                     type="Weapon.Destroyed", occurred_on=envelope.occurred_on, recorded_at=envelope.recorded_at + 1,
                     authority=customs, prev=envelope.hash, body={"method": "melted", "certificate": "X"})
    rogue_checkpoint = sign_checkpoint(generate_key(), "BE", 99, bytes(32), 1)
    forged = [
        (key, encode_message(replace(theft, envelope=altered.to_bytes()))),               # altered body
        (key, encode_message(replace(theft, envelope=destroyed.to_bytes()))),             # customs may not destroy
        (str(weapon).replace("-", "")[::-1].encode(), encode_message(theft)),              # another stream's key
        (b"BE", b"\xc1 not msgpack"),                                                     # malformed bytes
        (b"BE", encode_message(CheckpointMessage("BE", rogue_checkpoint.to_bytes(), 0, ()))),  # untrusted key
    ]
    publish(cluster, "NL", forged)
    report = cluster.sync("NL")
    assert sorted(reasons(cluster)) == sorted(
        [BAD_SIGNATURE, NOT_PERMITTED, STREAM_MISMATCH, MALFORMED, BAD_SIGNATURE] + [UNTRUSTED] * 7)
    assert all(e["kind"] == "error" for e in nl.inbox.quarantined())
    # The consumer went on: every legit record is accepted, stored byte for byte.
    assert nl.inbox.received(node="BE", stream=str(weapon)) == [envelope]
    assert report.accepted == 7 and report.quarantined == 12 and report.alarms == 0
    stored = [bytes(s.state) for s in nl.inbox.recorder.select_events(received_stream_id("BE", str(weapon)))]
    assert stored == [theft.envelope]

    # Redelivery of every message, twice, changes nothing.
    everything = [(k, v) for _, k, v in raw_messages(cluster, "NL")]
    publish(cluster, "NL", everything + everything)
    before = (nl.inbox.max_notification_id(), nl.inbox.quarantined())
    again = cluster.sync("NL")
    assert again.read == 2 * len(everything) and again.accepted == 0 and again.quarantined == 0
    assert (nl.inbox.max_notification_id(), nl.inbox.quarantined()) == before


def test_messages_of_a_partner_trusted_later_wait_and_are_then_accepted(cluster):
    nl = cluster["NL"]
    fr = cluster["FR"]
    fr.registry.record("report_lost", by="police", weapon_id=manufacture(fr, "F-1"), place="Lyon",
                       circumstances="")
    cluster.sync("FR")
    cluster.sync("NL")
    assert reasons(cluster) == [UNTRUSTED] * 8
    assert nl.inbox.received_notifications(1, 100) == []
    cluster.trust("NL", "FR")
    report = cluster.sync("NL")
    assert report.resolved == 8 and report.accepted == 7 and report.checkpoints_kept == 1
    assert reasons(cluster) == []
    assert [e.type for _, e in nl.inbox.received_notifications(1, 100)][-1] == "Weapon.ReportedLost"


def test_records_before_their_certificates_and_checkpoint_wait_for_them(cluster, tmp_path):
    """Delivered in reverse order, everything still ends up accepted, in the right order of checks."""
    stolen_weapon(cluster, "W-2")
    cluster.sync("BE")
    messages = [(key, value) for _, key, value in raw_messages(cluster, "NL")]
    late = Cluster(tmp_path / "de", cluster.bootstrap, ["DE"], trust=False)
    try:
        late.prefix = late.transports["DE"].topic_prefix = cluster.prefix
        de = late["DE"]
        cluster.nodes["DE"] = de
        cluster.transports["DE"] = late.transports["DE"]
        cluster.trust("DE", "BE")
        publish(cluster, "DE", messages[::-1])
        report = cluster.sync("DE")
        assert report.accepted == 7 and report.checkpoints_kept == 1
        assert reasons(cluster, "DE") == []
        types = [e.type for _, e in de.inbox.received_notifications(1, 100)]
        assert sorted(types) == sorted(["Authority.RegisterOpened"] + ["Authority.Certified"] * 5
                                       + ["Weapon.ReportedStolen"])
    finally:
        cluster.nodes.pop("DE")
        cluster.transports.pop("DE")
        late.close()


def test_older_cosignatures_are_still_accepted_and_forged_ones_refused(cluster):
    """A partner not yet upgraded cosigns in the older form (Ed25519 over SHA-256 of the checkpoint
    bytes): still accepted. A cosignature/v1 by another key, or over another checkpoint, is refused."""
    be, nl = cluster["BE"], cluster["NL"]
    stolen_weapon(cluster, "W-9")
    cluster.sync("BE")
    [*_, newest] = be.sealer.checkpoints()
    nl_key = nl.identity.private_keys[nl.identity.node_key_id]
    data = newest.to_bytes()
    older_form = sign(nl_key, hashlib.sha256(data).digest())
    forged = cosign_checkpoint(generate_key(), newest, 1_700_000_000)
    other = cosign_checkpoint(nl_key, replace(newest, size=newest.size + 1), 1_700_000_000)
    publish(cluster, "BE", [
        (b"NL", encode_message(CosignatureMessage("NL", data, nl.identity.node_key_id, older_form))),
        (b"NL", encode_message(CosignatureMessage("NL", data, nl.identity.node_key_id, forged))),
        (b"NL", encode_message(CosignatureMessage("NL", data, nl.identity.node_key_id, other))),
    ])
    cluster.sync("BE")
    assert [c.sig for c in be.inbox.cosignatures()] == [older_form]
    assert verify_checkpoint_cosignature(public_key_from_bytes(nl.identity.node_public_key), newest,
                                         older_form) is None
    refused = be.inbox.quarantined()
    assert [e["reason"] for e in refused] == [BAD_SIGNATURE, BAD_SIGNATURE]
    assert all("cosignature does not verify" in e["detail"] for e in refused)


def test_a_checkpoint_of_format_1_from_a_partner_not_yet_upgraded_is_kept_and_cosigned(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    stolen_weapon(cluster, "W-8")
    be.settle()
    current = be.sealer.latest_checkpoint()
    assert current is not None
    be_key = be.identity.private_keys[be.identity.node_key_id]
    unsigned = replace(current, sig=b"", format=LEGACY_CHECKPOINT_FORMAT)
    legacy = replace(unsigned, sig=sign(be_key, unsigned.signed_bytes()))
    publish(cluster, "NL", [(b"BE", encode_message(CheckpointMessage("BE", legacy.to_bytes(), 0, ())))])
    cluster.sync("NL")
    assert nl.inbox.partner_checkpoints("BE") == [legacy] and nl.inbox.quarantined() == []
    cluster.sync("BE")  # BE's own (format /2) checkpoint of that size is the same one to NL
    cluster.sync("NL")
    assert nl.inbox.quarantined() == []
    [cosignature] = be.inbox.cosignatures()
    assert cosignature.checkpoint == legacy.to_bytes() and len(cosignature.sig) == 72
    assert verify_checkpoint_cosignature(public_key_from_bytes(nl.identity.node_public_key), legacy,
                                         cosignature.sig) is not None


def test_checkpoints_are_kept_cosigned_and_a_second_history_raises_an_alarm(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    stolen_weapon(cluster, "W-3")
    cluster.sync("BE")
    cluster.sync("NL")
    kept = nl.inbox.partner_checkpoints("BE")
    assert kept == be.sealer.checkpoints()
    # The witness's cosignature comes back to BE: a C2SP cosignature/v1 by NL's node key over the
    # checkpoint's note text, which a note verifier accepts as a line of BE's checkpoint note.
    cluster.sync("BE")
    [cosignature] = be.inbox.cosignatures()
    assert cosignature.witness == "NL" and cosignature.checkpoint == kept[-1].to_bytes()
    nl_key = public_key_from_bytes(nl.identity.node_public_key)
    assert len(cosignature.sig) == 72
    assert verify_checkpoint_cosignature(nl_key, kept[-1], cosignature.sig) == verify_cosignature(
        nl_key, kept[-1].note_body(), cosignature.sig)
    note = kept[-1].to_note(public_key_from_bytes(be.identity.node_public_key),
                            (cosignature_line("NL", nl_key, cosignature.sig),))
    opened = open_note(note, [witness_verifier("NL", nl_key)])
    assert [s.name for s in opened.verified] == ["armsledger/NL"]

    node_key = be.identity.private_keys[be.identity.node_key_id]
    newest = kept[-1]
    other_root = sign_checkpoint(node_key, "BE", newest.size, bytes(32), newest.timestamp + 1)
    larger = sign_checkpoint(node_key, "BE", newest.size + 5, bytes(32), newest.timestamp + 2).to_bytes()
    bogus = (bytes(32),) * 3
    publish(cluster, "NL", [
        # Two checkpoints BE signed of one size: BE's own evidence of two histories.
        (b"BE", encode_message(CheckpointMessage("BE", other_root.to_bytes(), 0, ()))),
        # A proof BE signed that fails: its own statement that the larger one is not an extension.
        (b"BE", encode_message(CheckpointMessage("BE", larger, newest.size, bogus,
                                                 sign_proof(node_key, larger, newest.size, bogus)))),
    ])
    report = cluster.sync("NL")
    assert report.alarms == 2
    alarms = nl.inbox.quarantined()
    assert [(e["reason"], e["kind"]) for e in alarms] == [(FORK, "alarm")] * 2
    assert "by BE's own signed proof" in alarms[1]["detail"]
    assert nl.inbox.partner_checkpoints("BE") == kept  # nothing of the second history is kept
    # BE's real history goes on being accepted.
    be.registry.record("report_lost", by="police", weapon_id=manufacture(be, "W-5"), place="Gent",
                       circumstances="")
    cluster.sync("BE")
    assert cluster.sync("NL").accepted == 1
    assert len(nl.inbox.partner_checkpoints("BE")) == len(kept) + 1


def test_a_real_checkpoint_replayed_with_an_unsigned_proof_is_no_alarm(cluster):
    """Anyone who can write to NL's inbox may replay BE's real, not yet relayed, checkpoint with a bogus
    proof: that is quarantined as bad-proof (an error), and BE's real message is accepted when it comes."""
    be, nl = cluster["BE"], cluster["NL"]
    stolen_weapon(cluster, "W-7")
    cluster.sync("BE")
    cluster.sync("NL")
    kept = nl.inbox.partner_checkpoints("BE")
    be.registry.record("report_lost", by="police", weapon_id=manufacture(be, "W-8"), place="Gent",
                       circumstances="")
    be.settle()
    real = be.sealer.checkpoints()[-1]
    assert real.size > kept[-1].size
    data, bogus = real.to_bytes(), (bytes(32),) * 3
    rogue = generate_key()
    publish(cluster, "NL", [
        (b"BE", encode_message(CheckpointMessage("BE", data, kept[-1].size, bogus))),            # unsigned
        (b"BE", encode_message(CheckpointMessage("BE", data, kept[-1].size, bogus,
                                                 sign_proof(rogue, data, kept[-1].size, bogus)))),  # not BE's key
        (b"BE", encode_message(CheckpointMessage("BE", data, 1, bogus,                             # not kept
                                                 sign_proof(rogue, data, 1, bogus)))),
    ])
    report = cluster.sync("NL")
    assert report.alarms == 0 and report.quarantined == 3
    assert [(e["reason"], e["kind"]) for e in nl.inbox.quarantined()] == [(BAD_PROOF, "error")] * 3
    assert nl.inbox.alarm_count() == 0
    assert nl.inbox.partner_checkpoints("BE") == kept
    cluster.sync("BE")
    report = cluster.sync("NL")
    assert report.alarms == 0 and report.accepted == 1
    assert nl.inbox.partner_checkpoints("BE")[-1] == real


def test_a_certificate_must_name_the_key_it_certifies(cluster):
    be, nl = cluster["BE"], cluster["NL"]
    cluster.sync("BE")
    cluster.sync("NL")
    register = be.registry.envelopes(str(authorities_stream("BE")))
    last = register[-1]
    node_key = be.identity.private_keys[be.identity.node_key_id]
    rogue = generate_key()
    bogus = seal(node_key, node="BE", stream=last.stream, version=last.version + 1, type="Authority.Certified",
                 occurred_on=last.occurred_on, recorded_at=last.recorded_at + 1, authority=be.identity.node_key_id,
                 prev=last.hash, body={"key_id": "0" * 32, "public_key": public_bytes(rogue), "kind": "police",
                                       "name": "rogue"})
    checkpoint = nl.inbox.partner_checkpoints("BE")[-1]
    publish(cluster, "NL", [(last.stream.encode(), encode_message(RecordMessage("BE", bogus.to_bytes(),
                                                                                checkpoint.size, 0, ())))])
    cluster.sync("NL")
    assert reasons(cluster) == ["broken-chain"]
    assert nl.inbox.received(node="BE", stream=last.stream) == register


# --- property: no corruption of a message is accepted, none stops ingest ----------------------


@pytest.fixture(scope="module")
def relayed(tmp_path_factory):
    """NL and the messages BE's relay sends it: a checkpoint, certificates, three records."""
    from nodes.bootstrap import init_node
    from nodes.federation.relay import Relay
    from nodes.federation.trust import trust_each_other
    from nodes.settings import Settings

    from federation_nodes import PASSPHRASE

    root = tmp_path_factory.mktemp("mutations")
    be = init_node(Settings.load(environ={}, home=root / "be", passphrase=PASSPHRASE), "BE")
    nl = init_node(Settings.load(environ={}, home=root / "nl", passphrase=PASSPHRASE), "NL")
    trust_each_other([be, nl])
    for serial in ("M-1", "M-2", "M-3"):
        be.registry.record("report_stolen", by="police", weapon_id=manufacture(be, serial), place="Gent",
                           circumstances="")
    transport = MemoryTransport()
    Relay(be, transport, be.inbox).relay()
    yield nl, transport.published("NL")
    be.close()
    nl.close()


MUTATIONS = ("flip", "truncate", "key", "extend")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_corrupted_message_is_accepted_and_none_stops_ingest(relayed, tmp_path_factory, data):
    from nodes.federation.inbox import Inbox
    from nodes.federation.ingest import Ingest

    nl, messages = relayed
    target = data.draw(st.integers(0, len(messages) - 1), label="message")
    key, value = messages[target]
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    if kind == "flip":
        at = data.draw(st.integers(0, len(value) - 1), label="byte")
        value = value[:at] + bytes([value[at] ^ data.draw(st.integers(1, 255), label="xor")]) + value[at + 1:]
    elif kind == "truncate":
        value = value[:data.draw(st.integers(0, len(value) - 1), label="length")]
    elif kind == "key":
        key = data.draw(st.binary(max_size=40), label="key")
    else:
        value = value + data.draw(st.binary(min_size=1, max_size=8), label="tail")
    where = data.draw(st.integers(0, len(messages)), label="position")
    stream = messages[:where] + [(key, value)] + messages[where:]
    records = [(offset, k, v) for offset, (k, v) in enumerate(stream)]

    inbox = Inbox.open(str(tmp_path_factory.mktemp("inbox") / "nl.db"))
    try:
        ingest = Ingest(nl, MemoryTransport(), inbox, lambda state, items: None)
        report = ingest.process(records)  # must not raise
        originals = {m.envelope for m in (decode_message(v) for _, v in messages) if isinstance(m, RecordMessage)}
        accepted = {bytes(n.state) for n in inbox.recorder.select_notifications(start=1, limit=1000)
                    if not n.topic.startswith("armsledger.")}
        assert accepted == originals  # every original accepted, nothing else
        assert report.read == len(records)
        handled = len(report.accepted) + report.checkpoints + report.duplicates + report.quarantined
        assert handled >= len(records) - 1  # the copy may be an exact duplicate of a parked message
    finally:
        inbox.close()


def test_our_checkpoint_a_partner_cosigned_is_taken_from_the_seal_or_else_read(tmp_path, kafka_bootstrap, db_url):
    from nodes.bootstrap import open_node
    from nodes.federation.ingest import Ingest

    with Cluster(tmp_path, kafka_bootstrap, ["NL"], db={"NL": db_url}) as cluster:
        nl = cluster["NL"]
        ingest = Ingest(nl, MemoryTransport(), nl.inbox, lambda state, items: None)
        reads = []
        checkpoints = nl.sealer.checkpoints
        nl.sealer.checkpoints = lambda after=0: reads.append(after) or checkpoints(after)  # type: ignore[method-assign]
        try:
            first = nl.sealer.seal()
            assert first is not None and ingest.own_checkpoint(first.size) == first
            manufacture(nl, "C-1")
            second = nl.sealer.seal()
            assert second is not None and ingest.own_checkpoint(second.size) == second
            assert reads == []  # each the one our sealer stored right after the newest known
            manufacture(nl, "C-2")
            with open_node(nl.settings) as other:  # another process seals: read, not taken from our sealer
                third = other.sealer.seal()
            assert third is not None and ingest.own_checkpoint(third.size) == third
            assert reads == [second.size]
            assert ingest.own_checkpoint(third.size + 1) is None
        finally:
            del nl.sealer.checkpoints
            ingest.close()


def test_checkpoints_kept_between_sends_are_cosigned_once_the_newest_when_sent(cluster, monkeypatch):
    """A busy ingest keeps a checkpoint per relay pass of its partner but sends its cosignatures at most once a
    second: only the newest of each origin is signed, when sent, and that one verifies by NL's node key."""
    from nodes.federation import witness

    be, nl = cluster["BE"], cluster["NL"]
    signed = []

    def counted(key, checkpoint, timestamp):
        signed.append(checkpoint.size)
        return cosign_checkpoint(key, checkpoint, timestamp)

    monkeypatch.setattr(witness, "cosign_checkpoint", counted)
    relay, at_nl = cluster.federation("BE").relay, cluster.federation("NL")
    ingest = at_nl.ingest
    for serial in ("W-C1", "W-C2", "W-C3"):
        manufacture(be, serial)
        relay.relay()
        while ingest.step(1.0).read:
            pass
    kept = nl.inbox.partner_checkpoints("BE")
    assert len(kept) == 3 and signed == []
    at_nl.send_cosignatures()  # signed, handed to NL's relay, published
    assert signed == [kept[-1].size]
    cluster.sync("BE")
    [cosignature] = be.inbox.cosignatures()
    assert cosignature.witness == "NL" and cosignature.checkpoint == kept[-1].to_bytes()
    assert verify_checkpoint_cosignature(public_key_from_bytes(nl.identity.node_public_key), kept[-1],
                                         cosignature.sig) is not None
