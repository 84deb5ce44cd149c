"""The officer service over HTTP: recording by 16 clients, history at a large store, the service's RSS.

    .venv/bin/python bench/bench_service.py [--events N] [--transfers T] [--threads 16] [--rounds R]
        [--samples S] [--backend sqlite|postgres|both]

The service is the real ``armsledger serve`` in a process of its own (uvicorn, plain HTTP on
127.0.0.1, the group committer behind it), on a node this script initialises and fills with
``--events`` signed events by the bulk path (import-csv, two events per weapon). Clients are
threads of this process, each with its own keep-alive connection (``http.client``, the
lightest client in the standard library, so that the clients take little of the CPU the
service shares with them) and bearer token, traded for the password of a real account
(``POST /api/v1/tokens``).

1. Recording: ``--threads`` clients POST transfers (four per weapon of their own, as
   bench_group_commit), ``--transfers`` per round, timed from request to answer (the answer
   comes once the records are durable). Baseline, alternating round by round:
   bench_group_commit's unsigned eventsourcing get-change-save by the same threads on the
   same database, one event per save.
2. History: ``--samples`` GETs of random weapons' signed timelines, one at a time, each
   beside ``nodes.registry.reading.weapon_timeline`` called in this process on the same
   database (what the route runs, minus HTTP, authentication and the read-audit append).
3. Peak RSS (VmHWM) of the service process after each part.

Targets (PostgreSQL): >= 1,000 events/s and >= 2x the baseline, p99 <= 50 ms; history
p99 <= 3x in-process at 1,000,000 events; RSS <= 300 MB. Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import common
import httpx
from bench_group_commit import TRANSFERS_PER_WEAPON, baseline_round, clients, prepare
from bench_history import fill_signed
from bench_replication import server_cpu_seconds
from common import Stopwatch, Table, median, percentile, progress

from domain.time import SECONDS_PER_DAY as DAY

THROUGHPUT_TARGET = 1_000  # events/s on PostgreSQL, 16 clients
RATIO_TARGET = 2.0         # times the baseline of the same run
P99_TARGET_MS = 50.0
HISTORY_RATIO_TARGET = 3.0  # API p99 at most this times the in-process p99
HISTORY_TARGET_EVENTS = 1_000_000
RSS_TARGET_MB = 300.0
WARM_UP = 200
ACCOUNT_PASSWORD = "bench account password"  # accounts want at least 12 characters


class ServedNode:
    """``armsledger serve`` on a free local port for the node at ``folder/node`` on ``db``; stopped on exit."""

    def __init__(self, db: str, folder: Path, name: str = "serve") -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ARMSLEDGER_HOME": str(folder / "node"), "ARMSLEDGER_DB": db,
               "ARMSLEDGER_PASSPHRASE": common.PASSPHRASE}
        env.pop("ARMSLEDGER_KAFKA", None)
        self.log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("armsledger")), "serve",
                                         "--port", str(self.port)], env=env, stdout=self.log, stderr=self.log)

    def __enter__(self) -> ServedNode:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"armsledger serve did not come up: {Path(self.log.name).read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def peak_rss_mb(self) -> float:
        """The service process's peak resident set so far (VmHWM), in MB."""
        return _status_kb(self.process.pid, "VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the service process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def thread_cpu_seconds(self) -> dict[int, float]:
        """User plus system CPU time of each thread of the service process so far, by thread id."""
        tick = os.sysconf("SC_CLK_TCK")
        found = {}
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the thread ended meanwhile
            found[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
        return found

    def group_commit_figures(self) -> dict[str, float]:
        """The group committer's counters from /metrics (records, batches, conflicts, runs_again) so far."""
        figures = {}
        for line in httpx.get(f"{self.url}/metrics", timeout=30).text.splitlines():
            for name in ("records_written", "group_commit_batches", "group_commit_conflicts",
                         "group_commit_runs_again"):
                if line.startswith(f"armsledger_{name}_total "):
                    figures[name.removeprefix("group_commit_")] = float(line.split()[1])
        return figures

    def client(self, name: str) -> KeepAlive:
        """A keep-alive client signed in as account ``name`` with a bearer token."""
        answer = httpx.post(f"{self.url}/api/v1/tokens", json={"name": name, "password": ACCOUNT_PASSWORD,
                                                              "days": 1, "label": "bench"}, timeout=30)
        if answer.status_code != 201:
            raise RuntimeError(f"token for {name}: {answer.status_code} {answer.text}")
        return KeepAlive(self.port, answer.json()["token"])


class KeepAlive:
    """One keep-alive HTTP/1.1 connection to the service, with a bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        """(status, body) of one request."""
        self.connection.request(method, path, body=None if body is None else json.dumps(body),
                                headers=self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def fresh(self) -> KeepAlive:
        """This client with a new connection (uvicorn closes one left idle for 5 s, as between rounds)."""
        self.connection.close()
        return self

    def close(self) -> None:
        self.connection.close()


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


def add_accounts(db: str, threads: int) -> list[str]:
    """``threads`` licensing officers and one police reader in the node's accounts; their names, reader last."""
    from domain.roles import Role
    from nodes.accounts.store import Accounts

    names = [f"clerk{t:02d}" for t in range(threads)]
    with Accounts.open(db) as accounts:
        for name in names:
            accounts.add_user(name, Role.LICENSING, ACCOUNT_PASSWORD)
        accounts.add_user("reader", Role.POLICE, ACCOUNT_PASSWORD)
    return [*names, "reader"]


def api_round(sessions: list[KeepAlive], weapons: list[list], per_thread: int) -> tuple[float, list[float]]:
    """(events/s, latencies in ms) of transfers POSTed by one client per thread."""

    def transfer(t: int, i: int) -> None:
        holder = "BA"[i % 2]
        weapon = weapons[t][i // TRANSFERS_PER_WEAPON % len(weapons[t])]
        code, text = fresh[t].request("POST", f"/api/v1/weapons/{weapon}/transfer",
                                         {"to_holder": f"Dealer {holder}", "licence": f"TL-{holder}"})
        if code != 200:
            raise RuntimeError(f"transfer refused: {code} {text[:300]!r}")

    fresh = [session.fresh() for session in sessions]
    return clients(len(sessions), per_thread, transfer)


def ceiling_round(sessions: list[KeepAlive], per_thread: int) -> tuple[float, list[float]]:
    """(requests/s, latencies in ms) of GET /healthz by the same clients: what HTTP alone costs here."""

    def probe(t: int, _i: int) -> None:
        code, text = fresh[t].request("GET", "/healthz")
        if code != 200:
            raise RuntimeError(f"/healthz: {code} {text[:300]!r}")

    fresh = [session.fresh() for session in sessions]
    return clients(len(sessions), per_thread, probe)


def history_samples(node, session: KeepAlive, events: int, samples: int) -> tuple[list[float], list[float]]:
    """(API ms, in-process ms) of reading random weapons' timelines, alternating."""
    from domain.marking import Marking
    from nodes.registry.reading import weapon_timeline

    rng = random.Random(2)
    api, local = [], []
    session.fresh()
    for n in range(samples + WARM_UP):
        weapon_id = Marking.read("FN Herstal", "BE", f"S{rng.randrange(events // 2):09d}").weapon_id()
        started = time.perf_counter()
        code, text = session.request("GET", f"/api/v1/weapons/{weapon_id}")
        middle = time.perf_counter()
        document = weapon_timeline(node, weapon_id)
        ended = time.perf_counter()
        if code != 200 or len(json.loads(text)["events"]) != 2 or len(document["events"]) != 2:
            raise RuntimeError(f"unexpected history: {code} {text[:300]!r}")
        if n >= WARM_UP:  # the first reads fill connection pools and caches
            api.append((middle - started) * 1000)
            local.append((ended - middle) * 1000)
    return api, local


def measure(backend: str, events: int, transfers: int, threads: int, rounds: int, samples: int,
            processes: int = 1) -> Table:
    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    on_postgres = backend == "postgres"
    per_thread = max(1, transfers // threads)
    rates: dict[str, list[float]] = {"api": [], "es": [], "http": []}
    latencies: dict[str, list[float]] = {"api": [], "es": []}
    cpu = {"service": 0.0, "clients": 0.0, "server": 0.0}
    thread_cpu: dict[tuple[int, int], float] = {}  # service threads' CPU over the API rounds, by process and thread
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        now = int(time.time())
        for number, holder in (("TL-A", "Dealer A"), ("TL-B", "Dealer B")):
            node.registry.issue_licence(number=number, kind="transfer_licence", holder=holder,
                                        valid_from=now - 30 * DAY, valid_until=now + 30 * DAY,
                                        occurred_on=now - 30 * DAY)
        progress(f"{label}: filling {events:,} signed events (import-csv)")
        with Stopwatch() as fill:
            fill_rate = fill_signed(node, folder, events)
        app = common.baseline_app(str(folder / "baseline.db") if backend == "sqlite" else db)
        prepared = [prepare(node, app, threads, per_thread, f"R{r}T") for r in range(rounds)]
        node.settle()
        names = add_accounts(db, threads)
        progress(f"{label}: starting armsledger serve" + (f" x {processes}" if processes > 1 else ""))
        server_cpu = server_cpu_seconds(db)
        with contextlib.ExitStack() as stack:
            services = [stack.enter_context(ServedNode(db, folder, f"serve-{n}")) for n in range(processes)]
            served = services[0]  # the history reads go to the first
            sessions = [services[t % processes].client(name) for t, name in enumerate(names)]
            started_rss = served.peak_rss_mb()
            for r, (weapons, items) in enumerate(prepared):
                for kind in (["es", "api"] if r % 2 == 0 else ["api", "es"]):
                    progress(f"{label} round {r + 1}/{rounds}: {kind}, {threads} clients x {per_thread} transfers")
                    if kind == "api":
                        service_cpu, own_cpu = sum(s.cpu_seconds() for s in services), _own_cpu_seconds()
                        threads_before = _threads_cpu(services)
                        server_before = sum(server_cpu().values()) if server_cpu is not None else 0.0
                        rate, samples_ms = api_round(sessions[:threads], weapons, per_thread)
                        cpu["service"] += sum(s.cpu_seconds() for s in services) - service_cpu
                        for key, seconds in _threads_cpu(services).items():
                            thread_cpu[key] = thread_cpu.get(key, 0.0) + seconds - threads_before.get(key, 0.0)
                        cpu["clients"] += _own_cpu_seconds() - own_cpu
                        if server_cpu is not None:
                            cpu["server"] += sum(server_cpu().values()) - server_before
                    else:
                        rate, samples_ms = baseline_round(app, items, per_thread)
                    rates[kind].append(rate)
                    latencies[kind] += samples_ms
            for _ in range(rounds):
                rates["http"].append(ceiling_round(sessions[:threads], per_thread)[0])
            recording_rss = max(s.peak_rss_mb() for s in services)
            committed = [s.group_commit_figures() for s in services]
            progress(f"{label}: timing {samples:,} history reads through the API and in process")
            api_ms, local_ms = history_samples(node, sessions[-1], events, samples)
            history_rss = max(s.peak_rss_mb() for s in services)
            # uvicorn's event loop runs on each process's main thread
            event_loops = sum(thread_cpu.pop((s.process.pid, s.process.pid), 0.0) for s in services)
            for session in sessions:
                session.close()
        app.close()
        node.close()

    m = {k: median(v) for k, v in rates.items()}
    big = events >= HISTORY_TARGET_EVENTS
    table = Table(f"bench_service: armsledger serve over HTTP, {events:,} stored events, {label}")
    table.add(f"transfers by {threads} API clients", m["api"], m["es"], THROUGHPUT_TARGET if on_postgres else None)
    table.add(f"transfers by {threads} API clients vs baseline", m["api"], m["es"],
              RATIO_TARGET if on_postgres else None, target_of="ratio")
    table.add(f"HTTP alone: GET /healthz by {threads} clients", m["http"], unit="requests/s")
    for p in (50, 99):
        table.add(f"recording latency p{p}", percentile(latencies["api"], p), percentile(latencies["es"], p),
                  P99_TARGET_MS if p == 99 and on_postgres else None, higher_is_better=False, unit="ms")
    for p in (50, 99):
        local = percentile(local_ms, p)
        table.add(f"GET history p{p}", percentile(api_ms, p), local,
                  HISTORY_RATIO_TARGET if p == 99 and on_postgres and big else None,
                  higher_is_better=False, unit="ms", target_of="ratio")
    for what, rss in (("after start", started_rss), ("after recording", recording_rss),
                      ("after history", history_rss)):
        table.add(f"service peak RSS {what}", rss, target=RSS_TARGET_MB if what != "after start" else None,
                  higher_is_better=False, unit="MB")
    api_events = rounds * threads * per_thread
    where = ("its own process" if processes == 1
             else f"{processes} processes on one database, client t talking to process t mod {processes}")
    loops = "event loop (main thread" + ("s" if processes > 1 else "") + ")"
    table.add("fill, bulk import-csv", fill_rate)
    table.notes += [
        f"armsledger serve in {where} (uvicorn, plain HTTP, group committer); {threads} client threads "
        "in this process, one keep-alive http.client connection and bearer token (real account) each",
        f"recording: median of {rounds} rounds of {threads * per_thread:,} transfers, latency request to answer "
        f"over all rounds; baseline: bench_group_commit's eventsourcing get-change-save of an unsigned aggregate, "
        f"the same {threads} threads, one event per save, alternating with the API rounds",
        f"CPU per 1,000 API transfers: service {1000 * cpu['service'] / api_events:.2f} s, "
        f"clients (this process) {1000 * cpu['clients'] / api_events:.2f} s"
        + (f", PostgreSQL server {1000 * cpu['server'] / api_events:.2f} s" if on_postgres else "")
        + f", on {os.cpu_count()} CPUs",
        f"of the service's CPU over the API rounds per 1,000 transfers: {loops} "
        f"{1000 * event_loops / api_events:.2f} s, its other threads, busiest first: "
        + ", ".join(f"{1000 * seconds / api_events:.2f}" for seconds in sorted(thread_cpu.values(), reverse=True)
                    if 1000 * seconds / api_events >= 0.01) + " s (the group committer's writer, reader, settler, "
        "store thread and the database pools' threads; Linux does not name them)",
        "group committer" + ("s" if processes > 1 else "") + " (records per transaction, conflicts, batches run "
        "again): " + "; ".join(f"{f.get('records_written', 0) / max(1.0, f.get('batches', 0)):.1f}, "
                               f"{f.get('conflicts', 0):.0f}, {f.get('runs_again', 0):.0f}" for f in committed),
        f"HTTP alone: the same clients GET /healthz (no authentication, no database), {rounds} rounds of "
        f"{threads * per_thread:,}, median: the most requests per second this service process answers here; "
        f"transfers reach {m['api'] / m['http']:.2f} of it",
        f"history: {samples:,} random weapons (2 events each) after {WARM_UP} warm-up reads, one at a time; "
        "baseline: nodes.registry.reading.weapon_timeline in this process (the API adds HTTP, the token "
        "check and the read-audit append)",
        f"fill of {events:,} events took {fill.seconds:.0f} s",
        "all rounds: " + ", ".join(f"{k} " + "/".join(f"{x:,.0f}" for x in v) for k, v in rates.items()),
    ]
    if on_postgres:
        table.notes.append(f"targets: >= {THROUGHPUT_TARGET:,} events/s and >= {RATIO_TARGET:.0f}x the baseline "
                           f"(one row each), p99 <= {P99_TARGET_MS:.0f} ms, RSS <= {RSS_TARGET_MB:.0f} MB; "
                           f"history p99 <= {HISTORY_RATIO_TARGET:.0f}x in-process at {HISTORY_TARGET_EVENTS:,} "
                           "events" + ("" if big else f" (run with --events {HISTORY_TARGET_EVENTS})"))
    else:
        table.notes.append("throughput, latency and history targets are for PostgreSQL")
    return table


def _threads_cpu(services: list[ServedNode]) -> dict[tuple[int, int], float]:
    return {(s.process.pid, tid): seconds for s in services for tid, seconds in s.thread_cpu_seconds().items()}


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    p = common.parser(__doc__.splitlines()[0], default_events=HISTORY_TARGET_EVENTS)
    p.add_argument("--transfers", type=int, default=3_200, help="transfers per round, over all clients")
    p.add_argument("--threads", type=int, default=16, help="client threads (default 16)")
    p.add_argument("--rounds", type=int, default=3, help="recording rounds; the median is printed")
    p.add_argument("--samples", type=int, default=2_000, help="history reads timed (after a warm-up)")
    p.add_argument("--processes", type=int, default=1,
                   help="armsledger serve processes on the one database (default 1), clients spread over them")
    args = p.parse_args()
    common.measure_each_backend("bench_service", args.backend, lambda b: measure(
        b, args.events, args.transfers, args.threads, args.rounds, args.samples, args.processes))


if __name__ == "__main__":
    main()
