"""The hostile corpus (tests/support/corpus_cases.py): every case ends as the project demands.

Partner records and wire messages are fed to a fresh NL through its real sync
(in-memory broker); stored-table and file damage and CLI values go through the
``armsledger`` command in-process on a copy of a node that holds its own records
and a partner's. No case may end in exit 4 (a traceback) or stop ingest.
SQLite only: the database cases edit SQLite's layout (rowid); the backends'
own tamper tests run on both.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from corpus_cases import (
    ACCEPTED,
    CHECKPOINTS,
    CLI_LIMITS,
    FILES,
    HOMES,
    OPERATOR_CLI,
    OPERATOR_STORED,
    OVERSIZED,
    PARTNER_RECORDS,
    QUARANTINED,
    STORED,
    WIRE,
)
from corpus_forge import PASSPHRASE, PartnerForge, manufacture_with_records, new_node

from nodes.cli.main import main

from memory_transport import MemoryTransport

EXIT_INTERNAL = 4


@pytest.fixture
def forge(tmp_path):
    be, nl = new_node(tmp_path / "be", "BE"), new_node(tmp_path / "nl", "NL")
    yield PartnerForge(be, nl, MemoryTransport())
    nl.close()
    be.close()


def entries(forge: PartnerForge) -> list[dict]:
    return forge.nl.inbox.quarantined()


def assert_ingest_goes_on(forge: PartnerForge) -> None:
    """A valid record sent after the hostile one is accepted, by this sync and by the next."""
    for _ in range(2):
        data = forge.deliver(forge.fields())
        forge.sync()
        assert forge.received(data), "ingest stopped: a valid record sent afterwards was not accepted"


@pytest.mark.parametrize(("overrides", "expected"), [c[1:] for c in PARTNER_RECORDS],
                         ids=[c[0] for c in PARTNER_RECORDS])
def test_partner_record(forge, overrides, expected):
    before = len(entries(forge))
    data = forge.deliver(forge.fields(**overrides))
    forge.sync()
    if expected == ACCEPTED:
        assert forge.received(data)
        assert len(entries(forge)) == before
    else:
        assert not forge.received(data), "a hostile record was accepted"
        assert len(entries(forge)) > before, "the hostile record is not in the quarantine"
        assert all(e["reason"] for e in entries(forge))
    assert_ingest_goes_on(forge)


@pytest.mark.parametrize(("overrides", "previous_size", "expected"), [c[1:] for c in CHECKPOINTS],
                         ids=[c[0] for c in CHECKPOINTS])
def test_partner_checkpoint(forge, overrides, previous_size, expected):
    assert expected == QUARANTINED
    kept = forge.nl.inbox.partner_checkpoints("BE")
    before = len(entries(forge))
    forge.deliver_checkpoint(previous_size, **overrides)
    forge.sync()
    assert len(entries(forge)) > before, "the checkpoint is not in the quarantine"
    assert forge.nl.inbox.partner_checkpoints("BE") == kept
    assert_ingest_goes_on(forge)


@pytest.mark.parametrize(("key", "value", "expected"), [c[1:] for c in WIRE], ids=[c[0] for c in WIRE])
def test_wire_message(forge, key, value, expected):
    before, stored = len(entries(forge)), forge.stored_bytes()
    forge.publish([(key, value)])
    forge.sync()
    new = entries(forge)[before:]
    assert new, "the message is not in the quarantine"
    if expected == OVERSIZED:
        assert forge.stored_bytes() - stored < 64 * 1024, "an oversized message was stored whole"
    else:
        assert expected == QUARANTINED
    assert_ingest_goes_on(forge)


# --- the node's store, files and command line --------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """NL's home holding its own weapon (three records) and BE's certificates; the weapon and its 2nd position."""
    root = tmp_path_factory.mktemp("corpus-node")
    be, nl = new_node(root / "be", "BE"), new_node(root / "nl", "NL")
    forge = PartnerForge(be, nl, MemoryTransport())
    forge.deliver(forge.fields())
    forge.sync()
    weapon, position = manufacture_with_records(nl)
    nl.settle()
    nl.close()
    be.close()
    return root / "nl", weapon, position


class NodeCopy:
    """A copy of the template node, and ``armsledger`` run on it in-process."""

    def __init__(self, template, tmp_path, capsys, monkeypatch):
        home, self.weapon, self.position = template
        self.home = tmp_path / "nl"
        shutil.copytree(home, self.home)
        self.db = str(self.home / "ledger.db")
        self.capsys = capsys
        monkeypatch.setenv("ARMSLEDGER_PASSPHRASE", PASSPHRASE)
        for name in ("ARMSLEDGER_HOME", "ARMSLEDGER_DB", "ARMSLEDGER_KAFKA"):
            monkeypatch.delenv(name, raising=False)

    def fill(self, text: str) -> str:
        return text.format(w=self.weapon, pos=self.position, events="stored_events", inbox="inbox_events",
                           w_hex=self.weapon.replace("-", ""))

    def run(self, *argv: str, home: str | None = None) -> tuple[int, str]:
        self.capsys.readouterr()
        code = main(["--home", home or str(self.home), "--db", self.db, *(self.fill(a) for a in argv)])
        err = self.capsys.readouterr().err
        assert code != EXIT_INTERNAL and "Traceback" not in err, err
        return code, err

    def sql(self, statement: str) -> None:
        connection = sqlite3.connect(self.db, isolation_level=None)
        try:
            connection.execute(self.fill(statement))
        finally:
            connection.close()

    def rows(self) -> int:
        connection = sqlite3.connect(self.db)
        try:
            return sum(connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                       for t in ("stored_events", "armsledger_leaves"))
        finally:
            connection.close()


@pytest.fixture
def node(template, tmp_path, capsys, monkeypatch):
    return NodeCopy(template, tmp_path, capsys, monkeypatch)


def test_the_untouched_node_verifies(node):
    code, err = node.run("verify")
    assert code == 0, err


@pytest.mark.parametrize(("statement", "command", "expected"), [c[2:] for c in STORED + OPERATOR_STORED],
                         ids=[c[0] for c in STORED + OPERATOR_STORED])
def test_damaged_row(node, statement, command, expected):
    node.sql(statement)
    code, err = node.run(*command)
    assert code == expected, err


def damage_file(node: NodeCopy, damage: str) -> None:
    """``path:what``: garbage, empty, list, delete, directory, -field, field=value (other: another key), copy=kind."""
    name, what = damage.split(":", 1)
    path = node.home / name
    if what == "garbage":
        path.write_bytes(b"\x00not json \xff" * 3)
    elif what == "empty":
        path.write_bytes(b"")
    elif what == "list":
        path.write_text("[]")
    elif what == "delete":
        path.unlink()
    elif what == "directory":
        path.unlink()
        path.mkdir()
    elif what.startswith("copy="):
        shutil.copy(node.home / "keys" / f"{what[5:]}.key", path)
    else:
        document = json.loads(path.read_text())
        if what.startswith("-"):
            del document[what[1:]]
        else:
            field, value = what.split("=", 1)
            if value == "other":
                value = (document["authorities"]["police"] if field == "node_key_id"
                         else "ab" * 32)
            target = document
            *parents, leaf = field.split(".")
            for parent in parents:
                target = target[parent]
            target[leaf] = value
        path.write_text(json.dumps(document))


@pytest.mark.parametrize(("damage", "command", "allowed"), [c[1:] for c in FILES], ids=[c[0] for c in FILES])
def test_damaged_file(node, damage, command, allowed):
    before = node.rows()
    damage_file(node, damage)
    code, err = node.run(*command)
    assert code in allowed, err
    assert node.rows() == before, "a refused command wrote to the store"


@pytest.mark.parametrize(("argv", "expected", "named"), [c[1:] for c in CLI_LIMITS + OPERATOR_CLI],
                         ids=[c[0] for c in CLI_LIMITS + OPERATOR_CLI])
def test_cli_value(node, argv, expected, named):
    before = node.rows()
    code, err = node.run(*argv)
    assert code == expected, err
    assert named in err
    if expected != 0:
        assert node.rows() == before, "a refused command wrote to the store"


@pytest.mark.parametrize(("home", "expected"), [c[1:] for c in HOMES], ids=[c[0] for c in HOMES])
def test_home_value(node, tmp_path, home, expected):
    file = tmp_path / "a-file"
    file.write_text("not a node")
    home = home.format(file=file)
    code, err = node.run("record", "report-stolen", "--weapon", node.weapon, home=home)
    assert code == expected, err
    assert home in err


