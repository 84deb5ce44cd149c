"""Worker processes end with the process that started them, even after SIGKILL."""

import os
import signal
import subprocess
import sys
import time
import tomllib

import pytest

from nodes.workers import start_pool

STARTER = """
import os, sys
from nodes.workers import start_pool
if __name__ == "__main__":
    pool = start_pool(2)
    pids = {pool.submit(os.getpid).result() for _ in range(8)}
    print(" ".join(map(str, sorted(pids))), flush=True)
    sys.stdin.read()  # until killed
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_workers_end_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "starter.py"
    script.write_text(STARTER)
    starter = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, cwd=os.getcwd())
    try:
        workers = [int(p) for p in starter.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        # Bounded wait for the kernel to deliver the parent-death signal; not a timing assertion.
        for _ in range(200):
            if not any(_alive(pid) for pid in workers):
                break
            time.sleep(0.05)
        assert [pid for pid in workers if _alive(pid)] == []
    finally:
        starter.kill()


def test_pool_runs_work_and_refuses_no_workers():
    with start_pool(1) as pool:
        assert pool.submit(pow, 2, 10).result() == 1024
    with pytest.raises(ValueError, match="at least 1"):
        start_pool(0)


CLI_STARTER = """
import sys
from nodes.cli.main import main  # what the armsledger console script imports, and each worker again
from nodes.workers import start_pool


def imported(name):
    return name in sys.modules


if __name__ == "__main__":
    with start_pool(1) as pool:
        print(pool.submit(imported, "jsonschema").result(), imported("jsonschema"), flush=True)
"""


def test_a_worker_of_the_cli_does_not_import_jsonschema(tmp_path):
    # Only an EPCIS validation needs jsonschema; every worker of a verify or an import would pay its import.
    script = tmp_path / "cli_starter.py"
    script.write_text(CLI_STARTER)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=os.getcwd(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def _console_script(body: str) -> str:
    """The ``armsledger`` console script as pip writes it from pyproject.toml's entry point, its guarded call
    replaced by ``body`` (which calls ``entry_point``)."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "pyproject.toml"), "rb") as f:
        module, function = tomllib.load(f)["project"]["scripts"]["armsledger"].split(":")
    return f"import sys\nfrom {module} import {function} as entry_point\n{body}"


WORKER_OF_THE_SCRIPT = """
import sys
from nodes.workers import start_pool


def imported(name):
    return name in sys.modules


if __name__ == "__main__":
    with start_pool(1) as pool:
        print(pool.submit(imported, "nodes.cli.main").result(), flush=True)
"""


def test_a_worker_of_the_console_script_does_not_import_the_command_line(tmp_path):
    # Spawn runs the parent's main module again in each worker: for the console script, only its entry point.
    script = tmp_path / "armsledger_worker.py"
    script.write_text(_console_script(WORKER_OF_THE_SCRIPT))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=os.getcwd(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]


def test_the_console_script_runs_the_command_line(tmp_path):
    script = tmp_path / "armsledger"
    script.write_text(_console_script("if __name__ == '__main__':\n    sys.exit(entry_point())\n"))
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=os.getcwd(),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: armsledger" in done.stdout


NOW_STARTER = """
import sys
from nodes.workers import start_pool


def write(text):
    sys.stdout.write(text)  # not flushed: a pipe is block-buffered


if __name__ == "__main__":
    pool = start_pool(2, now=True)
    print(len(pool._processes), flush=True)  # before any work was given
    pool.submit(write, "written by a worker").result()
    pool.shutdown(wait=True)
"""


def test_a_pool_started_now_has_every_worker_before_any_work_and_loses_no_output_at_its_end(tmp_path):
    # A worker skips the interpreter's teardown at its end (os._exit): what it wrote is still written.
    script = tmp_path / "now_starter.py"
    script.write_text(NOW_STARTER)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=os.getcwd(), timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "2"
    assert "written by a worker" in done.stdout
