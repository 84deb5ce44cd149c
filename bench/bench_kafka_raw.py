"""Raw Kafka baseline: kafka-python produce/consume throughput and end-to-end latency.

The replication benchmark is compared with these figures, measured in the same run
on the same broker. Also measures the same through ``nodes.federation.kafka_transport`` to show
what the adapter costs.

    .venv/bin/python bench/bench_kafka_raw.py [-n 50000] [--size 600] [--kafka HOST:PORT]
        [--latency-samples 500] [--fetch-max-wait-ms 10]

Without ``--kafka`` it starts a local Tansu broker (nodes.federation.broker) on a free port.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

sys.path.insert(0, os.path.dirname(__file__))

from common import report_figure  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

from nodes.federation.broker import LocalBroker  # noqa: E402
from nodes.federation.kafka_transport import KafkaTransport  # noqa: E402


def create_topic(bootstrap: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics({topic: {"num_partitions": 1, "replication_factor": -1}}, wait_for_metadata=True)
    admin.close()


def producer(bootstrap: str) -> KafkaProducer:
    # The transport's settings (docs/kafka-transport.md): linger 20 ms, 1 MB batches.
    return KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=1024 * 1024,
        allow_auto_create_topics=False,
    )


def consumer(bootstrap: str, tp: TopicPartition, fetch_max_wait_ms: int) -> KafkaConsumer:
    c = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=fetch_max_wait_ms,
        allow_auto_create_topics=False,
    )
    c.assign([tp])
    c.seek(tp, 0)
    return c


def raw_throughput(bootstrap: str, n: int, size: int, fetch_max_wait_ms: int) -> tuple[float, float]:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    tp = TopicPartition(topic, 0)
    value = os.urandom(size)
    p = producer(bootstrap)
    started = time.perf_counter()
    for i in range(n):
        p.send(topic, value=value, key=b"stream-%d" % (i % 64), partition=0)
    p.flush()
    produce_rate = n / (time.perf_counter() - started)
    p.close()

    c = consumer(bootstrap, tp, fetch_max_wait_ms)
    got = 0
    started = time.perf_counter()
    while got < n:
        for records in c.poll(timeout_ms=1000, max_records=10_000).values():
            got += len(records)
    consume_rate = n / (time.perf_counter() - started)
    c.close()
    return produce_rate, consume_rate


def raw_latency(bootstrap: str, samples: int, size: int, fetch_max_wait_ms: int) -> list[float]:
    """Produce one record at a time; a consumer polling in another thread reads it."""
    topic = f"bench.lat.{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    tp = TopicPartition(topic, 0)
    c = consumer(bootstrap, tp, fetch_max_wait_ms)
    c.poll(timeout_ms=200)  # connected and positioned before the clock starts
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def consume() -> None:
        while len(latencies) < samples and not done.is_set():
            for records in c.poll(timeout_ms=100).values():
                now = time.perf_counter()
                latencies.extend(now - sent_at[int(r.key)] for r in records if int(r.key) >= 0)

    reader = threading.Thread(target=consume)
    reader.start()
    p = producer(bootstrap)
    p.send(topic, value=b"warm-up", key=b"-1", partition=0).get(10)  # connected
    value = os.urandom(size)
    for i in range(samples):
        sent_at[i] = time.perf_counter()
        p.send(topic, value=value, key=b"%d" % i, partition=0)
        p.flush()
        time.sleep(0.003)
    reader.join(timeout=30)
    done.set()
    p.close()
    c.close()
    return [x for x in latencies if x >= 0]


def transport_figures(bootstrap: str, n: int, size: int, samples: int) -> tuple[float, float, list[float]]:
    """The same through KafkaTransport: publish in chunks of 5,000, read in batches, latency."""
    t = KafkaTransport(bootstrap, topic_prefix=f"bench-{uuid.uuid4().hex[:8]}")
    topic = t.inbox_topic("BE")
    t.ensure_topics(["BE"])
    value = os.urandom(size)
    items = [(b"stream-%d" % (i % 64), value) for i in range(n)]
    started = time.perf_counter()
    for i in range(0, n, 5000):
        t.publish(topic, items[i : i + 5000])
    publish_rate = n / (time.perf_counter() - started)
    got, offset = 0, 0
    started = time.perf_counter()
    while got < n:
        batch = t.read(topic, offset, max_records=5000, timeout_s=1.0)
        got += len(batch)
        offset = batch.next_offset or offset
    read_rate = n / (time.perf_counter() - started)

    # Latency as for raw: one record at a time, read by a loop in another thread.
    latency_topic = t.inbox_topic("NL")
    t.ensure_topics(["NL"])
    reader = KafkaTransport(bootstrap, topic_prefix=t.topic_prefix)
    reader.read(latency_topic, 0, timeout_s=0.1)
    sent_at: dict[int, float] = {}
    latencies: list[float] = []

    def consume() -> None:
        offset = 0
        deadline = time.monotonic() + 60
        while offset < samples and time.monotonic() < deadline:
            batch = reader.read(latency_topic, offset, timeout_s=0.5)
            now = time.perf_counter()
            latencies.extend(now - sent_at[int(r.key)] for r in batch)
            offset = batch.next_offset or offset

    thread = threading.Thread(target=consume)
    thread.start()
    for i in range(samples):
        sent_at[i] = time.perf_counter()
        t.publish(latency_topic, [(b"%d" % i, value)])
        time.sleep(0.003)
    thread.join()
    reader.close()
    t.close()
    return publish_rate, read_rate, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=50_000, help="messages for throughput")
    parser.add_argument("--size", type=int, default=600, help="bytes per message")
    parser.add_argument("--kafka", help="bootstrap servers (default: start a local Tansu broker)")
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument("--fetch-max-wait-ms", type=int, default=10)
    args = parser.parse_args()

    try:
        import crc32c  # noqa: F401
        crc = "crc32c installed"
    except ImportError:
        crc = "crc32c MISSING: kafka-python checksums in pure Python, 3-6x slower"

    broker = None
    bootstrap = args.kafka
    if not bootstrap:
        broker = LocalBroker().start()
        bootstrap = broker.bootstrap_servers
        print(f"local Tansu broker on {bootstrap}, ready in {broker.last_start_s * 1000:.0f} ms")
    print(f"{crc}; {args.n} messages of {args.size} bytes; fetch_max_wait_ms={args.fetch_max_wait_ms}")
    try:
        produce_rate, consume_rate = raw_throughput(bootstrap, args.n, args.size, args.fetch_max_wait_ms)
        print(f"raw kafka-python   produce {produce_rate:9,.0f} msgs/s   consume {consume_rate:9,.0f} msgs/s")
        lat = raw_latency(bootstrap, args.latency_samples, args.size, args.fetch_max_wait_ms)
        print(
            f"raw end-to-end     p50 {percentile(lat, 50) * 1000:6.1f} ms   p99 {percentile(lat, 99) * 1000:6.1f} ms"
            f"   ({len(lat)} samples, consumer polling in another thread)"
        )
        pub, rd, tlat = transport_figures(bootstrap, args.n, args.size, min(args.latency_samples, 300))
        print(f"KafkaTransport     publish {pub:9,.0f} msgs/s   read    {rd:9,.0f} msgs/s")
        print(
            f"transport end-to-end p50 {percentile(tlat, 50) * 1000:6.1f} ms"
            f"   p99 {percentile(tlat, 99) * 1000:6.1f} ms"
            f"   ({len(tlat)} samples, publish() to read() in another thread)"
        )
        for name, value, unit in (("raw kafka-python produce", produce_rate, "msgs/s"),
                                  ("raw kafka-python consume", consume_rate, "msgs/s"),
                                  ("KafkaTransport publish", pub, "msgs/s"), ("KafkaTransport read", rd, "msgs/s")):
            report_figure(name, "none", value, unit)
        for q in (50, 99):  # the transport beside raw kafka-python: what the adapter costs
            report_figure(f"transport end to end p{q}", "none", percentile(tlat, q) * 1000, "ms",
                          baseline=percentile(lat, q) * 1000, higher_is_better=False)
        with KafkaTransport(bootstrap, f"bench{uuid.uuid4().hex[:8]}") as idle:
            topic = idle.inbox_topic("BE")
            idle.ensure_topics(["BE"])
            idle.read(topic, 0, timeout_s=0)  # connect first
            started = time.perf_counter()
            idle.read(topic, 0, timeout_s=0.3)
            print(f"an empty read at the end returned after {(time.perf_counter() - started) * 1000:.0f} ms "
                  "(timeout 300 ms)")
    finally:
        if broker is not None:
            client = KafkaTransport(broker.bootstrap_servers)
            client.list_topics()  # a connected client: Tansu alone would drain it for ~5 s
            started = time.perf_counter()
            broker.stop()
            client.close()
            print(f"local broker stopped in {(time.perf_counter() - started) * 1000:.0f} ms with a client connected "
                  f"(grace {broker.stop_grace_s:g} s, then SIGKILL)")


if __name__ == "__main__":
    main()
