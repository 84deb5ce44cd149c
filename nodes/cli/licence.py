"""``armsledger licence issue|revoke|list|show`` and ``armsledger weapons --holder``.

Licences and authorizations (FP art 7, art 10(3)). ``issue`` and ``revoke`` sign
(ARMSLEDGER_PASSPHRASE): one ``Registry`` call followed by ``node.settle()``; output the
licence id, with ``--json`` its id, number and kind. ``list``, ``show`` and ``weapons`` read
(``nodes.registry.licences``, ``nodes.registry.holders``) and are recorded in the read audit.
"""

from __future__ import annotations

from typing import Any

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.licence import LicenceKind, LicenceState
from domain.numbers import LARGEST_WHOLE
from domain.time import parse_time, parse_until
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_record_options,
    number_option,
)
from nodes.persons.holders import VaultOnDemand, named_holder
from nodes.plurals import counted
from nodes.registry.holders import holder_weapons
from nodes.registry.licences import licence_document, list_licences, parse_kind, parse_state
from nodes.registry.weapon_ids import weapon_by_prefix


def add_commands(subparsers: Commands) -> None:
    licence = subparsers.add_parser("licence", help="licences and authorizations (FP art 7, 10)")
    actions = licence.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_issue(actions)
    _add_revoke(actions)
    _add_list(actions)
    _add_show(actions)
    parser = add_command(subparsers, "weapons", weapons, "the weapons a holder holds now, with their status")
    parser.add_argument("--holder", required=True, metavar="NAME", help="the holder's name (whole, any case)")
    add_purpose_option(parser)
    add_json_option(parser)


def _add_issue(actions: Commands) -> None:
    kinds = ", ".join(k.value for k in LicenceKind)
    parser = add_command(actions, "issue", issue_licence, "issue a licence or authorization; prints its id")
    parser.add_argument("--number", required=True, help="licence number")
    parser.add_argument("--kind", required=True, help=f"one of {kinds}")
    parser.add_argument("--holder", required=True, help="to whom it is issued")
    parser.add_argument("--valid-from", required=True, metavar="DATE", help="first day in force")
    parser.add_argument("--valid-until", required=True, metavar="DATE",
                        help="last day in force (a plain date means until the end of that day, UTC)")
    parser.add_argument("--export-state", default="", metavar="CC")
    parser.add_argument("--import-state", default="", metavar="CC")
    parser.add_argument("--transit", dest="transit_states", action="append", default=[], metavar="CC",
                        help="transit state (repeatable)")
    parser.add_argument("--consignee", default="")
    parser.add_argument("--end-user", default="")
    parser.add_argument("--quantity", type=number_option(0, LARGEST_WHOLE), default=0,
                        help="number of weapons covered (0: not limited)")
    parser.add_argument("--weapon", action="append", default=[], metavar="ID",
                        help="weapon covered (repeatable; none: every weapon of the holder)")
    parser.add_argument("--place-of-issue", default="", metavar="PLACE", help="where it is issued (FP art 10(3))")
    parser.add_argument("--description", default="",
                        help="description of the items covered (FP art 10(3)), e.g. '2 pistols FN Five-seveN 5.7x28'")
    parser.add_argument("--broker", default="", metavar="REG",
                        help="registration number of the broker involved (FP art 15(1)(c); registered here)")
    add_record_options(parser, AuthorityKind.LICENSING)


