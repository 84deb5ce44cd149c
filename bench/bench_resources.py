"""Peak memory of ``armsledger sync``, ``quarantine`` and ``node run`` after a node's inbox topic was flooded.

    .venv/bin/python bench/bench_resources.py [--oversized-mb 200] [--malformed 100000] [--message-mb 8]

Two floods on a local Tansu broker (``nodes.federation.broker.LocalBroker``), each into
the inbox topic of a fresh SQLite node: oversized messages (``--oversized-mb`` in all,
``--message-mb`` each) and small malformed ones (``--malformed``). After each,
``armsledger sync`` then ``armsledger quarantine --json`` run as child processes, then
the same flood again is read by ``armsledger node run`` (stopped by SIGTERM after twice
the time sync took, plus 10 s); the figure is each child's peak RSS (``wait4``'s
``ru_maxrss``, ``common.run_child``), reported under backend ``sqlite``, printed beside
the target (150 MB, whatever the flood's size) and beside the peak RSS of ``armsledger
--help`` measured in the same run (the interpreter with the CLI imported). The defaults
are small; the full figures come from ``--oversized-mb 200 --malformed 100000``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from common import PASSPHRASE, Table, armsledger_command, machine_note, run_child  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from nodes.federation.broker import LocalBroker  # noqa: E402
from nodes.federation.kafka_transport import KafkaTransport  # noqa: E402

TARGET_MB = 150
STATE = "NL"
ARMSLEDGER = armsledger_command()
BACKEND = "sqlite"  # each flooded node's log (the figures do not depend on the backend)


def peak_rss_mb(argv: list[str], env: dict[str, str], *, stop_after_s: float = 0) -> tuple[float, int, float]:
    """(peak RSS in MB, exit code, seconds) of one process running ``argv``; SIGTERM after ``stop_after_s`` if > 0."""
    done = run_child(argv, env, stop_after_s=stop_after_s)
    if done.returncode not in (0, 1):
        print(f"  ({' '.join(argv[1:])}: exit {done.returncode}: {done.stderr[-300:].strip()})")
    return done.peak_rss_mb, done.returncode, done.seconds


def node_env(home: Path, broker: LocalBroker, prefix: str) -> dict[str, str]:
    return {**os.environ, "ARMSLEDGER_HOME": str(home), "ARMSLEDGER_DB": str(home / "ledger.db"),
            "ARMSLEDGER_PASSPHRASE": PASSPHRASE, "ARMSLEDGER_KAFKA": broker.bootstrap_servers,
            "ARMSLEDGER_TOPIC_PREFIX": prefix}


def flood(broker: LocalBroker, prefix: str, *,
          count: int = 0, make=None) -> None:
    """Write ``count`` messages ``make(i)`` to the node's inbox topic, as anyone with broker access could."""
    transport = KafkaTransport(broker.bootstrap_servers, prefix, timeout_s=60.0)
    try:
        transport.ensure_topics([STATE])
        topic = transport.inbox_topic(STATE)
    finally:
        transport.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks=1, linger_ms=20,
                             max_request_size=64 * 1024 * 1024, batch_size=1024 * 1024)
    try:
        for i in range(count):
            producer.send(topic, key=b"BE", value=make(i))
        producer.flush(timeout=600)
    finally:
        producer.close()


def measure(name: str, broker: LocalBroker, count: int, make, sync_timeout: float, baseline: float,
            table: Table, root: Path) -> None:
    home = root / name
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = node_env(home, broker, prefix)
    subprocess.run([*ARMSLEDGER, "init", "--state", STATE], env=env, check=True, stdout=subprocess.DEVNULL)
    began = time.perf_counter()
    flood(broker, prefix, count=count, make=make)
    flooded_s = time.perf_counter() - began
    sync_mb, sync_code, sync_s = peak_rss_mb([*ARMSLEDGER, "sync", "--timeout", str(sync_timeout), "--json"], env)
    quarantine_mb, q_code, q_s = peak_rss_mb([*ARMSLEDGER, "quarantine", "--json"], env)
    # The same flood again, now read by a running node until it has had as long as sync took, and more.
    flood(broker, prefix, count=count, make=make)
    run_for = 2 * sync_s + 10
    run_mb, run_code, _ = peak_rss_mb([*ARMSLEDGER, "node", "run"], env, stop_after_s=run_for)
    table.add(f"{name}: node run peak RSS", run_mb, baseline, TARGET_MB, higher_is_better=False, unit="MB")
    db_mb = (home / "ledger.db").stat().st_size / 1e6
    table.add(f"{name}: sync peak RSS", sync_mb, baseline, TARGET_MB, higher_is_better=False, unit="MB")
    table.add(f"{name}: quarantine peak RSS", quarantine_mb, baseline, TARGET_MB, higher_is_better=False, unit="MB")
    table.notes.append(f"{name}: {count:,} messages written in {flooded_s:.1f} s; sync exit {sync_code} in "
                       f"{sync_s:.1f} s, quarantine exit {q_code} in {q_s:.1f} s; node run over a second flood "
                       f"for {run_for:.0f} s, exit {run_code} after SIGTERM; ledger.db then {db_mb:.1f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--oversized-mb", type=int, default=24, help="total size of the oversized flood (default 24)")
    p.add_argument("--message-mb", type=int, default=8, help="size of each oversized message (default 8)")
    p.add_argument("--malformed", type=int, default=10_000, help="number of small malformed messages (default 10,000)")
    p.add_argument("--sync-timeout", type=float, default=300.0, help="seconds each sync may take")
    args = p.parse_args()

    print(machine_note())
    table = Table(f"peak RSS after floods of the inbox topic, SQLite nodes (target: under {TARGET_MB} MB each)",
                  backend=BACKEND)
    with tempfile.TemporaryDirectory(prefix="bench-resources-") as tmp, LocalBroker() as broker:
        root = Path(tmp)
        baseline, _, _ = peak_rss_mb([*ARMSLEDGER, "--help"], dict(os.environ))
        table.notes.append(f"baseline: peak RSS of 'armsledger --help' in this run, {baseline:.1f} MB")
        chunk = os.urandom(1024 * 1024)  # random: nothing on the way compresses it away
        oversized = max(1, args.oversized_mb // args.message_mb)
        measure(f"{oversized} x {args.message_mb} MB oversized", broker, oversized,
                lambda i: i.to_bytes(8, "big") + chunk * args.message_mb, args.sync_timeout, baseline, table, root)
        measure(f"{args.malformed:,} malformed", broker, args.malformed,
                lambda i: b"\xc1" + i.to_bytes(8, "big") + bytes(40), args.sync_timeout, baseline, table, root)
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
