"""The operator's commands on the node's store: ``init``, ``import-csv``, ``verify``, ``rebuild``.

``init`` and ``import-csv`` sign (they need ARMSLEDGER_PASSPHRASE); ``verify`` and ``rebuild`` open
the node locked (a verify that passes signs its mark ``verified.checkpoint`` when the passphrase is
set). Each is one library call (``nodes.bootstrap``,
``nodes.migration``, ``nodes.registry.verify``, ``node.views``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from domain.errors import InvalidField
from ledger.audit import AuditReport, Problem, ProblemKind
from ledger.errors import CheckpointError
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.cli.progress import progress_of
from nodes.plurals import counted

if TYPE_CHECKING:
    from nodes.federation.witness import WitnessAnswers
    from nodes.ports import Node
    from nodes.registry.verified_mark import VerifiedMark

#: The shortest passphrase ``init`` accepts for encrypting a node's keys.
MIN_PASSPHRASE = 12
#: What ``verify --since`` leaves to a full verify (docs/verification.md, "Verifying from a mark").
NOT_CHECKED_SINCE = ("the records before the mark (but the register and the last record before it of each stream "
                     "continued after it): a row before the mark altered, deleted or inserted in the database since "
                     "shows only in a full verify, as do the projections; run a full 'armsledger verify' on a schedule")


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
    parser.add_argument("--since", metavar="SIZE",
                        help="verify only what is newer than the checkpoint of size SIZE (or 'latest') that a "
                             "verify passed before and recorded; exit 1 if that record is missing or forged")
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
    """Exit 0 only when every check holds; otherwise name each problem (on stderr) and exit 1.

    A verify that passes records its latest checkpoint, signed by the node key, when the passphrase is set;
    ``--since`` starts from that record (``nodes.registry.verified_mark``)."""
    from nodes.registry.verify import record_verified, verify_store

    since = _since_size(run.args.since)
    answers = None
    with run.open_node(unlock=False) as node:
        mark = _verified_mark(node, since) if since is not None else None
        if isinstance(mark, AuditReport):
            return _report_verify(run, mark, None, {"since": None})
        if run.args.witnesses:
            answers = _ask_witnesses(run, node)
        with progress_of(run, "verify", "checks") as shown:
            report = verify_store(node, progress=shown, witnesses=answers.held if answers else (), since=mark)
        recorded = record_verified(node, report)
    extra: dict[str, object] = {}
    if mark is not None:
        extra["since"] = {"size": mark.size, "root": mark.checkpoint.root.hex(), "verified_at": mark.verified_at,
                          "records": {"from_index": mark.size, "to_index": report.events_checked},
                          "signatures_verified": report.events_checked - mark.size,
                          "not_checked": NOT_CHECKED_SINCE}
    extra["recorded"] = recorded.size if not isinstance(recorded, str) else None
    return _report_verify(run, report, answers, extra,
                          recorded if isinstance(recorded, str) else None)


def _since_size(value: str | None) -> int | str | None:
    if value is None or value == "latest":
        return value
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1 or str(size) != value.strip():
        raise InvalidField(f"--since: {value!r} is not a checkpoint size (a whole number from 1) nor 'latest'",
                           field="since")
    return size


def _verified_mark(node: Node, since: int | str) -> VerifiedMark | AuditReport:
    """The mark ``--since`` names, or a failed report saying why it cannot be used; ``InvalidField``
    (exit 2) for a size that no recorded verify passed."""
    from nodes.registry.verified_mark import VerifiedMarkFile

    def refused(reason: str) -> AuditReport:
        return AuditReport(0, 0, 0, 0, 0, problems=(Problem(None, None, None, ProblemKind.MARK, reason),))

    marks = VerifiedMarkFile(node.settings.home, node.identity.node_keys, node.identity.state)
    try:
        mark = marks.read()
    except CheckpointError as e:
        return refused(f"{e}; run a full 'armsledger verify' to check everything and record a new mark")
    if mark is None:
        return refused(f"no verify has recorded a mark in {marks.path}: run a full 'armsledger verify' first "
                       "(with ARMSLEDGER_PASSPHRASE set, so that it can sign the mark)")
    if since != "latest" and since != mark.size:
        raise InvalidField(f"--since: no verify of the checkpoint of size {since} is recorded; the newest "
                           f"verified is of size {mark.size} (use --since {mark.size} or --since latest)",
                           field="since")
    return mark


def _report_verify(run: Invocation, report: AuditReport, answers: WitnessAnswers | None,
                   extra: dict[str, object], not_recorded: str | None = None) -> int:
    document = {**report.to_dict(), **extra}
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
    since = extra.get("since")
    if isinstance(since, dict):
        summary += (f"; only the {counted(int(since['signatures_verified']), 'record')} after the checkpoint of "
                    f"size {since['size']} verified before were verified in full (--since)")
    verdict = "ok" if report.ok else f"FAILED: {counted(len(report.problems), 'problem')}"
    run.emit(document, f"{verdict}: {summary}")
    if isinstance(since, dict):
        run.say(f"not checked by --since: {since['not_checked']}")
    if report.ok and not_recorded is not None:
        run.say(f"no verified mark recorded for --since: {not_recorded}")
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

