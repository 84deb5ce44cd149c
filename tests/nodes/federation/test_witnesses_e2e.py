"""``verify --witnesses`` over the real broker: a partner running its node answers which checkpoint of
ours it holds, so a log truncated behind the node, or re-sealed after its checkpoint and leaf tables
were emptied, fails wherever a witness has seen more, even when every local trace was removed too.
A partner that does not answer is named, and is no failure by itself."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from nodes.bootstrap import open_node
from nodes.federation.inbox import COSIGNATURE, Cosignature
from nodes.federation.sync import run as run_node
from nodes.federation.witness import witness_status
from nodes.registry.sealed_mark import MARK_FILE
from nodes.registry.sealer import CHECKPOINTS_TABLE, LEAVES_TABLE

from federation_nodes import Cluster, manufacture
from inprocess_cli import Cli
from insider import events_table, sql

#: Long enough for a running partner to answer on a shared machine; DE never answers, so a
#: ``verify --witnesses`` with DE in the cluster waits this long (without DE it ends at NL's answer).
ANSWER_TIMEOUT = "8"

#: A test marked so runs with DE, a partner that BE trusts but that never runs.
with_silent_partner = pytest.mark.silent_partner


@pytest.fixture
def cluster(tmp_path, kafka_bootstrap, db_url, monkeypatch, request):
    # BE (the node verified) on the backend under test; NL runs its node; DE (if marked) is trusted but never runs.
    states = ["BE", "NL", "DE"] if request.node.get_closest_marker("silent_partner") else ["BE", "NL"]
    with Cluster(tmp_path, kafka_bootstrap, states, db={"BE": db_url}) as cluster:
        monkeypatch.setenv("ARMSLEDGER_KAFKA", cluster.bootstrap)
        monkeypatch.setenv("ARMSLEDGER_TOPIC_PREFIX", cluster.prefix)
        be = cluster["BE"]
        for serial in ("W-1", "W-2"):
            manufacture(be, serial)
        cluster.settle("BE", "NL")
        for serial in ("W-3", "W-4"):
            manufacture(be, serial)
        cluster.settle("BE", "NL")
        stop = threading.Event()
        nl = threading.Thread(target=run_node, args=(cluster["NL"], cluster.transports["NL"], stop))
        nl.start()
        try:
            yield cluster
        finally:
            stop.set()
            nl.join(timeout=60)


def verify(cluster: Cluster, capsys, *options: str):
    be = cluster["BE"]
    return Cli(capsys, be.settings.home, be.settings.db)("verify", "--json", *options)


def remove_every_local_trace_above(cluster: Cluster, size: int) -> None:
    """What an insider with the database and the node's home does to hide records past ``size``: the
    records, their checkpoint and leaf rows, the partners' cosignatures kept in the inbox, the sealer's mark."""
    be = cluster["BE"]
    db = be.settings.db
    position = "notification_id" if db.startswith("postgresql://") else "rowid"
    table = events_table(db)
    [(first_gone,)] = sql(db, f"SELECT {position} FROM {table} ORDER BY {position} LIMIT 1 OFFSET ?", size)
    sql(db, f"DELETE FROM {table} WHERE {position} >= ?", first_gone)
    sql(db, f"DELETE FROM {CHECKPOINTS_TABLE} WHERE size > ?", size)
    sql(db, f"DELETE FROM {LEAVES_TABLE} WHERE leaf_index >= ?", size)
    sql(db, "DELETE FROM inbox_events WHERE topic = ?", COSIGNATURE)
    (be.settings.home / MARK_FILE).unlink()


@with_silent_partner
def test_witness_status_shows_what_each_partner_cosigned_and_verify_names_a_silent_one(cluster, capsys):
    be = cluster["BE"]
    newest = be.sealer.latest_checkpoint()
    rows = {row["witness"]: row for row in witness_status(be)}
    assert rows["NL"]["size"] == newest.size and rows["NL"]["root"] == newest.root.hex()
    assert rows["NL"]["cosigned_at"] > 0
    assert rows["DE"]["size"] is None and rows["DE"]["cosigned_at"] is None
    shown = Cli(capsys, be.settings.home, be.settings.db)("witness", "status")
    assert shown.code == 0
    lines = {line.split()[0]: line for line in shown.out.splitlines()[1:]}
    assert str(newest.size) in lines["NL"] and "never" in lines["DE"]

    honest = verify(cluster, capsys, "--witnesses", "--timeout", ANSWER_TIMEOUT)
    assert honest.code == 0, honest.err
    assert honest.json()["witnesses"]["silent"] == ["DE"]  # named, and not a failure


def test_a_truncated_log_fails_verify_with_witnesses_naming_the_partner_and_sizes(cluster, capsys):
    be = cluster["BE"]
    first, *_, newest = be.sealer.checkpoints()
    honest = verify(cluster, capsys, "--witnesses", "--timeout", ANSWER_TIMEOUT)
    assert honest.code == 0, honest.err
    assert honest.json()["witnesses"]["held"]["NL"]["size"] == newest.size
    assert honest.json()["witnesses"]["silent"] == []

    remove_every_local_trace_above(cluster, first.size)
    assert verify(cluster, capsys).code == 0  # nothing left in the node itself tells

    caught = verify(cluster, capsys, "--witnesses", "--timeout", ANSWER_TIMEOUT)
    assert caught.code == 1
    assert f"NL holds our checkpoint at size {newest.size} but the log holds only {first.size} records" in caught.err


def test_a_log_resealed_after_its_tables_were_emptied_fails_verify_with_witnesses(cluster, capsys):
    be = cluster["BE"]
    first, *_, newest = be.sealer.checkpoints()
    remove_every_local_trace_above(cluster, first.size)
    sql(be.settings.db, f"DELETE FROM {CHECKPOINTS_TABLE}")
    sql(be.settings.db, f"DELETE FROM {LEAVES_TABLE}")
    # The next writes are sealed from size 0, as if nothing had been sealed before.
    settings = be.settings
    be.close()
    be = cluster.nodes["BE"] = open_node(settings)
    for serial in ("X-1", "X-2", "X-3", "X-4"):
        manufacture(be, serial)
    resealed = be.sealer.seal()
    assert resealed.size >= newest.size
    assert verify(cluster, capsys).code == 0  # the attack: a plain verify says "ok"

    caught = verify(cluster, capsys, "--witnesses", "--timeout", ANSWER_TIMEOUT)
    assert caught.code == 1
    assert f"NL holds our checkpoint at size {newest.size} with root {newest.root.hex()}" in caught.err


def test_a_stored_cosignature_altered_behind_the_node_is_named_by_verify(cluster, capsys):
    be = cluster["BE"]
    db = be.settings.db
    [(state,), *_] = sql(db, "SELECT state FROM inbox_events WHERE topic = ?", COSIGNATURE)
    kept = Cosignature.from_bytes(bytes(state))
    forged = replace(kept, sig=bytes(64))
    sql(db, "UPDATE inbox_events SET state = ? WHERE state = ?", forged.to_bytes(), bytes(state))
    result = verify(cluster, capsys)
    assert result.code == 1
    assert f"a stored cosignature by {kept.witness}: {kept.witness}'s cosignature does not verify" in result.err
