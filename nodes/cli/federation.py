"""``armsledger`` commands of the federation: broker, keys, trust, sync, node run, quarantine.

::

    armsledger broker run [--port 9092]          a local Kafka-protocol broker (Tansu), until Ctrl-C/SIGTERM
    armsledger key export > BE.pub               this node's public identity (node key), for partners
    armsledger trust add --state NL NL.pub       trust a partner's node key
    armsledger trust list [--json]               the trusted partners
    armsledger sync [--timeout S] [--json]       one pass: publish pending, ingest the inbox, react
    armsledger node run                          relay and ingest until SIGTERM (finishes the batch, exit 0)
    armsledger quarantine [--json]               refused messages, with reason; kind "alarm" = fork/rewrite

The broker is named by the global ``--kafka HOST:PORT[,..]`` (env ``ARMSLEDGER_KAFKA``);
topics are ``<prefix>.inbox.<STATE>`` with the prefix from ``ARMSLEDGER_TOPIC_PREFIX``
(default ``armsledger``): nodes that work together use the same prefix. ``sync`` and
``node run`` sign (checkpoints, cosignatures, automatic steps): they need
ARMSLEDGER_PASSPHRASE. ``quarantine`` exits 1 when it lists an alarm.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

from domain.errors import InvalidField
from domain.time import format_time
from nodes.cli.invocation import Invocation, add_command, add_json_option
from nodes.errors import ConfigurationError

TOPIC_PREFIX_ENV = "ARMSLEDGER_TOPIC_PREFIX"
DEFAULT_TOPIC_PREFIX = "armsledger"


def add_commands(subparsers: Any) -> None:
    broker = subparsers.add_parser("broker", help="a local Kafka-protocol broker for the embedded default")
    actions = broker.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "run", broker_run, "run a local broker (memory storage) until Ctrl-C or SIGTERM")
    parser.add_argument("--port", type=int, default=9092, help="port to listen on (default 9092)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")

    key = subparsers.add_parser("key", help="this node's public identity")
    actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_command(actions, "export", key_export, "print this node's public identity (give it to partners)")

    trust = subparsers.add_parser("trust", help="partners whose node keys this node trusts")
    actions = trust.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "add", trust_add, "trust a partner state's node key from its identity file")
    parser.add_argument("--state", required=True, metavar="CC", help="the partner's state (ISO 3166-1 alpha-2)")
    parser.add_argument("file", metavar="FILE", help="the partner's identity (armsledger key export)")
    add_json_option(parser)
    parser = add_command(actions, "list", trust_list, "list the trusted partners")
    add_json_option(parser)

    parser = add_command(subparsers, "sync", sync_command,
                         "one federation pass: publish pending records, ingest the inbox, answer automatic steps")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="give up after S seconds (30)")
    add_json_option(parser)

    node = subparsers.add_parser("node", help="run the node's federation process")
    actions = node.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_command(actions, "run", node_run, "relay and ingest until SIGTERM or Ctrl-C (finishes the batch in hand)")

    parser = add_command(subparsers, "quarantine", quarantine,
                         "messages refused on ingest, with the reason; exit 1 if any is an alarm")
    add_json_option(parser)


# --- commands ------------------------------------------------------------------------------

def broker_run(run: Invocation) -> int:
    from nodes.federation.broker import LocalBroker

    stop = _stop_on_signals()
    with LocalBroker(port=run.args.port, host=run.args.host) as broker:
        run.out.write(f"broker listening on {broker.bootstrap_servers} (memory storage; "
                      f"export ARMSLEDGER_KAFKA={broker.bootstrap_servers})\n")
        run.out.flush()
        while not stop.wait(0.5):
            if not broker.running:
                run.warn(f"the broker on {broker.bootstrap_servers} exited:\n{broker.output_tail()}")
                return 3
    return 0


def key_export(run: Invocation) -> int:
    from nodes.registry.identity import load_identity
    from nodes.federation.trust import export_identity

    run.out.write(export_identity(load_identity(run.settings.home, None)))
    return 0


def trust_add(run: Invocation) -> int:
    from nodes.registry.identity import load_identity
    from nodes.federation.trust import TrustStore, parse_identity

    identity = load_identity(run.settings.home, None)
    path = Path(run.args.file)
    try:
        text = path.read_text()
    except OSError as e:
        raise InvalidField(f"cannot read {path}: {e.strerror or e}", field="file") from None
    partner = parse_identity(text, expected_state=run.args.state)
    TrustStore(run.settings.home).add(partner, own_state=identity.state)
    run.emit({"state": partner.state, "node_key_id": partner.node_key_id},
             f"{identity.state} now trusts {partner.state} (node key {partner.node_key_id})")
    return 0


def trust_list(run: Invocation) -> int:
    from nodes.federation.trust import TrustStore

    partners = TrustStore(run.settings.home).partners()
    rows = [{"state": p.state, "node_key_id": p.node_key_id} for p in partners.values()]
    run.emit(rows, "\n".join(f"{r['state']}  {r['node_key_id']}" for r in rows) or "no trusted partners")
    return 0


def sync_command(run: Invocation) -> int:
    from nodes.federation.sync import sync

    if run.args.timeout <= 0:
        raise InvalidField("must be positive", field="timeout")
    _log_to_stderr()
    with run.open_node(unlock=True) as node, open_transport(run) as transport:
        report = sync(node, transport, run.args.timeout)
    human = (f"published {report.published} records and {report.checkpoints_sent} checkpoints; "
             f"read {report.read} messages: {report.accepted} accepted, {report.duplicates} duplicates, "
             f"{report.quarantined} quarantined ({report.alarms} alarms); {report.reactions} automatic steps"
             + ("" if report.quiet else f"; stopped after {run.args.timeout:g} s with work left"))
    run.emit(report.to_dict(), human)
    return 0


def node_run(run: Invocation) -> int:
    from nodes.federation.sync import run as run_federation

    _log_to_stderr()
    stop = _stop_on_signals()
    with run.open_node(unlock=True) as node, open_transport(run) as transport:
        run.warn(f"node {node.identity.state}: relaying and ingesting through {transport.bootstrap_servers} "
                 f"(topics {transport.topic_prefix}.inbox.*); SIGTERM or Ctrl-C stops")
        report = run_federation(node, transport, stop)
    run.warn(f"node {node.identity.state}: stopped after {report.elapsed_s:.1f} s: published {report.published}, "
             f"accepted {report.accepted}, quarantined {report.quarantined}")
    return 0


def quarantine(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        entries = node.inbox.quarantined()
    lines = [
        f"{e['id']:>6}  {format_time(e['received_at'] // 1_000_000)}  {e['kind'].upper():5}  {e['reason']:<22} "
        f"from {e['origin'] or '?'} at {e['topic']}[{e['offset']}]: {e['detail']}"
        for e in entries
    ]
    run.emit(entries, "\n".join(lines) or "quarantine is empty")
    return 1 if any(e["kind"] == "alarm" for e in entries) else 0


# --- shared ----------------------------------------------------------------------------------

def open_transport(run: Invocation) -> Any:
    """The Kafka transport from ``--kafka`` / ARMSLEDGER_KAFKA and ARMSLEDGER_TOPIC_PREFIX."""
    from nodes.federation.kafka_transport import KafkaTransport

    bootstrap = run.settings.kafka
    if not bootstrap:
        raise ConfigurationError("no Kafka broker: give --kafka HOST:PORT or set ARMSLEDGER_KAFKA "
                                 "(armsledger broker run starts a local one)")
    prefix = run.environ.get(TOPIC_PREFIX_ENV) or DEFAULT_TOPIC_PREFIX
    return KafkaTransport(bootstrap, prefix)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _log_to_stderr() -> None:
    # Quarantines and alarms are logged; kafka-python's own reconnect chatter is not for users.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)

