"""A node's identity: its state, its node key, and its certified authority keys.

On disk, under ``HOME``::

    node.json            state, node key id and public key, authority key ids (public data), and the
                         node keys before the current one, oldest first (``previous_node_keys``)
    keys/node.key        node private key, encrypted with ARMSLEDGER_PASSPHRASE, mode 0600
    keys/<kind>.key      one private key per authority kind, same protection

Authority keys are certified by the node key with an ``Authority.Certified``
record in the node's own log (stream ``authorities_stream(state)``), signed by
the node key. So certificates are replicated, proved and audited like every
other record, and a partner that trusts the node key can check any authority.
The same register retires and revokes keys (``Authority.Retired``,
``Authority.Revoked``) and hands the node key over to a new one
(``Authority.NodeKeyChanged``, signed by the old key, countersigned by the new); a
second stream of it, ``trust_stream(state)``, kept national, records the partners' node
keys the node trusts (docs/keys.md).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from eventsourcing.domain import Aggregate

from domain.authority import Authority, AuthorityKind
from domain.event_types import (
    AUTHORITY_CERTIFIED,
    AUTHORITY_RETIRED,
    AUTHORITY_REVOKED,
    NODE_KEY_CHANGED,
    TRUST_CHANGED,
    TRUST_REGISTER_OPENED,
)
from domain.marking import ARMSLEDGER_NAMESPACE
from domain.signed_aggregate import SignedAggregate
from ledger.errors import KeyStoreError
from ledger.keys import (
    KEY_FILE_MAGIC,
    Ed25519PrivateKey,
    Ed25519PublicKey,
    generate_key,
    key_id,
    load_private_key,
    public_bytes,
    public_key_from_bytes,
    reseal_private_key,
    save_private_key,
)
from nodes.errors import ConfigurationError, NodeExists, NodeFileDamaged, NodeNotInitialised

NODE_FILE = "node.json"

#: The first record of a node's register of authorities, signed by the node key.
REGISTER_OPENED = "Authority.RegisterOpened"

#: ``change`` of an ``Authority.TrustChanged`` record.
TRUST_ADDED, TRUST_REMOVED, TRUST_ROTATED = "added", "removed", "rotated"


def authorities_stream(state: str) -> uuid.UUID:
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"authorities|{state}")


def trust_stream(state: str) -> uuid.UUID:
    """The stream of the node's record of its trust store (never shared: ``domain.sharing``)."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"trust|{state}")


