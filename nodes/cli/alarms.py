"""``armsledger alarm list|settle``: the alarms partners' signed evidence raised, and settling one.

A thin layer over ``nodes.federation.alarms``: ``list`` shows every alarm of the quarantine, open
or settled (exit 1 while one is open, as ``quarantine``); ``settle ID --reason TEXT`` records the
signed ``Alarm.Settled`` record, by the registry authority, naming the node operator. The alarm
itself stays in the quarantine as evidence. docs/federation.md, "Alarms".
"""

from __future__ import annotations

from typing import Any

from domain.time import format_time
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.federation.alarms import alarm_states, settle_command, settled
from nodes.plurals import counted


def add_commands(subparsers: Commands) -> None:
    alarm = subparsers.add_parser("alarm", help="alarms raised by partners' signed evidence: list, settle")
    actions = alarm.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "list", list_alarms, "every alarm, open or settled; exit 1 if one is open")
    add_json_option(parser)
    parser = add_command(actions, "settle", settle, "record, signed by the registry authority, that an alarm "
                                                    "was reviewed and settled (it stays as evidence)")
    parser.add_argument("id", type=number_option(1, 2**63 - 1), metavar="ID", help="the alarm's id (alarm list)")
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why it is settled (required, signed)")
    add_json_option(parser)


def list_alarms(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        states = alarm_states(node)
    entries = [{**state.alarm.summary(), "settled": state.settled_summary()} for state in states]
    opened = sum(1 for e in entries if e["settled"] is None)
    lines = [alarm_line(e) for e in entries]
    lines.append(f"{counted(opened, 'open alarm')}, {len(entries) - opened} settled")
    run.emit(entries, "\n".join(lines))
    return 1 if opened else 0


def settle(run: Invocation) -> int:
    with run.open_node(unlock=True) as node:
        answer = settle_command(node, run.args.id, run.args.reason)(node.registry)
        node.settle()
        done = settled(node, answer)
    run.emit(done, f"alarm {done['id']} of {done['origin']} settled: record {done['record']}")
    return 0


def alarm_line(entry: dict[str, Any]) -> str:
    """One alarm as ``alarm list`` and ``quarantine`` show it: open, or settled by whom, when, why."""
    settled = entry.get("settled")
    status = "OPEN" if settled is None else (
        f"settled {settled['at'][:16]} by {settled['officer'] or 'the node operator'}: {settled['reason']}")
    return (f"{entry['id']:>6}  {format_time(entry['received_at'] // 1_000_000)}  {entry['reason']} "
            f"from {entry['origin'] or '?'}: {entry['detail']}\n        {status}")
