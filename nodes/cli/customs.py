"""``armsledger shipments`` and ``armsledger authorizations``: what customs read (FP art 10(2)-(4)).

Neither signs. ``shipments`` lists the shipments announced to this state and awaiting its
receipt (incoming) and this state's shipments awaiting the importer's receipt (outgoing),
each with the days it has been open; ``authorizations`` the import authorizations and
transit no-objections sent and received, with their use (``nodes.federation.customs``).
Both are recorded in the read audit ("shipment").
"""

from __future__ import annotations

import time
from typing import Any

from domain.time import LONGEST_PERIOD_DAYS, check_days, format_time
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.federation.customs import authorizations as authorizations_held, incoming_shipments, outgoing_shipments
from nodes.plurals import counted
from nodes.registry.reading import plain_record


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "shipments", shipments,
                         "shipments awaiting receipt: incoming (announced to this state) and outgoing (FP art 10(4))")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--incoming", action="store_true", help="only shipments partners sent to this state")
    direction.add_argument("--outgoing", action="store_true", help="only this state's shipments")
    parser.add_argument("--overdue-days", type=number_option(0, LONGEST_PERIOD_DAYS), default=None, metavar="N",
                        help="only outgoing shipments open for N days or more")
    add_purpose_option(parser)
    add_json_option(parser)

    parser = add_command(subparsers, "authorizations", authorizations,
                         "import authorizations and transit no-objections sent and received, with their use")
    add_purpose_option(parser)
    add_json_option(parser)


def shipments(run: Invocation) -> int:
    """Incoming and outgoing shipments awaiting receipt, oldest first (both unless one is asked for)."""
    a = run.args
    overdue = a.overdue_days
    if overdue is not None:
        check_days(overdue, "overdue_days")
    now = int(time.time())
    with run.open_node(unlock=False) as node:
        record_read(run, node, "shipment", "incoming" if a.incoming else "outgoing" if a.outgoing else "shipments")
        incoming = None if a.outgoing else plain_record(incoming_shipments(node, now=now))
        outgoing = None if a.incoming else plain_record(outgoing_shipments(
            node, now=now, overdue_days=overdue, only_overdue=overdue is not None))
    document: dict[str, Any] = {"overdue_days": overdue}
    text = []
    if incoming is not None:
        document["incoming"] = incoming
        text += ["incoming: announced to this state, receipt not confirmed here"]
        text += [_incoming_line(s) for s in incoming] or ["  none"]
    if outgoing is not None:
        document["outgoing"] = outgoing
        text += ["outgoing: exported by this state, receipt not confirmed by the importer"]
        text += [_outgoing_line(s) for s in outgoing] or ["  none"]
    run.emit(document, "\n".join(text))
    return 0


def _incoming_line(s: dict[str, Any]) -> str:
    return (f"  {s['shipment_id']}  {s['exported_on_utc'][:10]}  from {s['from_state']}  {_days(s['days_open'])} open"
            f"  {_weapons(len(s['weapons']))}  licence {s['export_licence']}"
            f"  authorization {s['import_authorization']}")


def _outgoing_line(s: dict[str, Any]) -> str:
    route = " -> ".join([s["from_state"], *s["transit"], s["to_state"]])
    return (f"  {s['shipment_id']}  {format_time(s['exported_on'])[:10]}  {route}  {_days(s['days_open'])} open"
            f"  {_weapons(len(s['weapons']))}  licence {s['export_licence']}" + ("  OVERDUE" if s["overdue"] else ""))


def authorizations(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        record_read(run, node, "shipment", "authorizations")
        found = authorizations_held(node)
    lines = []
    for d in found:
        left = "not limited" if d["quantity_left"] is None else f"{d['quantity_left']} of {d['quantity']} left"
        lines.append(f"{d['direction']:<8} {d['kind']:<20} {d['number']:<16} {d['issuer_state']}  "
                     f"{d['export_state']} -> {d['import_state']}  {d['state']}  "
                     f"{_shipments(len(d['shipments']))}, {_weapons(d['quantity_used'])}, {left}")
        lines += [f"         shipment {u['shipment_id']}  {u['exported_on_utc'][:10]}  {_weapons(u['quantity'])}  "
                  + ("received" if u["received"] else "receipt not confirmed") for u in d["shipments"]]
    run.emit({"authorizations": found}, "\n".join(lines) or "no import authorization or transit no-objection")
    return 0


def _days(n: int) -> str:
    return counted(n, "day")


def _shipments(n: int) -> str:
    return counted(n, "shipment")


def _weapons(n: int) -> str:
    return counted(n, "weapon")
