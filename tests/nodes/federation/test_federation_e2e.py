"""National nodes replicating through a real broker, end to end, with broker, process and storage faults.

The node whose storage matters in each test runs on ``db_url`` (SQLite, then PostgreSQL);
its partners on SQLite files.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.licence import LicenceKind
from ledger.checkpoint import Checkpoint, checkpoint_verifier
from ledger.cosignature import witness_verifier
from ledger.keys import public_key_from_bytes
from ledger.note import open_note
from nodes.bootstrap import open_node
from nodes.federation.broker import LocalBroker
from nodes.federation.checkpoint_notes import witnessed_checkpoint
from nodes.federation.crossborder import confirm_receipt
from nodes.federation.ingest import BATCH_SIZE, FORK
from nodes.federation.sync import SyncReport
from nodes.registry.sealed_mark import MARK_FILE

from federation_nodes import Cluster, issue, manufacture, manufacture_many

ARMSLEDGER = str(Path(sys.executable).with_name("armsledger"))

# ``armsledger sync`` that SIGKILLs itself when ingest is about to record batch number argv[1].
SYNC_KILLED_AT_BATCH = """
import os, signal, sys
from nodes.cli.main import main
from nodes.federation.inbox import Inbox

record, calls, fatal = Inbox.record, [], int(sys.argv[1])

def record_or_die(self, batch, tracking=None):
    if batch.accepted:
        calls.append(1)
        if len(calls) == fatal:
            os.kill(os.getpid(), signal.SIGKILL)
    return record(self, batch, tracking)

