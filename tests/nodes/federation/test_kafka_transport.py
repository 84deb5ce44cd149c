"""KafkaTransport against a real Kafka-protocol broker (no mocks).

Tests share the session broker (``kafka_bootstrap``) and keep apart by topic prefix;
the broker-restart tests start a broker of their own.
"""

import time
import uuid

import pytest

from nodes.federation.broker import LocalBroker, free_port
from nodes.errors import ConfigurationError, TransportError, TransportReset
from nodes.federation.kafka_transport import Batch, KafkaTransport


@pytest.fixture
def transport(kafka_bootstrap):
    with KafkaTransport(kafka_bootstrap, topic_prefix=f"test-{uuid.uuid4().hex[:10]}") as t:
        yield t


def read_all(transport, topic, from_offset, count, **kwargs):
    """Read ``count`` records from ``from_offset`` on, as the node's ingest loop would."""
    records = []
    offset = from_offset
    deadline = time.monotonic() + 30
    while len(records) < count and time.monotonic() < deadline:
        batch = transport.read(topic, offset, max_records=1000, timeout_s=1.0, **kwargs)
        records.extend(batch)
        offset = batch.next_offset or offset
    return records


# -- naming ------------------------------------------------------------------------


def test_inbox_topic_is_prefix_inbox_and_upper_case_state():
    t = KafkaTransport("127.0.0.1:9092", topic_prefix="fed")
    assert t.inbox_topic("be") == "fed.inbox.BE"
    assert t.inbox_topic("NL") == "fed.inbox.NL"


@pytest.mark.parametrize("state", ["", "B E", "BE/NL", "é", "x" * 65])
def test_inbox_topic_refuses_a_state_that_cannot_name_a_topic(state):
    with pytest.raises(ConfigurationError, match="state"):
        KafkaTransport("127.0.0.1:9092").inbox_topic(state)


def test_bad_prefix_and_empty_bootstrap_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="prefix"):
        KafkaTransport("127.0.0.1:9092", topic_prefix="a b")
    with pytest.raises(ConfigurationError, match="bootstrap"):
        KafkaTransport(" ")


# -- publish and read --------------------------------------------------------------


def test_binary_values_round_trip_with_keys_and_offsets(transport):
    ids = transport.ensure_topics(["BE"])
    topic = transport.inbox_topic("BE")
    assert ids[topic]
    items = [(f"stream-{i % 3}".encode(), bytes([i]) * (i + 1)) for i in range(256)]
    items.append((b"empty", b""))

    delivery = transport.publish(topic, items)

    assert delivery.offsets == tuple(range(len(items)))
    assert delivery.topic_id == ids[topic]
    records = read_all(transport, topic, 0, len(items))
    assert [(r.key, r.value) for r in records] == items
    assert [r.offset for r in records] == list(range(len(items)))
    assert transport.end_offset(topic) == len(items)


def test_malformed_bytes_are_just_bytes_at_this_layer(transport):
    transport.ensure_topics(["NL"])
    topic = transport.inbox_topic("NL")
    junk = [(b"\xff\xfe", b"\x00\x81not msgpack\xc1\xff"), (b"", b"\xc1" * 3000)]

    transport.publish(topic, junk)

    assert [(k, v) for _, k, v in read_all(transport, topic, 0, 2)] == junk


def test_read_starts_at_the_given_offset_forward_and_backward(transport):
    transport.ensure_topics(["FR"])
    topic = transport.inbox_topic("FR")
    transport.publish(topic, [(b"k", b"v%d" % i) for i in range(20)])

    first = transport.read(topic, 7, max_records=5, timeout_s=2)
    assert [r.offset for r in first] == [7, 8, 9, 10, 11]
    assert [r.value for r in first] == [b"v7", b"v8", b"v9", b"v10", b"v11"]
    assert first.next_offset == 12
    following = read_all(transport, topic, first.next_offset, 8)
    assert [r.offset for r in following] == list(range(12, 20))
    back = transport.read(topic, 3, max_records=2, timeout_s=2)
    assert [r.value for r in back] == [b"v3", b"v4"]


