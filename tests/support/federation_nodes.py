"""Real national nodes federated through a real broker, for the federation tests.

``Cluster`` creates nodes in a test's tmp dir (each on its own database: a SQLite file
unless a URL is given), makes them trust each other, and gives each a
``KafkaTransport`` on a topic prefix of its own, so tests sharing one broker keep apart.
``raw_messages`` reads what sits in an inbox topic, for tests that replay or forge.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from cheap_kek import KEK_ENVIRON

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.bootstrap import Node, init_node
from nodes.federation.kafka_transport import KafkaTransport
from nodes.federation.sync import Federation, SyncReport, sync
from nodes.federation.trust import trust_each_other, trust_partner
from nodes.settings import Settings

PASSPHRASE = "pw"


class Cluster:
    """Nodes of ``states`` on one broker, each with its transport; ``with Cluster(...)`` closes them all."""

    def __init__(self, tmp_path: Path, bootstrap: str, states: list[str], *, db: dict[str, str] | None = None,
                 trust: bool = True):
        self.bootstrap = bootstrap
        self.prefix = f"t{uuid.uuid4().hex[:10]}"
        self.nodes: dict[str, Node] = {}
        self.transports: dict[str, KafkaTransport] = {}
        self.federations: dict[str, Federation] = {}
        db = db or {}
        for state in states:
            home = tmp_path / state.lower()
            settings = Settings.load(environ=KEK_ENVIRON, home=home, db=db.get(state) or str(home / "ledger.db"),
                                     passphrase=PASSPHRASE, kafka=bootstrap)
            self.nodes[state] = init_node(settings, state)
            self.transports[state] = KafkaTransport(bootstrap, self.prefix, timeout_s=10.0)
        if trust:
            trust_each_other(self.nodes.values())

    def environ(self, settings: Settings) -> dict[str, str]:
        """The environment of ``armsledger`` run as the node of ``settings`` on this cluster's broker and topics."""
        return {"ARMSLEDGER_HOME": str(settings.home), "ARMSLEDGER_DB": settings.db,
                "ARMSLEDGER_PASSPHRASE": PASSPHRASE, "ARMSLEDGER_KAFKA": self.bootstrap,
                "ARMSLEDGER_TOPIC_PREFIX": self.prefix}

    def trust(self, state: str, other: str) -> None:
        """``state`` trusts ``other`` (one direction only)."""
        trust_partner(self.nodes[state], self.nodes[other].identity)

    def federation(self, state: str) -> Federation:
        if state not in self.federations:
            self.federations[state] = Federation(self.nodes[state], self.transports[state])
        return self.federations[state]

    def sync(self, state: str, timeout_s: float = 30.0) -> SyncReport:
        report = sync(self.nodes[state], self.transports[state], timeout_s, federation=self.federation(state))
        assert report.quiet, f"{state}: sync did not finish within {timeout_s} s: {report}"
        return report

    def settle(self, *states: str, rounds: int = 4) -> None:
        """Sync the nodes in turn until a whole round changes nothing."""
        states = states or tuple(self.nodes)
        for _ in range(rounds):
            reports = [self.sync(s) for s in states]
            if not any(r.published or r.read or r.checkpoints_sent for r in reports):
                return
        raise AssertionError(f"no quiet round after {rounds} rounds")

    def close(self) -> None:
        """Close the federations, then the transports, then the nodes."""
        for opened in [*self.federations.values(), *self.transports.values(), *self.nodes.values()]:
            opened.close()

    def __getitem__(self, state: str) -> Node:
        return self.nodes[state]

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_messages(cluster: Cluster, state: str) -> list[tuple[int, bytes, bytes]]:
    """(offset, key, value) of every message now in ``state``'s inbox topic."""
    reader = KafkaTransport(cluster.bootstrap, cluster.prefix)
    try:
        topic = reader.inbox_topic(state)
        end = reader.end_offset(topic)
        found: list[tuple[int, bytes, bytes]] = []
        while len(found) < end:
            batch = reader.read(topic, len(found), 1000, 5.0)
            assert batch.records, f"could not read {topic} up to {end}"
            found += [(r.offset, r.key, r.value) for r in batch]
        return found
    finally:
        reader.close()


def publish(cluster: Cluster, state: str, items: list[tuple[bytes, bytes]]) -> None:
    """Put (key, value) items into ``state``'s inbox topic, as anyone with broker access could."""
    writer = KafkaTransport(cluster.bootstrap, cluster.prefix)
    try:
        writer.ensure_topics([state])
        writer.publish(writer.inbox_topic(state), items)
    finally:
        writer.close()


def now() -> int:
    return int(time.time()) - 60


def manufacture(node: Node, serial: str, *, country: str | None = None) -> uuid.UUID:
    state = node.identity.state
    return node.registry.manufacture(
        marking=Marking.read("Acme Arms", country or state, serial), type="pistol", make="Acme", model="A1",
        calibre="9mm", year=2020, holder="Acme Arms", occurred_on=now() - 10 * DAY)


def manufacture_many(node: Node, count: int, prefix: str = "S") -> list[uuid.UUID]:
    state = node.identity.state
    fields = dict(type="pistol", make="Acme", model="A1", calibre="9mm", year=2020, holder="Acme Arms",
                  occurred_on=now() - 10 * DAY)
    return node.registry.manufacture_many(
        ("licensing", Marking.read("Acme Arms", state, f"{prefix}{i:06d}"), fields) for i in range(count))


def issue(node: Node, number: str, kind: LicenceKind, **fields) -> uuid.UUID:
    return node.registry.issue_licence(number=number, kind=kind, holder=fields.pop("holder", "Acme Arms"),
                                       valid_from=now() - 30 * DAY, valid_until=now() + 30 * DAY,
                                       occurred_on=now() - 20 * DAY, **fields)
