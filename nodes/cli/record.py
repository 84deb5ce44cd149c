"""``armsledger record ...`` and ``armsledger licence issue``: the signing commands.

Each command is one call of ``nodes.registry.application.Registry`` followed by
``node.settle()`` (checkpoint and projections). The node is unlocked, so
ARMSLEDGER_PASSPHRASE must be set. Every record takes ``--date`` (business
date, default now) and ``--by KIND`` (the recording authority; each command
has the default its law assigns, see ``domain.authority.PERMISSIONS``).

Output: the id of the weapon (or shipment, or licence) recorded; with
``--json`` an object such as ``{"weapon_id": ..., "event": "Weapon.Transferred"}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from domain.authority import AuthorityKind
from domain.errors import InvalidField, UnknownWeapon
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import parse_time
from nodes.cli import trace as cli_trace
from nodes.cli.invocation import (
    Invocation,
    add_command,
    add_json_option,
    add_marking_options,
    add_record_options,
    add_weapon_options,
    parse_weapon_id,
)

L, C, P, D = AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE, AuthorityKind.DEACTIVATION


def add_commands(subparsers: Any) -> None:
    record = subparsers.add_parser("record", help="record an event of a weapon's life (signed)",
                                   description="Record an event of a weapon's life; the record is signed "
                                               "by the authority given with --by.")
    events = record.add_subparsers(dest="event", required=True, metavar="EVENT")
    _add_manufacture(events)
    _add_import(events)
    _add_export(events)
    _add_transfer(events)
    _add_seize(events)
    cli_trace.add_receipt_command(events)  # receipt of a partner's shipment: nodes.federation.crossborder
    for name, spec in _SIMPLE.items():
        parser = add_command(events, name, _simple_handler(name), spec.help)
        add_weapon_options(parser)
        for option, required, help_text in spec.options:
            parser.add_argument(option, required=required, default="", help=help_text)
        add_record_options(parser, spec.authority)

    licence = subparsers.add_parser("licence", help="licences and authorizations (FP art 7, 10)")
    actions = licence.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_licence_issue(actions)
    _add_licence_revoke(actions)

    parser = add_command(subparsers, "import-csv", import_csv_file,
                         "migrate a legacy register from CSV (see nodes.migration.csv_import for the layout); "
                         "exit 2 if any row was refused")
    parser.add_argument("file", metavar="FILE", help="the CSV file")
    add_json_option(parser)


# --- manufacture, import, export, transfer, seize ------------------------------------------

def _add_manufacture(events: Any) -> None:
    parser = add_command(events, "manufacture", manufacture,
                         "register a newly manufactured weapon (ITI para 8(a)); prints its id")
    add_marking_options(parser, required=True, title="marking")
    _add_description_options(parser, required=True)
    parser.add_argument("--holder", required=True, help="first holder (usually the manufacturer)")
    add_record_options(parser, L)


def manufacture(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    marking = run.marking()
    with run.open_node(unlock=True) as node:
        weapon_id = node.registry.manufacture(
            by=a.by, marking=marking, occurred_on=occurred_on, type=a.type, make=a.make or "",
            model=a.model or "", calibre=a.calibre, year=a.year, holder=a.holder,
        )
        node.settle()
    run.emit({"weapon_id": str(weapon_id)}, str(weapon_id))
    return 0


def _add_import(events: Any) -> None:
    parser = add_command(events, "import", import_weapon,
                         "record an import with its import marking (FP art 8(1)(b)); prints the weapon id")
    add_weapon_options(parser)
    _add_description_options(parser, required=False)
    parser.add_argument("--from", dest="from_state", required=True, metavar="CC", help="exporting state")
    parser.add_argument("--import-year", type=int, help="year of the import marking (default: year of --date)")
    parser.add_argument("--import-authorization", required=True, help="import authorization number")
    parser.add_argument("--holder", required=True, help="importer / new holder")
    parser.add_argument("--shipment", default="", help="the exporter's shipment id, if known")
    add_record_options(parser, C)


def import_weapon(run: Invocation) -> int:
    """An import opens the weapon's record when it has none; its description then must be given."""
    a = run.args
    occurred_on = run.occurred_on()
    import_year = a.import_year or _year_of(occurred_on)
    with run.open_node(unlock=True) as node:
        marking = run.marking()
        known = _known_weapon(node, run.weapon_id())
        if marking is None:
            if known is None:
                raise UnknownWeapon("no record of this weapon: give its marking to register the import",
                                    field="weapon")
            marking = Marking(**known.marking)
        description = {name: getattr(a, name) for name in ("type", "make", "model", "calibre", "year")}
        for name, value in description.items():
            if value is None:
                description[name] = getattr(known, name) if known is not None else ("" if name != "year" else 0)
        weapon_id = node.registry.import_weapon(
            by=a.by, marking=marking, occurred_on=occurred_on, from_state=a.from_state, import_year=import_year,
            import_authorization=a.import_authorization, holder=a.holder, shipment=a.shipment, **description,
        )
        node.settle()
    run.emit({"weapon_id": str(weapon_id), "event": "Weapon.Imported"}, str(weapon_id))
    return 0


