"""``armsledger broker register|renew|suspend|revoke|activity|list|show``: the broker register (FP art 15).

The writes sign with the licensing authority's key (ARMSLEDGER_PASSPHRASE): one call of
``nodes.registry.brokers`` followed by ``node.settle()``. ``list`` and ``show`` read
(``nodes.registry.broker_documents``) and are recorded in the read audit as licence reads.
The actions share the ``broker`` command with ``broker run`` (a local Kafka broker).
"""

from __future__ import annotations

from typing import Any

from domain.authority import AuthorityKind
from domain.broker import BrokeringKind, BrokerState
from domain.time import format_time, parse_time, parse_until
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, add_record_options
from nodes.registry import brokers
from nodes.registry.broker_documents import broker_document, list_brokers, parse_broker_state

L = AuthorityKind.LICENSING


def add_commands(actions: Commands) -> None:
    """Add the broker register's actions to the ``broker`` command's ``actions``."""
    parser = _write(actions, "register", register, "register a broker with this state (FP art 15(1)(a)); "
                                                   "prints its id")
    parser.add_argument("--name", required=True, help="the broker's name (a person or a company)")
    parser.add_argument("--seat", required=True, metavar="ADDRESS", help="address or registered seat")
    parser.add_argument("--valid-from", required=True, metavar="DATE", help="first day the registration is in force")
    parser.add_argument("--valid-until", required=True, metavar="DATE", help="last day in force")
    parser = _write(actions, "renew", renew, "extend a broker's registration")
    parser.add_argument("--valid-until", required=True, metavar="DATE", help="the new last day in force")
    parser = _write(actions, "suspend", suspend, "suspend a broker's registration from --date to --until")
    parser.add_argument("--until", required=True, metavar="DATE", help="last day of the suspension")
    parser.add_argument("--reason", required=True, help="why it is suspended")
    parser = _write(actions, "revoke", revoke, "revoke a broker's registration; later brokering is refused")
    parser.add_argument("--reason", required=True, help="why it is revoked")
    kinds = ", ".join(k.value for k in BrokeringKind)
    parser = _write(actions, "activity", activity, "record a brokering activity of a registered broker (FP art 15)")
    parser.add_argument("--kind", required=True, help=f"one of {kinds}")
    parser.add_argument("--party", dest="parties", action="append", default=[], metavar="NAME",
                        help="a party the broker acted between or for (repeatable, at least one)")
    parser.add_argument("--weapon", dest="weapons", action="append", default=[], metavar="ID",
                        help="a weapon concerned: its id or the start of it (repeatable)")
    parser.add_argument("--licence", dest="licences", action="append", default=[], metavar="NUMBER",
                        help="a licence concerned, held here (repeatable)")
    parser.add_argument("--description", default="", help="the items or transaction, where no weapon is on record")

    parser = add_command(actions, "list", listed, "the brokers registered here and those partners sent")
    parser.add_argument("--state", help=f"only those {', '.join(s.value for s in BrokerState)} today")
    add_purpose_option(parser)
    add_json_option(parser)
    parser = add_command(actions, "show", show, "a broker's registration, periods, suspensions and activities")
    parser.add_argument("number", metavar="REG", help="registration number")
    add_purpose_option(parser)
    add_json_option(parser)


def _write(actions: Commands, name: str, handler: Any, help: str) -> Any:
    parser = add_command(actions, name, handler, help)
    parser.add_argument("number", metavar="REG", help="the broker's registration number")
    add_record_options(parser, L)
    return parser


