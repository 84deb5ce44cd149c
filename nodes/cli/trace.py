"""``armsledger trace ...`` and ``armsledger diversion``: federated tracing (ITI paras 17-23).

A thin layer over ``nodes.tracing.service``: the requester submits and closes
traces, the addressee acknowledges and answers by hand (acknowledgement, response
and forwarding are automatic on ``armsledger sync``), and ``diversion`` prints the
point-of-diversion verdict on the evidence held here. A trace is named by its id or
a unique start of it; deadlines are shown as recorded, with the date a step bears
beside it. The steps, grounds and deadlines are described in docs/tracing.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias
from uuid import UUID

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.event_types import (
    TRACE_ACKNOWLEDGED,
    TRACE_CLOSED,
    TRACE_DELAYED,
    TRACE_REFUSED,
    TRACE_RESPONDED,
    TRACE_RESTRICTED,
    TRACE_SUBMITTED,
    TRACE_UNTRACEABLE,
)
from domain.time import format_time, parse_time
from domain.trace import Para22Ground
from domain.trace_status import Deadline, answered_records
from nodes.bootstrap import Node
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_marking_options,
    add_record_options,
    add_weapon_options,
)
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.tracing import service as tracing
from nodes.tracing.verdict_report import verdict_document

# One manual step of the addressee: (node, trace id, arguments, --date) -> the event recorded, if it says.
AnswerStep: TypeAlias = Callable[[Node, UUID, argparse.Namespace, "int | None"], "str | None"]

_GROUNDS = ", ".join(g.value for g in Para22Ground)


def add_commands(subparsers: Commands) -> None:
    trace = subparsers.add_parser("trace", help="trace requests and answers (ITI paras 17-23)",
                                  description="Trace a weapon across borders: request, answer, follow.")
    actions = trace.add_subparsers(dest="action", required=True, metavar="ACTION")

    parser = add_command(actions, "request", request, "submit a trace request to a partner state (ITI para 17); "
                                                      "prints the trace id")
    add_weapon_options(parser)
    parser.add_argument("--type", default="", help="weapon type (default: from the records held)")
    parser.add_argument("--calibre", default="", help="calibre (default: from the records held)")
    parser.add_argument("--circumstances", required=True, help="circumstances of the recovery")
    parser.add_argument("--legal-basis", required=True, help="legal basis of the request")
    parser.add_argument("--intended-use", required=True, help="intended use of the information")
    parser.add_argument("--priority", default="routine", choices=["routine", "urgent"])
    parser.add_argument("--to", required=True, metavar="CC", help="the state asked (a trusted partner)")
    add_record_options(parser, AuthorityKind.POLICE)

    parser = add_command(actions, "list", list_traces, "every trace asked or received, with status and overdue steps")
    add_json_option(parser)

    parser = add_command(actions, "show", show, "one trace and the traces it was forwarded as: every step, "
                                                "with times, deadlines and the verified fragment")
    parser.add_argument("trace", metavar="ID", help="trace id or its start (at least 4 characters)")
    add_purpose_option(parser)
    add_json_option(parser)

    parser = add_command(actions, "acknowledge", acknowledge, "acknowledge a trace request received (ITI para 19), "
                                                              "on a node that does not acknowledge on sync")
    _answer_options(parser)
    parser = add_command(actions, "respond", respond, "answer with the signed lifecycle fragment held (ITI para 20)")
    _answer_options(parser)
    for name, handler, help_text in (("delay", delay, "delay the answer (ITI paras 22-23)"),
                                     ("restrict", restrict, "answer with the cross-border path only (paras 22-23)"),
                                     ("refuse", refuse, "refuse to answer (paras 22-23)")):
        parser = add_command(actions, name, handler, help_text)
        parser.add_argument("--ground", required=True, help=f"ITI para 22 ground: {_GROUNDS}")
        parser.add_argument("--explanation", required=True, help="the explanation owed (ITI para 23)")
        if name == "delay":
            parser.add_argument("--until", required=True, metavar="DATE", help="when the answer is expected")
        _answer_options(parser)
    parser = add_command(actions, "untraceable", untraceable, "answer that the weapon cannot be traced here")
    parser.add_argument("--reason", required=True, help="why")
    _answer_options(parser)
    parser = add_command(actions, "close", close, "close a trace this state requested")
    parser.add_argument("--outcome", required=True, help="the outcome")
    parser.add_argument("trace", metavar="ID", help="trace id or its start (at least 4 characters)")
    add_record_options(parser, AuthorityKind.POLICE)

    parser = add_command(subparsers, "diversion", diversion,
                         "where a weapon left legal custody, on the federated evidence held here")
    parser.add_argument("weapon", nargs="?", metavar="ID", help="weapon id (or give the marking)")
    add_marking_options(parser)
    add_purpose_option(parser)
    add_json_option(parser)


def _answer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="ID", help="trace id or its start (at least 4 characters)")
    add_record_options(parser, AuthorityKind.REGISTRY)


# --- the requester ---------------------------------------------------------------------------

def request(run: Invocation) -> int:
    a = run.args
    marking = run.marking()
    if (marking is None) == (not a.weapon):
        raise InvalidField("give --weapon ID or --manufacturer, --country and --serial", field="weapon")
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        weapon = weapon_by_prefix(node, a.weapon) if a.weapon else None
        trace_id = tracing.submit(node, to=a.to, weapon_id=weapon, marking=marking, type=a.type, calibre=a.calibre,
                                  circumstances=a.circumstances, legal_basis=a.legal_basis,
                                  intended_use=a.intended_use, priority=a.priority, occurred_on=occurred_on, by=a.by)
        node.settle()
        carried: dict[str, str] = node.registry.repository.get(trace_id).reference  # the entry carried, or {}
    run.emit({"trace_id": str(trace_id), "to": a.to.strip().upper(), "event": TRACE_SUBMITTED,
              "reference": carried}, str(trace_id))
    return 0


def close(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        trace_id = tracing.find_trace(node, a.trace)
        tracing.close(node, trace_id, outcome=a.outcome, occurred_on=occurred_on, by=a.by)
        node.settle()
    run.emit({"trace_id": str(trace_id), "event": TRACE_CLOSED}, str(trace_id))
    return 0


# --- the addressee ---------------------------------------------------------------------------

def _answering(event: str, step: AnswerStep) -> Callable[[Invocation], int]:
    """The handler of an addressee's step: ``step`` records it and returns the event recorded (or None)."""

    def handler(run: Invocation) -> int:
        a = run.args
        occurred_on = run.occurred_on()
        with run.open_node(unlock=True) as node:
            trace_id = tracing.find_trace(node, a.trace)
            recorded = step(node, trace_id, a, occurred_on) or event
            node.settle()
        run.emit({"trace_id": str(trace_id), "event": recorded}, f"{trace_id}: {recorded}")
        return 0

    return handler


