"""Signed, chained envelopes of one stream, for tests that store or send partner records."""

from __future__ import annotations

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
