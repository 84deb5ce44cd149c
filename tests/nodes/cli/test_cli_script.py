"""The installed console script works end to end in its own process (exit codes, stdout, env)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def armsledger() -> list[str]:
    script = Path(sys.executable).parent / "armsledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nodes.cli"]


def test_console_script_init_manufacture_history(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSLEDGER_")}
    env.update(ARMSLEDGER_HOME=str(tmp_path / "node"), ARMSLEDGER_PASSPHRASE="a long passphrase")

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([*armsledger(), *argv], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)

    assert run("init", "--state", "NL").returncode == 0
    made = run("record", "manufacture", "--manufacturer", "Walther", "--country", "DE", "--serial", "P99-1",
               "--type", "pistol", "--calibre", "9x19mm", "--year", "2018", "--holder", "Walther", "--json")
    assert made.returncode == 0, made.stderr
    weapon_id = json.loads(made.stdout)["weapon_id"]

    del env["ARMSLEDGER_PASSPHRASE"]
    shown = run("history", weapon_id, "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["weapon_id"] == weapon_id and document["status"] == "active"
    assert [e["type"] for e in document["events"]] == ["Weapon.Manufactured"]

    refused = run("record", "manufacture", "--manufacturer", "Walther", "--country", "DE", "--serial", "P99-2",
                  "--type", "pistol", "--calibre", "9x19mm", "--year", "2018", "--holder", "Walther")
    assert refused.returncode == 2 and "ARMSLEDGER_PASSPHRASE" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
