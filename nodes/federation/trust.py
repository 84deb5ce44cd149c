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
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from domain.countries import ISO_3166_ALPHA2
from domain.errors import InvalidField
from ledger.acceptance import CertifiedKey, NodeKey, Signers
from ledger.keys import Ed25519PublicKey, key_id, public_key_from_bytes
from nodes.registry.identity import NodeIdentity

if TYPE_CHECKING:
    from nodes.ports import Node

IDENTITY_FORMAT = 1


@dataclass(frozen=True)
class Partner:
    """A trusted partner: its current node key and, once it rotated it, its earlier node keys (oldest first),
    each with the range it served (``NodeKey.retired_from``, ``NodeKey.last_size``)."""

    state: str
    node_key_id: str
    node_public_key: bytes
    previous_keys: tuple[NodeKey, ...] = ()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return public_key_from_bytes(self.node_public_key)

    def node_keys(self) -> dict[str, NodeKey]:
        """Every node key of the partner by id, the current one without an end (``checkpoint_refusal``)."""
        return {**{k.key_id: k for k in self.previous_keys}, self.node_key_id: NodeKey(self.node_key_id,
                                                                                       self.node_public_key)}

    def signers(self, certified: Mapping[str, CertifiedKey]) -> Signers:
        """Who may sign the partner's records: its current node key, its earlier ones for what they signed
        before they handed over, and the keys in ``certified``."""
        return Signers(self.node_key_id, self.node_public_key, certified, {k.key_id: k for k in self.previous_keys})

    def first_signers(self, certified: Mapping[str, CertifiedKey]) -> Signers:
        """``signers`` as they were before the first rotation held (its oldest node key current): what an
        audit that reads the announcements in order (``learn_node_key``) starts from."""
        if not self.previous_keys:
            return self.signers(certified)
        oldest = self.previous_keys[0]
        return Signers(oldest.key_id, oldest.public_key, certified)

    def rotated(self, new: NodeKey, *, retired_from: int, last_size: int) -> Partner:
        """The partner after its current key handed over to ``new``: kept, up to ``last_size`` leaves and
        records recorded before ``retired_from`` (microseconds)."""
        old = NodeKey(self.node_key_id, self.node_public_key, retired_from, last_size)
        return Partner(self.state, new.key_id, new.public_key, (*self.previous_keys, old))


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
    return Partner(state=state, node_key_id=key_id(public), node_public_key=public,
                   previous_keys=_previous_keys(document.get("previous_keys", [])))


def _previous_keys(entries: object) -> tuple[NodeKey, ...]:
    """The ``previous_keys`` of a trust file (written by ``TrustStore.write``); ``InvalidField`` on ``file``."""
    def bad(why: str) -> InvalidField:
        return InvalidField(f"previous_keys: {why}", field="file")

    if not isinstance(entries, list):
        raise bad("is not a list")
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise bad("an entry is not an object")
        try:
            public = bytes.fromhex(str(entry.get("node_public_key", "")))
            public_key_from_bytes(public)
        except (ValueError, Exception):
            raise bad("node_public_key is not a 32-byte Ed25519 key in hex") from None
        last_size, retired_from = entry.get("last_size"), entry.get("retired_from")
        if key_id(public) != entry.get("node_key_id"):
            raise bad("node_key_id does not match node_public_key")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (last_size, retired_from)):
            raise bad("last_size and retired_from must be positive integers")
        found.append(NodeKey(key_id(public), public, retired_from, last_size))
    return tuple(found)


def trust_document(partner: Partner) -> dict[str, object]:
    """What ``HOME/trust/STATE.json`` holds of ``partner`` (an identity document, plus its earlier keys)."""
    document: dict[str, object] = {"armsledger_identity": IDENTITY_FORMAT, "state": partner.state,
                                   "node_key_id": partner.node_key_id,
                                   "node_public_key": partner.node_public_key.hex()}
    if partner.previous_keys:
        document["previous_keys"] = [{"node_key_id": k.key_id, "node_public_key": k.public_key.hex(),
                                      "last_size": k.last_size, "retired_from": k.retired_from}
                                     for k in partner.previous_keys]
    return document


class TrustStore:
    """Trusted partner node keys under ``HOME/trust``."""

    def __init__(self, home: Path):
        self.folder = Path(home) / "trust"
        # What ``partners`` read last: each file's name, inode, size and modification time, and the partners.
        self._read: tuple[tuple[tuple[str, int, int, int], ...], dict[str, Partner]] | None = None

    def check_addable(self, partner: Partner, *, own_state: str) -> None:
        """``InvalidField`` on ``state`` for the node's own state, or a state trusted with another key."""
        if partner.state == own_state:
            raise InvalidField("a node does not add its own state as a partner", field="state")
        existing = self.readable()[0].get(partner.state)
        if existing is not None and existing.node_public_key != partner.node_public_key:
            raise InvalidField(f"{partner.state} is trusted with another key ({existing.node_key_id}); "
                               "remove it first (armsledger trust remove) if the partner changed its key",
                               field="state")

    def add(self, partner: Partner, *, own_state: str) -> None:
        """Write ``partner``'s file (no record: ``trust_record.record_trust`` records, then calls this).

        Refuses (``check_addable``) the node's own state and replacing a different key.
        """
        self.check_addable(partner, own_state=own_state)
        existing = self.readable()[0].get(partner.state)
        kept = existing.previous_keys if existing is not None and not partner.previous_keys else partner.previous_keys
        self.write(Partner(partner.state, partner.node_key_id, partner.node_public_key, kept))

    def write(self, partner: Partner) -> None:
        """Write ``partner``'s file whole or not at all (a temporary file, flushed to disk, renamed over it).

        No check and no record: callers record the change first (``trust_record``, ``key_following``).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{partner.state}.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as file:
            file.write(json.dumps(trust_document(partner), indent=2) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)

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
        """Every trusted partner by state.

        The files are read again only when one changed (its name, inode, size or modification time:
        ``write`` replaces a file, ``remove`` deletes it), so a store kept by a long-running node costs a
        look at the folder per call and still sees ``trust add`` at once. Raises ``InvalidField`` on a file
        that does not read as an identity (every call, as long as it stays so).
        """
        if not self.folder.exists():
            return {}
        paths = sorted(self.folder.glob("*.json"))
        stamp = tuple(file_stamp(path) for path in paths)
        if self._read is not None and self._read[0] == stamp:
            return dict(self._read[1])
        found = {}
        for path in paths:
            partner = parse_identity(path.read_text(), expected_state=path.stem)
            found[partner.state] = partner
        # A file replaced between the look and the read is read again next time: its stamp changed.
        self._read = (stamp, found)
        return dict(found)

    def by_key_id(self) -> dict[str, Partner]:
        return {p.node_key_id: p for p in self.partners().values()}


def file_stamp(path: Path) -> tuple[str, int, int, int]:
    """What tells whether a file changed since it was read: its name, inode, size and modification time (a file
    replaced through a rename, as ``TrustStore.write`` does, gets another inode). ``OSError`` when it is gone."""
    st = path.stat()
    return path.name, st.st_ino, st.st_size, st.st_mtime_ns


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