class AuthorityRegister(SignedAggregate):
    """The node's register of certified authority keys (one per node); the node key signs its records."""

    TOPIC = "Authority"

    class Event(SignedAggregate.Event):
        TOPIC = "Authority.Event"

    class Created(Event, Aggregate.Created):
        TOPIC = REGISTER_OPENED
        state: str

    class Certified(Event):
        TOPIC = AUTHORITY_CERTIFIED
        key_id: str
        public_key: bytes
        kind: str
        name: str

        def apply(self, register: AuthorityRegister) -> None:
            register.keys[self.key_id] = (self.public_key, AuthorityKind(self.kind))

    class Retired(Event):
        """The key no longer signs records recorded at or after ``retired_from`` (epoch seconds); those
        it signed before stay valid. ``successor``: the key id certified to sign for its kind instead."""

        TOPIC = AUTHORITY_RETIRED
        key_id: str
        kind: str
        retired_from: int
        successor: str

    class Revoked(Event):
        """The key is not to be trusted for records recorded at or after ``since`` (epoch seconds):
        they are flagged wherever held. ``successor`` as for ``Retired``."""

        TOPIC = AUTHORITY_REVOKED
        key_id: str
        kind: str
        since: int
        reason: str
        successor: str

    class NodeKeyChanged(Event):
        """The node key (the signer) hands over to ``new_public_key``: the old one signs nothing recorded after
        this record. ``countersignature``: the new key's signature of
        ``ledger.acceptance.node_key_change_message`` (proof that the announcer holds it)."""

        TOPIC = NODE_KEY_CHANGED
        new_key_id: str
        new_public_key: bytes
        previous_public_key: bytes
        countersignature: bytes

    class TrustOpened(Event, Aggregate.Created):
        TOPIC = TRUST_REGISTER_OPENED
        state: str

    class TrustChanged(Event):
        """The node now trusts (``change`` "added") or no longer trusts ("removed") ``partner``'s node key, or
        follows the partner's announced node key ("rotated": ``previous_public_key`` is kept for what it signed,
        up to log size ``last_size`` and for records recorded before ``retired_from``, in microseconds)."""

        TOPIC = TRUST_CHANGED
        partner: str
        key_id: str
        public_key: bytes
        change: str
        reason: str
        previous_public_key: bytes = b""
        last_size: int = 0
        retired_from: int = 0

        def apply(self, register: AuthorityRegister) -> None:
            if self.change in (TRUST_ADDED, TRUST_ROTATED):
                register.trusted[self.partner] = self.public_key
            else:
                register.trusted.pop(self.partner, None)

    def __init__(self, occurred_on: int, authority: str, state: str):
        self.state = state
        self.keys: dict[str, tuple[bytes, AuthorityKind]] = {}
        self.trusted: dict[str, bytes] = {}  # in the trust stream: partner state -> node public key

    @staticmethod
    def create_id(state: str, **_: object) -> uuid.UUID:
        return authorities_stream(state)

    @classmethod
    def open(cls, *, state: str, node_key_id: str, occurred_on: int) -> AuthorityRegister:
        return cls._create(cls.Created, occurred_on=occurred_on, authority=node_key_id, state=state)

    @classmethod
    def open_trust(cls, *, state: str, node_key_id: str, occurred_on: int) -> AuthorityRegister:
        """The node's record of its trust store, in its own stream (``trust_stream``)."""
        return cls._create(cls.TrustOpened, id=trust_stream(state), occurred_on=occurred_on, authority=node_key_id,
                           state=state)

    def certify(self, *, node_key_id: str, public_key: bytes, kind: AuthorityKind, name: str, occurred_on: int) -> None:
        self.trigger_event(self.Certified, occurred_on=occurred_on, authority=node_key_id,
                           key_id=key_id(public_key), public_key=public_key, kind=kind.value, name=name)

    def retire(self, *, node_key_id: str, retired: str, kind: AuthorityKind, retired_from: int, successor: str,
               occurred_on: int) -> None:
        self.trigger_event(self.Retired, occurred_on=occurred_on, authority=node_key_id, key_id=retired,
                           kind=kind.value, retired_from=retired_from, successor=successor)

    def revoke(self, *, node_key_id: str, revoked: str, kind: AuthorityKind, since: int, reason: str, successor: str,
               occurred_on: int) -> None:
        self.trigger_event(self.Revoked, occurred_on=occurred_on, authority=node_key_id, key_id=revoked,
                           kind=kind.value, since=since, reason=reason, successor=successor)

    def change_node_key(self, *, node_key_id: str, previous_public_key: bytes, new_public_key: bytes,
                        countersignature: bytes, occurred_on: int) -> None:
        self.trigger_event(self.NodeKeyChanged, occurred_on=occurred_on, authority=node_key_id,
                           new_key_id=key_id(new_public_key), new_public_key=new_public_key,
                           previous_public_key=previous_public_key, countersignature=countersignature)

    def change_trust(self, *, node_key_id: str, partner: str, public_key: bytes, added: bool, reason: str,
                     occurred_on: int) -> None:
        self.trigger_event(self.TrustChanged, occurred_on=occurred_on, authority=node_key_id, partner=partner,
                           key_id=key_id(public_key), public_key=public_key,
                           change=TRUST_ADDED if added else TRUST_REMOVED, reason=reason)

    def rotate_trust(self, *, node_key_id: str, partner: str, public_key: bytes, previous_public_key: bytes,
                     last_size: int, retired_from: int, reason: str, occurred_on: int) -> None:
        self.trigger_event(self.TrustChanged, occurred_on=occurred_on, authority=node_key_id, partner=partner,
                           key_id=key_id(public_key), public_key=public_key, change=TRUST_ROTATED, reason=reason,
                           previous_public_key=previous_public_key, last_size=last_size, retired_from=retired_from)


