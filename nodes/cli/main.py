"""``armsledger``: the command line of a national node.

A thin layer over the library (``nodes.bootstrap``, ``node.registry``,
``node.views``, ``nodes.registry.verify``, ``nodes.migration.csv_import``): every command is one or
two library calls, so whatever the CLI does can be done from Python.

Usage::

    armsledger [--home DIR] [--db URL] COMMAND [options] [--json]

Global options come before the command: ``--home`` (env ARMSLEDGER_HOME,
default ``./.armsledger``) and ``--db`` (env ARMSLEDGER_DB, a SQLite path or
a ``postgresql://`` URL, default ``HOME/ledger.db``). Signing commands
(``init``, ``record``, ``licence``, ``import-csv``) need the passphrase of the
node's keys in ARMSLEDGER_PASSPHRASE; reading commands do not. Every command
that prints accepts ``--json`` after the command name: one JSON document on
stdout.

Commands: ``init``, ``record EVENT``, ``licence issue``, ``history``,
``search``, ``stats``, ``shipments``, ``verify``, ``import-csv``, ``rebuild``,
``demo``, ``trace``, ``diversion``; federation (``nodes.cli.federation``): ``broker run``,
``key export``, ``trust add|list``, ``sync``, ``node run``, ``quarantine``, with the
global ``--kafka HOST:PORT[,..]`` (env ARMSLEDGER_KAFKA) (see ``armsledger COMMAND --help``).

Exit codes (outside scripts rely on them):

====  =========================================================================
0     success
1     verification failure: ``verify`` found a bad signature, certificate,
      chain or checkpoint (each problem is named), or a command met a stored
      record that is not a readable envelope
2     refused input: a rule or a malformed value (domain errors), bad usage,
      missing passphrase or node, a node that exists already, a wrong
      passphrase; the message on stderr names the field (and option) and why.
      ``import-csv`` also exits 2 when any row was refused (valid rows are
      recorded all the same)
3     infrastructure failure: the database could not be reached or failed
4     internal error (a bug): the traceback is printed for the report
130   interrupted (Ctrl-C)
====  =========================================================================
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import traceback
from collections.abc import Mapping, Sequence

from domain.errors import DomainError
from ledger.errors import KeyStoreError, LedgerError, VerificationError
from nodes.cli import demo as cli_demo
from nodes.cli import federation as cli_federation
from nodes.cli import query as cli_query
from nodes.cli import record as cli_record
from nodes.cli import trace as cli_trace
from nodes.cli.invocation import Invocation, add_command, add_json_option
from nodes.errors import ConfigurationError, ImportFileError, NodeError, NodeExists, NodeNotInitialised, StorageError

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_REFUSED = 2
EXIT_STORAGE = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

PROG = "armsledger"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Signed, tamper-evident records of firearms' lives for a national registry "
                    "(UN Firearms Protocol, International Tracing Instrument).",
        epilog="Exit codes: 0 ok, 1 verification failed, 2 refused input, 3 database failure, 4 internal error.",
    )
    parser.add_argument("--home", metavar="DIR", help="node directory (env ARMSLEDGER_HOME, default ./.armsledger)")
    parser.add_argument("--db", metavar="URL", help="SQLite path or postgresql:// URL "
                                                    "(env ARMSLEDGER_DB, default HOME/ledger.db)")
    parser.add_argument("--kafka", metavar="HOST:PORT[,..]", help="Kafka bootstrap servers for federation "
                                                                  "(env ARMSLEDGER_KAFKA)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = add_command(commands, "init", init_command, "create the node: keys and authority certificates")
    init.add_argument("--state", required=True, metavar="CC", help="the node's state (ISO 3166-1 alpha-2)")
    add_json_option(init)

    cli_record.add_commands(commands)
    cli_query.add_commands(commands)
    cli_demo.add_commands(commands)
    cli_federation.add_commands(commands)
    cli_trace.add_commands(commands)
    return parser


def init_command(run: Invocation) -> int:
    """Create the node at ``--home``; refuses (exit 2) if one exists there."""
    from nodes.bootstrap import init_node

    settings = run.settings
    with init_node(settings, run.args.state) as node:
        node.settle()
        identity = node.identity
    document = {
        "state": identity.state,
        "home": str(settings.home),
        "db": settings.db if not settings.is_postgres else _without_password(settings.db),
        "node_key_id": identity.node_key_id,
        "authorities": dict(identity.authority_key_ids),
    }
    run.emit(document, f"node {identity.state} created in {settings.home} (node key {identity.node_key_id})")
    return EXIT_OK


def run(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one command with ``environ`` (default ``os.environ``) as its environment; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: usage errors exit 2, --help exits 0
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_REFUSED)
    invocation = Invocation(args=args, environ=os.environ if environ is None else environ)
    return _guarded(invocation)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: ``armsledger ...``; returns the exit code."""
    return run(argv)


def _guarded(run_: Invocation) -> int:
    """Call the command; map every expected failure to its exit code and a one-line message."""
    name = _command_name(run_.args)
    try:
        return run_.args.handler(run_)
    except DomainError as e:
        run_.warn(f"{name}: refused: {_field_message(run_, e.field, _reason(e))}")
        return EXIT_REFUSED
    except (ConfigurationError, NodeExists, NodeNotInitialised, ImportFileError, KeyStoreError) as e:
        run_.warn(f"{name}: refused: {e}")
        return EXIT_REFUSED
    except VerificationError as e:
        run_.warn(f"{name}: verification failed: {e}")
        return EXIT_VERIFICATION_FAILED
    except LedgerError as e:  # stored bytes that are not a canonical envelope: tampering or corruption
        run_.warn(f"{name}: verification failed: a stored record is unreadable ({e}); "
                  f"run 'armsledger verify' to locate every bad record")
        return EXIT_VERIFICATION_FAILED
    except KeyboardInterrupt:
        run_.warn(f"{name}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`armsledger history ... | head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:
        if _is_storage_failure(e):
            run_.warn(f"{name}: database failure ({run_.settings.db if not _pg(run_) else 'PostgreSQL'}): {e}")
            return EXIT_STORAGE
        if isinstance(e, NodeError):
            run_.warn(f"{name}: {e}")
            return EXIT_STORAGE
        run_.warn(f"{name}: internal error, please report it:\n{traceback.format_exc()}")
        return EXIT_INTERNAL


def _is_storage_failure(error: BaseException) -> bool:
    if isinstance(error, (StorageError, sqlite3.Error)):
        return True
    module = type(error).__module__
    if module.startswith(("psycopg", "psycopg_pool")):
        return True
    try:
        from eventsourcing.persistence import PersistenceError
    except ImportError:  # pragma: no cover - eventsourcing is a dependency
        return False
    return isinstance(error, PersistenceError)


def _field_message(run_: Invocation, field: str | None, reason: str) -> str:
    if not field:
        return reason
    option = run_.option_for(field)
    if option and option.lstrip("-").replace("-", "_") != field:
        return f"{field} ({option}): {reason}"
    if option:
        return f"{option}: {reason}"
    return f"{field}: {reason}"


def _reason(error: DomainError) -> str:
    return error.args[0] if error.args else type(error).__name__


def _command_name(args: argparse.Namespace) -> str:
    parts = [PROG, args.command]
    for sub in ("event", "action"):
        if getattr(args, sub, None):
            parts.append(getattr(args, sub))
    return " ".join(parts)


def _pg(run_: Invocation) -> bool:
    try:
        return run_.settings.is_postgres
    except Exception:
        return False


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


if __name__ == "__main__":
    sys.exit(main())
