"""The transport port (``nodes.ports.Transport``): ``KafkaTransport`` on a real broker, and ``MemoryTransport``.

Written once against the port. Tests that need a broker of their own (to restart it)
take ``restartable``; the others share the session broker and keep apart by topic prefix.
What only the Kafka adapter has (timeouts, the identity cache) is in test_kafka_transport.py.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from nodes.errors import ConfigurationError, TransportError, TransportReset
from nodes.federation.broker import LocalBroker
from nodes.federation.kafka_transport import KafkaTransport
from nodes.ports import Record, Transport

from memory_transport import MemoryBroker, MemoryTransport


class Side:
    """Transports on one broker, and a way to make that broker lose its memory."""

    def __init__(self, make: Callable[[str], Transport], restart: Callable[[], None]) -> None:
        self._make, self.restart = make, restart
        self.prefix = f"c{uuid.uuid4().hex[:10]}"
        self.opened: list[Transport] = []

    def transport(self) -> Transport:
        made = self._make(self.prefix)
        self.opened.append(made)
        return made

    def close(self) -> None:
        for transport in self.opened:
            transport.close()


def no_restart() -> None:
    raise AssertionError("this test shares its broker: take `restartable`")


@pytest.fixture(params=["kafka", "memory"])
def side(request) -> Iterator[Side]:
    if request.param == "kafka":
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        made = Side(lambda prefix: KafkaTransport(bootstrap, prefix), no_restart)
    else:
        broker = MemoryBroker()
        made = Side(lambda prefix: MemoryTransport(broker, prefix), no_restart)
    yield made
    made.close()


@pytest.fixture(params=["kafka", "memory"])
def restartable(request) -> Iterator[Side]:
    if request.param == "kafka":
        with LocalBroker() as local:
            made = Side(lambda prefix: KafkaTransport(local.bootstrap_servers, prefix), local.restart)
            yield made
            made.close()
    else:
        broker = MemoryBroker()
        made = Side(lambda prefix: MemoryTransport(broker, prefix), broker.restart)
        yield made
        made.close()


@pytest.fixture
def transport(side) -> Transport:
    return side.transport()


def read_all(transport: Transport, topic: str, from_offset: int, count: int, **kwargs) -> list[Record]:
    """Read ``count`` records from ``from_offset`` on, as the node's ingest loop would."""
    records: list[Record] = []
    offset = from_offset
    for _ in range(60):
        if len(records) >= count:
            break
        batch = transport.read(topic, offset, max_records=1000, timeout_s=1.0, **kwargs)
        records.extend(batch)
        offset = batch.next_offset or offset
    return records


# -- naming ------------------------------------------------------------------------


def test_the_inbox_topic_is_prefix_inbox_and_upper_case_state(side, transport):
    assert transport.inbox_topic("be") == f"{side.prefix}.inbox.BE"
    assert transport.inbox_topic("NL") == f"{side.prefix}.inbox.NL"


@pytest.mark.parametrize("state", ["", "B E", "BE/NL", "é", "x" * 65])
def test_a_state_that_cannot_name_a_topic_is_refused(transport, state):
    with pytest.raises(ConfigurationError, match="state"):
        transport.inbox_topic(state)


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
    following = read_all(transport, topic, 12, 8)
    assert [r.offset for r in following] == list(range(12, 20))
    back = transport.read(topic, 3, max_records=2, timeout_s=2)
    assert [r.value for r in back] == [b"v3", b"v4"]


def test_a_read_at_the_end_returns_an_empty_batch_that_knows_the_end(transport):
    transport.ensure_topics(["DE"])
    topic = transport.inbox_topic("DE")
    transport.publish(topic, [(b"k", b"v")])

    batch = transport.read(topic, 1, timeout_s=0.3)

    assert len(batch) == 0 and batch.next_offset is None
    assert batch.end_offset == 1


