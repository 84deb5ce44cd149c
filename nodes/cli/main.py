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
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

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
from nodes.cli.invocation import Commands, Invocation
from nodes.errors import (
    ConfigurationError,
    ImportFileError,
    NodeError,
    NodeExists,
    NodeFileDamaged,
    NodeNotInitialised,
    StorageError,
)
from projections.errors import MissingRecord

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_REFUSED = 2
EXIT_STORAGE = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

PROG = "armsledger"


def _add_brokers(commands: Commands) -> None:
    broker_commands.add_commands(federation.add_broker(commands))  # broker run; the broker register (FP art 15)


#: The command groups in the order ``armsledger --help`` lists them: the top-level commands each adds,
#: and the function that adds them. A run builds only its own command's group: argparse took longer to
#: build every group's options than many commands take to run.
COMMAND_GROUPS: tuple[tuple[tuple[str, ...], Callable[[Commands], None]], ...] = (
    (("init",), store.add_init),
    (("record",), record.add_commands),                   # record EVENT
    (("licence", "weapons"), licence.add_commands),       # licence issue|revoke
    (("import-csv",), store.add_import_csv),
    (("history", "search"), query.add_commands),
    (("component",), components_commands.add_commands),   # component show
    (("stats",), stats.add_commands),
    (("shipments", "authorizations"), customs.add_commands),
    (("epcis",), epcis.add_commands),                     # epcis export|import (GS1 EPCIS 2.0)
    (("verify",), store.add_verify),
    (("rebuild",), store.add_rebuild),
    (("demo",), demo.add_commands),
    (("broker",), _add_brokers),
    (("key", "trust"), trust.add_commands),               # key export|rotate|revoke, trust add|list|remove
    (("sync", "node", "quarantine"), federation.add_commands),
    (("alarm",), alarm_commands.add_commands),            # alarm list|settle
    (("trace", "diversion"), trace.add_commands),
    (("certificate",), certificate_commands.add_commands),  # certificate export|verify|print
    (("alerts",), alerts_commands.add_commands),          # hit notices received
    (("audit",), audit.add_commands),                     # audit reads
    (("user", "token"), users.add_commands),
    (("serve",), serve.add_commands),                     # HTTP API and desks
    (("reference",), reference_commands.add_commands),    # reference import|search|show
    (("person",), persons.add_commands),                  # private holders, subject access
    (("disclosure",), disclosure.add_commands),           # a holder's identity abroad
    (("retention",), retention_commands.add_commands),    # retention report|run (docs/personal-data.md)
    (("proof", "evidence"), evidence_commands.add_commands),
    (("witness",), witness_commands.add_commands),        # partners' cosignatures of our checkpoints
    (("checkpoint",), checkpoint_commands.add_commands),  # checkpoint show [--note] (docs/checkpoints.md)
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``armsledger``: with every command (``command`` None), or only the group of ``command``.

    A parser built for one command parses that command's runs exactly as the whole one does; one built for
    a command of no group (``""``) has none, and serves ``--version`` only.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Signed, tamper-evident records of firearms' lives for a national registry "
                    "(UN Firearms Protocol, International Tracing Instrument).",
        epilog="Exit codes: 0 ok, 1 verification failed, 2 refused input, 3 database failure, 4 internal error.",
    )
    parser.add_argument("--version", action=_PrintVersion)
    _add_global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for names, add in COMMAND_GROUPS:
        if command is None or command in names:
            add(commands)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", metavar="DIR", help="node directory (env ARMSLEDGER_HOME, default ./.armsledger)")
    parser.add_argument("--db", metavar="URL", help="SQLite path or postgresql:// URL "
                                                    "(env ARMSLEDGER_DB, default HOME/ledger.db)")
    parser.add_argument("--kafka", metavar="HOST:PORT[,..]", help="Kafka bootstrap servers for federation "
                                                                  "(env ARMSLEDGER_KAFKA)")


class _NotParsed(Exception):
    """``argv`` is no plain run of a command: the whole parser parses it, and says what is wrong."""


class _GlobalOptionsParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotParsed(message)


def _chosen_command(argv: Sequence[str] | None) -> str | None:
    """The command that ``argv`` runs, read as the whole parser reads the options before it.

    ``""`` when ``--version`` comes first, which prints the version and ends the run; None when ``argv``
    asks for the main help, names no command of ours or cannot be parsed: every command is built then,
    to list them or to say what is wrong.
    """
    parser = _GlobalOptionsParser(prog=PROG, add_help=False)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--version", action="store_true")
    _add_global_options(parser)
    parser.add_argument("command", nargs="?")
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    try:
        args = parser.parse_args(argv)
    except _NotParsed:
        return None
    if args.help:
        return None
    if args.version:
        return ""
    return args.command if any(args.command in names for names, _ in COMMAND_GROUPS) else None


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
    parser = build_parser(_chosen_command(argv))
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
    except MissingRecord as e:  # the views hold a record whose log row is gone: a row was deleted
        run_.warn(f"{name}: verification failed: {e}")
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
