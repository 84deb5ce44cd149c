"""Signing imported rows: ``RowSigner`` turns rows into sealed envelopes, ``signed_batches`` runs it on workers.

``cryptography`` holds the GIL while it signs, so a file of more than one batch
is signed on worker processes started by ``nodes.workers.start_pool``; the signer
is pickled to them with the raw private keys it needs, in memory only.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.authority import Authority, AuthorityKind
from domain.marking import Marking
from domain.weapon import Weapon
from ledger.envelope import GENESIS_PREV, Envelope, seal
from nodes.errors import ConfigurationError
from nodes.migration.reader import Row
from nodes.migration.report import RowError
from nodes.migration.row_rules import RowRefused, weapon_of
from nodes.registry.mapper import (
    _NOT_IN_BODY as NOT_IN_BODY,  # the mapper's convention, shared
    to_microseconds,
)
from nodes.workers import start_pool

if TYPE_CHECKING:
    from nodes.registry.identity import NodeIdentity

T = TypeVar("T")


@dataclass(frozen=True)
class SignedRow:
    """A valid row: its weapon id (16 bytes) and signed records (version, type, envelope bytes).

    Plain values, so that worker processes hand rows back cheaply.
    """

    line: int
    weapon_id: bytes
    records: tuple[tuple[int, str, bytes], ...]

    @property
    def marking_key(self) -> str:
        marking = Envelope.from_bytes(self.records[0][2]).body["marking"]
        return Marking(marking["manufacturer"], marking["country"], marking["serial"]).key


class RowSigner:
    """Turns rows into signed records: the row rules validate, the mapper's conventions seal.

    Picklable so worker processes can sign: it carries the raw private keys of
    the node's authorities, in memory only (never store an instance).
    """

    def __init__(self, state: str, authorities: dict[AuthorityKind, Authority], private_keys: dict[str, bytes]):
        self.state = state
        self.authorities = authorities
        self._raw_keys = private_keys
        self._keys = {k: Ed25519PrivateKey.from_private_bytes(raw) for k, raw in private_keys.items()}

    @classmethod
    def for_identity(cls, identity: NodeIdentity) -> RowSigner:
        """Signer for a node identity; ``ConfigurationError`` if its keys are locked."""
        authorities = {kind: identity.authority(kind) for kind in (AuthorityKind.REGISTRY, AuthorityKind.LICENSING)}
        try:
            keys = {a.key_id: identity.private_keys[a.key_id].private_bytes_raw() for a in authorities.values()}
        except KeyError:
            raise ConfigurationError("the node is locked: set ARMSLEDGER_PASSPHRASE to sign imported records") from None
        return cls(identity.state, authorities, keys)

    def __getstate__(self) -> dict[str, Any]:
        return {"state": self.state, "authorities": self.authorities, "private_keys": self._raw_keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def sign_batch(self, rows: Sequence[Row]) -> list[SignedRow | RowError]:
        """Validate and sign each row; a refused row becomes its ``RowError``."""
        signed: list[SignedRow | RowError] = []
        for line, row in rows:
            if isinstance(row, RowError):
                signed.append(row)
                continue
            try:
                weapon = weapon_of(row, state=self.state, authorities=self.authorities)
            except RowRefused as refusal:
                signed.append(RowError(line, refusal.field, refusal.reason))
                continue
            signed.append(SignedRow(line, weapon.id.bytes, self.sealed(weapon)))
        return signed

    def sealed(self, weapon: Weapon) -> tuple[tuple[int, str, bytes], ...]:
        """A new weapon's pending events as stored records (version, type, envelope bytes).

        Exactly what ``EnvelopeMapper.to_stored_event`` makes of them (same
        header, body and topic), in one pass: a new stream's ``prev`` is the
        previous envelope in hand, so the mapper's hash cache and its lock are
        not needed (measured: about a fifth of the signing time).
        """
        records = []
        prev = GENESIS_PREV
        for event in cast("Sequence[Weapon.Event]", weapon.collect_events()):
            fields = vars(event)
            envelope = seal(
                self._keys[fields["authority"]],
                node=self.state,
                stream=str(fields["originator_id"]),
                version=fields["originator_version"],
                type=type(event).TOPIC,
                occurred_on=fields["occurred_on"],
                recorded_at=to_microseconds(fields["timestamp"]),
                authority=fields["authority"],
                prev=prev,
                body={k: v for k, v in fields.items() if k not in NOT_IN_BODY},
            )
            records.append((envelope.version, envelope.type, envelope.to_bytes()))
            prev = envelope.hash
        return tuple(records)


def signed_batches(rows: Iterable[Row], signer: RowSigner, batch_size: int,
                   workers: int) -> Iterator[list[SignedRow | RowError]]:
    """Sign ``rows`` batch by batch, yielding the batches in file order.

    Requires ``batch_size >= 1``. Signs in ``workers`` processes when there is
    more than one batch (starting processes costs more than one batch); in
    this process when ``workers < 1``. A failure in a worker is raised here; batches not yet
    signed are then cancelled.
    """
    batches = _chunks(rows, batch_size)
    head = list(itertools.islice(batches, 2))
    if workers < 1 or len(head) < 2:
        for batch in itertools.chain(head, batches):
            yield signer.sign_batch(batch)
        return
    pool = start_pool(workers)
    try:
        in_flight: list[Future[list[SignedRow | RowError]]] = [pool.submit(signer.sign_batch, batch)
                                                                for batch in head]
        for batch in batches:
            # Bounded look-ahead keeps memory flat while both cores stay busy.
            while len(in_flight) >= 2 * workers:
                yield in_flight.pop(0).result()
            in_flight.append(pool.submit(signer.sign_batch, batch))
        while in_flight:
            yield in_flight.pop(0).result()
    finally:
        pool.shutdown(cancel_futures=True)  # after a failure, do not sign what will not be written


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
