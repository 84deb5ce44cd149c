"""In-memory stand-in for the federation, for unit tests of tracing, cross-border flows and reactions.

``MemoryInbox`` exposes the methods of ``nodes.federation.inbox.Inbox`` that tracing and
cross-border code read; ``MemoryFederation`` creates real nodes (real registry,
keys, sealer, SQLite or PostgreSQL), makes them trust each other, and carries
records between them under the default sharing policy of DESIGN.md, then runs
``nodes.federation.reactions.react`` on the receiver, as sync does. Unit tests only: the
end-to-end tests (test_trace_e2e.py) use the real inbox, relay and broker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ledger.checkpoint import Checkpoint
from ledger.envelope import Envelope
from nodes.bootstrap import Node, init_node
from nodes.federation.reactions import Reaction, react
from nodes.settings import Settings
from nodes.tracing.service import TraceSettings
from nodes.federation.trust import trust_each_other


class MemoryInbox:
    """Accepted partner envelopes and kept partner checkpoints, in memory."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self._hashes: set[bytes] = set()
        self.checkpoints: dict[str, dict[int, Checkpoint]] = defaultdict(dict)

    def accept(self, envelopes: Iterable[Envelope]) -> list[Envelope]:
        """Store the envelopes not held yet; return those (what ingest would report as accepted)."""
        new = []
        for envelope in envelopes:
            if envelope.hash not in self._hashes:
                self._hashes.add(envelope.hash)
                self.envelopes.append(envelope)
                new.append(envelope)
        return new

    def keep(self, checkpoint: Checkpoint) -> None:
        self.checkpoints[checkpoint.origin].setdefault(checkpoint.size, checkpoint)

    def received(self, *, node: str, stream: str) -> list[Envelope]:
        return sorted((e for e in self.envelopes if e.node == node and e.stream == str(stream)),
                      key=lambda e: e.version)

    def received_about(self, stream: str, nodes: Iterable[str]) -> list[Envelope]:
        return [e for n in nodes for e in self.received(node=n, stream=stream)]

    def received_notifications(self, start: int, limit: int) -> list[tuple[int, Envelope]]:
        return [(i, e) for i, e in enumerate(self.envelopes, start=1)][start - 1:start - 1 + limit]

    def partner_checkpoints(self, node: str) -> list[Checkpoint]:
        return [self.checkpoints[node][size] for size in sorted(self.checkpoints[node])]

    def quarantined(self) -> list[dict]:
        return []

    def close(self) -> None:
        pass


def recipients(envelope: Envelope, own: list[Envelope]) -> set[str]:
    """The default sharing policy of DESIGN.md (the real one is nodes.federation.sharing)."""
    body, kind = envelope.body, envelope.type
    first = own[0].body if own else body
    if kind.startswith("Authority.") or kind in ("Weapon.ReportedLost", "Weapon.ReportedStolen"):
        return {"*"}
    if kind in ("Weapon.Exported", "Shipment.Opened"):
        return {body.get("to_state") or body.get("import_state"), *body.get("transit_states", ())}
    if kind == "Weapon.ReceiptConfirmed":
        return {body.get("from_state")}
    if kind.startswith("Licence.") and first.get("kind") in ("import_authorization", "transit_no_objection"):
        return {first.get("export_state")}
    if kind.startswith("TraceRequest."):
        return {first.get("addressee")}
    if kind.startswith("TraceAnswer."):
        return {first.get("requesting_state")}
    if kind == "Weapon.Seized":
        return {str(dict(first.get("marking", {})).get("country", ""))}
    return set()


class MemoryFederation:
    """Real nodes that trust each other, with in-memory inboxes and delivery."""

    def __init__(self, root: Path, db_url_for, states: Iterable[str], *,
                 settings: TraceSettings | None = None):
        self.nodes: dict[str, Node] = {}
        self.settings = settings or TraceSettings()
        self.reactions: list[Reaction] = []
        for state in states:
            node = init_node(Settings.load(home=root / state, db=db_url_for(state), passphrase="pw"), state)
            node.inbox = MemoryInbox()
            self.nodes[state] = node
        trust_each_other(self.nodes.values())

    def __getitem__(self, state: str) -> Node:
        return self.nodes[state]

    def deliver(self, source: str, target: str) -> list[Envelope]:
        """Carry ``source``'s records meant for ``target`` (and its checkpoints) and react there."""
        sender, receiver = self.nodes[source], self.nodes[target]
        sender.sealer.seal()
        for checkpoint in sender.sealer.checkpoints():
            receiver.inbox.keep(checkpoint)
        wanted = []
        for _, stored in sender.registry.stored_notifications():
            envelope = Envelope.from_bytes(stored.state)
            streams = sender.registry.envelopes(envelope.stream)
            to = recipients(envelope, streams)
            if target in to or "*" in to:
                wanted.append(envelope)
        accepted = receiver.inbox.accept(wanted)
        if accepted:
            self.reactions.append(react(receiver, accepted, settings=self.settings))
        return accepted

    def sync(self, rounds: int = 8) -> None:
        """Deliver between every pair until nothing new moves (like repeated sync passes)."""
        for _ in range(rounds):
            moved = False
            for source in self.nodes:
                for target in self.nodes:
                    if source != target and self.deliver(source, target):
                        moved = True
            if not moved:
                return
        raise AssertionError("records still moving after the rounds allowed")

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
