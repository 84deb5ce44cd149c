"""KafkaTransport against a real Kafka-protocol broker (no mocks): what the port contract does not cover.

The port itself (publish, read, resets) is tested once for every adapter in
test_transport_contract.py. Tests share the session broker (``kafka_bootstrap``) and keep
apart by topic prefix; tests that restart a broker start their own.
"""

import time
import uuid

import pytest

from nodes.errors import ConfigurationError, TransportError, TransportReset
from nodes.federation.broker import LocalBroker, free_port
from nodes.federation.kafka_topics import IDENTITY_TTL_S
from nodes.federation.kafka_transport import EMPTY_READ_TRUST_S, IDLE_AFTER_EMPTY_READS, KafkaTransport
from nodes.federation.sync import IDLE_WAIT_S
from nodes.ports import Delivery


@pytest.fixture
def transport(kafka_bootstrap):
    with KafkaTransport(kafka_bootstrap, topic_prefix=f"test-{uuid.uuid4().hex[:10]}") as t:
        yield t


def read_all(transport, topic, from_offset, count):
    """Read ``count`` records from ``from_offset`` on, as the node's ingest loop would."""
    records = []
    offset = from_offset
    for _ in range(60):
        if len(records) >= count:
            break
        batch = transport.read(topic, offset, max_records=1000, timeout_s=1.0)
        records.extend(batch)
        offset = batch.next_offset or offset
    return records


def test_bad_prefix_and_empty_bootstrap_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="prefix"):
        KafkaTransport("127.0.0.1:9092", topic_prefix="a b")
    with pytest.raises(ConfigurationError, match="bootstrap"):
        KafkaTransport(" ")
    with pytest.raises(ConfigurationError, match="fetch_max_wait_ms"):
        KafkaTransport("127.0.0.1:9092", timeout_s=1.0, fetch_max_wait_ms=1000)


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


def test_asking_the_end_of_a_missing_topic_does_not_make_the_broker_create_it(transport):
    # Tansu auto-creates a topic on a fetch or list-offsets request for it.
    missing = transport.inbox_topic("ZZ")
    assert transport.end_offset(missing) == 0
    assert missing not in transport.list_topics()


def test_ensure_topics_makes_topics_the_broker_lists_with_their_identity(transport):
    ids = transport.ensure_topics(["AT", "CZ"])
    assert set(ids) <= set(transport.list_topics())
    assert all(transport.topic_id(topic) == topic_id for topic, topic_id in ids.items())
    assert transport.topic_id(transport.inbox_topic("ZZ")) is None


def test_an_unreachable_broker_gives_a_transport_error_naming_it_and_the_timeout():
    address = f"127.0.0.1:{free_port()}"  # nobody listens there
    with KafkaTransport(address, timeout_s=1.5) as t:
        with pytest.raises(TransportError, match=f"no answer from the Kafka broker at {address} within 1.5 s"):
            t.read("armsledger.inbox.BE", 0)
        with pytest.raises(TransportError, match=address):
            t.ensure_topics(["BE"])


def test_a_reset_inside_the_identity_cache_window_is_still_reported_by_a_later_read():
    # The identity is trusted for IDENTITY_TTL_S; records read in that window after a
    # restart may carry the old identity, but the reset must surface on a later read.
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
        position = 1
        # Reads at the end wait up to 0.1 s each: the window passes long before the bound.
        for _ in range(int(IDENTITY_TTL_S / 0.1) + 50):
            try:
                batch = reader.read(topic, position, timeout_s=0.1)
            except TransportReset as reset:
                outcomes.append(("reset", reset.topic_id))
                break
            outcomes.append(("read", batch.topic_id))
            position = batch.next_offset or position
        assert outcomes[-1][0] == "reset" and outcomes[-1][1] not in (None, old_id)
        assert all(topic_id == old_id for kind, topic_id in outcomes[:-1])


def test_an_idle_node_runs_read_makes_one_fetch_and_a_record_ends_the_idle_wait(transport):
    # Each fetch costs kafka-python's network thread a few hundred microseconds: an idle node run's read (every
    # IDLE_WAIT_S) made two when the idle fetch waited half as long, a third of its idle CPU.
    topic = transport.inbox_topic(f"X{uuid.uuid4().hex[:6].upper()}")
    transport.ensure_topics([topic.rsplit(".", 1)[1]])
    for _ in range(IDLE_AFTER_EMPTY_READS + 1):
        assert transport.read(topic, 0, timeout_s=IDLE_WAIT_S).records == ()
    fetcher = transport._consumer._fetcher
    assert transport._consumer._metrics is None  # kafka-python's own sensors, never read here
    sent: list[int] = []
    create = fetcher._create_fetch_requests
    fetcher._create_fetch_requests = lambda: (requests := create()) and sent.append(len(requests)) or requests
    reads = 4
    for _ in range(reads):
        assert transport.read(topic, 0, timeout_s=IDLE_WAIT_S).records == ()
    assert sum(sent) <= reads + 1  # one each; the last read's may still be waiting on the broker
    transport.publish(topic, [(b"k", b"v")])
    assert [r.value for r in read_all(transport, topic, 0, 1)] == [b"v"]
    assert fetcher.config["fetch_max_wait_ms"] == transport.fetch_max_wait_ms  # busy again: the short wait


