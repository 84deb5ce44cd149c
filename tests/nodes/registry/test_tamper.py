"""Hand edits of the real database (SQL behind the node's back) are caught by ``verify_store``.

Each test builds a small store through the registry, seals it, changes the
database directly as an insider with SQL access would, and expects the audit
to fail naming the stream and version. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pytest

from domain.marking import Marking
from ledger.audit import ProblemKind
from ledger.envelope import Envelope
from nodes.bootstrap import init_node, open_node
from nodes.registry.sealer import CHECKPOINTS_TABLE, LEAVES_TABLE
from nodes.registry.verify import verify_store
from nodes.settings import Settings

from insider import row_id, sql


@dataclass
class Store:
    node: object
    db: str
    w1: str
    w2: str
    w3: str

    @property
    def events_table(self) -> str:
        return self.node.registry.recorder.events_table_name

    def sql(self, statement: str, *params) -> list:
        """Run ``statement`` (with ``?`` placeholders) on the database itself, outside the node."""
        return sql(self.db, statement, *params)

    def row_id(self, stream: str):
        return row_id(self.db, stream)

    def state(self, stream: str, version: int) -> bytes:
        rows = self.sql(f"SELECT state FROM {self.events_table} WHERE originator_id = ? AND originator_version = ?",
                        self.row_id(stream), version)
        return bytes(rows[0][0])

    def set_state(self, stream: str, version: int, state: bytes) -> None:
        self.sql(f"UPDATE {self.events_table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                 state, self.row_id(stream), version)

    def delete(self, stream: str, version: int) -> None:
        self.sql(f"DELETE FROM {self.events_table} WHERE originator_id = ? AND originator_version = ?",
                 self.row_id(stream), version)


@pytest.fixture
def store(db_url, tmp_path):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    now = int(time.time()) - 3600
    ids = []
    for serial in ("A1", "A2", "A3"):
        ids.append(str(node.registry.manufacture(
            marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN", model="Five-seveN",
            calibre="5.7x28", year=2020, holder="FN Herstal", occurred_on=now)))
    w1, w2, w3 = ids
    for weapon, mark in ((w1, "M1"), (w2, "M2"), (w1, "M3")):
        node.registry.record("mark", by="police", weapon_id=weapon, mark=mark, reason="inspection",
                             occurred_on=now)
    assert node.sealer.seal() is not None
    yield Store(node, db_url, w1, w2, w3)
    node.close()


def problems(report, kind: ProblemKind) -> set[tuple[str | None, int | None]]:
    return {(p.stream, p.version) for p in report.problems if p.kind is kind}


def test_a_clean_store_verifies(store):
    report = verify_store(store.node)
    assert report.ok, report.problems
    # RegisterOpened + 5 certificates, 3 manufactures, 3 marks.
    assert report.events_checked == report.checkpoint_size == 12
    assert report.streams_checked == 4


def test_a_locked_node_verifies_without_the_passphrase(store):
    settings = store.node.settings
    with open_node(replace(settings, passphrase=""), unlock=False) as locked:
        assert locked.identity.private_keys == {}
        assert verify_store(locked).ok


def test_an_edited_event_state_is_caught(store):
    envelope = Envelope.from_bytes(store.state(store.w1, 2))
    store.set_state(store.w1, 2, replace(envelope, body=dict(envelope.body) | {"mark": "EDITED"}).to_bytes())
    report = verify_store(store.node)
    assert not report.ok
    assert (store.w1, 2) in problems(report, ProblemKind.SIGNATURE)
    assert (store.w1, 2) in problems(report, ProblemKind.ALTERED)


def test_a_state_overwritten_with_garbage_is_caught(store):
    store.set_state(store.w2, 1, b"not an envelope")
    report = verify_store(store.node)
    assert (store.w2, 1) in problems(report, ProblemKind.ENCODING)


def test_a_deleted_row_in_the_middle_of_a_stream_is_caught(store):
    store.delete(store.w1, 2)
    report = verify_store(store.node)
    assert not report.ok
    assert (store.w1, 3) in problems(report, ProblemKind.CHAIN)
    assert (store.w1, 2) in problems(report, ProblemKind.DELETED)


def test_a_deleted_newest_row_of_a_stream_is_caught(store):
    store.delete(store.w2, 2)
    report = verify_store(store.node)
    assert not report.ok
    assert problems(report, ProblemKind.CHAIN) == set()  # the chain alone cannot see it
    assert (store.w2, 2) in problems(report, ProblemKind.DELETED)


def test_the_newest_row_of_the_log_deleted_is_caught(store):
    store.delete(store.w1, 3)
    report = verify_store(store.node)
    assert (store.w1, 3) in problems(report, ProblemKind.DELETED)
    assert report.events_checked == report.checkpoint_size - 1


def test_two_rows_with_swapped_states_are_caught(store):
    first, second = store.state(store.w1, 1), store.state(store.w2, 1)
    store.set_state(store.w1, 1, second)
    store.set_state(store.w2, 1, first)
    report = verify_store(store.node)
    assert not report.ok
    assert problems(report, ProblemKind.MISFILED) == {(store.w1, 1), (store.w2, 1)}


def test_swapped_versions_of_one_stream_are_caught(store):
    first, second = store.state(store.w1, 1), store.state(store.w1, 2)
    store.set_state(store.w1, 1, second)
    store.set_state(store.w1, 2, first)
    report = verify_store(store.node)
    assert problems(report, ProblemKind.MISFILED) == {(store.w1, 1), (store.w1, 2)}
    assert (store.w1, 1) in problems(report, ProblemKind.CHAIN)


@pytest.mark.parametrize("column", ["root", "sig", "bytes"])
def test_an_edited_checkpoint_row_is_caught(store, column):
    (size, value), = store.sql(f"SELECT size, {column} FROM {CHECKPOINTS_TABLE}")
    value = bytes(value)
    edited = value[:-1] + bytes([value[-1] ^ 1])
    store.sql(f"UPDATE {CHECKPOINTS_TABLE} SET {column} = ? WHERE size = ?", edited, size)
    report = verify_store(store.node)
    assert not report.ok
    assert ProblemKind.CHECKPOINT in {p.kind for p in report.problems}


def test_an_edited_leaf_index_is_caught(store):
    store.sql(f"UPDATE {LEAVES_TABLE} SET envelope_hash = ? WHERE leaf_index = 3", bytes(32))
    report = verify_store(store.node)
    assert {p.kind for p in report.problems} == {ProblemKind.INDEX}


def test_the_sealer_refuses_to_seal_over_a_tampered_log(store):
    from ledger.errors import CheckpointError

    store.delete(store.w2, 2)
    store.node.registry.record("mark", by="police", weapon_id=store.w3, mark="M4", reason="inspection",
                               occurred_on=int(time.time()) - 60)
    # A fresh sealer, as after a restart, rebuilds from the leaf index and
    # follows the log from where it stopped: the new checkpoint would be
    # consistent with the old one; the audit still names the deletion.
    checkpoint = store.node.sealer.seal()
    assert checkpoint is not None
    report = verify_store(store.node)
    assert (store.w2, 2) in problems(report, ProblemKind.DELETED)
    # A restarted sealer whose leaf index was wiped cannot rebuild the signed
    # roots, and refuses to sign anything.
    from nodes.registry.sealer import Sealer

    store.sql(f"DELETE FROM {LEAVES_TABLE}")
    with pytest.raises(CheckpointError):
        Sealer(store.node.registry, store.node.identity).seal()


def _fields_reordered(fields: dict) -> dict:
    return dict(reversed(fields.items()))


def _body_not_a_map(fields: dict) -> dict:
    return {**fields, "body": 5}


@pytest.mark.parametrize("damage", [_fields_reordered, _body_not_a_map], ids=["fields-reordered", "body-not-a-map"])
def test_a_row_not_in_canonical_form_is_compared_with_the_views_as_each_row_parsed_finds(store, damage):
    # The views' comparison decodes rows on the log audit's word that each is a canonical envelope; this one is
    # not, which the audit finds, and the comparison is made again by the parser (``compare_views`` without
    # ``canonical_known``), whose words verify reports, whatever the decoded comparison found or raised.
    import msgpack

    from projections.compare import compare_views

    store.node.views.catch_up(store.node.registry)
    fields = msgpack.unpackb(store.state(store.w1, 2), raw=False)
    store.set_state(store.w1, 2, msgpack.packb(damage(fields), use_bin_type=True))
    report = verify_store(store.node)
    assert (store.w1, 2) in problems(report, ProblemKind.ENCODING)
    parsed = [str(mismatch) for mismatch in compare_views(store.node.views, store.node.registry)]
    assert [p.reason for p in report.problems if p.kind is ProblemKind.PROJECTION] == parsed
    try:
        decoded = [str(m) for m in compare_views(store.node.views, store.node.registry, canonical_known=True)]
    except AttributeError:
        decoded = None
    assert decoded != parsed
