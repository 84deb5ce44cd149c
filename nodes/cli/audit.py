"""``armsledger audit reads``, and the read audit of the CLI's own reading commands.

Reads at the shell are recorded as the node operator, ``OPERATOR``: user id "" (no account),
name "operator", role ``registry`` (the role of the node's own registry authority; the roles
have no operator of their own). Each reading command takes ``--purpose TEXT`` and calls
``record_read`` before it reads, so nothing is shown that is not recorded. docs/read-audit.md.
"""

from __future__ import annotations

import argparse

from domain.roles import Role
from domain.time import format_time, parse_time, parse_until
from nodes.accounts.officer import Officer
from nodes.bootstrap import Node
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.readaudit.log import MAX_LIMIT, ReadAudit, ReadEntry
from nodes.readaudit.search import reads_of

OPERATOR = Officer(user_id="", name="operator", role=Role.REGISTRY)
"""Who reads at the shell, in the read audit."""

_US = 1_000_000


def add_purpose_option(parser: argparse.ArgumentParser) -> None:
    """``--purpose TEXT``: why the operator reads, kept in the read audit."""
    parser.add_argument("--purpose", default="", metavar="TEXT", help="why you read it (kept in the read audit)")


def record_read(run: Invocation, node: Node, action: str, subject: str) -> None:
    """Append the operator's read of ``subject`` (``action``: ``nodes.readaudit.entry.READ_ACTIONS``) with
    the command's ``--purpose``; ``InvalidField`` naming ``--purpose`` when it is not acceptable."""
    with ReadAudit.open(node.settings.db, node.identity) as log:
        log.append(OPERATOR, action, subject, getattr(run.args, "purpose", "") or "")


def add_commands(subparsers: Commands) -> None:
    audit = subparsers.add_parser("audit", help="the read audit: who read which records, when and why")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "reads", reads, "reads recorded, newest first")
    parser.add_argument("--user", metavar="NAME", help="only this officer's reads (sign-in name or user id; "
                                                       "'operator' for reads at the shell)")
    parser.add_argument("--weapon", metavar="ID|SERIAL", help="only reads of this weapon (id or its start, "
                                                                   "or serial as marked)")
    parser.add_argument("--since", metavar="DATE", help="only reads at or after DATE (YYYY-MM-DD or ISO 8601, UTC)")
    parser.add_argument("--until", metavar="DATE", help="only reads up to DATE (a plain date: to its end)")
    parser.add_argument("--limit", type=number_option(1, MAX_LIMIT), default=100, metavar="N",
                        help="at most N reads (default 100)")
    add_json_option(parser)


def reads(run: Invocation) -> int:
    a = run.args
    since = parse_time(a.since, field="since") * _US if a.since is not None else None
    until = (parse_until(a.until, field="until") + 1) * _US if a.until is not None else None
    with run.open_node(unlock=False) as node, ReadAudit.open(node.settings.db, node.identity) as log:
        entries = reads_of(node, log.entries, weapon=a.weapon, user=a.user, since=since, until=until,
                           limit=a.limit)
    run.emit({"reads": [e.to_dict() for e in entries]}, "\n".join(_line(e) for e in entries) or "no reads recorded")
    return 0


def _line(entry: ReadEntry) -> str:
    who = f"{entry.user_name} ({entry.role})"
    why = f"  purpose: {entry.purpose}" if entry.purpose else ""
    return f"{entry.seq:>6}  {format_time(entry.at // _US)}  {who:<24} {entry.action:<9} {entry.subject}{why}"
