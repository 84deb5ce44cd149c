"""Idle CPU of ``armsledger node run``, beside an idle ``armsledger broker run`` as baseline.

    .venv/bin/python bench/bench_idle_cpu.py [--seconds 30] [--warm-up 15] [--by-thread]

Starts a broker and two partner nodes (BE runs ``node run``, NL only exists as its partner),
lets them settle, then reads each process tree's CPU time (utime + stime, from /proc) over
``--seconds`` of idleness. Prints seconds of CPU and the share of one core. Target for
``node run``: under 2 % of a core. ``--by-thread`` also prints each thread's share, its voluntary
wake-ups per second and the CPU each costs (``/proc/PID/task/*``: ``schedstat``'s nanoseconds), and
the system call it waits in (futex: a lock, epoll_wait: a network loop). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from common import report_figure  # noqa: E402

from nodes.bootstrap import init_node  # noqa: E402
from nodes.federation.broker import free_port  # noqa: E402
from nodes.federation.trust import trust_each_other  # noqa: E402
from nodes.settings import Settings  # noqa: E402

PASSPHRASE = "idle cpu bench"
CLI = [sys.executable, "-c", "import sys; from nodes.cli.main import main; sys.exit(main())"]
TICKS = os.sysconf("SC_CLK_TCK")
IDLE_TARGET_PERCENT = 2.0  # of one core, node run


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (worker processes included)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by ``pid``'s process tree (children that ended are not counted)."""
    total = 0
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / TICKS


def threads(pid: int) -> dict[tuple[int, int], tuple[int, int, str]]:
    """(process, thread) -> (CPU ns, voluntary context switches, system call waited in) of ``pid``'s tree."""
    found = {}
    for member in tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*"):
            try:
                ns = int((task / "schedstat").read_text().split()[0])
                status = (task / "status").read_text()
                switches = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
                syscall = (task / "syscall").read_text().split()[0]
            except (OSError, IndexError, ValueError):
                continue
            found[(member, int(task.name))] = (ns, switches, SYSCALLS.get(syscall, syscall))
    return found


# The system calls a waiting thread is usually in, by their x86-64 numbers (/proc/PID/task/TID/syscall).
SYSCALLS = {"202": "futex", "232": "epoll_wait", "281": "epoll_pwait", "230": "nanosleep", "7": "poll", "0": "read"}


def print_threads(name: str, before: dict, after: dict, elapsed: float) -> None:
    for key, (ns, switches, syscall) in sorted(after.items()):
        ns_before, switches_before, _ = before.get(key, (0, 0, ""))
        used, woken = (ns - ns_before) / 1e9, switches - switches_before
        if used > 0.0005 or woken:
            print(f"  {name:<11} pid {key[0]:<8} thread {key[1]:<8} {syscall:<11} {100 * used / elapsed:6.2f}%  "
                  f"{woken / elapsed:6.1f} wake-ups/s  {1e6 * used / max(1, woken):6.0f} us each")


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(CLI + argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="length of the measurement (default 30)")
    # node run starts (its verifying processes, the first relay pass with the certificates) and its ingest's fetches
    # settle into their idle wait after three empty reads (kafka_transport.IDLE_AFTER_EMPTY_READS, 0.5 s each).
    p.add_argument("--warm-up", type=float, default=15.0, help="idle time before measuring (default 15)")
    p.add_argument("--by-thread", action="store_true", help="also print each thread's share and wake-ups")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as folder:
        base = Path(folder)
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ARMSLEDGER_PASSPHRASE": PASSPHRASE,
               "ARMSLEDGER_KAFKA": bootstrap}
        nodes = [init_node(Settings.load(environ={}, home=base / s, db=str(base / s / "ledger.db"),
                                         passphrase=PASSPHRASE, kafka=bootstrap), s) for s in ("BE", "NL")]
        trust_each_other(nodes)
        for node in nodes:
            node.settle()
            node.close()
        broker = start(["broker", "run", "--port", str(port)], env)
        runner = None
        try:
            time.sleep(3.0)  # the broker starts
            runner = start(["--home", str(base / "BE"), "node", "run"], env)
            time.sleep(args.warm_up)  # node run relays its certificates and settles into idleness
            if runner.poll() is not None:
                raise SystemExit(f"node run ended early with exit {runner.returncode}")
            pids = {"node run": runner.pid, "broker run": broker.pid}
            threads_before = {name: threads(pid) for name, pid in pids.items()} if args.by_thread else {}
            before = {"node run": cpu_seconds(runner.pid), "broker run": cpu_seconds(broker.pid)}
            started = time.monotonic()
            time.sleep(args.seconds)
            elapsed = time.monotonic() - started
            after = {"node run": cpu_seconds(runner.pid), "broker run": cpu_seconds(broker.pid)}
            threads_after = {name: threads(pid) for name, pid in pids.items()} if args.by_thread else {}
        finally:
            if runner is not None:
                stop(runner)
            stop(broker)
    print(f"idle CPU over {elapsed:.1f} s (process tree, utime + stime from /proc; target node run < 2 %)")
    print(f"{'process':<22}{'CPU s':>10}{'% of a core':>14}")
    for name in ("broker run", "node run"):
        used = after[name] - before[name]
        label = f"{name} (baseline)" if name == "broker run" else name
        print(f"{label:<22}{used:>10.2f}{100 * used / elapsed:>13.1f}%")
    for name in threads_after:
        print_threads(name, threads_before[name], threads_after[name], elapsed)
    node_share = 100 * (after["node run"] - before["node run"]) / elapsed
    broker_share = 100 * (after["broker run"] - before["broker run"]) / elapsed
    report_figure("node run idle CPU", "sqlite", node_share, "% of a core", baseline=broker_share or None,
                  target=IDLE_TARGET_PERCENT, higher_is_better=False)


if __name__ == "__main__":
    main()
