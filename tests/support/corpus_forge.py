"""A trusted partner gone hostile, for the hostile corpus: records signed by its real keys and proven.

``PartnerForge`` holds BE (the sender) and a fresh NL (the receiver) that trust
each other, on one in-memory broker. BE's relay sends NL its real certificates
and checkpoint; then the forge signs any envelope fields with BE's police key,
appends the record as the next leaf of BE's Merkle tree, signs a checkpoint over
it with BE's node key, and puts both messages in NL's inbox topic: the record is
correctly signed by a trusted partner and proven, whatever its fields hold.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cheap_kek import KEK_ENVIRON

from ledger.checkpoint import Checkpoint, envelope_leaf, sign_checkpoint
from ledger.encoding import canonical_encode
from ledger.envelope import GENESIS_PREV
from ledger.errors import CheckpointError
from ledger.keys import sign
from ledger.merkle import MerkleTree
from ledger.signed_proof import sign_proof
from nodes.bootstrap import Node, init_node
from nodes.federation.sync import SyncReport, sync
from nodes.federation.trust import trust_each_other
from nodes.federation.wire import CheckpointMessage, RecordMessage, encode_message
from nodes.settings import Settings

from memory_transport import MemoryTransport

PASSPHRASE = "pw"


def new_node(home: Path, state: str) -> Node:
    settings = Settings.load(environ=KEK_ENVIRON, home=home, db=str(home / "ledger.db"), passphrase=PASSPHRASE)
    return init_node(settings, state)


class PartnerForge:
    def __init__(self, be: Node, nl: Node, transport: MemoryTransport):
        self.be, self.nl, self.transport = be, nl, transport
        trust_each_other([be, nl])
        sync(be, transport, 10.0)
        self.sync()
        self.tree = MerkleTree(envelope_leaf(leaf.envelope_hash) for leaf in be.sealer.sealed_leaves())
        self.sent_size = len(self.tree)
        self.timestamp = be.sealer.checkpoints()[-1].timestamp
        self.police = be.identity.authority_key_ids["police"]

    def sync(self) -> SyncReport:
        return sync(self.nl, self.transport, 10.0)

    def fields(self, by: str = "police", **overrides: Any) -> dict[str, Any]:
        """A valid ``Weapon.ReportedStolen`` of a new stream, with ``overrides`` (``body`` replaced whole),
        signed by BE's authority ``by``."""
        now = int(time.time()) - 60
        fields: dict[str, Any] = {
            "node": "BE", "stream": str(uuid.uuid4()), "version": 1, "type": "Weapon.ReportedStolen",
            "occurred_on": now, "recorded_at": now * 1_000_000, "authority": self.be.identity.authority_key_ids[by],
            "prev": GENESIS_PREV,
            "body": {"place": "Gent", "circumstances": "burglary"},
        }
        fields.update(overrides)
        return fields

    def envelope(self, fields: Mapping[str, Any]) -> tuple[bytes, bytes]:
        """(envelope bytes, envelope hash) of ``fields`` signed by BE's police key."""
        signed = canonical_encode(dict(fields))
        digest = hashlib.sha256(signed).digest()
        # Signed by the key the authority field names when it is one of BE's, else by the police key.
        keys = self.be.identity.private_keys
        key = keys.get(fields.get("authority"), keys[self.police])  # type: ignore[arg-type]
        return canonical_encode({**fields, "sig": sign(key, digest)}), digest

    def deliver(self, fields: Mapping[str, Any], *, key: bytes | None = None) -> bytes:
        """Sign ``fields``, prove them in a new BE checkpoint, publish both to NL; the envelope bytes."""
        data, digest = self.envelope(fields)
        index = self.tree.append(envelope_leaf(digest))
        size = len(self.tree)
        self.timestamp += 1
        node_key = self.be.identity.private_keys[self.be.identity.node_key_id]
        checkpoint = sign_checkpoint(node_key, "BE", size, self.tree.root(size), self.timestamp)
        consistency = tuple(self.tree.consistency_proof(self.sent_size, size))
        record = RecordMessage("BE", data, size, index, tuple(self.tree.inclusion_proof(index, size)))
        stream = fields.get("stream")
        self.publish([
            (b"BE", encode_message(CheckpointMessage("BE", checkpoint.to_bytes(), self.sent_size, consistency,
                                                     sign_proof(node_key, checkpoint.to_bytes(), self.sent_size,
                                                                consistency)))),
            (key if key is not None else str(stream).encode(), encode_message(record)),
        ])
        self.sent_size = size
        return data

    def deliver_checkpoint(self, previous_size: int | None = None, **overrides: Any) -> None:
        """Publish a checkpoint signed by BE's node key whose fields are BE's current ones with ``overrides``."""
        key = self.be.identity.private_keys[self.be.identity.node_key_id]
        self.timestamp += 1
        fields: dict[str, Any] = {"origin": "BE", "size": len(self.tree), "root": self.tree.root(),
                                  "timestamp": self.timestamp, "signer": self.be.identity.node_key_id}
        fields.update(overrides)
        unsigned = Checkpoint(**fields)
        try:
            message = unsigned.signed_bytes()
        except CheckpointError:  # fields no checkpoint note can hold (size -1): refused before any signature
            message = canonical_encode(fields)
        signed = Checkpoint(**fields, sig=sign(key, message))
        previous = self.sent_size if previous_size is None else previous_size
        self.publish([(b"BE", encode_message(CheckpointMessage("BE", signed.to_bytes(), previous, ())))])

    def publish(self, items: list[tuple[bytes, bytes]]) -> None:
        """Put raw (key, value) items into NL's inbox topic, as anyone with broker access could."""
        self.transport.ensure_topics(["NL"])
        self.transport.publish(self.transport.inbox_topic("NL"), items)

    def received(self, data: bytes) -> bool:
        """Whether NL holds these envelope bytes among the records received."""
        return any(bytes(n.state) == data for n in self.nl.inbox.stored_rows())

    def stored_bytes(self) -> int:
        return sum(len(n.state or b"") for n in self.nl.inbox.stored_rows())


def manufacture_with_records(node: Node) -> tuple[str, int]:
    """A weapon of ``node`` with three records (manufactured, marked, reported lost); its id and the
    notification id of its second record."""
    from domain.marking import Marking

    now = int(time.time()) - 3600
    weapon = node.registry.manufacture(
        marking=Marking.read("Acme Arms", node.identity.state, "C-1"), type="pistol", make="Acme", model="A1",
        calibre="9mm", year=2020, holder="Acme Arms", occurred_on=now)
    node.registry.record("mark", by="police", weapon_id=weapon, mark="M-1", reason="inspection", occurred_on=now)
    position = node.registry.recorder.max_notification_id()
    node.registry.record("report_lost", by="police", weapon_id=weapon, place="Delft", circumstances="",
                         occurred_on=now)
    return str(weapon), position
