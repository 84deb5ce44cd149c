"""Concurrent writers on one weapon, as several shells recording at once, on both backends.

Each writer is a process of its own that runs ``armsledger record ...`` in a loop (in-process,
to spare the interpreter's start-up). A lost race for a (stream, version) is retried by the
registry, so every command ends with exit 0 or, when a rule refuses it, exit 2; never exit 3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from ledger.envelope import verify_chain
from nodes.bootstrap import init_node, open_node
from nodes.cli.main import run
from nodes.settings import Settings

PASSPHRASE = "concurrent writers"
ROOT = Path(__file__).resolve().parents[3]

# A writer: waits for the start signal, then runs its commands and prints their exit codes.
WRITER = """
import json, os, sys, time
from nodes.cli.main import run
home, db, start, commands = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
while not os.path.exists(start):
    time.sleep(0.005)
codes = [run(["--home", home, "--db", db, "record", *command]) for command in commands]
print("CODES " + json.dumps(codes))
"""


def prepare(tmp_path: Path, db: str, writers: int, count: int) -> str:
    """A node with one weapon and a transfer licence for each holder of ``transfers``; the weapon id."""
    now = int(time.time()) - 60
    with init_node(Settings.load(home=tmp_path / "be", db=db, passphrase=PASSPHRASE), "BE") as node:
        for writer in range(writers):
            for i in range(count):
                node.registry.issue_licence(number=f"TL-{writer}-{i}", kind=LicenceKind.TRANSFER_LICENCE,
                                            holder=f"holder {writer}-{i}", valid_from=now - 30 * DAY,
                                            valid_until=now + 30 * DAY, occurred_on=now - DAY)
        weapon = node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", "RACE-1"), type="pistol",
                                           make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                           holder="FN Herstal", occurred_on=now - DAY)
        node.settle()  # as ``armsledger init`` does: every table exists before the writers start
        node.inbox.position("x")
    return str(weapon)


def race(tmp_path: Path, db: str, writers: list[list[list[str]]]) -> list[list[int]]:
    """Run each writer's commands in a process of its own, all starting together; their exit codes."""
    start = tmp_path / "start"
    env = {**os.environ, "ARMSLEDGER_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "be"), db, str(start),
                                   json.dumps(commands)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for commands in writers]
    time.sleep(1.0)  # let every writer import and wait at the start line (the outcome does not depend on it)
    start.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0 and "Traceback" not in err, err
        results.append(json.loads(out.rsplit("CODES ", 1)[1]))
    return results


def transfers(weapon: str, writer: int, count: int) -> list[list[str]]:
    return [["transfer", "--weapon", weapon, "--to", f"holder {writer}-{i}", "--licence", f"TL-{writer}-{i}"]
            for i in range(count)]


def stream_of(tmp_path: Path, db: str, weapon: str):
    with open_node(Settings.load(home=tmp_path / "be", db=db, passphrase=PASSPHRASE), unlock=False) as node:
        return node.registry.envelopes(weapon)


def test_concurrent_transfers_of_one_weapon_all_succeed_in_one_valid_chain(tmp_path, db_url):
    weapon = prepare(tmp_path, db_url, 4, 6)
    codes = race(tmp_path, db_url, [transfers(weapon, w, 6) for w in range(4)])
    assert [c for writer in codes for c in writer] == [0] * 24
    envelopes = stream_of(tmp_path, db_url, weapon)
    assert [e.version for e in envelopes] == list(range(1, 26))
    assert verify_chain(envelopes)
    holders = {e.body["to_holder"] for e in envelopes if e.type == "Weapon.Transferred"}
    assert holders == {f"holder {w}-{i}" for w in range(4) for i in range(6)}
    assert run(["--home", str(tmp_path / "be"), "--db", db_url, "verify"],
               {"ARMSLEDGER_PASSPHRASE": PASSPHRASE}) == 0


def test_a_destruction_racing_transfers_refuses_every_later_transfer_by_its_rule(tmp_path, db_url):
    weapon = prepare(tmp_path, db_url, 4, 6)
    destroyer = transfers(weapon, 3, 2) + [["destroy", "--weapon", weapon, "--method", "melted",
                                            "--certificate", "D-1", "--by", "deactivation"]]
    codes = race(tmp_path, db_url, [transfers(weapon, w, 6) for w in range(3)] + [destroyer])
    flat = [c for writer in codes for c in writer]
    assert set(flat) <= {0, 2}, flat
    assert codes[-1][-1] == 0  # the destruction itself is never refused
    envelopes = stream_of(tmp_path, db_url, weapon)
    assert verify_chain(envelopes)
    assert envelopes[-1].type == "Weapon.Destroyed"  # nothing was recorded after it
    recorded = sum(1 for e in envelopes if e.type == "Weapon.Transferred")
    assert recorded == flat.count(0) - 1 and flat.count(2) == 20 - recorded
    # A refused transfer wrote nothing: every writer's exit codes after the destruction are 2.
    for writer in codes[:-1]:
        assert writer == sorted(writer)  # 0 ... 0 then 2 ... 2
