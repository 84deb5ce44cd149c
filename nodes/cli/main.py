"""``armsledger``: the command line of a national node.

Builds the parser from the command groups (one module each) and runs one
command, mapping every failure a user can cause to a one-line message and an
exit code. The commands, options and exit codes are described in docs/cli.md.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import traceback
from collections.abc import Mapping, Sequence

from eventsourcing.domain import OriginatorVersionError

import nodes.cli.alarms as alarm_commands
import nodes.cli.alerts as alerts_commands
import nodes.cli.brokers as broker_commands
import nodes.cli.certificates as certificate_commands
import nodes.cli.checkpoints as checkpoint_commands
import nodes.cli.components as components_commands
import nodes.cli.evidence as evidence_commands
import nodes.cli.reference as reference_commands
import nodes.cli.retention as retention_commands
import nodes.cli.witness as witness_commands
from domain.errors import DomainError
from ledger.errors import KeyStoreError, LedgerError, VerificationError
from nodes.cli import (
    audit,
    customs,
    demo,
    disclosure,
    epcis,
    federation,
    licence,
    persons,
    query,
    record,
    serve,
    stats,
    store,
    trace,
    trust,
    users,
)
from nodes.cli.invocation import Invocation
from nodes.errors import (
    ConfigurationError,
    ImportFileError,
    NodeError,
    NodeExists,
    NodeFileDamaged,
    NodeNotInitialised,
    StorageError,
)

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
    parser.add_argument("--version", action=_PrintVersion)
    parser.add_argument("--home", metavar="DIR", help="node directory (env ARMSLEDGER_HOME, default ./.armsledger)")
    parser.add_argument("--db", metavar="URL", help="SQLite path or postgresql:// URL "
                                                    "(env ARMSLEDGER_DB, default HOME/ledger.db)")
    parser.add_argument("--kafka", metavar="HOST:PORT[,..]", help="Kafka bootstrap servers for federation "
                                                                  "(env ARMSLEDGER_KAFKA)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # In the order ``armsledger --help`` lists them.
    store.add_init(commands)
    record.add_commands(commands)       # record EVENT
    licence.add_commands(commands)      # licence issue|revoke
    store.add_import_csv(commands)
    query.add_commands(commands)        # history, search
    components_commands.add_commands(commands)  # component show
    stats.add_commands(commands)        # stats
    customs.add_commands(commands)      # shipments, authorizations
    epcis.add_commands(commands)        # epcis export|import (GS1 EPCIS 2.0)
    store.add_verify(commands)
    store.add_rebuild(commands)
    demo.add_commands(commands)
    broker_commands.add_commands(federation.add_broker(commands))  # broker run; the broker register (FP art 15)
    trust.add_commands(commands)        # key export|rotate|revoke, trust add|list|remove
    federation.add_commands(commands)   # sync, node run, quarantine
    alarm_commands.add_commands(commands)  # alarm list|settle
    trace.add_commands(commands)        # trace ACTION, diversion
    certificate_commands.add_commands(commands)  # certificate export|verify|print
    alerts_commands.add_commands(commands)  # alerts (hit notices received)
    audit.add_commands(commands)        # audit reads
    users.add_commands(commands)        # user ACTION, token ACTION
    serve.add_commands(commands)        # serve (HTTP API and desks)
    reference_commands.add_commands(commands)  # reference import|search|show
    persons.add_commands(commands)      # person add|show (private holders, subject access)
    disclosure.add_commands(commands)   # disclosure request|release|refuse|list|show (a holder's identity abroad)
    retention_commands.add_commands(commands)  # retention report|run (docs/personal-data.md)
    evidence_commands.add_commands(commands)  # proof inclusion|consistency, evidence export|verify
    witness_commands.add_commands(commands)  # witness status (partners' cosignatures of our checkpoints)
    checkpoint_commands.add_commands(commands)  # checkpoint show [--note] (docs/checkpoints.md)
    return parser


class _PrintVersion(argparse.Action):
    """``--version``: print the installed package's version and exit 0; looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version of armsledger and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("armsledger")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "(not installed)"
        sys.stdout.write(f"{PROG} {found}\n")
        parser.exit()


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
    except NodeFileDamaged as e:
        run_.warn(f"{name}: verification failed: {e}")
        return EXIT_VERIFICATION_FAILED
    except LedgerError as e:  # stored bytes that are not a canonical envelope: tampering or corruption
        run_.warn(f"{name}: verification failed: a stored record is unreadable ({e}); "
                  f"run 'armsledger verify' to locate every bad record")
        return EXIT_VERIFICATION_FAILED
    except OriginatorVersionError as e:  # a stream replayed with a version other than the next: a row was deleted
        found, due = (e.args + ("?", "?"))[:2]
        run_.warn(f"{name}: verification failed: a stored stream holds version {found} where version {due} "
                  "was due (a record was deleted); run 'armsledger verify' to locate every bad record")
        return EXIT_VERIFICATION_FAILED
    except KeyboardInterrupt:
        run_.warn(f"{name}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`armsledger history ... | head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - the last resort: every failure gets an exit code and a message
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
    except Exception:  # noqa: BLE001 - only used while reporting another failure, which must not be masked
        return False


if __name__ == "__main__":
    sys.exit(main())
