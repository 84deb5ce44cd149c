"""``armsledger audit reads``, and the read audit of the CLI's own reading commands.

Reads at the shell are recorded as the node operator, ``OPERATOR``: user id "" (no account),
name "operator", role ``registry`` (the role of the node's own registry authority; the roles
have no operator of their own). Each reading command takes ``--purpose TEXT`` and calls
``record_read`` before it reads, so nothing is shown that is not recorded. docs/read-audit.md.
"""

from __future__ import annotations

import argparse
from uuid import UUID

from domain.errors import InvalidField
from domain.roles import Role
from domain.time import format_time, parse_time, parse_until
from nodes.accounts.officer import Officer
from nodes.bootstrap import Node
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.readaudit.log import MAX_LIMIT, ReadAudit, ReadEntry
from nodes.registry.weapon_ids import weapon_ids_starting
from nodes.values import id_prefix, one_by_prefix

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
        subjects = _weapon_subjects(node, a.weapon) if a.weapon is not None else [None]
        found: dict[int, ReadEntry] = {}
        for subject in subjects:
            for entry in log.entries(user=a.user, weapon=subject, since=since, until=until, limit=a.limit):
                found[entry.seq] = entry
    entries = sorted(found.values(), key=lambda e: e.seq, reverse=True)[:a.limit]
    run.emit({"reads": [e.to_dict() for e in entries]}, "\n".join(_line(e) for e in entries) or "no reads recorded")
    return 0


def _weapon_subjects(node: Node, text: str) -> list[str]:
    """The subjects a read of weapon ``text`` is recorded under: its id; for a serial, the id of
    each weapon with that serial (exactly: ``?`` and ``*`` are not patterns here), and the serial
    itself (as searched); else, for the start of one weapon's id, that id (a serial wins: "1234"
    may be both)."""
    try:
        return [str(UUID(text.strip()))]
    except ValueError:
        pass
    serial = text.strip().replace("*", "").replace("?", "")
    node.views.catch_up(node.registry)
    try:
        weapons = node.views.search_serial(serial)
    except InvalidField as e:  # the views name their own field: point at the option typed
        raise InvalidField(f"{text!r} is neither a weapon id nor a serial: {e.args[0]}", field="weapon") from None
    if not weapons and _could_start_an_id(text):
        starting = weapon_ids_starting(node.views, text)
        if starting:
            return [one_by_prefix(text, starting, what="weapon", field_name="weapon")]
    return [*(str(m["weapon_id"]) for m in weapons), text.strip()]


def _could_start_an_id(text: str) -> bool:
    try:
        id_prefix(text, field_name="weapon")
    except InvalidField:
        return False
    return True


def _line(entry: ReadEntry) -> str:
    who = f"{entry.user_name} ({entry.role})"
    why = f"  purpose: {entry.purpose}" if entry.purpose else ""
    return f"{entry.seq:>6}  {format_time(entry.at // _US)}  {who:<24} {entry.action:<9} {entry.subject}{why}"
