"""Fixtures of the federation tests: nodes that trust each other, over the in-memory federation.

A module that takes ``fed`` or ``lite`` names its states with a ``federated_states`` fixture.
"""

from __future__ import annotations

import pytest

from memory_federation import MemoryFederation


@pytest.fixture
def memory_federation(tmp_path):
    """``memory_federation(states, on=(state, url), **options)``: a ``MemoryFederation`` of ``states``.

    Each node's log is a SQLite file in ``tmp_path``, except ``state``'s, which is at ``url``
    (a backend under test); ``options`` go to ``MemoryFederation``. All are closed after the test.
    """
    made: list[MemoryFederation] = []

    def make(states, on=None, **options) -> MemoryFederation:
        state, url = on or (None, None)
        made.append(MemoryFederation(tmp_path, lambda s: url if s == state else str(tmp_path / f"{s}.db"), states,
                                     **options))
        return made[-1]

    yield make
    for federation in made:
        federation.close()


@pytest.fixture
def fed(memory_federation, federated_states, db_url):
    """The module's ``federated_states``, the first of them on each backend, the others on SQLite."""
    return memory_federation(federated_states, on=(federated_states[0], db_url))


@pytest.fixture
def lite(memory_federation, federated_states):
    """The module's ``federated_states``, all on SQLite: for checks that read the same records on every backend."""
    return memory_federation(federated_states)