def _acknowledge(node: Node, trace_id: UUID, a: argparse.Namespace, on: int | None) -> None:
    tracing.acknowledge_received(node, trace_id, occurred_on=on, by=a.by)


acknowledge = _answering(TRACE_ACKNOWLEDGED, _acknowledge)
respond = _answering(TRACE_RESPONDED, lambda node, trace_id, a, on: tracing.respond(
    node, trace_id, occurred_on=on, by=a.by))
delay = _answering(TRACE_DELAYED, lambda node, trace_id, a, on: tracing.delay(
    node, trace_id, ground=a.ground, explanation=a.explanation, expected_by=parse_time(a.until, field="until"),
    occurred_on=on, by=a.by))
restrict = _answering(TRACE_RESTRICTED, lambda node, trace_id, a, on: tracing.restrict(
    node, trace_id, ground=a.ground, explanation=a.explanation, occurred_on=on, by=a.by))
refuse = _answering(TRACE_REFUSED, lambda node, trace_id, a, on: tracing.refuse(
    node, trace_id, ground=a.ground, explanation=a.explanation, occurred_on=on, by=a.by))
untraceable = _answering(TRACE_UNTRACEABLE, lambda node, trace_id, a, on: tracing.untraceable(
    node, trace_id, reason=a.reason, occurred_on=on, by=a.by))


# --- reading ---------------------------------------------------------------------------------