def test_an_empty_read_trusts_an_older_identity_than_a_read_that_returns_records(transport):
    # An idle node run reads every 0.5 s: asking the broker for the identity at each read was a sixth of its CPU.
    topic = transport.inbox_topic(f"X{uuid.uuid4().hex[:6].upper()}")
    transport.ensure_topics([topic.rsplit(".", 1)[1]])
    asked: list[list[str]] = []
    describe = transport._topics.describe
    transport._topics.describe = lambda topics: asked.append(sorted(topics)) or describe(topics)
    confirmed = transport._topics._confirmed_at
    assert transport.read(topic, 0, timeout_s=0.05).records == ()
    asked.clear()
    confirmed[topic] = time.monotonic() - IDENTITY_TTL_S  # older than a read with records trusts
    assert transport.read(topic, 0, timeout_s=0.05).records == ()
    assert asked == []
    confirmed[topic] = time.monotonic() - EMPTY_READ_TRUST_S  # older than an empty read trusts
    assert transport.read(topic, 0, timeout_s=0.05).records == ()
    assert asked == [[topic]]
    transport.publish(topic, [(b"k", b"v")])
    confirmed[topic] = time.monotonic() - IDENTITY_TTL_S
    asked.clear()
    assert [r.value for r in transport.read(topic, 0, timeout_s=5).records] == [b"v"]
    assert [topic] in asked


def test_a_request_made_while_the_broker_is_away_is_answered_once_it_is_back():
    # The broker is dead when the request is made and comes back 1.5 s later, empty: the
    # transport asks again (fresh clients, growing pauses) within its timeout instead of
    # failing with NodeNotReadyError or a refused connection.
    import threading

    with LocalBroker() as broker, KafkaTransport(broker.bootstrap_servers, timeout_s=15) as t:
        t.ensure_topics(["BE"])
        broker.kill()
        back = threading.Timer(1.5, broker.start)
        back.start()
        try:
            ids = t.ensure_topics(["LU"])
        finally:
            back.join()
        assert ids[t.inbox_topic("LU")] is not None
        broker.restart()  # and right after a restart, the first request of each kind
        assert t.inbox_topic("LU") not in t.list_topics()
        new_id = t.ensure_topics(["LU"])[t.inbox_topic("LU")]
        assert t.publish(t.inbox_topic("LU"), [(b"k", b"v")], expected_topic_id=new_id).offsets == (0,)
        assert [r.value for r in t.read(t.inbox_topic("LU"), 0, timeout_s=5, expected_topic_id=new_id)] == [b"v"]


def test_a_broker_that_stays_away_past_the_timeout_is_a_transport_error():
    with LocalBroker() as broker, KafkaTransport(broker.bootstrap_servers, timeout_s=2) as t:
        t.ensure_topics(["BE"])
        broker.kill()
        with pytest.raises(TransportError) as failed:
            t.ensure_topics(["NL"])
        assert not isinstance(failed.value, TransportReset)


def test_a_publish_to_several_topics_asks_the_identities_of_all_of_them_in_each_request(transport):
    ids = transport.ensure_topics(["AT", "CZ", "DK"])
    asked: list[list[str]] = []
    describe = transport._topics.describe
    transport._topics.describe = lambda topics: asked.append(sorted(topics)) or describe(topics)
    transport._topics._confirmed_at.clear()  # as when their trust has run out
    outcomes = transport.publish_many({topic: [(b"k", b"v")] for topic in ids}, expected_topic_ids=ids)
    assert all(isinstance(outcomes[topic], Delivery) and outcomes[topic].topic_id == ids[topic] for topic in ids)
    assert asked and all(topics == sorted(ids) for topics in asked)  # never one request per topic


def test_a_publish_into_a_topic_made_anew_since_its_identity_was_confirmed_is_a_reset():
    # Before a publish an identity is trusted longer than after it: the check after it reports the reset.
    with LocalBroker() as broker, KafkaTransport(broker.bootstrap_servers) as t:
        topic = t.inbox_topic("LU")
        old_id = t.ensure_topics(["LU"])[topic]
        t.publish(topic, [(b"k", b"before")], expected_topic_id=old_id)
        broker.restart()
        with KafkaTransport(broker.bootstrap_servers) as other:  # e.g. the partner's ingest
            new_id = other.ensure_topics(["LU"])[topic]
        time.sleep(IDENTITY_TTL_S)  # the check after a publish trusts no older confirmation
        with pytest.raises(TransportReset) as reset:
            t.publish(topic, [(b"k", b"after")], expected_topic_id=old_id)
        assert reset.value.topic_id == new_id != old_id


def test_a_read_fills_its_batch_from_the_fetches_after_the_first_when_the_broker_holds_more(kafka_bootstrap):
    # A fetch asks for about two of the largest messages accepted, 4,000 bytes: two of these publishes of three.
    with KafkaTransport(kafka_bootstrap, topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
                        max_message_bytes=2_000) as transport:
        transport.ensure_topics(["IT"])
        topic = transport.inbox_topic("IT")
        items = [(b"k%d" % i, bytes([i]) * 900) for i in range(30)]
        for start in range(0, 30, 3):  # a batch of records on the broker per publish
            transport.publish(topic, items[start:start + 3])
        first = transport.read(topic, 0, max_records=25, timeout_s=5.0)
        assert [(r.offset, r.key, r.value) for r in first] == [(i, k, v) for i, (k, v) in enumerate(items[:25])]
        rest = transport.read(topic, first.next_offset, max_records=25, timeout_s=5.0)
        assert [r.offset for r in rest] == list(range(25, 30))  # no more than the broker holds, in order
        assert transport.read(topic, 30, max_records=25, timeout_s=0.2).records == ()
