"""The Kafka adapter of the transport port (``nodes.ports.Transport``), on kafka-python.

Publishes to and reads from inbox topics; ``kafka_topics`` creates them and checks their
identity. Every ``kafka.errors`` exception is translated here into ``TransportError``.
How topics, positions and broker resets work: docs/kafka-transport.md.
Not thread-safe: one thread uses a transport at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import ParamSpec, TypeVar

import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from nodes.errors import ConfigurationError, TransportError, TransportReset
from nodes.federation.kafka_security import KafkaSecurity, check_tls_handshake, client_config
from nodes.federation.kafka_topics import IDENTITY_TTL_S, PUBLISH_TRUST_S, TopicIdentities
from nodes.federation.wire import check_topic_prefix, inbox_topic
from nodes.ports import Batch, Delivery, Record
from nodes.settings import DEFAULT_MAX_MESSAGE_BYTES

# kafka-python logs every lost connection at ERROR; failures reach callers as
# TransportError instead. Without a handler of its own, Python's last-resort handler
# would print those lines on stderr of every CLI command; handlers an application
# configures still receive them.
logging.getLogger("kafka").addHandler(logging.NullHandler())

# How many of the largest messages a node accepts (Settings.max_message_bytes) one fetch may bring.
FETCH_MESSAGES = 2
# How long a fetch may wait on the broker, and a publish fill batches: the latency they
# buy is measured in docs/kafka-transport.md ("Latency settings").
FETCH_MAX_WAIT_MS = 10
# After this many reads in a row found nothing, fetches wait IDLE_FETCH_MAX_WAIT_MS instead:
# an idle reader then sends ~2 fetches/s instead of ~100 (the next read that returns records
# restores the short wait). As long as an idle node run's read (sync.IDLE_WAIT_S), so that read
# makes one fetch, not two: about a third of its idle CPU less. Tansu looks for new records at
# half the wait: the first record after a quiet spell came 48 ms (p50; at most 135) after its
# publish with 250, 89 ms (at most 228) with 500. A broker that answers a waiting fetch as soon
# as data arrives (Apache Kafka) adds nothing (docs/kafka-transport.md).
IDLE_AFTER_EMPTY_READS = 3
IDLE_FETCH_MAX_WAIT_MS = 500
# A read that found nothing trusts a topic identity confirmed this long ago (others: kafka_topics.IDENTITY_TTL_S):
# an idle node run reads every 0.5 s, and asking the broker at each read was a sixth of its idle CPU.
EMPTY_READ_TRUST_S = PUBLISH_TRUST_S
LINGER_MS = 20
BATCH_BYTES = 1024 * 1024
# kafka-python's own metrics (sensors updated at every request and response) are never read here:
# off, an idle fetch costs the consumer's network thread less.
CLIENT_METRICS = False

# Failures of a broker that is restarting or briefly away: the request is made again, on fresh
# clients, until the transport's timeout. (kafka-python raises NodeNotReadyError "No node_id
# provided" when every known broker is in its reconnect backoff, as right after a restart.)
_TRANSIENT = (
    kafka.errors.NodeNotReadyError,
    kafka.errors.KafkaConnectionError,
    kafka.errors.RequestTimedOutError,
    kafka.errors.NotLeaderForPartitionError,
    kafka.errors.LeaderNotAvailableError,
    kafka.errors.BrokerNotAvailableError,
    kafka.errors.UnknownBrokerIdError,
    kafka.errors.CorrelationIdError,
    ConnectionError,
)
_FIRST_PAUSE_S = 0.05
_LONGEST_PAUSE_S = 1.0

# glibc's malloc serves a large block from mmap and unmaps it when freed, but after such a block
# is freed it raises its mmap threshold to that block's size (up to 32 MB): from then on, blocks
# of that size (an oversized inbox message, a fetch buffer) come from the heap, and once freed
# they stay in the process's RSS behind smaller live blocks. A fixed threshold turns that
# adjustment off (mallopt(3), M_MMAP_THRESHOLD), so every freed flood returns to the system.
_M_MMAP_THRESHOLD = -3  # <malloc.h>
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own initial value


@functools.cache
def return_large_blocks_to_the_system() -> bool:
    """Fix glibc's mmap threshold at ``MMAP_THRESHOLD_BYTES``, once per process; whether it was set.

    False, changing nothing, on a C library other than glibc.
    """
    try:
        libc_version = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        libc_version = ""
    if not libc_version.startswith("glibc"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _until_answered(operation: Callable[_P, _R]) -> Callable[_P, _R]:
    """Make ``operation`` again, with growing pauses, while it fails on a transient broker error,
    until the transport's ``timeout_s`` has passed; then its ``TransportError`` stands."""
    @functools.wraps(operation)
    def retrying(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        transport = args[0]
        assert isinstance(transport, KafkaTransport)
        deadline = time.monotonic() + transport.timeout_s
        pause = _FIRST_PAUSE_S
        while True:
            try:
                return operation(*args, **kwargs)
            except TransportReset:
                raise
            except TransportError as e:
                if not isinstance(e.__cause__, _TRANSIENT) or time.monotonic() + pause > deadline:
                    raise
                log.info("kafka: %s; trying again in %.2f s", e, pause)
            # Fresh clients: the old ones may hold a dead broker's connections and backoff.
            transport.close()
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)
    return retrying