def issue_licence(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    kind = parse_kind(a.kind)
    valid_from = parse_time(a.valid_from, field="valid_from")
    valid_until = parse_until(a.valid_until, field="valid_until")
    with run.open_node(unlock=True) as node:
        weapons = tuple(str(weapon_by_prefix(node, w)) for w in a.weapon)
        # a private holder's licence names a reference this node holds (nodes.persons.holders)
        with VaultOnDemand(node.settings) as vault:
            holder = named_holder(a.holder, vault, field="holder")
        issued = node.registry.issue_licence(
            by=a.by, occurred_on=occurred_on, number=a.number, kind=kind, holder=holder,
            valid_from=valid_from, valid_until=valid_until, export_state=a.export_state,
            import_state=a.import_state, transit_states=tuple(a.transit_states), consignee=a.consignee,
            end_user=a.end_user, quantity=a.quantity, weapons=weapons, place_of_issue=a.place_of_issue,
            description=a.description, broker=a.broker,
        )
        node.settle()
    run.emit({"licence_id": str(issued), "number": a.number.strip(), "kind": kind.value}, str(issued))
    return 0


def _add_revoke(actions: Commands) -> None:
    kinds = ", ".join(k.value for k in LicenceKind)
    parser = add_command(actions, "revoke", revoke_licence,
                         "revoke a licence or authorization of this state; later use of it is refused")
    parser.add_argument("--number", required=True, help="licence number")
    parser.add_argument("--kind", required=True, help=f"one of {kinds}")
    parser.add_argument("--reason", required=True, help="why it is revoked")
    add_record_options(parser, AuthorityKind.LICENSING)


def revoke_licence(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    kind = parse_kind(a.kind)
    with run.open_node(unlock=True) as node:
        revoked = node.registry.revoke_licence(by=a.by, occurred_on=occurred_on, number=a.number, kind=kind,
                                               reason=a.reason)
        node.settle()
    run.emit({"licence_id": str(revoked), "number": a.number.strip(), "kind": kind.value, "revoked": True},
             str(revoked))
    return 0



def _add_list(actions: Commands) -> None:
    kinds = ", ".join(k.value for k in LicenceKind)
    parser = add_command(actions, "list", list_of_licences,
                         "licences of this state and authorizations received from partners")
    parser.add_argument("--kind", help=f"only this kind: {kinds}")
    parser.add_argument("--holder", default="", metavar="NAME", help="only those issued to NAME (whole, any case)")
    parser.add_argument("--state", help=f"only those {', '.join(s.value for s in LicenceState)} today")
    parser.add_argument("--valid-on", metavar="DATE", help="only those valid on DATE")
    add_purpose_option(parser)
    add_json_option(parser)


def list_of_licences(run: Invocation) -> int:
    a = run.args
    kind = parse_kind(a.kind) if a.kind is not None else None
    state = parse_state(a.state) if a.state is not None else None
    valid_on = parse_time(a.valid_on, field="valid_on") if a.valid_on is not None else None
    with run.open_node(unlock=False) as node:
        record_read(run, node, "licence", _filters(a))
        found = list_licences(node, kind=kind, holder=a.holder, state=state, valid_on=valid_on)
    lines = [f"{d['number']:<16} {d['kind']:<22} {d['issuer_state']:<3} {d['state']:<13} "
             f"{d['valid_from_utc'][:10]} .. {d['valid_until_utc'][:10]}  {d['holder']}"
             + (f"  quantity {d['quantity']}" if d["quantity"] else "")
             + ("" if d["origin"] == "own" else f"  (received from {d['origin']})") for d in found]
    run.emit({"licences": found}, "\n".join(lines) or "no licence matches")
    return 0


def _filters(a: Any) -> str:
    given = [f"{name}={value}" for name, value in (("kind", a.kind), ("holder", a.holder), ("state", a.state),
                                                   ("valid_on", a.valid_on)) if value]
    return "licences " + " ".join(given) if given else "licences"


def _add_show(actions: Commands) -> None:
    parser = add_command(actions, "show", show_licence,
                         "every field of a licence, its signature, origin and the shipments made under it")
    parser.add_argument("number", metavar="NUMBER", help="licence number")
    parser.add_argument("--kind", help="its kind, when the number names several")
    add_purpose_option(parser)
    add_json_option(parser)


def show_licence(run: Invocation) -> int:
    a = run.args
    kind = parse_kind(a.kind) if a.kind is not None else None
    with run.open_node(unlock=False) as node:
        document = licence_document(node, a.number, kind)
        record_read(run, node, "licence", f"{document['kind']} {document['number']} of {document['issuer_state']}")
    run.emit(document, licence_text(document))
    return 0


def licence_text(d: dict[str, Any]) -> str:
    """A licence document as an officer reads it."""
    route = " -> ".join([d["export_state"], *d["transit_states"], d["import_state"]]) if d["import_state"] else ""
    rows = [
        ("licence", f"{d['kind']} {d['number']} issued by {d['issuer_state']}"
                    + ("" if d["origin"] == "own" else f" (received from {d['origin']})")),
        ("state", d["state"] + (f", revoked: {d['revocation_reason']}" if d["revocation_reason"] else "")),
        ("issued", f"{d['issued_on_utc'][:10]}" + (f" at {d['place_of_issue']}" if d["place_of_issue"] else "")),
        ("valid", f"{d['valid_from_utc'][:10]} to {d['valid_until_utc'][:10]}"),
        ("holder", d["holder"]), ("route", route), ("consignee", d["consignee"]),
        ("end user", d["end_user"]), ("broker", d["broker"]), ("items", d["description"]),
        ("quantity", _quantity(d)), ("weapons", ", ".join(d["weapons"])),
        ("signature", f"{d['signature']} (authority {d['authority'][:16]}, record {d['record_hash'][:16]})"),
    ]
    lines = [f"{name:<10} {value}" for name, value in rows if value]
    if d["missing_content"]:
        lines.append(f"{'missing':<10} FP art 10(3) content not stated: {', '.join(d['missing_content'])}")
    for use in d["shipments"]:
        lines.append(f"{'shipment':<10} {use['shipment_id']}  {use['exported_on_utc'][:10]}  {use['from_state']} -> "
                     f"{use['to_state']}  {_count(use['quantity'])}  "
                     + ("received" if use["received"] else "receipt not confirmed"))
    return "\n".join(lines)


def _quantity(d: dict[str, Any]) -> str:
    if not d["quantity"]:
        return f"not limited, {d['quantity_used']} shipped"
    return f"{d['quantity']}, {d['quantity_used']} shipped, {d['quantity_left']} left"


def _count(n: int) -> str:
    return counted(n, "weapon")


def weapons(run: Invocation) -> int:
    holder = run.args.holder
    if not holder.strip():
        raise InvalidField("give the holder's name", field="holder")
    with run.open_node(unlock=False) as node:
        record_read(run, node, "search", f"holder {holder.strip()}")
        found = holder_weapons(node, holder)
    lines = [f"{w['weapon_id']}  {w['marking']['manufacturer']} / {w['marking']['country']} / "
             f"{w['marking']['serial']}  {w['description']['type']} {w['description']['model']}  {w['status']}"
             + (f" in {w['place']}" if w["place"] else "") for w in found["weapons"]]
    if not found["complete"]:
        lines.append(f"(only the first {len(found['weapons'])} are listed)")
    run.emit(found, "\n".join(lines) or f"{holder.strip()!r} holds no weapon on this register")
    return 0