def test_a_record_published_while_a_reader_waits_is_returned_to_it(side, transport):
    transport.ensure_topics(["CZ"])
    topic = transport.inbox_topic("CZ")
    transport.publish(topic, [(b"k", b"first")])
    writer = side.transport()
    waiting = threading.Event()

    def publish_when_waiting() -> None:
        waiting.wait(10)
        writer.publish(topic, [(b"k", b"second")])

    thread = threading.Thread(target=publish_when_waiting)
    thread.start()
    try:
        assert [r.value for r in transport.read(topic, 0, timeout_s=5)] == [b"first"]
        waiting.set()
        batch = transport.read(topic, 1, timeout_s=30)
    finally:
        waiting.set()
        thread.join()
    assert [(r.offset, r.value) for r in batch] == [(1, b"second")]


def test_a_twin_publishes_on_another_thread_while_its_original_reads(transport):
    # node run: ingest reads through the transport while the relay, on a thread of its own, publishes through its twin.
    transport.ensure_topics(["HU"])
    topic = transport.inbox_topic("HU")
    twin = transport.twin()
    try:
        assert twin.inbox_topic("HU") == topic
        published = threading.Thread(target=lambda: twin.publish(topic, [(b"k", b"from the twin")]))
        published.start()
        batch = transport.read(topic, 0, timeout_s=30)
        published.join()
        assert [(r.offset, r.value) for r in batch] == [(0, b"from the twin")]
    finally:
        twin.close()
    transport.publish(topic, [(b"k", b"after the twin closed")])  # the original's clients are its own
    assert [r.value for r in read_all(transport, topic, 1, 1)] == [b"after the twin closed"]


def test_the_end_of_an_empty_or_missing_topic_is_zero_and_creates_nothing(transport):
    transport.ensure_topics(["PL"])
    assert transport.end_offset(transport.inbox_topic("PL")) == 0
    missing = transport.inbox_topic("ZZ")
    assert transport.end_offset(missing) == 0
    with pytest.raises(TransportError, match="ensure_topics"):
        transport.publish(missing, [(b"k", b"v")])


def test_ensure_topics_is_idempotent(transport):
    first = transport.ensure_topics(["AT", "CZ"])
    again = transport.ensure_topics(["at", "CZ"])
    assert first == again and len(first) == 2 and all(first.values())
    assert transport.ensure_topics([]) == {}


def test_publish_to_a_topic_that_was_never_created_is_refused(transport):
    with pytest.raises(TransportError, match="ensure_topics") as caught:
        transport.publish(transport.inbox_topic("XX"), [(b"k", b"v")])
    assert not isinstance(caught.value, TransportReset)


def test_a_read_beyond_the_end_is_a_reset(transport):
    transport.ensure_topics(["ES"])
    topic = transport.inbox_topic("ES")
    transport.publish(topic, [(b"k", b"v")] * 3)
    with pytest.raises(TransportReset, match="before position 10") as caught:
        transport.read(topic, 10, timeout_s=0.5)
    assert caught.value.topic == topic


def test_a_position_beyond_what_this_reader_last_saw_is_not_a_reset(side, transport):
    transport.ensure_topics(["SE"])
    topic = transport.inbox_topic("SE")
    transport.publish(topic, [(b"k", b"%d" % i) for i in range(10)])
    assert len(read_all(transport, topic, 0, 10)) == 10
    side.transport().publish(topic, [(b"k", b"%d" % i) for i in range(10, 20)])

    batch = transport.read(topic, 15, timeout_s=0)  # e.g. a position stored by another process

    assert [r.offset for r in batch] in ([], [15, 16, 17, 18, 19])
    assert [r.value for r in read_all(transport, topic, 15, 5)] == [b"15", b"16", b"17", b"18", b"19"]


@pytest.mark.parametrize("value", [-1])
def test_a_negative_offset_is_refused(transport, value):
    with pytest.raises(ValueError):
        transport.read(transport.inbox_topic("BE"), value)


# -- a broker that lost its memory -------------------------------------------------


