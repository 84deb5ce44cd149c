"""The trust store: which partner states' node keys this node trusts.

A partner's public identity is the JSON printed by ``armsledger key export``::

    {"armsledger_identity": 1, "state": "NL", "node_key_id": "...", "node_public_key": "<hex>"}

``armsledger trust add --state NL NL.pub`` checks the document (the state named
on the command line must match it; the key id must be the hash of the key),
records the change in the node's log (``nodes.federation.trust_record``) and
stores it as ``HOME/trust/NL.json``. Authority keys are not in the trust store:
they are certified by the node key in the partner's own log (``Authority.Certified``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from domain.countries import ISO_3166_ALPHA2
from domain.errors import InvalidField
from ledger.keys import Ed25519PublicKey, key_id, public_key_from_bytes
from nodes.registry.identity import NodeIdentity

if TYPE_CHECKING:
    from nodes.ports import Node

IDENTITY_FORMAT = 1


@dataclass(frozen=True)
class Partner:
    state: str
    node_key_id: str
    node_public_key: bytes

    @property
    def public_key(self) -> Ed25519PublicKey:
        return public_key_from_bytes(self.node_public_key)


def export_identity(identity: NodeIdentity) -> str:
    """The public identity document of this node (no secrets)."""
    return json.dumps({
        "armsledger_identity": IDENTITY_FORMAT,
        "state": identity.state,
        "node_key_id": identity.node_key_id,
        "node_public_key": identity.node_public_key.hex(),
    }, indent=2) + "\n"


def parse_identity(text: str, *, expected_state: str) -> Partner:
    """Check a partner's identity document; raises ``InvalidField`` naming the problem."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidField("is not an armsledger identity document (JSON)", field="file") from None
    if not isinstance(document, dict) or document.get("armsledger_identity") != IDENTITY_FORMAT:
        raise InvalidField("is not an armsledger identity document", field="file")
    state = str(document.get("state", ""))
    expected = expected_state.strip().upper()
    if expected not in ISO_3166_ALPHA2:
        raise InvalidField(f"{expected_state!r} is not an ISO 3166-1 alpha-2 country code", field="state")
    if state != expected:
        raise InvalidField(f"the document is the identity of {state!r}, not {expected}", field="state")
    try:
        public = bytes.fromhex(str(document.get("node_public_key", "")))
        public_key_from_bytes(public)
    except (ValueError, Exception):
        raise InvalidField("node_public_key is not a 32-byte Ed25519 key in hex", field="file") from None
    if key_id(public) != document.get("node_key_id"):
        raise InvalidField("node_key_id does not match node_public_key", field="file")
    return Partner(state=state, node_key_id=key_id(public), node_public_key=public)


class TrustStore:
    """Trusted partner node keys under ``HOME/trust``."""

    def __init__(self, home: Path):
        self.folder = Path(home) / "trust"

    def check_addable(self, partner: Partner, *, own_state: str) -> None:
        """``InvalidField`` on ``state`` for the node's own state, or a state trusted with another key."""
        if partner.state == own_state:
            raise InvalidField("a node does not add its own state as a partner", field="state")
        existing = self.readable()[0].get(partner.state)
        if existing is not None and existing != partner:
            raise InvalidField(f"{partner.state} is trusted with another key ({existing.node_key_id}); "
                               "remove it first (armsledger trust remove) if the partner changed its key",
                               field="state")

    def add(self, partner: Partner, *, own_state: str) -> None:
        """Write ``partner``'s file (no record: ``trust_record.record_trust`` records, then calls this).

        Refuses (``check_addable``) the node's own state and replacing a different key.
        """
        self.check_addable(partner, own_state=own_state)
        self.folder.mkdir(parents=True, exist_ok=True)
        document = {"armsledger_identity": IDENTITY_FORMAT, "state": partner.state,
                    "node_key_id": partner.node_key_id, "node_public_key": partner.node_public_key.hex()}
        path = self.folder / f"{partner.state}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2) + "\n")
        tmp.replace(path)

    def holds(self, state: str) -> bool:
        """Whether there is a file for ``state``, readable or not."""
        return (self.folder / f"{state}.json").exists()

    def remove(self, state: str) -> None:
        """Delete ``state``'s file, if any (no record: ``trust_record.remove_trust`` records, then calls this)."""
        (self.folder / f"{state}.json").unlink(missing_ok=True)

    def readable(self) -> tuple[dict[str, Partner], dict[str, str]]:
        """The partners whose files read well, and for each other file, why it does not (by state)."""
        found: dict[str, Partner] = {}
        damaged: dict[str, str] = {}
        if not self.folder.exists():
            return found, damaged
        for path in sorted(self.folder.glob("*.json")):
            try:
                partner = parse_identity(path.read_text(), expected_state=path.stem)
            except (InvalidField, OSError, UnicodeDecodeError) as e:
                damaged[path.stem] = str(e.args[0]) if e.args else type(e).__name__
            else:
                found[partner.state] = partner
        return found, damaged

    def get(self, state: str) -> Partner | None:
        path = self.folder / f"{state}.json"
        if not path.exists():
            return None
        return parse_identity(path.read_text(), expected_state=state)

    def partners(self) -> dict[str, Partner]:
        """Every trusted partner by state."""
        if not self.folder.exists():
            return {}
        found = {}
        for path in sorted(self.folder.glob("*.json")):
            partner = parse_identity(path.read_text(), expected_state=path.stem)
            found[partner.state] = partner
        return found

    def by_key_id(self) -> dict[str, Partner]:
        return {p.node_key_id: p for p in self.partners().values()}


def trust_partner(node: Node, partner: NodeIdentity) -> Partner:
    """``node`` trusts ``partner``'s node key: ``armsledger key export`` there, ``trust add`` here
    (recorded in ``node``'s log, which must be unlocked).

    Raises ``InvalidField`` as ``trust_record.record_trust`` does (own state, another key of that state).
    """
    from nodes.federation.trust_record import record_trust

    found = parse_identity(export_identity(partner), expected_state=partner.state)
    record_trust(node, found)
    return found


def trust_each_other(nodes: Iterable[Node]) -> None:
    """Every node trusts every other node's key (a federation of partners); doing it again changes nothing.

    Requires nodes of distinct states (``InvalidField`` otherwise).
    """
    members = list(nodes)
    for node in members:
        for other in members:
            if other is not node:
                trust_partner(node, other.identity)