@dataclass(frozen=True)
class NodeIdentity:
    """Public identity of a node plus, when unlocked, its private keys."""

    state: str
    node_key_id: str
    node_public_key: bytes
    authority_key_ids: dict[str, str]  # kind -> key id
    private_keys: dict[str, Ed25519PrivateKey]  # key id -> private key (empty when locked)
    earlier_node_keys: tuple[bytes, ...] = ()  # raw public node keys before the current one, oldest first

    def authority(self, kind: AuthorityKind) -> Authority:
        """The node's authority of ``kind``."""
        return Authority(key_id=self.authority_key_ids[kind.value], kind=kind, state=self.state)

    @property
    def node_public(self) -> Ed25519PublicKey:
        return public_key_from_bytes(self.node_public_key)

    @property
    def node_keys(self) -> tuple[bytes, ...]:
        """Every node key this node has had (raw), oldest first, the current one last."""
        return (*self.earlier_node_keys, self.node_public_key)


def create_identity(home: Path, state: str, passphrase: str, *,
                    cost: int) -> tuple[NodeIdentity, dict[AuthorityKind, bytes]]:
    """Generate and store the node key and one key per authority kind, sealed at scrypt's N = 2^``cost``.

    Refuses (``NodeExists``) when ``home`` already holds a node. Returns the
    identity and the authority public keys still to be certified in the log.
    """
    home = Path(home)
    if (home / NODE_FILE).exists():
        raise NodeExists(f"{home}: a node exists already; refusing to overwrite it")
    node_key = generate_key()
    save_private_key(home / "keys" / "node.key", node_key, passphrase, cost=cost)
    private = {key_id(node_key): node_key}
    authority_ids: dict[str, str] = {}
    publics: dict[AuthorityKind, bytes] = {}
    for kind in AuthorityKind:
        key = generate_key()
        save_private_key(home / "keys" / f"{kind.value}.key", key, passphrase, cost=cost)
        authority_ids[kind.value] = key_id(key)
        private[key_id(key)] = key
        publics[kind] = public_bytes(key)
    identity = NodeIdentity(state, key_id(node_key), public_bytes(node_key), authority_ids, private)
    _write_document(home, identity)
    return identity, publics


