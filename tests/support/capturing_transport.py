"""An in-memory stand-in for the Kafka transport's publishing side, for unit tests of what is sent."""

from __future__ import annotations


class CapturingTransport:
    """Just enough of KafkaTransport for a relay to publish into lists, per topic."""

    topic_prefix = "mem"

    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[bytes, bytes]]] = {}

    def inbox_topic(self, state: str) -> str:
        return f"mem.inbox.{state}"

    def ensure_topics(self, states) -> dict[str, str]:
        return {self.inbox_topic(s): "mem" for s in states}

    def publish(self, topic: str, items, expected_topic_id=None) -> None:
        self.sent.setdefault(topic, []).extend(items)
