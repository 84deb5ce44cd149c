"""``armsledger verify`` applies the one acceptance rule to its own log and to the partner records it holds.

Each test makes one kind of record that the rule refuses (a permission the signer's
kind lacks, a received record edited in the inbox table, a topic column that is not
the signed type) and expects ``verify`` to exit 1 naming the record. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from domain.marking import Marking
from ledger.envelope import Envelope
from nodes.bootstrap import init_node, open_node
from nodes.cli.main import main
from nodes.federation.inbox import received_stream_id
from nodes.federation.ingest import Ingest
from nodes.federation.relay import Relay
from nodes.federation.trust import trust_each_other
from nodes.settings import Settings

from insider import row_id, sql, swap_signing_keys
from memory_transport import MemoryTransport

PASSPHRASE = "pw"


def verify_cli(capsys, node) -> tuple[int, dict, str]:
    """``armsledger verify --json`` in-process: exit code, report, stderr."""
    capsys.readouterr()
    code = main(["--home", str(node.settings.home), "--db", node.settings.db, "verify", "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def named(document: dict, kind: str) -> set[tuple]:
    return {(p["partner"], p["stream"], p["version"]) for p in document["problems"] if p["kind"] == kind}


def manufacture(node, serial: str) -> str:
    return str(node.registry.manufacture(
        marking=Marking.read("FN Herstal", node.identity.state, serial), type="pistol", make="FN",
        model="Five-seveN", calibre="5.7x28", year=2020, holder="FN Herstal", occurred_on=int(time.time()) - 3600))


@pytest.fixture
def partners(tmp_path, db_url):
    """BE (SQLite) and NL (``db_url``), trusting each other; NL has received BE's theft reports."""
    be = init_node(Settings.load(environ={}, home=tmp_path / "be", db=str(tmp_path / "be.db"),
                                 passphrase=PASSPHRASE), "BE")
    nl = init_node(Settings.load(environ={}, home=tmp_path / "nl", db=db_url, passphrase=PASSPHRASE), "NL")
    trust_each_other([be, nl])  # recorded in each node's log, as 'trust add' does
    stolen = []
    for serial in ("S-1", "S-2"):
        weapon = manufacture(be, serial)
        be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
        stolen.append(weapon)
    transport = MemoryTransport()
    Relay(be, transport, be.inbox).relay()
    messages = transport.published("NL")
    report = Ingest(nl, MemoryTransport(), nl.inbox, lambda state, items: None).process(
        [(offset, key, value) for offset, (key, value) in enumerate(messages)])
    assert len(report.accepted) == 6 + 2 and report.quarantined == 0
    yield be, nl, stolen
    be.close()
    nl.close()


def test_a_node_with_partner_records_verifies(partners, capsys):
    _, nl, _ = partners
    code, document, _ = verify_cli(capsys, nl)
    assert (code, document["ok"], document["problems"]) == (0, True, [])
    assert document["received_checked"] == 8


def test_a_record_signed_by_a_kind_that_may_not_make_it_fails_verify(tmp_path, db_url, capsys):
    """Swap the licensing and police key ids of an open node: the police key now signs a manufacture."""
    settings = Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE)
    init_node(settings, "BE").close()
    with open_node(settings) as node:
        swap_signing_keys(node, "licensing", "police")
        weapon = manufacture(node, "P-1")
        node.sealer.seal()
        code, report, err = verify_cli(capsys, node)
    assert code == 1 and report["ok"] is False
    assert named(report, "permission") == {(None, weapon, 1)}
    assert f"stream {weapon} version 1" in err and "police authority may not record Weapon.Manufactured" in err


def test_an_edited_partner_record_in_the_inbox_fails_verify(partners, capsys):
    _, nl, stolen = partners
    table, stream = nl.inbox.recorder.events_table_name, received_stream_id("BE", stolen[0])
    db = nl.settings.db
    (state,), = sql(db, f"SELECT state FROM {table} WHERE originator_id = ? AND originator_version = 2",
                    row_id(db, stream))
    envelope = Envelope.from_bytes(bytes(state))
    edited = replace(envelope, body=dict(envelope.body) | {"place": "Brussels"})  # the signature is the old one
    sql(db, f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = 2",
        edited.to_bytes(), row_id(db, stream))
    code, report, err = verify_cli(capsys, nl)
    assert code == 1
    assert named(report, "signature") == {("BE", stolen[0], 2)}
    assert f"received from BE stream {stolen[0]} version 2" in err


def test_an_edited_topic_column_of_a_partner_record_fails_verify(partners, capsys):
    _, nl, stolen = partners
    table, stream = nl.inbox.recorder.events_table_name, received_stream_id("BE", stolen[1])
    db = nl.settings.db
    sql(db, f"UPDATE {table} SET topic = 'Weapon.Destroyed' WHERE originator_id = ? AND originator_version = 2",
        row_id(db, stream))
    code, report, _ = verify_cli(capsys, nl)
    assert code == 1
    assert named(report, "misfiled") == {("BE", stolen[1], 2)}
    assert "topic 'Weapon.Destroyed'" in report["problems"][0]["reason"]


def test_an_edited_topic_column_of_an_own_record_fails_verify(partners, capsys):
    be, _, stolen = partners
    table = be.registry.recorder.events_table_name
    db = be.settings.db
    sql(db, f"UPDATE {table} SET topic = 'Weapon.Transferred' WHERE originator_id = ? AND originator_version = 1",
        row_id(db, stolen[0]))
    code, report, err = verify_cli(capsys, be)
    assert code == 1
    assert named(report, "misfiled") == {(None, stolen[0], 1)}
    assert f"stream {stolen[0]} version 1" in err



def test_worker_processes_find_what_this_process_finds(partners):
    from nodes.registry.verify import verify_store

    _, nl, stolen = partners
    table, stream = nl.inbox.recorder.events_table_name, received_stream_id("BE", stolen[0])
    sql(nl.settings.db, f"UPDATE {table} SET topic = 'Weapon.Destroyed' WHERE originator_id = ? "
        "AND originator_version = 2", row_id(nl.settings.db, stream))
    here, pooled = verify_store(nl, workers=1), verify_store(nl, workers=2)
    assert pooled == here and not here.ok and here.received_checked == 8


def test_an_edited_partner_checkpoint_fails_verify(partners, capsys):
    from nodes.federation.inbox_records import checkpoints_stream_id

    _, nl, _ = partners
    table, db = nl.inbox.recorder.events_table_name, nl.settings.db
    [kept] = nl.inbox.partner_checkpoints("BE")
    forged = replace(kept, root=bytes(32))  # the signature is the old one
    sql(db, f"UPDATE {table} SET state = ? WHERE originator_id = ?", forged.to_bytes(),
        row_id(db, checkpoints_stream_id("BE")))
    code, report, _ = verify_cli(capsys, nl)
    assert code == 1
    assert [p["kind"] for p in report["problems"]] == ["checkpoint"]