def _write_document(home: Path, identity: NodeIdentity) -> None:
    """Write ``identity``'s node.json whole or not at all (a temporary file renamed over it), mode 0600."""
    document: dict[str, object] = {
        "state": identity.state,
        "node_key_id": identity.node_key_id,
        "node_public_key": identity.node_public_key.hex(),
        "authorities": identity.authority_key_ids,
    }
    if identity.earlier_node_keys:
        document["previous_node_keys"] = [key.hex() for key in identity.earlier_node_keys]
    path = Path(home) / NODE_FILE
    temporary = path.with_suffix(".json.new")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(json.dumps(document, indent=2) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def new_key_file(home: Path, kind: AuthorityKind, key: Ed25519PrivateKey, passphrase: str, *,
                 cost: int) -> Path:
    """Store a new ``kind`` key beside the one in use, named by its key id, before the log certifies it."""
    path = Path(home) / "keys" / f"{kind.value}-{key_id(key)}.key"
    save_private_key(path, key, passphrase, cost=cost)
    return path


def install_authority_key(home: Path, identity: NodeIdentity, kind: AuthorityKind, new_file: Path) -> None:
    """Make the key in ``new_file`` (``new_key_file``) the node's ``kind`` key, once the log certified it.

    The old key file moves to ``keys/old/KIND-KEYID.key`` (kept for the operator to destroy
    or archive, docs/keys.md), the new one takes ``keys/KIND.key``, node.json names it.
    """
    keys = Path(home) / "keys"
    old_id = identity.authority_key_ids[kind.value]
    (keys / "old").mkdir(mode=0o700, exist_ok=True)
    os.replace(keys / f"{kind.value}.key", keys / "old" / f"{kind.value}-{old_id}.key")
    os.replace(new_file, keys / f"{kind.value}.key")
    new_id = new_file.stem.split("-", 1)[1]
    _write_document(home, replace(identity, authority_key_ids={**identity.authority_key_ids, kind.value: new_id}))


def new_node_key_file(home: Path, key: Ed25519PrivateKey, passphrase: str, *, cost: int) -> Path:
    """Store a new node key beside the one in use, named by its key id, before the log announces it."""
    path = Path(home) / "keys" / f"node-{key_id(key)}.key"
    save_private_key(path, key, passphrase, cost=cost)
    return path


def install_node_key(home: Path, identity: NodeIdentity, new_public_key: bytes, new_file: Path) -> None:
    """Make the key in ``new_file`` (``new_node_key_file``) the node key, once the log announced it.

    The old key file moves to ``keys/old/node-KEYID.key``, the new one takes ``keys/node.key``;
    node.json names the new key and keeps the old public key in ``previous_node_keys``.
    """
    keys = Path(home) / "keys"
    (keys / "old").mkdir(mode=0o700, exist_ok=True)
    os.replace(keys / "node.key", keys / "old" / f"node-{identity.node_key_id}.key")
    os.replace(new_file, keys / "node.key")
    _write_document(home, replace(identity, node_key_id=key_id(new_public_key), node_public_key=new_public_key,
                                  earlier_node_keys=(*identity.earlier_node_keys, identity.node_public_key)))


def earlier_node_key(home: Path, node_key_id: str, passphrase: str) -> Ed25519PrivateKey | None:
    """The private key of the earlier node key ``node_key_id``, kept in ``keys/old/`` by ``install_node_key``;
    ``None`` when the operator has destroyed it. Raises ``KeyStoreError`` for a file that holds another key
    or does not open with ``passphrase``."""
    path = Path(home) / "keys" / "old" / f"node-{node_key_id}.key"
    if not path.exists():
        return None
    key = load_private_key(path, passphrase)
    if key_id(key) != node_key_id:
        raise KeyStoreError(f"{path} holds key {key_id(key)}, not {node_key_id}")
    return key


def key_files(home: Path) -> list[Path]:
    """The node's private key files: ``keys/*.key`` and ``keys/old/*.key``."""
    keys = Path(home) / "keys"
    return sorted(keys.glob("*.key")) + sorted((keys / "old").glob("*.key"))


def old_format_key_files(home: Path) -> list[Path]:
    """The key files at ``home`` of the first format (PKCS#8, weak against a stolen file): ``key reseal``
    rewrites them. Only their first line is read; a file that cannot be read is left to the unlocking."""
    old = []
    for path in key_files(home):
        try:
            with path.open("rb") as file:
                if file.read(len(KEY_FILE_MAGIC)) != KEY_FILE_MAGIC:
                    old.append(path)
        except OSError:
            continue
    return old


def old_format_warning(home: Path) -> str | None:
    """A line for the operator when key files at ``home`` are of the first format; None when none is."""
    old = old_format_key_files(home)
    if not old:
        return None
    return (f"warning: {len(old)} key file(s) of the old format (PKCS#8, 2,048 PBKDF2 rounds: weak against a "
            f"stolen file), e.g. {old[0]}: run 'armsledger key reseal' (docs/keys.md)")


def reseal_key_files(home: Path, passphrase: str, *, cost: int) -> dict[Path, bool]:
    """Rewrite every private key file of the node at ``home`` (``keys/`` and ``keys/old/``) sealed at scrypt's
    N = 2^``cost``, where it is of the first format (PKCS#8) or sealed at another cost: per file, whether it was
    rewritten. ``KeyStoreError`` at the first file that does not open with ``passphrase`` (those before it are
    rewritten, each whole: ``ledger.keys.reseal_private_key``)."""
    return {path: reseal_private_key(path, passphrase, cost=cost) for path in key_files(home)}


def load_identity(home: Path, passphrase: str | None) -> NodeIdentity:
    """Read the node at ``home``; unlock its private keys when ``passphrase`` is given.

    Raises ``NodeNotInitialised`` when there is no node.json, ``ConfigurationError`` when
    ``home`` cannot be read as a directory, ``NodeFileDamaged`` naming node.json (or the key
    file) when it is not a node's document or a key file holds another key than node.json names.
    """
    path = Path(home) / NODE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NodeNotInitialised(f"{home}: no node here (run 'armsledger init --state CC')") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigurationError(f"--home {home}: cannot read {NODE_FILE}: {_why(e)}") from None
    identity = _parse_document(path, text)
    if passphrase:
        private: dict[str, Ed25519PrivateKey] = {}
        wanted = {"node": identity.node_key_id, **identity.authority_key_ids}
        for name, wanted_id in wanted.items():
            key_path = Path(home) / "keys" / f"{name}.key"
            key = load_private_key(key_path, passphrase)
            if key_id(key) != wanted_id:
                raise NodeFileDamaged(f"{key_path} holds key {key_id(key)}, but {path} names {wanted_id} for "
                                      f"{name}: the key file or {NODE_FILE} was replaced; restore both from backup")
            private[wanted_id] = key
        identity = replace(identity, private_keys=private)
    return identity


def _parse_document(path: Path, text: str) -> NodeIdentity:
    """node.json's fields, each checked for its type and form; ``NodeFileDamaged`` naming the first bad one."""
    def damaged(what: str) -> NodeFileDamaged:
        return NodeFileDamaged(f"{path} is damaged: {what}; restore it from backup")

    try:
        document = json.loads(text)
    except ValueError as e:
        raise damaged(f"not JSON ({e})") from None
    if not isinstance(document, dict):
        raise damaged("not a JSON object")
    for name in ("state", "node_key_id", "node_public_key", "authorities"):
        if name not in document:
            raise damaged(f'field "{name}" is missing')
    state, node_key_id, public_hex, authorities = (document[n] for n in (
        "state", "node_key_id", "node_public_key", "authorities"))
    if not isinstance(state, str) or not isinstance(node_key_id, str):
        raise damaged('fields "state" and "node_key_id" must be text')
    public = _raw_key(public_hex)
    if len(public) != 32:
        raise damaged('field "node_public_key" is not 64 hexadecimal digits (an Ed25519 public key)')
    if key_id(public) != node_key_id:
        raise damaged(f'field "node_key_id" {node_key_id!r} is not the id of "node_public_key" ({key_id(public)})')
    kinds = {kind.value for kind in AuthorityKind}
    if not (isinstance(authorities, dict) and set(authorities) <= kinds
            and all(isinstance(v, str) for v in authorities.values())):
        raise damaged(f'field "authorities" must map authority kinds ({", ".join(sorted(kinds))}) to key ids')
    return NodeIdentity(state, node_key_id, public, dict(authorities), {},
                        _previous_node_keys(document.get("previous_node_keys", []), damaged))


def _previous_node_keys(value: object, damaged: Callable[[str], NodeFileDamaged]) -> tuple[bytes, ...]:
    """node.json's ``previous_node_keys``: a list of Ed25519 public keys in hexadecimal, oldest first."""
    keys = tuple(_raw_key(item) for item in (value if isinstance(value, list) else [None]))
    if any(len(raw) != 32 for raw in keys):
        raise damaged('field "previous_node_keys" must list Ed25519 public keys, each 64 hexadecimal digits')
    return keys


def _raw_key(value: object) -> bytes:
    """The bytes of a key written in hexadecimal; empty when ``value`` is not hexadecimal text."""
    try:
        return bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        return b""


def _why(error: BaseException) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)
