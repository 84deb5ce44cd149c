"""deploy/local-nodes: two nodes and a broker in the background replicate an export, then stop cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.licence import LicenceKind, licence_id
from nodes.cli.main import run as armsledger
from nodes.federation.inbox import Inbox

LAUNCHER = Path(__file__).resolve().parent.parent / "deploy" / "local-nodes"
PASSPHRASE = "launcher test"
PISTOL = ["--manufacturer", "FN Herstal", "--country", "BE", "--serial", "LN-0001"]


def launcher(base: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSLEDGER_")}
    env["ARMSLEDGER_PASSPHRASE"] = PASSPHRASE
    return subprocess.run([sys.executable, str(LAUNCHER), "--base", str(base), *argv,
                           *(["--armsledger", str(Path(sys.executable).parent / "armsledger")] if argv[0] == "up"
                             else [])], env=env, capture_output=True, text=True, timeout=120)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def wait_for(what: str, check, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s:g} s: {what}")


def received(db: str, node: str, stream: str, record_type: str) -> bool:
    inbox = Inbox.open(db)
    try:
        return any(e.type == record_type for e in inbox.received(node=node, stream=stream))
    finally:
        inbox.close()


class Node:
    """``armsledger`` in-process on one launched node, with the environment of its BASE/<cc>.env."""

    def __init__(self, base: Path, state: str, config: dict, capsys):
        self.home = base / state.lower()
        self.capsys = capsys
        self.environ = {"ARMSLEDGER_HOME": str(self.home), "ARMSLEDGER_KAFKA": config["bootstrap"],
                        "ARMSLEDGER_TOPIC_PREFIX": config["prefix"], "ARMSLEDGER_PASSPHRASE": PASSPHRASE}

    @property
    def db(self) -> str:
        return str(self.home / "ledger.db")

    def __call__(self, *argv: str) -> dict:
        self.capsys.readouterr()
        code = armsledger([*argv, "--json"], self.environ)
        out, err = self.capsys.readouterr()
        assert code == 0, err
        return json.loads(out)


def test_two_launched_nodes_replicate_an_authorized_export_and_stop_cleanly(tmp_path, capsys):
    base = tmp_path / "local"
    started = launcher(base, "up", "--states", "BE,NL")
    assert started.returncode == 0, started.stderr
    pids: list[int] = []
    try:
        status = json.loads(launcher(base, "status", "--json").stdout)
        assert [(p["name"], p["running"]) for p in status["processes"]] == [
            ("broker", True), ("be", True), ("nl", True)]
        pids = [p["pid"] for p in status["processes"]]
        pids += descendants(pids[0])        # the broker binary under `armsledger broker run`
        assert len(pids) >= 4
        config = json.loads((base / "launcher.json").read_text())
        assert (base / "be.env").read_text().count("export ARMSLEDGER_") == 3
        be, nl = Node(base, "BE", config, capsys), Node(base, "NL", config, capsys)

        # NL authorizes the import; its running node relays the authorization to BE's.
        nl("licence", "issue", "--number", "NL-IA-7", "--kind", "import_authorization", "--holder", "Dealer NL",
           "--valid-from", "2024-01-01", "--valid-until", "2030-12-31", "--export-state", "BE",
           "--import-state", "NL", "--consignee", "Dealer NL")
        authorization = str(licence_id("NL", LicenceKind.IMPORT_AUTHORIZATION, "NL-IA-7"))
        wait_for("NL's import authorization at BE",
                 lambda: received(be.db, "NL", authorization, "Licence.Issued"))

        weapon = be("record", "manufacture", *PISTOL, "--type", "pistol", "--model", "Five-seveN",
                    "--calibre", "5.7x28mm", "--year", "2023", "--holder", "FN Herstal", "--date", "2024-02-01")
        be("licence", "issue", "--number", "BE-EL-7", "--kind", "export_licence", "--holder", "FN Herstal",
           "--valid-from", "2024-01-01", "--valid-until", "2030-12-31", "--export-state", "BE",
           "--import-state", "NL", "--consignee", "Dealer NL")
        shipment = be("record", "export", *PISTOL, "--licence", "BE-EL-7", "--import-authorization", "NL-IA-7",
                      "--to", "NL", "--date", "2024-03-01")["shipment_id"]
        wait_for("BE's export at NL", lambda: received(nl.db, "BE", weapon["weapon_id"], "Weapon.Exported"))

        # NL's customs confirm receipt; BE's running node closes the shipment by itself.
        assert nl("record", "receipt", "--shipment", shipment)["weapon_ids"] == [weapon["weapon_id"]]
        wait_for("BE's shipment closed", lambda: be("shipments")["outgoing"] == [])
    finally:
        stopped = launcher(base, "down")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert stopped.stdout.split() == ["BE", "stopped", "NL", "stopped", "broker", "stopped"]
    wait_for("every launched process gone", lambda: not [p for p in pids if alive(p)], timeout_s=5)
    assert not list(base.glob("*.pid"))
    assert "stopped after" in (base / "be.log").read_text()     # SIGTERM: finished its batch, exit 0
    assert launcher(base, "status").returncode == 1


def test_up_refuses_without_a_passphrase_or_with_bad_states(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSLEDGER_")}
    refused = subprocess.run([sys.executable, str(LAUNCHER), "--base", str(tmp_path), "up"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "ARMSLEDGER_PASSPHRASE" in refused.stderr
    bad = launcher(tmp_path, "up", "--states", "BE")
    assert bad.returncode == 2 and "--states" in bad.stderr
    assert not list(tmp_path.glob("*.pid"))


@pytest.mark.parametrize("action", ["status", "down"])
def test_nothing_started_is_reported(tmp_path, action):
    done = launcher(tmp_path / "empty", action)
    assert done.returncode == (1 if action == "status" else 0)