Inbox.record = record_or_die
sys.exit(main(["sync", "--timeout", "60"]))
"""


def types_received(node, origin: str) -> list[str]:
    return [e.type for _, e in node.inbox.received_notifications(1, 100_000) if e.node == origin]


def test_an_export_reaches_the_importing_state_only_and_its_receipt_closes_the_shipment(
        tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL", "DE"], db={"NL": db_url}) as cluster:
        be, nl, de = cluster["BE"], cluster["NL"], cluster["DE"]
        issue(nl, "NL-IA-1", LicenceKind.IMPORT_AUTHORIZATION, export_state="BE", import_state="NL",
              consignee="Wapenhandel BV")
        cluster.settle()
        # The import authorization went to the exporting state only (FP art 10(2)-(3)).
        assert types_received(be, "NL")[-1] == "Licence.Issued"
        assert "Licence.Issued" not in types_received(de, "NL")

        issue(be, "BE-EL-1", LicenceKind.EXPORT_LICENCE, export_state="BE", import_state="NL",
              consignee="Wapenhandel BV")
        weapon = manufacture(be, "EXP-1")
        shipment = be.registry.export(weapon_ids=[weapon], licence="BE-EL-1", import_authorization="NL-IA-1",
                                      to_state="NL", consignee="Wapenhandel BV")
        cluster.settle()
        # Certificates first, then the shipment and the export; the manufacture stays home.
        assert types_received(nl, "BE") == (["Authority.RegisterOpened"] + ["Authority.Certified"] * 5
                                            + ["Shipment.Opened", "Weapon.Exported"])
        assert types_received(de, "BE") == ["Authority.RegisterOpened"] + ["Authority.Certified"] * 5
        assert nl.inbox.received(node="BE", stream=str(weapon)) == be.registry.envelopes(weapon)[-1:]

        confirm_receipt(nl, shipment=str(shipment), received_by="Wapenhandel BV")
        cluster.settle()
        # The receipt travelled back and BE's reaction closed the shipment (FP art 10(4)).
        assert types_received(be, "NL")[-1] == "Weapon.ReceiptConfirmed"
        assert [e.type for e in be.registry.envelopes(shipment)] == ["Shipment.Opened", "Shipment.ReceiptConfirmed"]
        for node in (be, nl, de):
            assert node.inbox.quarantined() == []
        # Every partner holds the whole sequence of the others' checkpoints, each cosigned.
        assert nl.inbox.partner_checkpoints("BE") == be.sealer.checkpoints()
        assert {c.witness for c in be.inbox.cosignatures()} == {"NL", "DE"}
        # Each cosigned checkpoint prints as a C2SP note that BE's and the witnesses' note keys open.
        keys = [checkpoint_verifier("BE", public_key_from_bytes(be.identity.node_public_key))]
        keys += [witness_verifier(n.identity.state, public_key_from_bytes(n.identity.node_public_key))
                 for n in (nl, de)]
        for cosignature in be.inbox.cosignatures():
            witnessed = witnessed_checkpoint(be, Checkpoint.from_bytes(cosignature.checkpoint).size)
            assert witnessed.problems == ()
            verified = {s.name for s in open_note(witnessed.note(be), keys).verified}
            assert {"armsledger/BE", f"armsledger/{cosignature.witness}"} <= verified


def test_a_node_that_rewrites_its_history_is_caught_by_its_partners(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        weapon = manufacture(be, "RW-1")
        be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
        cluster.settle()
        assert types_received(nl, "BE")[-1] == "Weapon.ReportedStolen"
        kept = len(nl.inbox.partner_checkpoints("BE"))

        # BE's operator deletes the theft report and the checkpoints that vouch for it (and the
        # sealer's mark, which would refuse to seal again), records another story, and seals it
        # as if nothing happened.
        settings = be.settings
        be.close()
        (settings.home / MARK_FILE).unlink()
        with sqlite3.connect(settings.db) as db:
            db.execute("DELETE FROM stored_events WHERE topic = 'Weapon.ReportedStolen'")
            db.execute("DELETE FROM armsledger_checkpoints")
            db.execute("DELETE FROM armsledger_leaves")
        rewritten = open_node(settings)
        cluster.nodes["BE"] = rewritten
        cluster.federations.pop("BE").close()
        rewritten.registry.record("report_lost", by="police", weapon_id=weapon, place="Gent", circumstances="")
        rewritten.registry.record("report_lost", by="police", weapon_id=manufacture(rewritten, "RW-2"),
                                  place="Gent", circumstances="")
        cluster.sync("BE")
        report = cluster.sync("NL")
        assert report.alarms >= 1
        alarms = [e for e in nl.inbox.quarantined() if e["kind"] == "alarm"]
        assert alarms and {e["reason"] for e in alarms} == {FORK} and {e["origin"] for e in alarms} == {"BE"}
        assert len(nl.inbox.partner_checkpoints("BE")) == kept  # the rewritten history is not kept
        # The operator sees it: armsledger quarantine lists the alarm and exits 1.
        env = {**os.environ, "ARMSLEDGER_HOME": str(nl.settings.home), "ARMSLEDGER_DB": nl.settings.db}
        shown = subprocess.run([ARMSLEDGER, "quarantine"], env=env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 1 and "ALARM" in shown.stdout and FORK in shown.stdout


def test_a_broker_that_loses_its_memory_mid_replication_ends_converged(tmp_path, db_url):
    with LocalBroker() as broker:
        with Cluster(tmp_path, broker.bootstrap_servers, ["BE", "NL"], db={"NL": db_url}) as cluster:
            be, nl = cluster["BE"], cluster["NL"]
            (be.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all"}}))
            weapons = manufacture_many(be, 1200)
            cluster.sync("BE")
            # NL ingests part of it, then the broker dies and comes back empty.
            fed = cluster.federation("NL")
            fed.ingest.batch_size = 400
            assert 0 < fed.ingest_step(5.0, SyncReport()).read <= 400
            assert len(nl.inbox.received_notifications(1, 100_000)) < 1206
            broker.restart()
            more = manufacture_many(be, 100, prefix="T")
            cluster.settle()
            received = nl.inbox.received_notifications(1, 100_000)
            streams = [e.stream for _, e in received if e.type == "Weapon.Manufactured"]
            assert sorted(streams) == sorted(str(w) for w in weapons + more)  # nothing lost, nothing twice
            assert len(received) == 6 + 1300
            assert nl.inbox.quarantined() == []
            assert nl.inbox.partner_checkpoints("BE")[-1] == be.sealer.latest_checkpoint()


def test_a_node_killed_mid_ingest_resumes_without_loss(tmp_path, kafka_bootstrap, db_url):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"], db={"NL": db_url}) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        (be.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all"}}))
        weapons = manufacture_many(be, 4000)
        cluster.sync("BE")
        nl_settings = nl.settings
        nl.close()
        env = {**os.environ, **cluster.environ(nl_settings)}
        # The fault point: the process SIGKILLs itself as it is about to record its third batch.
        killed = subprocess.run([sys.executable, "-c", SYNC_KILLED_AT_BATCH, "3"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        with open_node(nl_settings, unlock=False) as probe:
            at_kill = len(probe.inbox.received_notifications(1, 100_000))
        assert 0 < at_kill <= 2 * BATCH_SIZE

        resumed = subprocess.run([ARMSLEDGER, "sync", "--timeout", "60", "--json"], env=env,
                                 capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout)["accepted"] == 4006 - at_kill
        cluster.nodes["NL"] = nl = open_node(nl_settings)
        received = nl.inbox.received_notifications(1, 100_000)
        assert sorted(e.stream for _, e in received if e.type == "Weapon.Manufactured") == \
            sorted(str(w) for w in weapons)
        assert nl.inbox.quarantined() == []


def test_node_run_replicates_until_sigterm_then_exits_0(tmp_path, kafka_bootstrap):
    with Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"]) as cluster:
        be, nl = cluster["BE"], cluster["NL"]
        nl_settings = nl.settings
        nl.close()
        env = {**os.environ, **cluster.environ(nl_settings)}
        process = subprocess.Popen([ARMSLEDGER, "node", "run"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        try:
            weapon = manufacture(be, "RUN-1")
            be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Gent", circumstances="")
            cluster.sync("BE")
            probe = open_node(nl_settings, unlock=False)
            try:
                deadline = time.monotonic() + 60
                while not probe.inbox.received(node="BE", stream=str(weapon)) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert [e.type for e in probe.inbox.received(node="BE", stream=str(weapon))] == \
                    ["Weapon.ReportedStolen"]
            finally:
                probe.close()
            # NL's running node cosigned BE's checkpoint as a witness.
            deadline = time.monotonic() + 60
            while not be.inbox.cosignatures() and time.monotonic() < deadline:
                cluster.sync("BE")
                time.sleep(0.1)
            assert {c.witness for c in be.inbox.cosignatures()} == {"NL"}
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert "stopped" in stderr


@pytest.fixture(autouse=True)
def _quiet_kafka_logs(caplog):
    import logging

    logging.getLogger("kafka").setLevel(logging.CRITICAL)


def test_node_run_outlives_a_broker_that_goes_away_and_comes_back_empty(tmp_path, db_url):
    import threading

    from nodes.federation.sync import run, sync

    def stolen_at_nl(serial_weapons) -> bool:
        held = {e.stream for _, e in cluster["NL"].inbox.received_notifications(1, 100_000)
                if e.type == "Weapon.ReportedStolen"}
        return {str(w) for w in serial_weapons} <= held

    def until_nl_holds(weapons) -> None:
        for _ in range(60):  # bounded: a pass each; the outcome, not the time, is asserted
            sync(cluster["NL"], cluster.transports["NL"], 10.0, federation=cluster.federation("NL"))
            if stolen_at_nl(weapons):
                return
            time.sleep(0.5)
        raise AssertionError(f"NL never received {weapons}")

    with LocalBroker() as broker, Cluster(tmp_path, broker.bootstrap_servers, ["BE", "NL"],
                                          db={"BE": db_url}) as cluster:
        be = cluster["BE"]
        stop, ended = threading.Event(), {}
        runner = threading.Thread(target=lambda: ended.update(report=run(be, cluster.transports["BE"], stop)))
        runner.start()
        try:
            first = manufacture(be, "RUN-1")
            be.registry.record("report_stolen", by="police", weapon_id=first, place="Gent", circumstances="")
            until_nl_holds([first])
            broker.kill()
            time.sleep(2.0)  # node run meets the broker gone (and must not end)
            assert runner.is_alive()
            broker.start()
            second = manufacture(be, "RUN-2")
            be.registry.record("report_stolen", by="police", weapon_id=second, place="Gent", circumstances="")
            until_nl_holds([first, second])
        finally:
            stop.set()
            runner.join(60)
        assert not runner.is_alive() and "report" in ended
