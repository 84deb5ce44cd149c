"""The transport port (``nodes.ports.Transport``) in memory, for unit tests.

``MemoryBroker`` holds the topics that every ``MemoryTransport`` on it shares;
``MemoryBroker.restart()`` forgets them, as a memory broker that restarted would, so that
resets can be tested without a broker process. test_transport_contract.py holds this
stand-in and ``KafkaTransport`` to the same port.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nodes.errors import TransportError, TransportReset
from nodes.federation.wire import check_topic_prefix, inbox_topic
from nodes.ports import Batch, Delivery, Record


@dataclass
class _Topic:
    topic_id: str
    records: list[tuple[bytes, bytes]] = field(default_factory=list)


class MemoryBroker:
    """Topics in memory, one partition each; thread-safe."""

    def __init__(self) -> None:
        self.topics: dict[str, _Topic] = {}
        self.changed = threading.Condition()
        #: Counts restarts: a producer session of an earlier generation is forgotten.
        self.generation = 0

    def restart(self) -> None:
        """Lose every topic and record."""
        with self.changed:
            self.topics = {}
            self.generation += 1
            self.changed.notify_all()


class MemoryTransport:
    """Inbox topics on a ``MemoryBroker`` (a new one unless given)."""

    def __init__(self, broker: MemoryBroker | None = None, topic_prefix: str = "armsledger") -> None:
        self.broker = broker or MemoryBroker()
        self.topic_prefix = check_topic_prefix(topic_prefix)
        self._known: dict[str, str | None] = {}
        self._session: int | None = None  # the broker generation this transport's producer knows

    def inbox_topic(self, state: str) -> str:
        return inbox_topic(self.topic_prefix, state)

    def ensure_topics(self, states: Iterable[str]) -> dict[str, str | None]:
        ids: dict[str, str | None] = {}
        with self.broker.changed:
            for topic in sorted({self.inbox_topic(s) for s in states}):
                ids[topic] = self.broker.topics.setdefault(topic, _Topic(str(uuid.uuid4()))).topic_id
        for topic, topic_id in ids.items():
            self._known.setdefault(topic, topic_id)
        return ids

    def publish(self, topic: str, items: Sequence[tuple[bytes, bytes]], *, partition: int = 0,
                expected_topic_id: str | None = None) -> Delivery:
        with self.broker.changed:
            topic_id = self._check(topic, expected_topic_id or self._known.get(topic), from_offset=None)
            if self._session not in (None, self.broker.generation):
                self._session = None  # as Kafka's UnknownProducerId: the next publish starts afresh
                raise TransportReset(f"publishing to {topic}: the broker forgot this producer's session",
                                     topic, topic_id)
            if topic_id is None or partition != 0:
                raise TransportError(f"publishing to {topic}[{partition}]: the topic does not exist "
                                     "(ensure_topics creates it)")
            self._session = self.broker.generation
            records = self.broker.topics[topic].records
            first = len(records)
            records.extend(items)
            self.broker.changed.notify_all()
        return Delivery(tuple(range(first, first + len(items))), topic_id)

    def publish_many(self, batches: Mapping[str, Sequence[tuple[bytes, bytes]]], *,
                     expected_topic_ids: Mapping[str, str | None] | None = None,
                     ) -> dict[str, Delivery | TransportReset]:
        with self.broker.changed:
            if self._session not in (None, self.broker.generation):
                # As Kafka's UnknownProducerId: the one producer's session is forgotten for every topic.
                self._session = None
                topics = self.broker.topics
                return {topic: TransportReset(f"publishing to {topic}: the broker forgot this producer's session",
                                              topic, topics[topic].topic_id if topic in topics else None)
                        for topic in batches}
        outcomes: dict[str, Delivery | TransportReset] = {}
        for topic, items in batches.items():
            try:
                outcomes[topic] = self.publish(topic, items, expected_topic_id=(expected_topic_ids or {}).get(topic))
            except TransportReset as e:
                outcomes[topic] = e
        return outcomes

    def read(self, topic: str, from_offset: int, max_records: int = 500, timeout_s: float = 1.0, *,
             partition: int = 0, expected_topic_id: str | None = None) -> Batch:
        if from_offset < 0:
            raise ValueError(f"from_offset {from_offset}: must be >= 0")
        if max_records < 1:
            raise ValueError(f"max_records {max_records}: must be >= 1")
        expected = expected_topic_id or self._known.get(topic)
        deadline = time.monotonic() + timeout_s
        with self.broker.changed:
            if expected is None:
                expected = self._check(topic, None, from_offset=None)
            while True:
                found = self.broker.topics.get(topic)
                end = len(found.records) if found is not None else None
                if end is None or end > from_offset or not self.broker.changed.wait(deadline - time.monotonic()):
                    break
            records = tuple(Record(offset, *found.records[offset])
                            for offset in range(from_offset, min(end, from_offset + max_records))) if found else ()
            if not records and end is not None and end < from_offset:
                raise TransportReset(f"{topic}[{partition}] ends at offset {end}, before position {from_offset}: "
                                     "the broker lost its records; re-sync from the start", topic,
                                     found.topic_id if found else None)
            topic_id = self._check(topic, expected, from_offset=from_offset)
        return Batch(records, topic_id, end)

    def published(self, state: str) -> list[tuple[bytes, bytes]]:
        """Every (key, value) now in ``state``'s inbox topic, in offset order: what a test checks was sent."""
        with self.broker.changed:
            found = self.broker.topics.get(self.inbox_topic(state))
            return list(found.records) if found is not None else []

    def end_offset(self, topic: str, *, partition: int = 0, beyond: int | None = None) -> int:
        with self.broker.changed:
            found = self.broker.topics.get(topic)
            return len(found.records) if found is not None else 0

    def close(self) -> None:
        pass

    def twin(self) -> MemoryTransport:
        return MemoryTransport(self.broker, self.topic_prefix)

    def __enter__(self) -> MemoryTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, topic: str, expected: str | None, from_offset: int | None) -> str | None:
        """As ``KafkaTransport``: the topic's identity, or ``TransportReset`` if it is gone or another one."""
        previous = self._known.get(topic)
        found = self.broker.topics.get(topic)
        current = found.topic_id if found is not None else None
        self._known[topic] = current
        if current is None and (expected is not None or previous is not None or from_offset):
            raise TransportReset(f"topic {topic} no longer exists: the broker lost its records", topic, None)
        if expected is not None and current is not None and current != expected:
            raise TransportReset(f"topic {topic} was re-created (id {expected} is now {current}): "
                                 "the broker lost its records", topic, current)
        return current
