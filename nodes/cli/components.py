"""Essential components and conversions at the command line (docs/components.md).

``record assemble``, ``record replace-component``, ``record convert`` and ``record destroy-component`` (each
one call of ``nodes.registry.components``, then ``node.settle()``), and ``component show`` (the life of one component,
recorded in the read audit). A weapon is named as in every ``record`` command (``--weapon`` with its id or
the start of one, or ``--manufacturer --country --serial``); a component by ``KIND=MANUFACTURER/CC/SERIAL``.
"""

from __future__ import annotations

import argparse
from typing import Any

from domain import event_types as types
from domain.authority import AuthorityKind
from nodes.cli import query
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_record_options,
    add_weapon_options,
)
from nodes.registry import component_reading, components

L = AuthorityKind.LICENSING


def add_record_commands(events: Commands) -> None:
    """``record assemble``, ``record replace-component``, ``record convert``."""
    parser = add_command(events, "assemble", assemble,
                         "record a weapon's essential components, registering those not on record (police, "
                         "customs: the parts found in a seized weapon)")
    add_weapon_options(parser)
    parser.add_argument("--component", action="append", default=[], metavar="KIND=MANUFACTURER/CC/SERIAL",
                        help="a part and its marking, e.g. frame=FN/BE/F123 (repeatable; kinds: frame, receiver, "
                             "slide, barrel, bolt, breech-block and those ARMSLEDGER_COMPONENT_KINDS adds)")
    add_record_options(parser, L)

    parser = add_command(events, "replace-component", replace_component,
                         "replace one essential component of a weapon by another (registered if not on record)")
    add_weapon_options(parser)
    parser.add_argument("--kind", required=True, help="the kind of part replaced (frame, barrel, ...)")
    parser.add_argument("--new", dest="component", required=True, metavar="MANUFACTURER/CC/SERIAL",
                        help="marking of the part installed")
    parser.add_argument("--reason", required=True, help="why (worn, broken, upgrade, ...)")
    parser.add_argument("--destroy-removed", action="store_true", help="the part removed is destroyed")
    add_record_options(parser, L)

    parser = add_command(events, "convert", convert,
                         "record a conversion: a change of calibre, an alarm weapon made to fire ... (police, "
                         "customs: a conversion found on a seized weapon, flagged)")
    add_weapon_options(parser)
    parser.add_argument("--kind", required=True,
                        help="calibre, alarm-to-firearm, deactivated-to-firearm (found only), semi-to-full-automatic "
                             "or other")
    parser.add_argument("--calibre", default="", help="the calibre after the conversion (required for calibre)")
    parser.add_argument("--type", default="", help="the type after the conversion (default: unchanged)")
    parser.add_argument("--licence", default="", help="conversion licence number (a lawful conversion other than "
                                                      "of calibre needs one)")
    parser.add_argument("--description", default="", help="what was done")
    add_record_options(parser, L)

    parser = add_command(events, "destroy-component", destroy_component,
                         "record the destruction of a component in no weapon (one in a weapon: replace-component "
                         "--destroy-removed)")
    _add_component_argument(parser)
    parser.add_argument("--method", required=True, help="destruction method")
    add_record_options(parser, AuthorityKind.DEACTIVATION)


def add_commands(subparsers: Commands) -> None:
    """``component show``."""
    group = subparsers.add_parser("component", help="an essential component's life (frame, barrel, ...)")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "show", show, "the weapons a component was in, and when; every record of it")
    _add_component_argument(parser)
    add_purpose_option(parser)
    add_json_option(parser)


def assemble(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        parts = [components.read_part(text, node.settings.component_kinds) for text in a.component]
        recorded = components.assemble(node.registry, by=a.by, weapon_id=run.weapon_id(node), parts=parts,
                                       occurred_on=occurred_on)
        node.settle()
    _emit(run, recorded, types.ASSEMBLED)
    return 0


def replace_component(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        recorded = components.replace_component(
            node.registry, by=a.by, weapon_id=run.weapon_id(node), kind=a.kind,
            new=components.read_marking(a.component), reason=a.reason, destroy_removed=a.destroy_removed,
            kinds=node.settings.component_kinds, occurred_on=occurred_on)
        node.settle()
    _emit(run, recorded, types.COMPONENT_REPLACED)
    return 0


def convert(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        recorded = components.convert(node.registry, by=a.by, weapon_id=run.weapon_id(node), conversion=a.kind,
                                      calibre=a.calibre, type=a.type, licence=a.licence, description=a.description,
                                      occurred_on=occurred_on)
        node.settle()
    _emit(run, recorded, types.CONVERTED)
    return 0


def destroy_component(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        cid = component_reading.component_named(node, a.component, a.kind)
        components.destroy_component(node.registry, by=a.by, component=cid, method=a.method, occurred_on=occurred_on)
        node.settle()
    run.emit({"component_id": str(cid), "event": types.COMPONENT_DESTROYED}, str(cid))
    return 0


def show(run: Invocation) -> int:
    a = run.args
    with run.open_node(unlock=False) as node:
        cid = component_reading.component_named(node, a.component, a.kind)
        document = component_reading.component_life(node, cid)
        record_read(run, node, "component", str(cid))
    run.emit(document, show_text(document))
    if document["problems"]:
        run.warn(f"component show: verification failed: our record {document['problems'][0]}; the status shown is "
                 "replayed from the records before it; run 'armsledger verify'")
        return 1
    return 0


def show_text(document: dict[str, Any]) -> str:
    """A component's life, readable: what it is, where it is now, the weapons it was in."""
    m = document["marking"]
    where = f" in weapon {document['weapon_id']}" if document["weapon_id"] else ""
    if document["weapon_status"] in ("destroyed", "deactivated"):
        where += f", which was {document['weapon_status']}"
    lines = [f"component {document['component_id']}",
             f"is        {document['kind']} {query.marking_text(m)}",
             f"status    {document['status']}{where}"]
    if document["flags"]:
        lines.append(f"flags     {', '.join(document['flags'])}")
    for problem in document["problems"]:
        lines.append(f"!! NOT VERIFIED: {problem}")
    lines.append("")
    for stint in document["weapons"]:
        until = stint["until"][:10] if stint["until"] else "now"
        lines.append(f"{stint['since'][:10]} to {until:<10}  in weapon {stint['weapon_id']} ({stint['how']}"
                     + (f"; removed: {stint['removed']}" if stint.get("removed") else "") + ")")
    if not document["weapons"]:
        lines.append("in no weapon on record")
    return "\n".join(lines)


def _add_component_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("component", metavar="MARKING|ID",
                        help="MANUFACTURER/CC/SERIAL, the component's id, or the start of its id")
    parser.add_argument("--kind", default="", help="the kind, when the marking is on several parts")


def _emit(run: Invocation, recorded: components.PartsRecorded, event: str) -> None:
    for flag in recorded.flags:
        run.warn(f"flagged: {flag}")
    run.emit({"weapon_id": str(recorded.weapon_id), "event": event, "component_ids": list(recorded.component_ids),
              "flags": list(recorded.flags)}, str(recorded.weapon_id))
