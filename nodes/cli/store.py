"""The operator's commands on the node's store: ``init``, ``import-csv``, ``verify``, ``rebuild``.

``init`` and ``import-csv`` sign (they need ARMSLEDGER_PASSPHRASE); ``verify`` and
``rebuild`` open the node locked. Each is one library call (``nodes.bootstrap``,
``nodes.migration``, ``nodes.registry.verify``, ``node.views``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from domain.errors import InvalidField
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.cli.progress import progress_of
from nodes.plurals import counted

if TYPE_CHECKING:
    from nodes.federation.witness import WitnessAnswers
    from nodes.ports import Node

#: The shortest passphrase ``init`` accepts for encrypting a node's keys.
MIN_PASSPHRASE = 12


def add_init(subparsers: Commands) -> None:
    init = add_command(subparsers, "init", init_command, "create the node: keys and authority certificates")
    init.add_argument("--state", required=True, metavar="CC", help="the node's state (ISO 3166-1 alpha-2)")
    init.add_argument("--reference-starter", action="store_true",
                      help="load the starter reference table of makes, models and calibres (docs/reference-table.md)")
    add_json_option(init)


def add_import_csv(subparsers: Commands) -> None:
    parser = add_command(subparsers, "import-csv", import_csv_file,
                         "migrate a legacy register from CSV (layout: docs/csv-layout.md); "
                         "exit 2 if any row was refused")
    parser.add_argument("file", metavar="FILE", help="the CSV file")
    add_json_option(parser)


def add_verify(subparsers: Commands) -> None:
    parser = add_command(subparsers, "verify", verify,
                         "audit the whole store offline: signatures, certificates, chains, Merkle log; "
                         "exit 1 if anything fails")
    parser.add_argument("--witnesses", action="store_true",
                        help="also ask every partner over the broker which checkpoint of ours it holds")
    parser.add_argument("--timeout", type=number_option(0.1, 3600.0, whole=False, unit="seconds"), default=10.0,
                        metavar="S", help="with --witnesses: wait up to S seconds for the answers (10)")
    add_json_option(parser)


def add_rebuild(subparsers: Commands) -> None:
    parser = add_command(subparsers, "rebuild", rebuild, "rebuild the projections from the log, from scratch")
    add_json_option(parser)


def init_command(run: Invocation) -> int:
    """Create the node at ``--home``; refuses (exit 2) if one exists there."""
    from nodes.bootstrap import init_node
    from nodes.reference.matching import import_entries

    settings = run.settings
    if settings.passphrase and len(settings.passphrase) < MIN_PASSPHRASE:
        # Checked by init only: it is the passphrase that encrypts the new keys; a node made
        # by an older version (or the demo's throwaway nodes) still opens with its own.
        raise InvalidField(f"ARMSLEDGER_PASSPHRASE has {len(settings.passphrase)} characters: it encrypts "
                           f"the node's private keys and needs at least {MIN_PASSPHRASE}",
                           field="ARMSLEDGER_PASSPHRASE")
    with init_node(settings, run.args.state) as node:
        node.settle()
        identity = node.identity
        loaded = import_entries(node, starter=True)["loaded"] if run.args.reference_starter else 0
    document = {
        "state": identity.state,
        "home": str(settings.home),
        "db": settings.db if not settings.is_postgres else without_password(settings.db),
        "node_key_id": identity.node_key_id,
        "authorities": dict(identity.authority_key_ids),
        "reference_entries": loaded,
    }
    run.emit(document, f"node {identity.state} created in {settings.home} (node key {identity.node_key_id})")
    return 0


def import_csv_file(run: Invocation) -> int:
    """Record every valid row; report refused rows by line, field and reason (exit 2 if any)."""
    from nodes.migration import import_csv
    from nodes.reference.matching import unmatched_rows

    path = Path(run.args.file)
    if not path.is_file():
        raise InvalidField(f"{run.args.file}: no such file", field="file")
    with run.open_node(unlock=True) as node:
        with progress_of(run, f"import {path.name}", "rows") as shown:
            report = import_csv(node, path, progress=shown)
        with progress_of(run, "projections", "records") as shown:
            node.views.catch_up(node.registry, progress=shown)  # the long part of settle(), shown
        node.settle()
        flagged = unmatched_rows(node, path, refused=[error.line for error in report.errors])
    document = {**report.to_dict(), "reference": {"unmatched": len(flagged), "rows": flagged[:100]}}
    run.emit(document, f"{path.name}: {counted(report.imported, 'weapon')} recorded "
                       f"({counted(report.events, 'signed event')}), {report.skipped} recorded already, "
                       f"{counted(len(report.errors), 'row')} refused")
    for error in report.errors:
        run.warn(f"armsledger import-csv: {path.name} line {error.line}: {error.field}: {error.reason}")
    if flagged:
        run.warn(f"armsledger import-csv: warning: {counted(len(flagged), 'row')} of {path.name} describe a weapon "
                 f"that matches no single reference entry (first: line {flagged[0]['line']}: "
                 f"{flagged[0]['reason']}); recorded all the same and flagged in each weapon's history")
    return 2 if report.errors else 0


def verify(run: Invocation) -> int:
    """Exit 0 only when every check holds; otherwise name each problem (on stderr) and exit 1."""
    from nodes.registry.verify import verify_store

    answers = None
    with run.open_node(unlock=False) as node:
        if run.args.witnesses:
            answers = _ask_witnesses(run, node)
        with progress_of(run, "verify", "checks") as shown:
            report = verify_store(node, progress=shown, witnesses=answers.held if answers else ())
    document = report.to_dict()
    summary = (f"{counted(report.events_checked, 'record')} in {counted(report.streams_checked, 'stream')} "
               f"checked against the checkpoint of size {report.checkpoint_size} "
               f"({counted(report.checkpoints_checked, 'checkpoint')})")
    if report.unsealed:
        summary += f"; {counted(report.unsealed, 'record')} {'is' if report.unsealed == 1 else 'are'} not sealed yet"
    if report.received_checked:
        summary += f"; {counted(report.received_checked, 'record')} received from partners checked"
    if answers is not None:
        document["witnesses"] = answers.to_dict()
        summary += "; " + _witness_summary(answers, run.args.timeout)
    if report.flagged:
        summary += (f"; {counted(len(report.flagged), 'record')} flagged as signed by a revoked key "
                    "(not evidence, docs/keys.md)")
    verdict = "ok" if report.ok else f"FAILED: {counted(len(report.problems), 'problem')}"
    run.emit(document, f"{verdict}: {summary}")
    for refused in answers.refused if answers else ():
        run.warn(f"armsledger verify: refused {refused}")
    for flagged in report.flagged:
        run.say(f"flagged: {flagged}")
    for problem in report.problems:
        run.warn(f"armsledger verify: {problem}")
    return 0 if report.ok else 1


def _ask_witnesses(run: Invocation, node: Node) -> WitnessAnswers:
    from nodes.cli.federation import open_transport
    from nodes.federation.witness import ask_witnesses

    with open_transport(run) as transport:
        return ask_witnesses(node, transport, run.args.timeout)


def _witness_summary(answers: WitnessAnswers, timeout_s: float) -> str:
    """What the partners answered; those silent are named, not counted as a failure."""
    told = [f"{w} holds size {c.size}" for w, c in answers.held] + [f"{w} holds none" for w in answers.none]
    text = "witnesses: " + (", ".join(told) if told else "none answered")
    if answers.silent:
        text += (f"; NO ANSWER within {timeout_s:g} s from {', '.join(answers.silent)} "
                 "(not checked against them: ask again later)")
    return text


def rebuild(run: Invocation) -> int:
    """Drop the projections and replay the whole log into them."""
    with run.open_node(unlock=False) as node, progress_of(run, "rebuild", "records") as shown:
        processed = node.views.rebuild(node.registry, progress=shown)
    run.emit({"rebuilt": True, "events": processed}, f"projections rebuilt from {counted(processed, 'record')}")
    return 0


def without_password(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for printing)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))

