"""``armsledger licence issue|revoke``: licences and authorizations of this state (FP art 7, art 10(3)).

Signing commands (ARMSLEDGER_PASSPHRASE); each is one ``Registry`` call followed
by ``node.settle()``. Output: the licence id; with ``--json`` its id, number and kind.
"""

from __future__ import annotations

from domain.authority import AuthorityKind
from domain.licence import LicenceKind
from domain.numbers import LARGEST_WHOLE
from domain.time import parse_time, parse_until
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_record_options,
    number_option,
    parse_weapon_id,
)
from nodes.registry.licences import parse_kind


def add_commands(subparsers: Commands) -> None:
    licence = subparsers.add_parser("licence", help="licences and authorizations (FP art 7, 10)")
    actions = licence.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_issue(actions)
    _add_revoke(actions)


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
    add_record_options(parser, AuthorityKind.LICENSING)


def issue_licence(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    kind = parse_kind(a.kind)
    valid_from = parse_time(a.valid_from, field="valid_from")
    valid_until = parse_until(a.valid_until, field="valid_until")
    weapons = tuple(str(parse_weapon_id(w)) for w in a.weapon)
    with run.open_node(unlock=True) as node:
        issued = node.registry.issue_licence(
            by=a.by, occurred_on=occurred_on, number=a.number, kind=kind, holder=a.holder,
            valid_from=valid_from, valid_until=valid_until, export_state=a.export_state,
            import_state=a.import_state, transit_states=tuple(a.transit_states), consignee=a.consignee,
            end_user=a.end_user, quantity=a.quantity, weapons=weapons,
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

