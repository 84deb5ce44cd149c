"""``armsledger retention report|run``: what is past its retention period, and erasing the identities it frees.

A thin layer over ``nodes.retention``: the report lists, per retention class, the records past their
period and what falls due next, and the persons whose every record is past (their identity may be
erased); ``run`` erases those identities, each with a signed erasure record (docs/personal-data.md).
"""

from __future__ import annotations

import time
from typing import Any

from domain.time import parse_time
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option
from nodes.plurals import counted
from nodes.retention.erasure import run_retention
from nodes.retention.persons import person_register
from nodes.retention.report import due_on


def add_commands(subparsers: Commands) -> None:
    retention = subparsers.add_parser("retention", help="retention periods: what is due, and erasing identities",
                                      description="Retention classes and periods (FP art 7, ITI para 12, "
                                                  "Directive (EU) 2021/555 art 4(4)): what is past its period, "
                                                  "and erasing the identities of persons whose every record is.")
    actions = retention.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "report", report, "per class, the records past their period; the persons whose "
                                                    "every record is; what falls due next")
    _add_on_option(parser)
    add_json_option(parser)
    parser = add_command(actions, "run", run_erasure, "erase the identities of persons whose every record is past "
                                                      "its period, each with a signed erasure record")
    _add_on_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="say what would be erased, erase nothing")
    add_json_option(parser)


def _add_on_option(parser: Any) -> None:
    parser.add_argument("--on", metavar="DATE", default=None, help="the date to judge on (YYYY-MM-DD; default now)")


def _on(run: Invocation) -> int | None:
    return None if run.args.on is None else parse_time(run.args.on, field="on")


def report(run: Invocation) -> int:
    on = _on(run)   # refused before the node is opened
    with run.open_node(unlock=False) as node, person_register(node) as register:
        document = due_on(node, register, int(time.time()) if on is None else on).document()
    run.emit(document, report_text(document))
    return 0


def run_erasure(run: Invocation) -> int:
    on = _on(run)
    with run.open_node(unlock=True) as node, person_register(node) as register:
        def submit(command: Any) -> Any:
            result = command(node.registry)
            node.settle()
            return result

        document = run_retention(node, register, submit, on=on, dry_run=run.args.dry_run).document()
    run.emit(document, run_text(document))
    return 0


def report_text(document: dict[str, Any]) -> str:
    """The report as an officer reads it."""
    lines = [f"retention on {document['on'][:10]}"]
    for kind in document["classes"]:
        following = f", next due {kind['next_due'][:10]}" if kind["next_due"] else ""
        kept = kind["records_kept_while_weapon_exists"]
        held = f", {kept} kept while their weapon exists" if kept else ""
        lines.append(f"  {kind['class']:<12} {kind['years']} years ({kind['source']}): "
                     f"{counted(kind['records_past'], 'record')} past{following}{held}")
    after = document["after_destruction"]
    lines.append(f"  weapons and components: {after['years']} years after destruction ({after['source']})"
                 if after["years"] is not None else "  weapons and components: no period after destruction")
    erasable = document["erasable"]
    lines.append(f"persons whose every record is past its period: {len(erasable)}")
    lines += [f"  {p['reference']}  {counted(p['records'], 'record')}, last due {p['due_on'][:10]} ({p['class']}, "
              f"{p['years']} years)" for p in erasable]
    if document["unfinished"]:
        lines.append("erasures recorded but not finished (run `armsledger retention run`): "
                     + ", ".join(document["unfinished"]))
    following = document["next_person"]
    lines.append(f"next person due: {following['reference']} on {following['due_on'][:10]}" if following
                 else "next person due: none")
    return "\n".join(lines)


def run_text(document: dict[str, Any]) -> str:
    if document["dry_run"]:
        would = document["would_erase"] + document["would_finish"]
        return f"would erase {counted(len(would), 'identity', 'identities')}: " + ", ".join(would) if would \
            else "nothing to erase"
    done = document["erased"] + document["finished"]
    return f"erased {counted(len(done), 'identity', 'identities')}: " + ", ".join(done) if done else "nothing to erase"

