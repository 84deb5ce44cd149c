"""``armsledger alarm list|settle`` and ``quarantine`` on each backend: an open alarm makes both exit 1;
settling it records one ``Alarm.Settled`` signed by the registry authority, naming the entry's hash and
the node operator; a settled alarm is listed as settled and no longer makes ``quarantine`` exit 1; bad
input exits 2 naming the field and writes nothing."""

from __future__ import annotations

import pytest
from alarm_entries import quarantine_alarm_and_error, quarantine_entry

from domain.alarm import settlement_id
from nodes.bootstrap import open_node
from nodes.federation.inbox import Inbox
from nodes.federation.inbox_records import InboxBatch
from nodes.settings import Settings

from inprocess_cli import Cli, initialised_cli


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path, db_url):
    return initialised_cli(monkeypatch, capsys, tmp_path / "nl", db_url, "NL")


def own_records(cli: Cli) -> int:
    with open_node(Settings(home=cli.home, db=cli.db), unlock=False) as node:
        return node.registry.recorder.max_notification_id() or 0


def test_an_operator_settles_an_alarm_with_a_signed_record(cli):
    with Inbox.open(cli.db) as inbox:
        error, alarm = quarantine_alarm_and_error(inbox)
    assert cli("quarantine").code == 1
    listed = cli("alarm", "list", "--json")
    assert listed.code == 1
    [shown] = listed.json()
    assert shown["id"] == alarm and shown["settled"] is None and shown["origin"] == "BE"
    assert "OPEN" in cli("alarm", "list").out

    written = own_records(cli)
    assert "reason" in cli.refused("alarm", "settle", str(alarm), "--reason", "   ").err
    assert "ID" in cli.refused("alarm", "settle", str(error), "--reason", "x").err      # an error, no alarm
    assert "ID" in cli.refused("alarm", "settle", "424242", "--reason", "x").err
    assert "ID" in cli.refused("alarm", "settle", "zero", "--reason", "x").err
    assert "--reason" in cli.refused("alarm", "settle", str(alarm)).err
    assert own_records(cli) == written  # nothing was written

    done = cli.ok("alarm", "settle", str(alarm), "--reason", "BE restored a backup; checked with BE", "--json").json()
    assert done["id"] == alarm and done["entry"] == shown["hash"] and done["origin"] == "BE"
    with open_node(Settings(home=cli.home, db=cli.db), unlock=False) as node:
        [record] = node.registry.envelopes(settlement_id(shown["hash"]))
        registry_key = node.identity.authority_key_ids["registry"]
    assert record.type == "Alarm.Settled" and record.authority == registry_key and done["record"] == record.hash.hex()
    assert record.body == {"entry": shown["hash"], "origin": "BE", "alarm": "fork-or-rewrite",
                           "reason": "BE restored a backup; checked with BE", "officer": ""}

    assert cli.ok("quarantine").out.count("SETTLED") == 1
    entries = cli.ok("quarantine", "--json").json()
    assert [e["kind"] for e in entries] == ["error", "alarm"]
    assert entries[1]["settled"]["reason"] == "BE restored a backup; checked with BE" and "settled" not in entries[0]
    assert "settled" in cli.ok("alarm", "list").out and "0 open alarms, 1 settled" in cli.ok("alarm", "list").out
    again = cli.refused("alarm", "settle", str(alarm), "--reason", "twice")
    assert "settled already" in again.err
    assert own_records(cli) == written + 1
    assert cli.ok("verify").code == 0  # the settlement is sealed and verifies like every record


def test_a_new_alarm_after_a_settled_one_makes_quarantine_exit_1_again(cli):
    with Inbox.open(cli.db) as inbox:
        _, alarm = quarantine_alarm_and_error(inbox)
    cli.ok("alarm", "settle", str(alarm), "--reason", "reviewed")
    assert cli("quarantine").code == 0
    with Inbox.open(cli.db) as inbox:
        assert inbox.record(InboxBatch(quarantined=[quarantine_entry(3, alarm=True)]))
    assert cli("quarantine").code == 1 and cli("alarm", "list").code == 1
