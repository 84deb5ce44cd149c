"""Signed, chained envelopes of one stream, for tests that store or send partner records; and a partner's
record as the domain reads one, unsigned (``PartnerRecord``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id


def marked_stream(node: str, stream: str, count: int) -> list[Envelope]:
    """Versions 1 to ``count`` of ``stream`` recorded by ``node``: ``Weapon.Marked`` envelopes, each
    chained to the one before (the first to the genesis) and signed by a new key.

    ``recorded_at`` is the version, the body ``{"mark": "M<version>"}``.
    """
    key = generate_key()
    found, prev = [], GENESIS_PREV
    for version in range(1, count + 1):
        envelope = seal(key, node=node, stream=stream, version=version, type="Weapon.Marked", occurred_on=1,
                        recorded_at=version, authority=key_id(key), prev=prev, body={"mark": f"M{version}"})
        found.append(envelope)
        prev = envelope.hash
    return found


@dataclass(frozen=True)
class PartnerRecord:
    """The fields of an envelope that the domain's rules read; ``hash`` is any 32 bytes."""

    node: str
    stream: str
    version: int
    type: str
    occurred_on: int = 0
    recorded_at: int = 0
    authority: str = "partner-key"
    body: dict[str, Any] = field(default_factory=dict)
    hash: bytes = b"\x01" * 32