def test_read_at_the_end_waits_about_the_timeout_and_returns_nothing(transport):
    transport.ensure_topics(["DE"])
    topic = transport.inbox_topic("DE")
    transport.publish(topic, [(b"k", b"v")])

    started = time.monotonic()
    batch = transport.read(topic, 1, timeout_s=0.3)

    assert isinstance(batch, Batch) and len(batch) == 0 and batch.next_offset is None
    assert batch.end_offset == 1
    assert 0.25 <= time.monotonic() - started < 3


def test_ten_thousand_messages_arrive_in_order(transport):
    transport.ensure_topics(["IT"])
    topic = transport.inbox_topic("IT")
    n = 10_000
    payload = b"x" * 590

    delivery = transport.publish(topic, [(b"s%d" % (i % 7), b"%08d" % i + payload) for i in range(n)])

    assert delivery.offsets == tuple(range(n))
    assert transport.end_offset(topic) == n
    records = read_all(transport, topic, 0, n)
    assert [r.offset for r in records] == list(range(n))
    assert all(r.value[:8] == b"%08d" % i for i, r in enumerate(records))


def test_end_offset_of_an_empty_or_missing_topic_is_zero_and_creates_nothing(transport):
    transport.ensure_topics(["PL"])
    assert transport.end_offset(transport.inbox_topic("PL")) == 0
    missing = transport.inbox_topic("ZZ")
    assert transport.end_offset(missing) == 0
    assert missing not in transport.list_topics()


def test_ensure_topics_is_idempotent_and_makes_one_partition_topics(transport):
    first = transport.ensure_topics(["AT", "CZ"])
    again = transport.ensure_topics(["at", "CZ"])
    assert first == again and len(first) == 2 and all(first.values())
    assert set(first) <= set(transport.list_topics())


def test_publish_to_a_topic_that_was_never_created_is_refused(transport):
    with pytest.raises(TransportError, match="ensure_topics"):
        transport.publish(transport.inbox_topic("XX"), [(b"k", b"v")])


def test_read_beyond_the_end_is_a_reset(transport):
    transport.ensure_topics(["ES"])
    topic = transport.inbox_topic("ES")
    transport.publish(topic, [(b"k", b"v")] * 3)
    with pytest.raises(TransportReset, match="before position 10") as caught:
        transport.read(topic, 10, timeout_s=0.5)
    assert caught.value.topic == topic


# -- failures ----------------------------------------------------------------------


def test_unreachable_broker_gives_a_clear_transport_error_within_seconds():
    address = f"127.0.0.1:{free_port()}"  # nobody listens there
    with KafkaTransport(address, timeout_s=1.5) as t:
        started = time.monotonic()
        with pytest.raises(TransportError, match=f"no answer from the Kafka broker at {address}"):
            t.read("armsledger.inbox.BE", 0)
        assert time.monotonic() - started < 5
        started = time.monotonic()
        with pytest.raises(TransportError, match=address):
            t.ensure_topics(["BE"])
        assert time.monotonic() - started < 5


def test_a_restarted_broker_is_detected_by_reader_and_publisher():
    with LocalBroker() as broker, KafkaTransport(broker.bootstrap_servers) as t:
        topic = t.inbox_topic("BE")
        old_id = t.ensure_topics(["BE"])[topic]
        t.publish(topic, [(b"k", b"before-%d" % i) for i in range(50)])
        assert len(read_all(t, topic, 0, 50)) == 50

        broker.restart()  # same port, empty memory
        with pytest.raises(TransportReset) as reader_saw:
            t.read(topic, 50, timeout_s=2)
        with pytest.raises(TransportReset):
            t.publish(topic, [(b"k", b"lost?")])

        # Re-sync: ensure the topic again, re-publish, read from 0 under the new identity.
        new_id = t.ensure_topics(["BE"])[topic]
        assert new_id != old_id
        assert reader_saw.value.topic == topic
        delivery = t.publish(topic, [(b"k", b"after-%d" % i) for i in range(3)])
        assert delivery.topic_id == new_id
        assert [r.value for r in read_all(t, topic, 0, 3)] == [b"after-0", b"after-1", b"after-2"]