def _add_export(events: Any) -> None:
    parser = add_command(events, "export", export,
                         "export weapons as one shipment under an export licence (FP art 10(2)); "
                         "prints the shipment id")
    add_weapon_options(parser, many=True)
    parser.add_argument("--licence", required=True, help="export licence number (issued by this state)")
    parser.add_argument("--import-authorization", required=True, help="the importing state's authorization number")
    parser.add_argument("--to", required=True, metavar="CC", help="importing state")
    parser.add_argument("--via", action="append", default=[], metavar="CC", help="transit state (repeatable, in order)")
    parser.add_argument("--transit-no-objection", action="append", default=[], metavar="NUMBER",
                        help="transit state's no-objection number (repeatable, one per --via)")
    parser.add_argument("--consignee", default="", help="consignee (default: the licence's)")
    add_record_options(parser, C)


def export(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    weapon_ids = run.weapon_ids()
    with run.open_node(unlock=True) as node:
        shipment_id = node.registry.export(
            by=a.by, weapon_ids=weapon_ids, licence=a.licence, import_authorization=a.import_authorization,
            to_state=a.to, transit_states=tuple(a.via), transit_no_objections=tuple(a.transit_no_objection),
            consignee=a.consignee, occurred_on=occurred_on,
        )
        node.settle()
    run.emit({"shipment_id": str(shipment_id), "weapon_ids": [str(w) for w in weapon_ids], "event": "Weapon.Exported"},
             str(shipment_id))
    return 0


def _add_transfer(events: Any) -> None:
    parser = add_command(events, "transfer", transfer,
                         "transfer a weapon to a holder with a transfer licence (FP art 7)")
    add_weapon_options(parser)
    parser.add_argument("--to", required=True, metavar="HOLDER", help="the new holder")
    parser.add_argument("--licence", required=True, help="the new holder's transfer licence number")
    add_record_options(parser, L)


def transfer(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    weapon_id = run.weapon_id()
    with run.open_node(unlock=True) as node:
        node.registry.transfer(by=a.by, weapon_id=weapon_id, to_holder=a.to, licence=a.licence,
                               occurred_on=occurred_on)
        node.settle()
    run.emit({"weapon_id": str(weapon_id), "event": "Weapon.Transferred"}, str(weapon_id))
    return 0


def _add_seize(events: Any) -> None:
    parser = add_command(events, "seize", seize,
                         "record a seizure; an unrecorded weapon is registered by it (ITI para 9); "
                         "prints the weapon id")
    add_weapon_options(parser, obliterated=True)
    _add_description_options(parser, required=False, year=False)
    parser.add_argument("--place", default="", help="where it was seized")
    parser.add_argument("--circumstances", default="", help="circumstances of the seizure")
    add_record_options(parser, P)


def seize(run: Invocation) -> int:
    """By ``--weapon`` or by marking; a marking with ``?`` (obliterated) registers a new random id."""
    a = run.args
    occurred_on = run.occurred_on()
    marking = run.marking()
    weapon_id = parse_weapon_id(a.weapon) if a.weapon else None
    if marking is not None and weapon_id is not None:
        raise InvalidField("give --weapon or the marking options, not both", field="weapon")
    if marking is None and weapon_id is None:
        raise InvalidField("give --weapon ID or --manufacturer, --country and --serial", field="weapon")
    with run.open_node(unlock=True) as node:
        weapon_id = node.registry.seize(
            by=a.by, weapon_id=weapon_id, marking=marking, occurred_on=occurred_on, type=a.type or "",
            make=a.make or "", model=a.model or "", calibre=a.calibre or "", place=a.place,
            circumstances=a.circumstances,
        )
        node.settle()
    run.emit({"weapon_id": str(weapon_id), "event": "Weapon.Seized"}, str(weapon_id))
    return 0


# --- records without licence look-ups ------------------------------------------------------

class _Simple:
    def __init__(self, command: str, authority: AuthorityKind, event: str, help: str,
                 options: tuple[tuple[str, bool, str], ...]):
        self.command, self.authority, self.event, self.help, self.options = command, authority, event, help, options


_SIMPLE = {
    "mark": _Simple("mark", L, "Weapon.Marked", "record a mark applied after manufacture (ITI para 8(b)-(c))",
                    (("--mark", True, "the mark applied"), ("--reason", False, "why (import, national mark, ...)"))),
    "report-lost": _Simple("report_lost", P, "Weapon.ReportedLost", "report a weapon lost",
                           (("--place", False, "where"), ("--circumstances", False, "circumstances"))),
    "report-stolen": _Simple("report_stolen", P, "Weapon.ReportedStolen", "report a weapon stolen",
                             (("--place", False, "where"), ("--circumstances", False, "circumstances"))),
    "recover": _Simple("recover", P, "Weapon.Recovered", "record the recovery of a lost or stolen weapon",
                       (("--place", False, "where"), ("--holder", False, "returned to (default: last holder)"))),
    "confiscate": _Simple("confiscate", P, "Weapon.Confiscated", "record the confiscation of a seized weapon",
                          (("--order", True, "the confiscation order"),)),
    "deactivate": _Simple("deactivate", D, "Weapon.Deactivated", "record a deactivation (FP art 9)",
                          (("--certificate", True, "deactivation certificate number"),
                           ("--method", False, "deactivation method"))),
    "destroy": _Simple("destroy", D, "Weapon.Destroyed", "record a destruction",
                       (("--method", True, "destruction method"), ("--certificate", False, "certificate number"))),
}


def _simple_handler(name: str):
    spec = _SIMPLE[name]

    def handler(run: Invocation) -> int:
        a = run.args
        occurred_on = run.occurred_on()
        weapon_id = run.weapon_id()
        fields = {option.lstrip("-").replace("-", "_"): getattr(a, option.lstrip("-").replace("-", "_"))
                  for option, _, _ in spec.options}
        with run.open_node(unlock=True) as node:
            node.registry.record(spec.command, by=a.by, weapon_id=weapon_id, occurred_on=occurred_on, **fields)
            node.settle()
        run.emit({"weapon_id": str(weapon_id), "event": spec.event}, str(weapon_id))
        return 0

    handler.__name__ = name.replace("-", "_")
    handler.__doc__ = spec.help
    return handler


# --- licences ----------------------------------------------------------------------------

def _add_licence_issue(actions: Any) -> None:
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
    parser.add_argument("--quantity", type=int, default=0, help="number of weapons covered (0: not limited)")
    parser.add_argument("--weapon", action="append", default=[], metavar="ID",
                        help="weapon covered (repeatable; none: every weapon of the holder)")
    add_record_options(parser, L)


def issue_licence(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    kind = LicenceKind.parse(a.kind.strip().lower().replace("-", "_").replace(" ", "_"))
    valid_from = parse_time(a.valid_from, field="valid_from")
    valid_until = parse_time(a.valid_until, field="valid_until")
    if len(a.valid_until.strip()) == 10:
        valid_until += 86_399  # "valid until 2030-12-31" includes that day
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


def _add_licence_revoke(actions: Any) -> None:
    kinds = ", ".join(k.value for k in LicenceKind)
    parser = add_command(actions, "revoke", revoke_licence,
                         "revoke a licence or authorization of this state; later use of it is refused")
    parser.add_argument("--number", required=True, help="licence number")
    parser.add_argument("--kind", required=True, help=f"one of {kinds}")
    parser.add_argument("--reason", required=True, help="why it is revoked")
    add_record_options(parser, L)


def revoke_licence(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    kind = LicenceKind.parse(a.kind.strip().lower().replace("-", "_").replace(" ", "_"))
    with run.open_node(unlock=True) as node:
        revoked = node.registry.revoke_licence(by=a.by, occurred_on=occurred_on, number=a.number, kind=kind,
                                               reason=a.reason)
        node.settle()
    run.emit({"licence_id": str(revoked), "number": a.number.strip(), "kind": kind.value, "revoked": True},
             str(revoked))
    return 0


# --- bulk migration ----------------------------------------------------------------------

def import_csv_file(run: Invocation) -> int:
    """Record every valid row; report refused rows by line, field and reason (exit 2 if any)."""
    from nodes.migration.csv_import import import_csv

    path = Path(run.args.file)
    if not path.is_file():
        raise InvalidField(f"{run.args.file}: no such file", field="file")
    with run.open_node(unlock=True) as node:
        report = import_csv(node, path)
        node.settle()
    document = report.to_dict()
    run.emit(document, f"{path.name}: {report.imported} weapons recorded ({report.events} signed events), "
                       f"{report.skipped} recorded already, {len(report.errors)} rows refused")
    for error in report.errors:
        run.warn(f"armsledger import-csv: {path.name} line {error.line}: {error.field}: {error.reason}")
    return 2 if report.errors else 0


# --- shared pieces -----------------------------------------------------------------------

def _add_description_options(parser: argparse.ArgumentParser, *, required: bool, year: bool = True) -> None:
    group = parser.add_argument_group("description")
    group.add_argument("--type", required=required, help="pistol, rifle, ...")
    group.add_argument("--make", help="make (brand)")
    group.add_argument("--model", help="model")
    group.add_argument("--calibre", required=required, help="calibre")
    if year:
        group.add_argument("--year", type=int, required=required, help="year of manufacture")


def _known_weapon(node: Any, weapon_id: UUID):
    try:
        return node.registry.weapon(weapon_id)
    except UnknownWeapon:
        return None


def _year_of(occurred_on: int | None) -> int:
    moment = datetime.now(timezone.utc) if occurred_on is None else datetime.fromtimestamp(occurred_on, timezone.utc)
    return moment.year
