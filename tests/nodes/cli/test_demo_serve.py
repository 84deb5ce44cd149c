"""``armsledger demo --serve`` in a process of its own: the printed desks and accounts work over real
HTTP, a trace sent from FR's API is answered by another node through the sync loop, and SIGTERM
ends it cleanly; and its refusals of bad port options."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from domain.trace import TraceStatus
from nodes.cli.main import run as armsledger

ARMSLEDGER = Path(sys.executable).with_name("armsledger")
SERVING = "Serving; Ctrl-C or SIGTERM stops"
STATES = ["BE", "NL", "DE", "IT", "FR"]
ROLES = ["licensing", "customs", "tracing", "auditor", "admin"]
FIRST_ROW = re.compile(r"^  (BE|NL|DE|IT|FR) +(http://127\.0\.0\.1:\d+/) +(\S+) +(\S+) +(\S+)$")
MORE_ROW = re.compile(r"^ {30,}(\S+) +(\S+) +(\S+)$")


class Demo:
    """The demo process in ``cwd``; its stdout read line by line in a thread (so that it never blocks on a
    full pipe), its stderr into ``errors``."""

    def __init__(self, cwd: Path, errors: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSLEDGER_")}
        self.errors = errors
        with errors.open("w") as stderr:
            self.process = subprocess.Popen([str(ARMSLEDGER), "demo", "--serve"], cwd=cwd, env=env, text=True,
                                            stdout=subprocess.PIPE, stderr=stderr)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, wanted: str, timeout_s: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while not self.seen or self.seen[-1] != wanted:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError("the demo ended early:\n" + "\n".join(self.seen) + self.stderr())
            self.seen.append(line)
        return self.seen

    def rest(self) -> list[str]:
        while (line := self.lines.get(timeout=30)) is not None:
            self.seen.append(line)
        return self.seen

    def stderr(self) -> str:
        return self.errors.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


@pytest.fixture
def demo(tmp_path):
    (tmp_path / "work").mkdir()
    started = Demo(tmp_path / "work", tmp_path / "stderr.txt")
    yield started
    started.stop()


def desks(lines: list[str]) -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    """Per state: its URL and its accounts (name -> (role, password)), as the table prints them."""
    table: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
    state = ""
    for line in lines:
        if first := FIRST_ROW.match(line):
            state, url, name, role, password = first.groups()
            table[state] = (url, {name: (role, password)})
        elif state and (more := MORE_ROW.match(line)):
            name, role, password = more.groups()
            table[state][1][name] = (role, password)
    return table


def signed_in(url: str, name: str, password: str) -> tuple[httpx.Client, str]:
    """A client signed in on the node at ``url``, and the session's CSRF token."""
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/api/v1/session", json={"name": name, "password": password})
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["role"] == name
    return client, answer.json()["csrf_token"]


def test_demo_serve_prints_working_desks_and_accounts_keeps_federating_and_stops_on_sigterm(demo, tmp_path):
    """The newcomer's click-through, over HTTP: sign in on two nodes, search on FR's desk, trace to BE."""
    lines = demo.until(SERVING)
    weapon_id = re.search(r"^Federated timeline of weapon (\S+),", "\n".join(lines), re.M).group(1)
    table = desks(lines)
    assert list(table) == STATES
    assert len({url for url, _ in table.values()}) == 5
    for url, accounts in table.values():
        assert {name: role for name, (role, _) in accounts.items()} == dict(zip(ROLES, ROLES))
    fr_url, fr_accounts = table["FR"]
    be_url, be_accounts = table["BE"]
    assert fr_accounts["tracing"][1] != be_accounts["tracing"][1]   # generated for each node

    refused = httpx.post(f"{fr_url}api/v1/session", json={"name": "tracing", "password": be_accounts["tracing"][1]})
    assert refused.status_code == 401
    be, _ = signed_in(be_url, "auditor", be_accounts["auditor"][1])
    fr, csrf = signed_in(fr_url, "tracing", fr_accounts["tracing"][1])

    page = fr.get("/search", params={"serial": "386PN04127"})
    assert page.status_code == 200 and f"/weapons/{weapon_id}" in page.text
    assert be.get(f"/api/v1/weapons/{weapon_id}").status_code == 200

    # A trace sent from FR now: BE's node acknowledges it by itself once the sync loop carries it there.
    sent = fr.post("/api/v1/traces", headers={"X-CSRF-Token": csrf},
                   json={"to": "BE", "weapon_id": weapon_id, "circumstances": "clicked through the demo",
                         "legal_basis": "demo", "intended_use": "demo"})
    assert sent.status_code == 201, sent.text
    trace = f"/api/v1/traces/{sent.json()['trace_id']}"
    deadline = time.monotonic() + 60
    while (status := fr.get(trace).json()["trace"]["status"]) == TraceStatus.SUBMITTED:
        assert time.monotonic() < deadline, "BE never acknowledged the trace"
        time.sleep(0.5)
    assert status in {TraceStatus.ACKNOWLEDGED, TraceStatus.FORWARDED, TraceStatus.TRACED}, status

    homes = Path(re.search(r"^Homes in (\S+) ", "\n".join(lines), re.M).group(1))
    demo.stop()
    out, err = "\n".join(demo.rest()), demo.stderr()
    assert demo.process.returncode == 0, err
    assert "Traceback" not in out + err
    assert "stopped: the desks and the sync loop are closed" in out
    assert not homes.exists() and list((tmp_path / "work").iterdir()) == []


def test_demo_refuses_port_options_it_cannot_use(capsys):
    assert armsledger(["demo", "--port-base", "8000"], {}) == 2    # without --serve
    assert "port-base" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert armsledger(["demo", "--serve", "--port-base", str(port)], {}) == 2
    refused = capsys.readouterr()
    assert "port-base" in refused.err
    assert refused.out == ""    # refused before the story: no node made, no line of it told
