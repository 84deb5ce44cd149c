"""``armsledger epcis export|import``: GS1 EPCIS 2.0 documents of our records, and records from them.

``export`` reads (each weapon and shipment exported is recorded in the read audit, with
``--purpose``) and needs no passphrase; ``import`` signs, all or nothing (``nodes.epcis.exchange``).
``--validate SCHEMA`` checks the document against GS1's JSON schema file (docs/epcis.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.time import parse_time
from nodes.cli.audit import OPERATOR, add_purpose_option
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, add_marking_options
from nodes.epcis import validation
from nodes.epcis.exchange import export_selection, import_command, import_document, parse_document
from nodes.epcis.export import own_shipment_id
from nodes.epcis.recording import lawful_authority
from nodes.plurals import counted
from nodes.readaudit.log import ReadAudit
from nodes.registry.weapon_ids import weapon_by_prefix

_MAX_FILE_BYTES = 64 * 1024 * 1024


def add_commands(subparsers: Commands) -> None:
    epcis = subparsers.add_parser("epcis", help="GS1 EPCIS 2.0 documents: export our records, import a "
                                                "manufacturer's or customs' events")
    actions = epcis.add_subparsers(dest="action", required=True, metavar="ACTION")

    parser = add_command(actions, "export", export,
                         "write an EPCIS 2.0 EPCISDocument of a weapon's, a shipment's or every record since a date")
    parser.add_argument("weapon", nargs="?", metavar="ID", help="weapon id or its start (or give the marking)")
    add_marking_options(parser, title="marking (instead of the ID)")
    parser.add_argument("--shipment", metavar="ID", help="a shipment sent from here (its id or the start of it)")
    parser.add_argument("--since", metavar="DATE", help="every record of ours from this business date on")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the document here (default: stdout)")
    _add_validate_option(parser)
    add_purpose_option(parser)

    parser = add_command(actions, "import", import_,
                         "record the events of an EPCIS 2.0 document as signed records (all or nothing)")
    parser.add_argument("file", metavar="FILE", help="the EPCISDocument (JSON-LD)")
    parser.add_argument("--by", choices=[k.value for k in AuthorityKind],
                        help="authority recording every event (default: the one the law assigns to each)")
    _add_validate_option(parser)
    add_json_option(parser)


def _add_validate_option(parser: Any) -> None:
    parser.add_argument("--validate", metavar="SCHEMA",
                        help="check the document against this EPCIS 2.0 JSON schema file "
                             "(GS1's EPCIS-JSON-Schema.json)")


def export(run: Invocation) -> int:
    a = run.args
    marking = run.marking()
    if marking is not None and a.weapon:
        raise InvalidField("give the weapon id or the marking options, not both", field="weapon")
    since = parse_time(a.since, field="since") if a.since is not None else None
    checker = validation.load_schema(a.validate) if a.validate else None
    with run.open_node(unlock=False) as node:
        weapon = marking.weapon_id() if marking is not None else weapon_by_prefix(node, a.weapon) if a.weapon else None
        shipment = own_shipment_id(node.registry, a.shipment) if a.shipment is not None else None
        exported = export_selection(node.registry, weapon=weapon, shipment=shipment, since=since)
        if checker is not None:
            validation.check(checker, exported.document)
        with ReadAudit.open(node.settings.db, node.identity) as log:
            for subject in exported.weapons:
                log.append(OPERATOR, "history", subject, a.purpose or "EPCIS export")
            for subject in exported.shipments:
                log.append(OPERATOR, "shipment", subject, a.purpose or "EPCIS export")
    text = json.dumps(exported.document, ensure_ascii=False, indent=2) + "\n"
    if a.output:
        try:
            Path(a.output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise InvalidField(f"cannot write {a.output!r}: {e.strerror}", field="output") from None
        count = len(exported.document["epcisBody"]["eventList"])
        run.warn(f"{counted(count, 'event')} written to {a.output}")
    else:
        run.out.write(text)
    return 0


def import_(run: Invocation) -> int:
    a = run.args
    path = Path(a.file)
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise InvalidField(f"is larger than {_MAX_FILE_BYTES // 2**20} MB", field="file")
        data = path.read_bytes()
    except OSError as e:
        raise InvalidField(f"cannot read {a.file!r}: {e.strerror}", field="file") from None
    document = parse_document(data)
    if a.validate:
        validation.check(validation.load_schema(a.validate), document, field="file")
    by = (lambda _type: a.by) if a.by else lawful_authority
    with run.open_node(unlock=True) as node:
        done = import_document(node, import_command(document, node, by))
    lines = [f"{d['event']} of {', '.join(d['weapon_ids'])}" + (f" (shipment {d['shipment_id']})"
             if d.get("shipment_id") else "") for d in done]
    run.emit({"recorded": done}, "\n".join([f"{counted(len(done), 'event')} recorded:", *lines]))
    return 0
