"""What the group committer's writer keeps between batches, and when a stream read ahead of it still holds."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID, uuid4

from nodes.registry.staging import CommittedStreams


def event(stream: UUID, version: int) -> SimpleNamespace:
    return SimpleNamespace(originator_id=stream, originator_version=version)


def test_a_stream_read_ahead_holds_until_a_commit_of_it_lands_or_everything_is_forgotten():
    kept = CommittedStreams()
    kept.forget()
    kept._position = 10  # as after the writer's check of the log's last position
    weapon, other = uuid4(), uuid4()
    before = kept.landings
    assert kept.unchanged_since(weapon, before)
    assert kept.stored([event(other, 2)], [11]) == frozenset()  # a commit of another stream
    assert kept.unchanged_since(weapon, before) and not kept.unchanged_since(other, before)
    assert kept.stored([event(weapon, 3), event(other, 3)], [12, 13]) == frozenset()
    assert not kept.unchanged_since(weapon, before)
    after = kept.landings
    assert kept.unchanged_since(weapon, after)
    assert kept.stored([event(other, 4)], [15]) is None  # not following, no log to ask: all is forgotten
    assert not kept.unchanged_since(weapon, after) and not kept.unchanged_since(other, after)


def test_a_read_older_than_the_landings_remembered_does_not_hold():
    kept = CommittedStreams()
    kept.forget()
    kept._position = 0
    weapon = uuid4()
    before = kept.landings
    for position in range(1, CommittedStreams.LANDINGS_KEPT + 2):
        assert kept.stored([event(uuid4(), 2)], [position]) == frozenset()  # streams it does not keep
    assert not kept.unchanged_since(weapon, before)  # nothing of it touched, but no longer known
    assert kept.unchanged_since(weapon, kept.landings - CommittedStreams.LANDINGS_KEPT + 1)