def register(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    valid_from = parse_time(a.valid_from, field="valid_from")
    valid_until = parse_until(a.valid_until, field="valid_until")
    with run.open_node(unlock=True) as node:
        broker_id = brokers.register_broker(node.registry, by=a.by, number=a.number, name=a.name, seat=a.seat,
                                            valid_from=valid_from, valid_until=valid_until, occurred_on=occurred_on)
        node.settle()
    run.emit({"broker_id": str(broker_id), "number": a.number.strip()}, str(broker_id))
    return 0


def renew(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    valid_until = parse_until(a.valid_until, field="valid_until")
    with run.open_node(unlock=True) as node:
        broker_id = brokers.renew_broker(node.registry, by=a.by, number=a.number, valid_until=valid_until,
                                         occurred_on=occurred_on)
        node.settle()
    run.emit({"broker_id": str(broker_id), "number": a.number.strip(), "valid_until": valid_until},
             f"{a.number.strip()} registered until {format_time(valid_until)[:10]}")
    return 0


def suspend(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    until = parse_until(a.until, field="until")
    with run.open_node(unlock=True) as node:
        broker_id = brokers.suspend_broker(node.registry, by=a.by, number=a.number, until=until, reason=a.reason,
                                           occurred_on=occurred_on)
        node.settle()
    run.emit({"broker_id": str(broker_id), "number": a.number.strip(), "until": until},
             f"{a.number.strip()} suspended until {format_time(until)[:10]}")
    return 0


def revoke(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        broker_id = brokers.revoke_broker(node.registry, by=a.by, number=a.number, reason=a.reason,
                                          occurred_on=occurred_on)
        node.settle()
    run.emit({"broker_id": str(broker_id), "number": a.number.strip(), "revoked": True}, f"{a.number.strip()} revoked")
    return 0


def activity(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    kind = BrokeringKind.parse(a.kind)
    with run.open_node(unlock=True) as node:
        weapons, licences = brokers.activity_subjects(node, a.weapons, a.licences)
        broker_id = brokers.record_brokering(node.registry, by=a.by, number=a.number, kind=kind, parties=a.parties,
                                             weapons=weapons, licences=licences, description=a.description,
                                             occurred_on=occurred_on)
        node.settle()
    run.emit({"broker_id": str(broker_id), "number": a.number.strip(), "kind": kind.value},
             f"{kind.value} by {a.number.strip()} recorded")
    return 0


def listed(run: Invocation) -> int:
    state = parse_broker_state(run.args.state) if run.args.state is not None else None
    with run.open_node(unlock=False) as node:
        record_read(run, node, "licence", "brokers" + (f" state={run.args.state}" if state else ""))
        found = list_brokers(node, state=state)
    lines = [f"{d['number']:<16} {d['issuer_state']:<3} {d['state']:<13} {d['valid_from_utc'][:10]} .. "
             f"{d['valid_until_utc'][:10]}  {d['name']}, {d['seat']}"
             + ("" if d["origin"] == "own" else f"  (received from {d['origin']})") for d in found]
    run.emit({"brokers": found}, "\n".join(lines) or "no broker matches")
    return 0


def show(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        document = broker_document(node, run.args.number)
        record_read(run, node, "licence", f"broker {document['number']} of {document['issuer_state']}")
    run.emit(document, broker_text(document))
    return 0


def broker_text(d: dict[str, Any]) -> str:
    """A broker document as an officer reads it."""
    rows = [
        ("broker", f"{d['number']} registered by {d['issuer_state']}"
                   + ("" if d["origin"] == "own" else f" (received from {d['origin']})")),
        ("name", d["name"]), ("seat", d["seat"]),
        ("state", d["state"] + (f", revoked: {d['revocation_reason']}" if d["revocation_reason"] else "")),
        *[("valid", f"{p['valid_from_utc'][:10]} to {p['valid_until_utc'][:10]}") for p in d["periods"]],
        *[("suspended", f"{s['from_utc'][:10]} to {s['until_utc'][:10]}: {s['reason']}") for s in d["suspensions"]],
        *[("licence", f"{n['kind']} {n['number']}") for n in d["licences"]],
        ("signature", d["signature"]),
    ]
    lines = [f"{name:<10} {value}" for name, value in rows if value]
    for act in d["activities"]:
        concerned = ", ".join([*(w[:8] for w in act["weapons"]), *(n[:8] for n in act["licences"])])
        lines.append(f"{'activity':<10} {act['occurred_on_utc'][:10]}  {act['kind']}  between "
                     f"{' and '.join(act['parties'])}" + (f"  ({concerned})" if concerned else "")
                     + (f"  {act['description']}" if act["description"] else ""))
    return "\n".join(lines)
