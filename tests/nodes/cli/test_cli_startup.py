"""What a command on a SQLite node loads: no PostgreSQL, HTTP or template library.

Every command, every spawned worker and every CLI test pays its process's imports; psycopg, the
library's PostgreSQL module, the HTTP service (fastapi, starlette, pydantic, uvicorn) and jinja2 are
loaded only by the commands that use them. Each command here runs in a process of its own, which
reports the modules it ended with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: Top-level names of the libraries a SQLite command must not load (a module counts with its submodules).
NOT_FOR_SQLITE = ("psycopg", "psycopg_pool", "eventsourcing.postgres", "fastapi", "starlette", "pydantic",
                  "uvicorn", "jinja2")

# The console script's entry point, then the names of the modules loaded, as the last line of stdout.
_PROBE = """
import json, sys
from nodes.cli.main import main
code = main(sys.argv[1:])
sys.stdout.write("\\nLOADED=" + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


def run_probe(env: dict[str, str], *argv: str) -> tuple[int, str, set[str]]:
    """(exit code, stdout without the report, modules loaded) of ``armsledger ARGV`` in a new process."""
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], env=env, capture_output=True, text=True,
                          timeout=120)
    out, _, loaded = done.stdout.rpartition("\nLOADED=")
    assert loaded, done.stderr
    return done.returncode, out, set(json.loads(loaded))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in NOT_FOR_SQLITE))


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSLEDGER_")}
    env.update(ARMSLEDGER_HOME=str(tmp_path / "node"), ARMSLEDGER_DB=str(tmp_path / "ledger.db"),
               ARMSLEDGER_PASSPHRASE="a long passphrase")
    return env


def test_version_prints_the_version_and_loads_no_database_http_or_template_library(sqlite_env):
    code, out, loaded = run_probe(sqlite_env, "--version")
    assert code == 0
    assert out.strip().startswith("armsledger ") and out.strip() != "armsledger"
    assert "nodes.cli.main" in loaded
    assert heavy(loaded) == []
    assert "argon2" not in loaded  # officers' password hashing: loaded by the user commands only


def test_commands_on_a_sqlite_node_load_no_postgresql_http_or_template_library(sqlite_env):
    code, _, loaded = run_probe(sqlite_env, "init", "--state", "NL")
    assert code == 0 and heavy(loaded) == []
    code, out, loaded = run_probe(sqlite_env, "record", "manufacture", "--manufacturer", "Walther", "--country",
                                  "DE", "--serial", "P99-1", "--type", "pistol", "--calibre", "9x19mm", "--year",
                                  "2018", "--holder", "Walther", "--json")
    assert code == 0 and heavy(loaded) == []
    weapon_id = json.loads(out)["weapon_id"]
    for argv in (("history", weapon_id, "--json"), ("verify", "--json"), ("checkpoint", "show", "--json"),
                 ("proof", "inclusion", weapon_id)):
        code, out, loaded = run_probe(sqlite_env, *argv)
        assert code == 0, (argv, out)
        assert (argv[0], heavy(loaded)) == (argv[0], [])
        assert "eventsourcing.sqlite" in loaded  # the command opened the node's store


def test_import_csv_on_a_sqlite_node_loads_no_postgresql_library(sqlite_env, tmp_path):
    assert run_probe(sqlite_env, "init", "--state", "NL")[0] == 0
    register = tmp_path / "register.csv"
    register.write_text("manufacturer,country,serial,type,make,model,calibre,year,manufactured_on,first_holder\n"
                        "FN Herstal,BE,IMP-1,pistol,FN,57,5.7,2019,2019-05-01,FN\n", encoding="utf-8")

    code, out, loaded = run_probe(sqlite_env, "import-csv", str(register))

    assert code == 0, out
    assert "1 weapon" in out
    assert heavy(loaded) == []
    assert "nodes.migration.batch_writer" in loaded  # the import wrote through its batch writer
