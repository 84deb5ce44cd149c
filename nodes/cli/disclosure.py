"""``armsledger disclosure request|release|refuse|list|show``: a holder's identity asked of, or released to, a partner.

The requester's police (``request``) ask the state whose records name a holder reference; that state's
registry ``release``s the identity, encrypted to the request's key, or ``refuse``s; ``show`` opens a
released identity. Both the release and every reading of a released identity are in the read audit
(action ``disclosure``). Needs ARMSLEDGER_PASSPHRASE (the identity vault's key). docs/personal-data.md.
"""

from __future__ import annotations

from typing import Any

from domain.authority import AuthorityKind
from domain.disclosure import check_disclosure_read
from domain.event_types import DISCLOSURE_REFUSED, DISCLOSURE_RELEASED, DISCLOSURE_REQUESTED
from domain.time import format_time
from nodes.cli.audit import OPERATOR, add_purpose_option, record_read
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, add_record_options
from nodes.persons import disclosure as disclosures
from nodes.persons.vault import IdentityVault


def add_commands(subparsers: Commands) -> None:
    disclosure = subparsers.add_parser("disclosure", help="a holder's identity asked of or released to a partner")
    actions = disclosure.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "request", request, "ask the state whose records name a holder reference for "
                                                      "the identity behind it; prints the request id")
    parser.add_argument("--person", required=True, metavar="REF", help="the partner's holder reference (person:...)")
    parser.add_argument("--weapon", required=True, metavar="ID", help="the weapon whose received records name it")
    parser.add_argument("--purpose", required=True, metavar="TEXT", help="why the identity is needed")
    parser.add_argument("--legal-basis", required=True, metavar="TEXT", help="the legal basis of the request")
    add_record_options(parser, AuthorityKind.POLICE)
    parser = add_command(actions, "release", release, "release the identity a partner asked for, encrypted to "
                                                      "its request's key (audited)")
    parser.add_argument("request", metavar="REQ", help="request id or its start (at least 4 characters)")
    add_purpose_option(parser)
    add_record_options(parser, AuthorityKind.REGISTRY)
    parser = add_command(actions, "refuse", refuse, "refuse a partner's disclosure request, saying why")
    parser.add_argument("request", metavar="REQ", help="request id or its start (at least 4 characters)")
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why the identity is not released")
    add_record_options(parser, AuthorityKind.REGISTRY)
    parser = add_command(actions, "list", list_disclosures, "every disclosure asked or received, with its status")
    add_json_option(parser)
    parser = add_command(actions, "show", show, "one disclosure; for an identity released to us, the identity "
                                                "(audited)")
    parser.add_argument("request", metavar="REQ", help="request id or its start (at least 4 characters)")
    add_purpose_option(parser)
    add_json_option(parser)


def request(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node, IdentityVault.open(node.settings) as vault:
        request_id = disclosures.request(node, vault, person=a.person, weapon=a.weapon, purpose=a.purpose,
                                         legal_basis=a.legal_basis, occurred_on=occurred_on, by=a.by)
        node.settle()
    run.emit({"request": str(request_id), "event": DISCLOSURE_REQUESTED}, str(request_id))
    return 0


def release(run: Invocation) -> int:
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node, IdentityVault.open(node.settings) as vault:
        found = disclosures.find_disclosure(node, run.args.request)
        request_id = found.request_id
        asked = disclosures.releasable(node, vault, request_id)
        record_read(run, node, "disclosure", f"{request_id} {asked.body['person']} released to {asked.node}")
        disclosures.release(node, vault, request_id, occurred_on=occurred_on, by=run.args.by)
        node.settle()
    run.emit({"request": str(request_id), "event": DISCLOSURE_RELEASED, "to": asked.node},
             f"released {asked.body['person']} to {asked.node} (request {request_id})")
    return 0


def refuse(run: Invocation) -> int:
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        request_id = disclosures.find_disclosure(node, run.args.request).request_id
        disclosures.refuse(node, request_id, reason=run.args.reason, occurred_on=occurred_on, by=run.args.by)
        node.settle()
    run.emit({"request": str(request_id), "event": DISCLOSURE_REFUSED}, f"refused request {request_id}")
    return 0


def list_disclosures(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        found = [d.as_dict() for d in disclosures.disclosures(node)]
    run.emit({"disclosures": found}, "\n".join(_summary(d) for d in found) or "no disclosures")
    return 0


def show(run: Invocation) -> int:
    check_disclosure_read(OPERATOR.role)
    with run.open_node(unlock=False) as node:
        found = disclosures.find_disclosure(node, run.args.request)
        if found.direction == "in" or found.status != "released":
            shown: dict[str, Any] = {"disclosure": found.as_dict(), "identity": None, "erased": False}
        else:
            with IdentityVault.open(node.settings) as vault:
                record_read(run, node, "disclosure", f"{found.request_id} {found.request.body['person']} "
                                                     f"released by {found.request.body['addressee']}")
                shown = disclosures.read_released(node, vault, found.request_id)
    run.emit(shown, _details(shown))
    return 0


def _summary(d: dict[str, Any]) -> str:
    route = f"{d['requesting_state']} -> {d['addressee']}"
    asked = "we asked" if d["direction"] == "out" else "we were asked"
    return f"{d['request']}  {route}  {d['status']:<9} {d['person']}  ({asked}, {format_time(d['requested_at'])})"


def _details(shown: dict[str, Any]) -> str:
    d = shown["disclosure"]
    lines = [f"request  {d['request']} ({'we asked' if d['direction'] == 'out' else 'we were asked'})",
             f"route    {d['requesting_state']} -> {d['addressee']}",
             f"person   {d['person']}", f"weapon   {d['weapon']}",
             f"purpose  {d['purpose']}", f"basis    {d['legal_basis']}",
             f"asked    {format_time(d['requested_at'])}",
             f"status   {d['status']}" + (f" on {format_time(d['answered_at'])}" if d["answered_at"] else "")
             + (f": {d['reason']}" if d["reason"] else "")]
    identity = shown["identity"]
    if shown["erased"]:
        lines.append("identity erased by its state at the end of its retention period; our key to it is destroyed")
    elif identity is not None:
        lines += [f"  {label:<14}{identity[key] or '-'}" for label, key in (
            ("name", "name"), ("born", "date_of_birth"), ("address", "address"), ("id document", "id_document"))]
        lines.append("  (matches the commitment the releasing state signed)")
    return "\n".join(lines)
