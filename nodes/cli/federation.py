"""The federation commands: ``broker run``, ``sync``, ``node run``, ``quarantine`` (alarms: ``nodes.cli.alarms``).

``sync`` and ``node run`` exchange records with partners through the Kafka broker
named by the global ``--kafka`` (env ARMSLEDGER_KAFKA), on topics that start with
ARMSLEDGER_TOPIC_PREFIX (both read into ``nodes.settings.Settings``); they sign (checkpoints,
cosignatures, automatic trace steps) and so need ARMSLEDGER_PASSPHRASE.
Topics, signals and exit codes are described in docs/cli.md.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import TYPE_CHECKING, Any

from domain.time import format_time
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.cli.progress import progress_of
from nodes.cli.serve import add_serve_options, serve_node
from nodes.errors import ConfigurationError
from nodes.plurals import counted

#: ``quarantine`` lists this many entries unless told otherwise, and never more than the maximum.
QUARANTINE_PAGE = 100
MAX_QUARANTINE_PAGE = 10_000

if TYPE_CHECKING:  # imported where used: only the federation commands need kafka-python
    from nodes.federation.kafka_transport import KafkaTransport


# ``sync --timeout``: a pass needs some time to reach the broker; a day is past any sane wait.
MIN_TIMEOUT_S = 0.1
MAX_TIMEOUT_S = 86_400.0


def add_broker(subparsers: Commands) -> Commands:
    """The ``broker`` command with ``run``; returns its actions, which the broker register (FP art 15) joins."""
    broker = subparsers.add_parser("broker", help="arms brokers registered here (FP art 15); "
                                                  "run: a local Kafka-protocol broker for the embedded default")
    actions = broker.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "run", broker_run, "run a local broker (memory storage) until Ctrl-C or SIGTERM")
    parser.add_argument("--port", type=number_option(1, 65535), default=9092, help="port to listen on (default 9092)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    return actions


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "sync", sync_command,
                         "one federation pass: publish pending records, ingest the inbox, answer automatic steps")
    parser.add_argument("--timeout", type=number_option(MIN_TIMEOUT_S, MAX_TIMEOUT_S, whole=False, unit="seconds"),
                        default=30.0, metavar="S", help="give up after S seconds (30)")
    add_json_option(parser)

    node = subparsers.add_parser("node", help="run the node's federation process")
    actions = node.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "run", node_run,
                         "relay and ingest until SIGTERM or Ctrl-C (finishes the batch in hand)")
    parser.add_argument("--serve", action="store_true", help="run the HTTP service too (see armsledger serve)")
    add_serve_options(parser)

    parser = add_command(subparsers, "quarantine", quarantine,
                         "messages refused on ingest, with the reason; exit 1 if any is an alarm not settled")
    parser.add_argument("--limit", type=number_option(1, MAX_QUARANTINE_PAGE), default=QUARANTINE_PAGE, metavar="N",
                        help=f"list at most N entries (default {QUARANTINE_PAGE})")
    parser.add_argument("--after", type=number_option(0, 2**63 - 1), default=0, metavar="ID",
                        help="list the entries after entry ID (the last of the previous page)")
    add_json_option(parser)


# --- commands ------------------------------------------------------------------------------

def broker_run(run: Invocation) -> int:
    from nodes.federation.broker import LocalBroker

    stop = stop_on_signals()
    with LocalBroker(port=run.args.port, host=run.args.host) as broker:
        run.out.write(f"broker listening on {broker.bootstrap_servers} (memory storage; "
                      f"export ARMSLEDGER_KAFKA={broker.bootstrap_servers})\n")
        run.out.flush()
        while not stop.wait(0.5):
            if not broker.running:
                run.warn(f"the broker on {broker.bootstrap_servers} exited:\n{broker.output_tail()}")
                return 3
    return 0


def sync_command(run: Invocation) -> int:
    from nodes.federation.sync import sync

    _log_to_stderr()
    with (run.open_node(unlock=True) as node, open_transport(run) as transport,
          progress_of(run, "sync: inbox", "messages") as shown):
        report = sync(node, transport, run.args.timeout, progress=shown)
    human = (f"published {counted(report.published, 'record')} and {counted(report.checkpoints_sent, 'checkpoint')}; "
             f"read {counted(report.read, 'message')}: {report.accepted} accepted, "
             f"{counted(report.duplicates, 'duplicate')}, {report.quarantined} quarantined "
             f"({counted(report.alarms, 'alarm')}); {counted(report.reactions, 'automatic step')}"
             + (f" ({report.failed_reactions} failed: armsledger quarantine)" if report.failed_reactions else "")
             + ("" if report.quiet else f"; stopped after {run.args.timeout:g} s with work left"))
    run.emit(report.to_dict(), human)
    return 0


def node_run(run: Invocation) -> int:
    """Relay and ingest; with ``--serve`` the HTTP service runs in the main thread (uvicorn wants
    the signals) and federation in another, each with its own connections to the node."""
    from nodes.federation.sync import run as run_federation

    _log_to_stderr()
    stop = stop_on_signals()
    if run.args.serve:
        from nodes.service.serve import check_tls

        check_tls(run.args.tls_cert, run.args.tls_key)  # before anything starts
    with run.open_node(unlock=True) as node, open_transport(run) as transport:
        run.warn(f"node {node.identity.state}: relaying and ingesting through {transport.bootstrap_servers} "
                 f"(topics {transport.topic_prefix}.inbox.*); SIGTERM or Ctrl-C stops")
        if not run.args.serve:
            with progress_of(run, "node run: inbox", "messages") as shown:
                report = run_federation(node, transport, stop, progress=shown)
        else:
            with ThreadPoolExecutor(1, thread_name_prefix="federation") as pool:
                federation = pool.submit(run_federation, node, transport, stop)
                try:
                    serve_node(run, run.settings)
                finally:
                    stop.set()
                report = federation.result()
    run.warn(f"node {node.identity.state}: stopped after {report.elapsed_s:.1f} s: published "
             f"{counted(report.published, 'record')}, accepted {counted(report.accepted, 'message')}, "
             f"quarantined {report.quarantined}")
    return 0


def quarantine(run: Invocation) -> int:
    from nodes.federation.alarms import open_alarm_count, with_settlements

    limit, after = run.args.limit, run.args.after
    with run.open_node(unlock=False) as node:
        entries = node.inbox.quarantined(after=after, limit=limit + 1)
        more, entries = len(entries) > limit, entries[:limit]
        entries = with_settlements(node, entries)
        alarms = open_alarm_count(node)
    lines = [
        f"{e['id']:>6}  {format_time(e['received_at'] // 1_000_000)}  {_kind(e):7}  {e['reason']:<22} "
        f"from {e['origin'] or '?'} at {e['topic']}[{e['offset']}]: {e['detail']}"
        for e in entries
    ]
    if more:
        lines.append(f"... more: armsledger quarantine --after {entries[-1]['id']} --limit {limit}")
    shown = sum(1 for e in entries if e["kind"] == "alarm" and e["settled"] is None)
    if alarms > shown:
        lines.append(f"ALARM: {counted(alarms - shown, 'more alarm')} in the quarantine, outside this page")
    empty = "quarantine is empty" if not after else f"no entry after {after}"
    run.emit(entries, "\n".join(lines) or empty)
    return 1 if alarms else 0


def _kind(entry: dict[str, Any]) -> str:
    """ERROR, ALARM (open) or SETTLED (an alarm an operator settled: armsledger alarm list)."""
    if entry["kind"] == "alarm" and entry.get("settled"):
        return "SETTLED"
    return str(entry["kind"]).upper()


# --- shared ----------------------------------------------------------------------------------

def open_transport(run: Invocation) -> KafkaTransport:
    """The Kafka transport from the settings' ``kafka`` and ``topic_prefix``.

    Raises ``ConfigurationError`` when no broker is given or the prefix cannot start a topic name.
    """
    from nodes.federation.kafka_transport import KafkaTransport

    settings = run.settings
    if not settings.kafka:
        raise ConfigurationError("no Kafka broker: give --kafka HOST:PORT or set ARMSLEDGER_KAFKA "
                                 "(armsledger broker run starts a local one)")
    return KafkaTransport(settings.kafka, settings.topic_prefix, max_message_bytes=settings.max_message_bytes,
                          security=settings.kafka_security)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _log_to_stderr() -> None:
    # Quarantines and alarms are logged; kafka-python's own reconnect chatter is not for users.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)