def list_traces(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        found = tracing.traces(node)
    lines = [_summary(t) for t in found]
    run.emit({"traces": [t.to_dict() for t in found]}, "\n".join(lines) or "no traces")
    return 0


def show(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        trace_id = tracing.find_trace(node, run.args.trace)
        record_read(run, node, "trace", str(trace_id))
        hops = tracing.hops(node, trace_id)
    run.emit({"trace": hops[0].to_dict(), "hops": [h.to_dict() for h in hops]},
             "\n\n".join(_details(h) for h in hops))
    return 0


def _summary(t: tracing.Trace) -> str:
    marking = t.request.get("marking", {})
    shown = " ".join(str(marking.get(k, "")) for k in ("manufacturer", "country", "serial"))
    flags = "".join(f"  OVERDUE {name}" for name in t.overdue)
    return (f"{t.trace_id}  {t.requesting_state} -> {t.addressee}  hop {t.request.get('hop')}  "
            f"{t.priority.upper():<7} {t.status.value:<12} {shown}{flags}")


def _details(t: tracing.Trace) -> str:
    now = t.now
    lines = [f"trace    {t.trace_id} ({'we asked' if t.role == 'requester' else 'we were asked'})",
             f"route    {t.requesting_state} -> {t.addressee}, hop {t.request.get('hop')}"
             + (f", continues trace {t.request.get('parent')}" if t.request.get("parent") else ""),
             f"weapon   {t.weapon_id} ({' / '.join(str(v) for v in t.request.get('marking', {}).values())})",
             *_reference_lines(t.request.get("reference")),
             f"priority {t.priority}",
             f"status   {t.status.value}" + (f": {t.reason}" if t.reason else "")]
    for name, deadline in (("acknowledge", t.acknowledgement), ("respond", t.response)):
        lines.append(f"{name:<8} {_deadline_text(deadline, now)}")
    lines.append("steps (recorded at; the date the step bears, if another day)")
    for step in t.steps:
        dated = format_time(step.occurred_on)[:10]
        bears = f" [dated {dated}]" if dated != format_time(step.recorded_on)[:10] else ""
        lines.append(f"  {format_time(step.recorded_on)}  {step.state}  {step.type.split('.', 1)[1]:<13} "
                     f"{step.detail}{bears}")
    if t.fragment is not None:
        lines.append(f"answered records: {len(t.fragment.records)} verified"
                     + (f", {len(t.fragment.problems)} items REJECTED" if t.fragment.problems else ""))
        for row in answered_records(t.fragment.records):
            lines.append(f"  {row['occurred_on_utc'][:10]}  {row['type'].split('.', 1)[1]:<16} "
                         f"holder {row['holder'] or '-'}, place {row['place'] or '-'}, from {row['node']}, "
                         f"{row['verification']}")
        lines += [f"  NOT VERIFIED, not used: {p}" for p in t.fragment.problems]
        lines += [f"  note: {n}" for n in t.fragment.notes]
    return "\n".join(lines)


def _reference_lines(reference: Any) -> list[str]:
    """The reference table's entry the request carries (docs/reference-table.md), if any."""
    if not reference:
        return []
    shown = " ".join(str(reference.get(k) or "") for k in ("make", "model", "type", "calibre")).strip()
    return [f"table    reference entry {reference.get('id')}: {shown}"]


def _deadline_text(deadline: Deadline, now: int) -> str:
    """When the step was due and when it was recorded; the date it bears when that is another day."""
    due_by = format_time(deadline.due_by) if deadline.due_by is not None else "-"
    if deadline.done_on is None:
        return f"by {due_by}  {'OVERDUE' if deadline.overdue(now) else 'pending'}"
    text = f"by {due_by}  {'LATE' if deadline.late else 'in time'}, recorded {format_time(deadline.done_on)}"
    if deadline.dated_on is not None and format_time(deadline.dated_on)[:10] != format_time(deadline.done_on)[:10]:
        text += f" (the answer is dated {format_time(deadline.dated_on)[:10]})"
    return text


def diversion(run: Invocation) -> int:
    a = run.args
    marking = run.marking()
    if (marking is None) == (not a.weapon):
        raise InvalidField("give the weapon id or --manufacturer, --country and --serial", field="weapon")
    with run.open_node(unlock=False) as node:
        weapon = marking.weapon_id() if marking is not None else weapon_by_prefix(node, a.weapon)
        record_read(run, node, "verdict", str(weapon))
        document = verdict_document(node, weapon)
    run.emit(document, _verdict_text(document))
    if document["failed"]:
        run.warn(f"diversion: verification failed: {len(document['failed'])} of this node's own records do not "
                 f"verify and were not used (first: {document['failed'][0]}); run 'armsledger verify'")
        return 1
    return 0


def _verdict_text(d: dict[str, Any]) -> str:
    custodian = d["last_legal_custodian"]
    lines = [d["sentence"], "",
             f"rule                  {d['rule']}"
             + (f" (also: {', '.join(d['other_rules'])})" if d["other_rules"] else ""),
             "last legal custodian  " + (f"{custodian['holder'] or 'not on record'} ({custodian['state']})"
                                          if custodian else "none on record"),
             f"place                 {d['place'] or '-'}",
             f"when                  {d['occurred_on_utc'] or '-'}",
             f"evidence complete     {'yes' if d['complete'] else 'NO'}"]
    lines += [f"  missing {m['state']}: {m['reason']}" for m in d["missing"]]
    lines.append("evidence")
    lines += [f"  {e['hash'][:16]}  {e['node']}  {e['type']}  (stream {e['stream']} v{e['version']})"
              for e in d["evidence"]]
    lines += [f"unverified, not used: {u}" for u in d["unverified"]]
    lines += [f"NOT VERIFIED, not used: {f}" for f in d["failed"]]
    lines += [f"not used: {r}" for r in d.get("revoked", ())]
    return "\n".join(lines)
