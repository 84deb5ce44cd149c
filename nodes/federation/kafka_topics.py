"""Inbox topics on a Kafka broker: creating them and knowing each one's identity.

A topic's identity is its Kafka topic id (KIP-516). A broker that lost its memory
re-creates topics under new ids, so a position stored with an identity tells whether
it still refers to the same topic (docs/kafka-transport.md, "Broker resets").
kafka-python errors pass through; ``KafkaTransport`` translates them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import kafka.errors
from kafka import KafkaAdminClient

from nodes.errors import TransportReset

_NO_TOPIC_ID = "00000000-0000-0000-0000-000000000000"

# A topic's identity, once confirmed, is trusted this long before asking again. A
# reset is still always detected: an identity never comes back, so the next check
# (or the next read given the identity stored with a position) sees the change, and
# positions are stored with the identity they refer to, so what was published or read
# meanwhile is published or read again under the new one. A reset seen any other way
# (a partition shorter than a position, a forgotten producer) ends the trust at once.
# It saves a metadata round trip (1-5 ms idle, 10-30 ms on a loaded machine) on most
# publishes, reads and end offsets of a node that keeps working. Kept short: what is published
# within it after a broker lost its memory goes out under the old identity and waits for the
# next check to be published again, so a longer trust (2 s was tried) delays convergence after
# a broker restart by as much (test_federation_e2e's broker that loses its memory).
IDENTITY_TTL_S = 0.25
# Before a publish, a confirmation this old is trusted: what was sent into a topic re-created meanwhile is
# still reported, by the check after the publish (which trusts only ``IDENTITY_TTL_S``), so the caller
# publishes it again under the new identity; it keeps that check off the path of a publish on a busy machine.
PUBLISH_TRUST_S = 2.0


class TopicIdentities:
    """The identities of the topics one transport uses, checked against the broker.

    ``admin`` returns the (lazily created) admin client; ``timeout_ms`` bounds a creation.
    """

    def __init__(self, admin: Callable[[], KafkaAdminClient], timeout_ms: int) -> None:
        self._admin = admin
        self._timeout_ms = timeout_ms
        # The identity seen last for each topic, and when the broker last confirmed it.
        self._known: dict[str, str | None] = {}
        self._confirmed_at: dict[str, float] = {}

    def known(self, topic: str) -> str | None:
        """The identity this transport saw last for ``topic`` (None if none yet)."""
        return self._known.get(topic)

    def confirmed(self, topic: str, within_s: float = IDENTITY_TTL_S) -> bool:
        """True if the broker confirmed within ``within_s`` that ``topic`` exists."""
        confirmed_at = self._confirmed_at.get(topic)
        return confirmed_at is not None and time.monotonic() - confirmed_at < within_s

    def _trusted(self, topic: str, expected: str | None, within_s: float = IDENTITY_TTL_S) -> bool:
        previous = self._known.get(topic)
        return previous is not None and self.confirmed(topic, within_s) and expected in (None, previous)

    def distrust(self, topic: str) -> None:
        """Ask the broker at the next check of ``topic`` (a reset was seen another way)."""
        self._confirmed_at.pop(topic, None)

    def ensure(self, topics: list[str]) -> dict[str, str | None]:
        """Create the missing ``topics`` (one partition each); return each one's identity.

        A topic seen before keeps its remembered identity, so that a later check still
        reports that it was re-created in between.
        """
        admin = self._admin()
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # replication_factor -1: the broker's default (Kafka >= 2.4, Tansu).
            spec = {t: {"num_partitions": 1, "replication_factor": -1} for t in missing}
            try:
                admin.create_topics(spec, timeout_ms=self._timeout_ms, wait_for_metadata=True)
            except kafka.errors.TopicAlreadyExistsError:
                pass  # another node created it between list and create
        ids = self.describe(topics)
        for topic, topic_id in ids.items():
            if self._known.setdefault(topic, topic_id) != topic_id:
                self.distrust(topic)  # re-created: the next check reports it
        return ids

    def exists(self, topic: str) -> bool:
        """Whether ``topic`` exists: trusted if confirmed within ``IDENTITY_TTL_S``, else asked (one request).
        An answer naming the identity known confirms it, as ``check`` would; another is left to ``check``."""
        if self.confirmed(topic):
            return True
        current = self.describe([topic])[topic]
        if current is not None and self._known.setdefault(topic, current) == current:
            self._confirmed_at[topic] = time.monotonic()
        return current is not None

    def names(self) -> list[str]:
        """Names of the topics on the broker."""
        return sorted(self._admin().list_topics())

    def describe(self, topics: list[str]) -> dict[str, str | None]:
        """Identity of each topic: its id, "" if the broker gives none (Kafka < 2.8), None if missing.

        The other topics used before whose trust has run out are asked in the same request: those that
        still have the identity known are confirmed (a sync's publish to its partners then vouches for
        its own inbox topic, and the other way round), any other answer is left to the next ``check``.
        """
        along = [t for t, known in self._known.items()
                 if known is not None and t not in topics and not self.confirmed(t)]
        described = self._admin().describe_topics([*topics, *along])
        ids: dict[str, str | None] = {t: None for t in [*topics, *along]}
        for d in described:
            if d.get("error_code", 0) == 0 and d.get("name") in ids:
                topic_id = str(d.get("topic_id") or "")
                ids[d["name"]] = "" if topic_id == _NO_TOPIC_ID else topic_id
        now = time.monotonic()
        for topic in along:
            if ids[topic] is not None and ids[topic] == self._known.get(topic):
                self._confirmed_at[topic] = now
        return {t: ids[t] for t in topics}

    def check_all(self, expected: Mapping[str, str | None], *,
                  trust_s: float = IDENTITY_TTL_S) -> dict[str, str | TransportReset | None]:
        """``check`` of each topic of ``expected`` (topic -> identity expected) with no position, the ones
        not trusted (confirmed within ``trust_s``) asked of the broker in one request: each one's identity,
        or the ``TransportReset`` that ``check`` would raise."""
        asked = [topic for topic, identity in expected.items() if not self._trusted(topic, identity, trust_s)]
        described = self.describe(asked) if asked else {}
        checked: dict[str, str | TransportReset | None] = {}
        for topic, identity in expected.items():
            try:
                checked[topic] = self.check(topic, identity, from_offset=None, described=described, trust_s=trust_s)
            except TransportReset as reset:
                checked[topic] = reset
        return checked

    def check(self, topic: str, expected: str | None, from_offset: int | None, *,
              described: Mapping[str, str | None] | None = None, trust_s: float = IDENTITY_TTL_S) -> str | None:
        """The topic's current identity; ``TransportReset`` if it is gone or is not ``expected``.

        A missing topic is a reset only if something referred to it (an expected or
        remembered identity, or a position beyond 0). Trusts an identity confirmed
        within ``trust_s`` if it is the one expected. ``described``: identities the
        broker gave just now (``describe``), used instead of asking again.
        """
        previous = self._known.get(topic)
        if self._trusted(topic, expected, trust_s):
            return previous
        current = described[topic] if described is not None and topic in described else self.describe([topic])[topic]
        self._known[topic] = current
        if current is None:
            self._confirmed_at.pop(topic, None)
        else:
            self._confirmed_at[topic] = time.monotonic()
        if current is None and (expected is not None or previous is not None or from_offset):
            raise TransportReset(
                f"topic {topic} no longer exists: the broker lost its records; "
                "ensure the topic and re-sync from the start",
                topic,
                None,
            )
        if expected is not None and current is not None and current != expected:
            raise TransportReset(
                f"topic {topic} was re-created (id {expected} is now {current}): "
                "the broker lost its records; re-sync from the start",
                topic,
                current,
            )
        return current
