"""``armsledger record EVENT``: the signed records of a weapon's life.

Each command is one call of ``nodes.registry.application.Registry`` (``record
receipt``: ``nodes.federation.crossborder``) followed by ``node.settle()``; it
needs ARMSLEDGER_PASSPHRASE. ``--date`` is the business date (default now) and
``--by KIND`` the recording authority, whose default is the one the law assigns
(``domain.authority.PERMISSIONS``). Output: the id of the weapon (or shipment);
with ``--json`` an object such as ``{"weapon_id": ..., "event": "Weapon.Transferred"}``.

A seizure or import of a weapon a partner reported lost or stolen prints a warning line per
report on stderr, and its JSON carries them in ``hits`` (``nodes.alerts.hits.warnings``); the
exit code is that of the record. ``report-lost`` and ``report-stolen`` take a weapon with no
record here by its marking, with what is known of its description, and open its record.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.event_types import (
    CONFISCATED,
    DESTROYED,
    EXPORTED,
    IMPORTED,
    MARKED,
    RECOVERED,
    REPORTED_LOST,
    REPORTED_STOLEN,
    SEIZED,
    TRANSFERRED,
)
from domain.marking import Marking
from domain.person import is_person_reference
from nodes.alerts.hits import warnings
from nodes.bootstrap import Node
from nodes.cli import certificates, components, corrections
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_marking_options,
    add_record_options,
    add_weapon_options,
    number_option,
)
from nodes.cli.persons import add_identity_options, person_given
from nodes.cli.reference import recorded_reference
from nodes.federation import crossborder
from nodes.persons.holders import PersonGiven, VaultOnDemand, holder_for
from nodes.registry import recording
from nodes.registry.application import WeaponRecorded
from nodes.registry.weapon_ids import weapon_by_prefix

L, C, P, D = AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE, AuthorityKind.DEACTIVATION


def add_commands(subparsers: Commands) -> None:
    record = subparsers.add_parser("record", help="record an event of a weapon's life (signed)",
                                   description="Record an event of a weapon's life; the record is signed "
                                               "by the authority given with --by.")
    events = record.add_subparsers(dest="event", required=True, metavar="EVENT")
    _add_manufacture(events)
    _add_import(events)
    _add_export(events)
    _add_transfer(events)
    _add_seize(events)
    _add_receipt(events)
    _add_reports(events)
    certificates.add_record_commands(events)  # deactivate (with its certificate), reactivate
    components.add_record_commands(events)   # assemble, replace-component, convert
    corrections.add_record_commands(events)  # correct
    for name, spec in _SIMPLE.items():
        parser = add_command(events, name, _simple_handler(name), spec.help)
        add_weapon_options(parser)
        for option, required, help_text in spec.options:
            parser.add_argument(option, required=required, default="", help=help_text)
        add_record_options(parser, spec.authority)


# --- manufacture, import, export, transfer, seize ------------------------------------------

def _add_manufacture(events: Commands) -> None:
    parser = add_command(events, "manufacture", manufacture,
                         "register a newly manufactured weapon (ITI para 8(a)); prints its id")
    add_marking_options(parser, required=True, title="marking")
    _add_description_options(parser, required=True)
    parser.add_argument("--holder", default="", help=_HOLDER_HELP.format(who="first holder (usually the manufacturer)"))
    add_identity_options(parser)
    add_record_options(parser, L)


def manufacture(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    marking = run.marking()
    if marking is None:  # unreachable from the command line: the parser requires the three options
        raise InvalidField("a manufacture needs the marking", field="serial")
    with run.open_node(unlock=True) as node:
        with _holder(node, a.holder, person_given(a), "holder") as holder:  # only the record: see holder_for
            weapon_id = node.registry.manufacture(
                by=a.by, marking=marking, occurred_on=occurred_on, type=a.type, make=a.make or "",
                model=a.model or "", calibre=a.calibre, year=a.year, holder=holder,
            )
        node.settle()
        reference = recorded_reference(run, node, weapon_id)
    run.emit({"weapon_id": str(weapon_id), **reference}, str(weapon_id))
    return 0


def _add_import(events: Commands) -> None:
    parser = add_command(events, "import", import_weapon,
                         "record an import with its import marking (FP art 8(1)(b)); prints the weapon id")
    add_weapon_options(parser)
    _add_description_options(parser, required=False)
    parser.add_argument("--from", dest="from_state", required=True, metavar="CC", help="exporting state")
    parser.add_argument("--import-year", type=number_option(1, 9999),
                        help="year of the import marking (default: year of --date)")
    parser.add_argument("--import-authorization", required=True, help="import authorization number")
    parser.add_argument("--holder", default="", help=_HOLDER_HELP.format(who="importer / new holder"))
    parser.add_argument("--shipment", default="", help="the exporter's shipment id, if known")
    add_identity_options(parser)
    add_record_options(parser, C)


def import_weapon(run: Invocation) -> int:
    """An import opens the weapon's record when it has none; its description then must be given.

    Options not given are left to the domain (``Weapon.import_``): the description
    on record, and the year of the business date as import year.
    """
    a = run.args
    occurred_on = run.occurred_on()
    marking = run.marking()
    with run.open_node(unlock=True) as node:
        named = run.weapon_id(node)  # refuses --weapon together with the marking
        with _holder(node, a.holder, person_given(a), "holder") as holder:
            recorded = recording.import_weapon(
                node.registry, by=a.by, marking=marking, weapon_id=None if marking else named,
                occurred_on=occurred_on, from_state=a.from_state, import_year=a.import_year,
                import_authorization=a.import_authorization, holder=holder, shipment=a.shipment,
                type=a.type, make=a.make, model=a.model, calibre=a.calibre, year=a.year,
            )
        node.settle()
        reference = recorded_reference(run, node, recorded.weapon_id)
    _emit_recorded(run, recorded, IMPORTED, reference)
    return 0


def _add_export(events: Commands) -> None:
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
    parser.add_argument("--broker", default="", metavar="REG",
                        help="registration number of the shipment's broker (default: the licence's; FP art 15)")
    add_record_options(parser, C)


def export(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        weapon_ids: list[UUID | str] = [*run.weapon_ids(node)]
        shipment_id = node.registry.export(
            by=a.by, weapon_ids=weapon_ids, licence=a.licence, import_authorization=a.import_authorization,
            to_state=a.to, transit_states=tuple(a.via), transit_no_objections=tuple(a.transit_no_objection),
            consignee=a.consignee, broker=a.broker, occurred_on=occurred_on,
        )
        node.settle()
    run.emit({"shipment_id": str(shipment_id), "weapon_ids": [str(w) for w in weapon_ids], "event": EXPORTED},
             str(shipment_id))
    return 0


def _add_transfer(events: Commands) -> None:
    parser = add_command(events, "transfer", transfer,
                         "transfer a weapon to a holder with a transfer licence (FP art 7)")
    add_weapon_options(parser)
    parser.add_argument("--to", default="", metavar="HOLDER", help=_HOLDER_HELP.format(who="the new holder"))
    parser.add_argument("--licence", required=True, help="the new holder's transfer licence number")
    add_identity_options(parser)
    add_record_options(parser, L)


def transfer(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        weapon_id = run.weapon_id(node)
        with _holder(node, a.to, person_given(a), "to") as holder:
            node.registry.transfer(by=a.by, weapon_id=weapon_id, to_holder=holder, licence=a.licence,
                                   occurred_on=occurred_on)
        node.settle()
    run.emit({"weapon_id": str(weapon_id), "event": TRANSFERRED, "to": holder}, str(weapon_id))
    return 0


def _add_seize(events: Commands) -> None:
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
    with run.open_node(unlock=True) as node:
        weapon_id, marking = _weapon_or_marking(run, node)
        recorded = node.registry.record_seizure(
            by=a.by, weapon_id=weapon_id, marking=marking, occurred_on=occurred_on, type=a.type or "",
            make=a.make or "", model=a.model or "", calibre=a.calibre or "", place=a.place,
            circumstances=a.circumstances,
        )
        node.settle()
        reference = recorded_reference(run, node, recorded.weapon_id)
    _emit_recorded(run, recorded, SEIZED, reference)
    return 0


def _emit_recorded(run: Invocation, recorded: WeaponRecorded, event: str, reference: dict[str, Any]) -> None:
    """The weapon id, after a warning line on stderr per partner report the record hit; ``reference``:
    ``{"reference": the match of its description}`` or ``{}`` (``nodes.cli.reference.recorded_reference``)."""
    hits = warnings(recorded.hits)
    for hit in hits:
        run.warn(hit["message"])
    run.emit({"weapon_id": str(recorded.weapon_id), "event": event, "hits": hits, **reference},
             str(recorded.weapon_id))


# --- receipt of a partner's shipment ----------------------------------------------------------

def _add_receipt(events: Commands) -> None:
    parser = add_command(events, "receipt", receipt,
                         "customs confirm receipt of a shipment from a partner state (FP art 10(4)); opens the "
                         "weapons' records here")
    parser.add_argument("--shipment", default="", metavar="ID", help="the exporter's shipment id")
    add_weapon_options(parser)
    parser.add_argument("--received-by", default="", help="who received it (default: the consignee)")
    add_record_options(parser, C)


def receipt(run: Invocation) -> int:
    """By ``--shipment`` (every weapon of it), or ``--weapon`` / marking (that weapon's export to us)."""
    a = run.args
    marking = run.marking()
    if not a.shipment and marking is None and not a.weapon:
        raise InvalidField("give --shipment ID, or --weapon ID or the marking", field="shipment")
    with run.open_node(unlock=True) as node:
        weapon = marking.weapon_id() if marking is not None else weapon_by_prefix(node, a.weapon) if a.weapon else None
        done = crossborder.confirm_receipt(node, shipment=a.shipment.strip(), weapon_id=weapon, by=a.by,
                                           received_by=a.received_by, occurred_on=run.occurred_on())
        node.settle()
    single = {"weapon_id": done.weapons[0]} if len(done.weapons) == 1 else {}
    run.emit({**done.to_dict(), "weapon_ids": list(done.weapons), **single},
             "\n".join(done.weapons) if done.weapons else "")
    return 0


# --- loss and theft: a weapon on no register here is named by its marking ---------------------

def _add_reports(events: Commands) -> None:
    for name, event, stolen in (("report-lost", REPORTED_LOST, False), ("report-stolen", REPORTED_STOLEN, True)):
        word = "stolen" if stolen else "lost"
        parser = add_command(events, name, _report_handler(event, stolen),
                             f"report a weapon {word}; one with no record here is named by its marking and "
                             "the report opens its record")
        add_weapon_options(parser)
        _add_description_options(parser, required=False)
        parser.add_argument("--place", default="", help="where")
        parser.add_argument("--circumstances", default="", help="circumstances")
        add_record_options(parser, P)


def _report_handler(event: str, stolen: bool) -> Callable[[Invocation], int]:
    def handler(run: Invocation) -> int:
        a = run.args
        occurred_on = run.occurred_on()
        with run.open_node(unlock=True) as node:
            named, marking = _weapon_or_marking(run, node)
            weapon_id = node.registry.report_missing(
                stolen=stolen, by=a.by, weapon_id=named, marking=marking, occurred_on=occurred_on, place=a.place,
                circumstances=a.circumstances, type=a.type, make=a.make, model=a.model, calibre=a.calibre,
                year=a.year)
            node.settle()
            reference = recorded_reference(run, node, weapon_id)
        run.emit({"weapon_id": str(weapon_id), "event": event, **reference}, str(weapon_id))
        return 0

    handler.__name__ = f"report_{'stolen' if stolen else 'lost'}"
    return handler


# --- records without licence look-ups ------------------------------------------------------

class _Simple:
    def __init__(self, command: str, authority: AuthorityKind, event: str, help: str,
                 options: tuple[tuple[str, bool, str], ...]):
        self.command, self.authority, self.event, self.help, self.options = command, authority, event, help, options


_SIMPLE = {
    "mark": _Simple("mark", L, MARKED, "record a mark applied after manufacture (ITI para 8(b)-(c))",
                    (("--mark", True, "the mark applied"), ("--reason", False, "why (import, national mark, ...)"))),
    "recover": _Simple("recover", P, RECOVERED, "record the recovery of a lost or stolen weapon",
                       (("--place", False, "where"), ("--holder", False, "returned to (default: last holder)"))),
    "confiscate": _Simple("confiscate", P, CONFISCATED, "record the confiscation of a seized weapon",
                          (("--order", True, "the confiscation order"),)),
    "destroy": _Simple("destroy", D, DESTROYED, "record a destruction",
                       (("--method", True, "destruction method"), ("--certificate", False, "certificate number"))),
}


def _simple_handler(name: str) -> Callable[[Invocation], int]:
    spec = _SIMPLE[name]

    def handler(run: Invocation) -> int:
        a = run.args
        occurred_on = run.occurred_on()
        fields = {option.lstrip("-").replace("-", "_"): getattr(a, option.lstrip("-").replace("-", "_"))
                  for option, _, _ in spec.options}
        with run.open_node(unlock=True) as node:
            weapon_id = _weapon_id(run, node)
            with _holder(node, fields.get("holder", ""), PersonGiven(), "holder", optional=True) as holder:
                named = {**fields, "holder": holder} if "holder" in fields else fields
                node.registry.record(spec.command, by=a.by, weapon_id=weapon_id, occurred_on=occurred_on, **named)
            node.settle()
        if spec.event == RECOVERED and holder and not is_person_reference(holder):
            run.warn(f"note: the recovery names {holder!r}, so it stays in this state (docs/sharing.md): "
                     "partners keep the loss or theft report outstanding; give a private holder as person:...")
        run.emit({"weapon_id": str(weapon_id), "event": spec.event}, str(weapon_id))
        return 0

    handler.__name__ = name.replace("-", "_")
    handler.__doc__ = spec.help
    return handler


# --- shared pieces -----------------------------------------------------------------------

_HOLDER_HELP = ("{who}: a licensed dealer's, manufacturer's or state body's name, or a private person's "
                "reference (person:...); or give the person's --name and --born instead")


@contextlib.contextmanager
def _holder(node: Node, typed: str, person: PersonGiven, field: str, *, optional: bool = False) -> Iterator[str]:
    """The holder to record (``nodes.persons.holders.holder_for``); with ``optional``, nothing typed stays ""."""
    if optional and not typed.strip():
        yield ""
        return
    with VaultOnDemand(node.settings) as vault, holder_for(typed, person, vault, field=field) as holder:
        yield holder


def _weapon_or_marking(run: Invocation, node: Node) -> tuple[UUID | None, Marking | None]:
    """The weapon named by ``--weapon`` (an id, or the unique start of one of a weapon on record here) or by
    its marking (a marking may have obliterated characters): exactly one; ``InvalidField`` on ``weapon``
    otherwise, repeating what was typed."""
    marking = run.marking()
    typed = run.args.weapon
    if marking is not None and typed:
        raise InvalidField("give --weapon or the marking options, not both", field="weapon")
    if marking is None and not typed:
        raise InvalidField("give --weapon ID or --manufacturer, --country and --serial", field="weapon")
    return (weapon_by_prefix(node, typed) if typed else None), marking


def _weapon_id(run: Invocation, node: Node) -> UUID:
    """The id of the weapon named by ``--weapon`` or by its complete marking (see ``_weapon_or_marking``)."""
    named, marking = _weapon_or_marking(run, node)
    if named is not None:
        return named
    assert marking is not None  # _weapon_or_marking gives one of them
    return marking.weapon_id()


def _add_description_options(parser: argparse.ArgumentParser, *, required: bool, year: bool = True) -> None:
    group = parser.add_argument_group("description")
    group.add_argument("--type", required=required, help="pistol, rifle, ...")
    group.add_argument("--make", help="make (brand)")
    group.add_argument("--model", help="model")
    group.add_argument("--calibre", required=required, help="calibre")
    if year:
        group.add_argument("--year", type=number_option(1, 9999), required=required, help="year of manufacture")