def test_a_reader_with_a_stored_position_detects_a_topic_refilled_after_a_restart():
    # The dangerous case: after the restart, others re-publish beyond the reader's
    # position before it reads again, so offsets alone look fine. The identity stored
    # with the position (Batch.topic_id) gives it away, even in a fresh process.
    with LocalBroker() as broker:
        with KafkaTransport(broker.bootstrap_servers) as reader:
            topic = reader.inbox_topic("NL")
            reader.ensure_topics(["NL"])
            with KafkaTransport(broker.bootstrap_servers) as writer:
                writer.publish(topic, [(b"k", b"%d" % i) for i in range(10)])
            batch = reader.read(topic, 0, timeout_s=2)
            stored_position, stored_id = batch.next_offset, batch.topic_id
            assert stored_position == 10

        broker.restart()
        with KafkaTransport(broker.bootstrap_servers) as writer:
            writer.ensure_topics(["NL"])
            writer.publish(topic, [(b"k", b"new-%d" % i) for i in range(30)])

        with KafkaTransport(broker.bootstrap_servers) as fresh_reader:
            with pytest.raises(TransportReset, match="re-created") as caught:
                fresh_reader.read(topic, stored_position, timeout_s=2, expected_topic_id=stored_id)
            again = fresh_reader.read(topic, 0, timeout_s=2, expected_topic_id=caught.value.topic_id)
            assert again[0].value == b"new-0"


def test_a_position_beyond_what_this_reader_last_saw_is_not_mistaken_for_a_reset(transport):
    transport.ensure_topics(["SE"])
    topic = transport.inbox_topic("SE")
    transport.publish(topic, [(b"k", b"%d" % i) for i in range(10)])
    assert len(read_all(transport, topic, 0, 10)) == 10  # the reader's high watermark is 10
    transport.publish(topic, [(b"k", b"%d" % i) for i in range(10, 20)])

    batch = transport.read(topic, 15, timeout_s=0)  # e.g. a position stored by another process

    assert [r.offset for r in batch] in ([], [15, 16, 17, 18, 19])
    assert [r.value for r in read_all(transport, topic, 15, 5)] == [b"15", b"16", b"17", b"18", b"19"]


def test_a_reset_inside_the_identity_cache_window_is_still_reported_by_a_later_read():
    # The identity is trusted for IDENTITY_TTL_S; records read in that window after a
    # restart may carry the old identity, but the reset must surface on a later read.
    from nodes.federation.kafka_topics import IDENTITY_TTL_S

    with LocalBroker() as broker, KafkaTransport(broker.bootstrap_servers) as reader:
        topic = reader.inbox_topic("LU")
        old_id = reader.ensure_topics(["LU"])[topic]
        with KafkaTransport(broker.bootstrap_servers) as writer:
            writer.publish(topic, [(b"k", b"old")])
        assert len(reader.read(topic, 0, timeout_s=2)) == 1
        broker.restart()
        with KafkaTransport(broker.bootstrap_servers) as writer:  # e.g. another node
            writer.ensure_topics(["LU"])
            writer.publish(topic, [(b"k", b"new-%d" % i) for i in range(5)])

        outcomes = []
        deadline = time.monotonic() + IDENTITY_TTL_S + 5
        position = 1
        while time.monotonic() < deadline:
            try:
                batch = reader.read(topic, position, timeout_s=0.1)
            except TransportReset as reset:
                outcomes.append(("reset", reset.topic_id))
                break
            outcomes.append(("read", batch.topic_id))
            position = batch.next_offset or position
        assert outcomes[-1][0] == "reset" and outcomes[-1][1] not in (None, old_id)
        assert all(topic_id == old_id for kind, topic_id in outcomes[:-1])