def test_a_restarted_broker_is_detected_by_reader_and_publisher(restartable):
    t = restartable.transport()
    topic = t.inbox_topic("BE")
    old_id = t.ensure_topics(["BE"])[topic]
    t.publish(topic, [(b"k", b"before-%d" % i) for i in range(50)])
    assert len(read_all(t, topic, 0, 50)) == 50

    restartable.restart()  # empty memory
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


def test_publish_many_delivers_each_topics_items_in_order_with_one_call(transport):
    # FR's topic is new to the publisher, between two it published to before: each is delivered all the same.
    ids = transport.ensure_topics(["BE", "NL"])
    be, nl, fr = (transport.inbox_topic(s) for s in ("BE", "NL", "FR"))
    transport.publish_many({be: [(b"k", b"be-0")], nl: [(b"k", b"nl-0")]})
    ids.update(transport.ensure_topics(["FR"]))

    outcomes = transport.publish_many({be: [(b"k", b"be-1"), (b"k", b"be-2")], fr: [(b"k", b"fr-0")],
                                       nl: [(b"k", b"nl-1")]})

    assert list(outcomes) == [be, fr, nl]
    assert {t: (d.offsets, d.topic_id) for t, d in outcomes.items()} == {
        be: ((1, 2), ids[be]), fr: ((0,), ids[fr]), nl: ((1,), ids[nl])}
    assert [r.value for r in read_all(transport, be, 0, 3)] == [b"be-0", b"be-1", b"be-2"]
    assert [r.value for r in read_all(transport, fr, 0, 1)] == [b"fr-0"]
    assert [r.value for r in read_all(transport, nl, 0, 2)] == [b"nl-0", b"nl-1"]


def test_publish_many_reports_a_reset_topic_and_delivers_to_the_others(restartable):
    t = restartable.transport()
    be, nl = t.inbox_topic("BE"), t.inbox_topic("NL")
    old = t.ensure_topics(["BE", "NL"])
    t.publish_many({be: [(b"k", b"before")], nl: [(b"k", b"before")]})

    restartable.restart()
    lost = t.publish_many({be: [(b"k", b"lost?")], nl: [(b"k", b"lost?")]})
    assert all(isinstance(outcome, TransportReset) for outcome in lost.values())

    new = t.ensure_topics(["BE", "NL"])
    # BE's position was re-synced to its new topic; NL's still refers to the topic before the restart.
    outcomes = t.publish_many({be: [(b"k", b"after")], nl: [(b"k", b"lost?")]},
                              expected_topic_ids={be: new[be], nl: old[nl]})

    assert isinstance(outcomes[nl], TransportReset) and outcomes[nl].topic_id == new[nl]
    delivered = outcomes[be]
    assert not isinstance(delivered, TransportReset)
    assert (delivered.offsets, delivered.topic_id) == ((0,), new[be])
    assert [r.value for r in read_all(t, be, 0, 1, expected_topic_id=new[be])] == [b"after"]


def test_a_stored_position_detects_a_topic_refilled_after_a_restart(restartable):
    # After the restart others re-publish beyond the reader's position before it reads
    # again, so offsets alone look fine; the identity stored with the position does not.
    reader = restartable.transport()
    topic = reader.inbox_topic("NL")
    reader.ensure_topics(["NL"])
    restartable.transport().publish(topic, [(b"k", b"%d" % i) for i in range(10)])
    batch = reader.read(topic, 0, timeout_s=2)
    stored_position, stored_id = batch.next_offset, batch.topic_id
    assert stored_position == 10

    restartable.restart()
    writer = restartable.transport()
    writer.ensure_topics(["NL"])
    writer.publish(topic, [(b"k", b"new-%d" % i) for i in range(30)])

    fresh_reader = restartable.transport()
    with pytest.raises(TransportReset, match="re-created") as caught:
        fresh_reader.read(topic, stored_position, timeout_s=2, expected_topic_id=stored_id)
    again = fresh_reader.read(topic, 0, timeout_s=2, expected_topic_id=caught.value.topic_id)
    assert again[0].value == b"new-0"
