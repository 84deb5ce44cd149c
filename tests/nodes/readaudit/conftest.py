"""Fixtures of the read-audit tests: a node identity (unlocked and locked) and officers."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.keys import generate_key, key_id, public_bytes
from nodes.registry.identity import NodeIdentity


@pytest.fixture(scope="session")
def identity() -> NodeIdentity:
    """An unlocked BE node identity (node key only: the read audit needs no other)."""
    key = generate_key()
    return NodeIdentity(state="BE", node_key_id=key_id(key), node_public_key=public_bytes(key),
                        authority_key_ids={}, private_keys={key_id(key): key})


@pytest.fixture(scope="session")
def locked(identity) -> NodeIdentity:
    """The same identity without its private keys, as a CLI read opens it."""
    return dataclasses.replace(identity, private_keys={})


class Clock:
    """µs since the epoch, one second later at each call unless set."""

    def __init__(self, start: int = 1_700_000_000_000_000):
        self.now = start

    def __call__(self) -> int:
        self.now += 1_000_000
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