# A broker that answers with these no longer knows the idempotent producer's session.
_PRODUCER_FORGOTTEN = (
    kafka.errors.UnknownProducerIdError,
    kafka.errors.OutOfOrderSequenceNumberError,
)


class KafkaTransport:
    """Inbox topics on a Kafka-protocol broker at ``bootstrap_servers`` (``host:port[,..]``).

    ``timeout_s`` bounds connecting, each request and each publish: an unreachable
    broker gives ``TransportError`` after about that long; a broker that is restarting
    (connection refused or reset, no node ready) is asked again with growing pauses
    within that time. ``fetch_max_wait_ms`` is how
    long the broker may hold a fetch when there is nothing new (see FETCH_MAX_WAIT_MS).
    ``security``: TLS and SASL (``nodes.federation.kafka_security``; PLAINTEXT if None), for every
    client. Clients are created on first use, so constructing a transport does no network I/O. Close it
    (or use ``with``).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str = "armsledger",
        *,
        timeout_s: float = 10.0,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
        idle_fetch_max_wait_ms: int = IDLE_FETCH_MAX_WAIT_MS,
        client_id: str = "armsledger",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        security: KafkaSecurity | None = None,
    ) -> None:
        if not bootstrap_servers or not bootstrap_servers.strip():
            raise ConfigurationError("kafka: no bootstrap server given (expected HOST:PORT[,..])")
        check_topic_prefix(topic_prefix)
        if timeout_s <= 0:
            raise ConfigurationError(f"kafka timeout {timeout_s!r}: must be positive")
        if max_message_bytes <= 0:
            raise ConfigurationError(f"max_message_bytes {max_message_bytes!r}: must be positive")
        if not 0 <= fetch_max_wait_ms < timeout_s * 1000:
            raise ConfigurationError(
                f"fetch_max_wait_ms {fetch_max_wait_ms!r}: must be >= 0 and below the timeout"
            )
        self.bootstrap_servers = bootstrap_servers.strip()
        self.topic_prefix = topic_prefix
        self.timeout_s = timeout_s
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.max_message_bytes = max_message_bytes
        self.idle_fetch_max_wait_ms = min(max(idle_fetch_max_wait_ms, fetch_max_wait_ms), self._ms() // 2)
        self._empty_reads = 0
        self.client_id = client_id
        self.security = security or KafkaSecurity()
        # Read now (password files included), so a setting that cannot work stops the start, not a pass.
        self._security_config = client_config(self.security)
        self._admin: KafkaAdminClient | None = None
        self._producer: KafkaProducer | None = None
        self._consumer: KafkaConsumer | None = None
        # Where the consumer's fetch position is, to avoid a seek (which drops the
        # prefetched data) when the caller reads on from where it stopped.
        self._consumer_at: dict[TopicPartition, int] = {}
        self._topics = TopicIdentities(self._admin_client, self._ms())
        return_large_blocks_to_the_system()  # messages up to max_message_bytes pass through this process

    # -- topics ----------------------------------------------------------------------

    def inbox_topic(self, state: str) -> str:
        """The inbox topic of ``state``: ``<prefix>.inbox.<STATE>`` (state upper-cased)."""
        return inbox_topic(self.topic_prefix, state)

    @_until_answered
    def ensure_topics(self, states: Iterable[str]) -> dict[str, str | None]:
        """Create the inbox topics of ``states`` that do not exist yet (one partition each).

        Returns each topic's identity. Existing topics are kept as they are; a topic
        this transport used before keeps its remembered identity, so a later ``publish``
        or ``read`` still reports that the topic was re-created in between.
        """
        topics = sorted({self.inbox_topic(s) for s in states})
        if not topics:
            return {}
        with self._translated(f"creating topics {', '.join(topics)}"):
            return self._topics.ensure(topics)

    @_until_answered
    def list_topics(self) -> list[str]:
        """Names of the topics on the broker (one metadata request)."""
        with self._translated("listing topics"):
            return self._topics.names()

    @_until_answered
    def topic_id(self, topic: str) -> str | None:
        """The topic's current identity (Kafka topic id), or None if it does not exist."""
        with self._translated(f"describing topic {topic}"):
            return self._topics.describe([topic])[topic]

    # -- publish ---------------------------------------------------------------------

    @_until_answered
    def publish(
        self,
        topic: str,
        items: Sequence[tuple[bytes, bytes]],
        *,
        partition: int = 0,
        expected_topic_id: str | None = None,
    ) -> Delivery:
        """Append ``(key, value)`` items to ``topic`` in order and wait until all are acknowledged.

        Requires the topic to exist (``ensure_topics``). ``expected_topic_id`` is the
        identity the caller's published position refers to (default: the one this
        transport saw last). Acks come from all in-sync replicas (``acks='all'``): the
        caller advances its position on return, so a record must survive the loss of a
        partition leader; on a single broker that costs nothing more than ``acks=1``.
        The producer is idempotent, so retries neither duplicate nor reorder records.

        Raises ``TransportReset`` if the topic is gone or is not the one expected (the
        broker lost its memory: re-publish from the start), ``TransportError`` otherwise.
        A failed publish may have written part of the items; re-publishing them is safe
        because ingest drops duplicates.
        """
        outcome = self._publish({topic: items}, {topic: expected_topic_id} if expected_topic_id else {},
                                f"publishing {len(items)} records to {topic}", partition)[topic]
        if isinstance(outcome, TransportReset):
            raise outcome
        return outcome

    @_until_answered
    def publish_many(
        self,
        batches: Mapping[str, Sequence[tuple[bytes, bytes]]],
        *,
        expected_topic_ids: Mapping[str, str | None] | None = None,
    ) -> dict[str, Delivery | TransportReset]:
        """``publish`` to several topics at once: every item is sent, then all are waited for together
        (one flush, where a ``publish`` per topic waits for each in turn).

        Returns, per topic of ``batches``, its ``Delivery``, or the ``TransportReset`` that ``publish``
        would have raised for it (the other topics' items are written all the same). Raises
        ``TransportError`` when the broker fails: then any part of the items may have been written.
        """
        action = f"publishing {sum(len(items) for items in batches.values())} records to {len(batches)} topics"
        return self._publish(batches, expected_topic_ids or {}, action, 0)

    # -- read ------------------------------------------------------------------------

    @_until_answered
    def read(
        self,
        topic: str,
        from_offset: int,
        max_records: int = 500,
        timeout_s: float = 1.0,
        *,
        partition: int = 0,
        expected_topic_id: str | None = None,
    ) -> Batch:
        """Up to ``max_records`` records of ``topic`` starting at ``from_offset``.

        Returns as soon as some records are there (and, when the broker holds more than one fetch
        brought, those of the fetches after it up to ``max_records``), or an empty batch after ``timeout_s``
        (0: only what is already fetched). Requires ``from_offset >= 0`` and
        ``max_records >= 1``. ``expected_topic_id`` is the identity the caller's
        position refers to (stored with it; default: the one this transport saw last).

        Raises ``TransportReset`` if the topic is gone, is another one than expected,
        or ends before ``from_offset`` (the broker lost its memory: re-sync, e.g. read
        again from 0, passing ``reset.topic_id``), ``TransportError`` otherwise.
        """
        if from_offset < 0:
            raise ValueError(f"from_offset {from_offset}: must be >= 0")
        if max_records < 1:
            raise ValueError(f"max_records {max_records}: must be >= 1")
        tp = TopicPartition(topic, partition)
        expected = expected_topic_id or self._topics.known(topic)
        with self._translated(f"reading {topic}[{partition}] from offset {from_offset}"):
            if expected is None:
                # Nothing to compare with: learn the identity before fetching, so that
                # the records cannot come from an older topic than the one reported.
                expected = self._topics.check(topic, None, from_offset=None)
            consumer = self._consumer_positioned(tp, from_offset)
            records: list[Record] = []
            deadline = time.monotonic() + timeout_s
            try:
                while True:
                    remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
                    fetched = consumer.poll(timeout_ms=remaining_ms, max_records=max_records)
                    records = [
                        Record(r.offset, r.key, r.value)
                        for r in fetched.get(tp, ())
                        if r.offset >= from_offset
                    ]
                    if records or remaining_ms == 0:
                        break
                # A poll ends where one fetch's records end. When the broker holds more (that fetch's high
                # watermark), the next fetch's fill the batch: a reader gets full batches across fetches (ingest
                # reads ahead of a full one; a short one it checks and records in turn, its workers idle meanwhile).
                while records and len(records) < max_records and (consumer.highwater(tp) or 0) > records[-1].offset + 1:
                    remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
                    fetched = consumer.poll(timeout_ms=remaining_ms, max_records=max_records - len(records))
                    last = records[-1].offset
                    more = [Record(r.offset, r.key, r.value) for r in fetched.get(tp, ()) if r.offset > last]
                    if not more:
                        break
                    records += more
            except kafka.errors.OffsetOutOfRangeError as e:
                self._consumer_at.pop(tp, None)
                raise self._reset(topic, f"{topic}[{partition}] no longer holds offset {from_offset}: "
                                         "the broker lost its records; re-sync from the start") from e
            except kafka.errors.KafkaError:
                self._consumer_at.pop(tp, None)
                raise
            self._consumer_at[tp] = records[-1].offset + 1 if records else from_offset
            if records:
                self._empty_reads = 0
            elif timeout_s > 0:  # a look at what is fetched already (ingest reading ahead) is not idle polling
                self._empty_reads += 1
            self._set_fetch_wait(self.fetch_max_wait_ms if self._empty_reads < IDLE_AFTER_EMPTY_READS
                                 else self.idle_fetch_max_wait_ms)
            end = consumer.highwater(tp)
            if not records and end is not None and end < from_offset:
                # The cached high watermark may predate the seek: ask the broker.
                end = self._end_offset(tp)
            if not records and end is not None and end < from_offset:
                raise self._reset(topic, f"{topic}[{partition}] ends at offset {end}, before position "
                                         f"{from_offset}: the broker lost its records; re-sync from the start")
            # An empty read hands nothing to be kept under the identity, and a topic made anew that ends before the
            # position was caught just above: it trusts an older confirmation. The first read that returns
            # records trusts none older than IDENTITY_TTL_S, as before.
            topic_id = self._topics.check(topic, expected, from_offset=from_offset,
                                          trust_s=IDENTITY_TTL_S if records else EMPTY_READ_TRUST_S)
        return Batch(tuple(records), topic_id, end)

    @_until_answered
    def end_offset(self, topic: str, *, partition: int = 0, beyond: int | None = None) -> int:
        """The offset the next record of ``topic`` will get (0 if empty or missing).

        ``beyond``: the caller's position. When the end is beyond it, any offset in ``(beyond, end]``
        may be returned instead: enough to know there is more to read, and a round trip less.
        """
        tp = TopicPartition(topic, partition)
        with self._translated(f"reading the end offset of {topic}[{partition}]"):
            if not self._topics.exists(topic):
                return 0  # asking further would make Tansu create the topic
            listed = self._consumer_client().end_offsets([tp], timeout_ms=self._ms())[tp]
            if beyond is not None and listed > beyond:
                return listed  # at most the end (Tansu: the offset after the first record of the last batch)
            return self._end_offset(tp, listed)

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the clients; the transport may be used again (clients are re-created)."""
        self._discard_producer()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                self._consumer.close(autocommit=False, timeout_ms=1000)
            self._consumer = None
            self._consumer_at.clear()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None

    def twin(self) -> KafkaTransport:
        """A transport of the same broker and settings with clients of its own, for another thread."""
        return KafkaTransport(self.bootstrap_servers, self.topic_prefix, timeout_s=self.timeout_s,
                              fetch_max_wait_ms=self.fetch_max_wait_ms,
                              idle_fetch_max_wait_ms=self.idle_fetch_max_wait_ms, client_id=self.client_id,
                              max_message_bytes=self.max_message_bytes, security=self.security)

    def __enter__(self) -> KafkaTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KafkaTransport({self.bootstrap_servers!r}, {self.topic_prefix!r})"

    # -- internals -------------------------------------------------------------------

    def _reset(self, topic: str, message: str) -> TransportReset:
        """The ``TransportReset`` for ``topic``, carrying the identity the broker gives it now."""
        self._topics.distrust(topic)
        return TransportReset(message, topic, self._topics.describe([topic])[topic])

    def _ms(self) -> int:
        return int(self.timeout_s * 1000)

    def client_options(self) -> dict[str, object]:
        """What every client (admin, producer, consumer) is created with: broker, timeouts, security."""
        return {
            **self._security_config,
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "client_id": self.client_id,
            "request_timeout_ms": self._ms(),
            "bootstrap_timeout_ms": self._ms(),
            # After a broker restart, reconnect within a second, not after up to 30 s.
            "reconnect_backoff_max_ms": 1000,
        }

    def _check_tls(self) -> None:
        """Before a client is made with TLS: a bounded handshake with a bootstrap server (the first that
        completes one; ``check_tls_handshake``: kafka-python alone would wait for ever on a plaintext
        listener). ``TransportError`` of the last server when none does."""
        context = self._security_config.get("ssl_context")
        if not isinstance(context, ssl.SSLContext):
            return
        servers = self.bootstrap_servers.split(",")
        for server in servers[:-1]:
            with contextlib.suppress(TransportError):
                return check_tls_handshake(server, context, self.timeout_s)
        check_tls_handshake(servers[-1], context, self.timeout_s)

    def _admin_client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._check_tls()
            self._admin = KafkaAdminClient(**self.client_options())
        return self._admin

    def _producer_client(self) -> KafkaProducer:
        if self._producer is None:
            self._check_tls()
            self._producer = KafkaProducer(
                **self.client_options(),
                acks="all",
                enable_idempotence=True,
                linger_ms=LINGER_MS,
                batch_size=BATCH_BYTES,
                max_block_ms=self._ms(),
                delivery_timeout_ms=self._ms() + LINGER_MS,
                allow_auto_create_topics=False,
                metrics_enabled=CLIENT_METRICS,
            )
        return self._producer

    def _consumer_client(self) -> KafkaConsumer:
        if self._consumer is None:
            self._check_tls()
            self._consumer = KafkaConsumer(
                **self.client_options(),
                group_id=None,
                enable_auto_commit=False,
                # Never jump silently to another offset: out of range is a reset.
                auto_offset_reset="none",
                fetch_max_wait_ms=self.fetch_max_wait_ms,
                # A fetch asks for about one largest accepted message: a flood of
                # oversized messages (each is quarantined unread) is then held one
                # at a time, not 50 MB at once (kafka-python's default). The broker
                # still returns a first message larger than this (KIP-74).
                fetch_max_bytes=FETCH_MESSAGES * self.max_message_bytes,
                max_partition_fetch_bytes=FETCH_MESSAGES * self.max_message_bytes,
                allow_auto_create_topics=False,
                metrics_enabled=CLIENT_METRICS,
            )
        return self._consumer

    def _set_fetch_wait(self, wait_ms: int) -> None:
        # kafka-python reads its fetcher's setting at every fetch request; there is no public
        # way to change it on a live consumer, and a new consumer would drop what is prefetched.
        fetcher = getattr(self._consumer, "_fetcher", None)
        if fetcher is not None and fetcher.config.get("fetch_max_wait_ms") != wait_ms:
            fetcher.config["fetch_max_wait_ms"] = wait_ms

    def _assign(self, tp: TopicPartition) -> KafkaConsumer:
        consumer = self._consumer_client()
        if consumer.assignment() != {tp}:
            consumer.assign([tp])
            self._consumer_at.clear()
        return consumer

    def _consumer_positioned(self, tp: TopicPartition, offset: int) -> KafkaConsumer:
        consumer = self._assign(tp)
        if self._consumer_at.get(tp) != offset:
            consumer.seek(tp, offset)
            self._consumer_at[tp] = offset
        return consumer

    def _publish(self, batches: Mapping[str, Sequence[tuple[bytes, bytes]]], expected_ids: Mapping[str, str | None],
                 action: str, partition: int) -> dict[str, Delivery | TransportReset]:
        """The body of ``publish`` and ``publish_many``: each topic checked, all items sent, one flush, each
        topic checked again."""
        outcomes: dict[str, Delivery | TransportReset] = {}
        with self._translated(action):
            try:
                # Every topic checked before and after, the ones not trusted asked in one request each time;
                # before, an older confirmation is trusted (PUBLISH_TRUST_S): the check after reports a reset.
                before = self._topics.check_all({topic: expected_ids.get(topic) or self._topics.known(topic)
                                                 for topic in batches}, trust_s=PUBLISH_TRUST_S)
                for topic, checked in before.items():
                    if isinstance(checked, TransportReset):
                        outcomes[topic] = checked
                    elif checked is None:
                        which = "the topic" if len(batches) == 1 else f"the topic {topic}"
                        raise TransportError(f"{action}: {which} does not exist (ensure_topics creates it)")
                ready = {topic: items for topic, items in batches.items() if topic not in outcomes}
                offsets = self._send_all(ready, partition)
                # Checked again after writing: if the topic was re-created meanwhile,
                # the records may have gone into the new one, which the caller must know.
                after = self._topics.check_all({topic: self._topics.known(topic) for topic in ready})
                for topic, checked in after.items():
                    outcomes[topic] = checked if isinstance(checked, TransportReset) else \
                        Delivery(offsets.get(topic, ()), checked)
            except kafka.errors.KafkaError as e:
                # A producer that failed stays failed: start a fresh one next time.
                self._discard_producer()
                if isinstance(e, _PRODUCER_FORGOTTEN):
                    reset = f"{action}: the broker forgot this producer's session: it lost its memory; " \
                            "ensure the topic and re-publish from the start"
                    return {topic: self._reset(topic, reset) for topic in batches}
                # An identity trusted from the cache may be stale: a broker that lost its topics fails a
                # send too. Asked again, a lost topic is a reset, as it would have been before the send.
                lost = self._lost(batches, expected_ids)
                if lost is None:
                    raise
                return {topic: self._reset(topic, f"{action}: {lost}") for topic in batches}
        if any(isinstance(outcome, TransportReset) for outcome in outcomes.values()):
            # A broker that lost its topics lost its producer sessions too: the
            # next publish would fail with UnknownProducerId. Start a fresh one.
            self._discard_producer()
        return {topic: outcomes[topic] for topic in batches}

    def _lost(self, batches: Mapping[str, object], expected_ids: Mapping[str, str | None]) -> str | None:
        """Why one of the topics of ``batches`` is not the one expected any more (asking the broker), or None."""
        for topic in batches:
            self._topics.distrust(topic)
            try:
                self._topics.check(topic, expected_ids.get(topic) or self._topics.known(topic), from_offset=None)
            except TransportReset as reset:
                return str(reset)
        return None

    def _send_all(self, batches: Mapping[str, Sequence[tuple[bytes, bytes]]], partition: int,
                  ) -> dict[str, tuple[int, ...]]:
        """Send every item, then wait for all (one flush); each topic's offsets, in input order."""
        if not any(batches.values()):
            return {}
        producer = self._producer_client()
        for topic in batches:
            # Every topic's partitions known before the first record is queued: kafka-python may otherwise
            # leave a queued batch without a leader while it asks about the next topic, until it expires.
            producer.partitions_for(topic)
        futures = {topic: [producer.send(topic, value=value, key=key, partition=partition) for key, value in items]
                   for topic, items in batches.items()}
        producer.flush(timeout=self.timeout_s)
        return {topic: tuple(f.get(timeout=0).offset for f in sent) for topic, sent in futures.items()}

    def _end_offset(self, tp: TopicPartition, listed: int | None = None) -> int:
        # Tansu answers ListOffsets(latest) with the base offset of the last batch + 1,
        # not the end; the high watermark of a fetch of that batch is the true end
        # (and on Apache Kafka, where ListOffsets is exact, equals it). ``listed``: that answer, if asked.
        consumer = self._consumer_client()
        if listed is None:
            listed = consumer.end_offsets([tp], timeout_ms=self._ms())[tp]
        if listed == 0:
            return 0
        self._assign(tp)
        consumer.seek(tp, listed - 1)
        self._consumer_at.pop(tp, None)
        deadline = time.monotonic() + self.timeout_s
        try:
            # Wait for records, not just any high watermark: one cached from an
            # earlier fetch could be stale.
            while not consumer.poll(timeout_ms=100, max_records=1).get(tp):
                if time.monotonic() > deadline:
                    raise TransportError(
                        f"no answer to a fetch of {tp.topic}[{tp.partition}] within {self.timeout_s:g} s"
                    )
        except kafka.errors.OffsetOutOfRangeError:
            return listed  # the last record expired (retention): the listed end is exact
        return max(consumer.highwater(tp) or 0, listed)

    def _discard_producer(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.close(timeout=0)
            self._producer = None

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Re-raise kafka-python failures during ``action`` as ``TransportError``."""
        try:
            yield
        except TransportError:
            raise
        except kafka.errors.KafkaTimeoutError as e:
            raise TransportError(
                f"{action}: no answer from the Kafka broker at {self.bootstrap_servers} "
                f"within {self.timeout_s:g} s ({e})"
            ) from e
        except (kafka.errors.KafkaError, OSError) as e:
            raise TransportError(
                f"{action}: Kafka broker at {self.bootstrap_servers}: {type(e).__name__}: {e}"
            ) from e
