"""``armsledger record deactivate|reactivate`` and ``armsledger certificate export|verify|print``.

A deactivation states its certificate (standard, inspecting body, date of inspection) and may write the
certificate file at once (``--certificate-out``); ``certificate export`` writes it later, ``verify`` checks
a file offline (no database, no network; exit 0 valid, 1 not) and ``print`` renders a verified file as
HTML. ``reactivate`` needs a reactivation licence. The calls are ``nodes.registry.certificates``'.
"""

from __future__ import annotations

import json

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.event_types import DEACTIVATED, REACTIVATED
from domain.time import parse_time
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_marking_options,
    add_record_options,
    add_weapon_options,
    named_weapon,
    output_path,
    read_input,
)
from nodes.registry import certificates
from nodes.registry.certificate_file import MAX_FILE_BYTES, claimed_state, verify_certificate

EXIT_OK, EXIT_INVALID = 0, 1


# --- record deactivate | reactivate ---------------------------------------------------------------

def add_record_commands(events: Commands) -> None:
    """``record deactivate`` and ``record reactivate`` (called by ``nodes.cli.record``)."""
    parser = add_command(events, "deactivate", deactivate,
                         "record a deactivation with its certificate (FP art 9, EU 2018/337)")
    add_weapon_options(parser)
    parser.add_argument("--certificate", required=True, help="deactivation certificate number")
    parser.add_argument("--standard", required=True, help='technical standard applied, e.g. "EU 2018/337"')
    parser.add_argument("--inspecting-body", required=True, help="the body that inspected the deactivation")
    parser.add_argument("--inspected-on", required=True, metavar="DATE", help="date of inspection (YYYY-MM-DD)")
    parser.add_argument("--method", default="", help="deactivation method")
    parser.add_argument("--certificate-out", metavar="FILE", help="write the signed certificate file there too")
    add_record_options(parser, AuthorityKind.DEACTIVATION)

    parser = add_command(events, "reactivate", reactivate,
                         "record the lawful reactivation of a deactivated weapon under a reactivation licence")
    add_weapon_options(parser)
    parser.add_argument("--licence", required=True, help="reactivation licence number (issued by this state)")
    parser.add_argument("--reason", required=True, help="why it is reactivated")
    add_record_options(parser, AuthorityKind.LICENSING)


def deactivate(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    inspected_on = parse_time(a.inspected_on, field="inspected_on")
    out = output_path(a.certificate_out, "certificate_out") if a.certificate_out else None
    with run.open_node(unlock=True) as node:
        weapon_id = run.weapon_id(node)
        node.registry.record("deactivate", by=a.by, weapon_id=weapon_id, occurred_on=occurred_on,
                             certificate=a.certificate, method=a.method, standard=a.standard,
                             inspecting_body=a.inspecting_body, inspected_on=inspected_on)
        node.settle()
        if out is not None:
            out.write_bytes(certificates.export_certificate(node, weapon_id))
    run.emit({"weapon_id": str(weapon_id), "event": DEACTIVATED, "certificate_file": str(out) if out else None},
             str(weapon_id))
    return EXIT_OK


def reactivate(run: Invocation) -> int:
    a = run.args
    occurred_on = run.occurred_on()
    with run.open_node(unlock=True) as node:
        weapon_id = run.weapon_id(node)
        certificates.reactivate(node.registry, by=a.by, weapon_id=weapon_id, licence=a.licence, reason=a.reason,
                                occurred_on=occurred_on)
        node.settle()
    run.emit({"weapon_id": str(weapon_id), "event": REACTIVATED}, str(weapon_id))
    return EXIT_OK


# --- certificate export | verify | print ------------------------------------------------------------

def add_commands(subparsers: Commands) -> None:
    group = subparsers.add_parser("certificate", help="deactivation certificates: export, verify offline, print")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "export", export, "write the signed certificate file of a deactivated weapon")
    parser.add_argument("weapon", nargs="?", metavar="WEAPON", help="weapon id or its start (or give the marking)")
    add_marking_options(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write it there (default: stdout)")
    add_purpose_option(parser)
    add_json_option(parser)

    parser = add_command(actions, "verify", verify,
                         "check a certificate file offline: signatures, node key, content; exit 0 valid, 1 not")
    parser.add_argument("file", metavar="FILE", help="the certificate file")
    parser.add_argument("--node-key", metavar="KEYFILE",
                        help="the issuing state's identity (its 'armsledger key export'); default: the key this "
                             "node (--home) trusts for that state")
    add_json_option(parser)

    parser = add_command(actions, "print", print_certificate, "render a certificate file as printable HTML")
    parser.add_argument("file", metavar="FILE", help="the certificate file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.html", help="the HTML file to write")
    add_json_option(parser)


def export(run: Invocation) -> int:
    out = output_path(run.args.output, "output") if run.args.output else None
    with run.open_node(unlock=False) as node:
        weapon_id = named_weapon(run, node)
        record_read(run, node, "history", str(weapon_id))
        document = certificates.export_certificate(node, weapon_id)
    if out is None:
        run.out.write(document.decode())
        return EXIT_OK
    out.write_bytes(document)
    run.emit({"weapon_id": str(weapon_id), "file": str(out)}, f"certificate of weapon {weapon_id} written to {out}")
    return EXIT_OK


def verify(run: Invocation) -> int:
    data = _read(run.args.file, "file")
    if run.args.node_key:
        trusted = _key_file(run.args.node_key, claimed_state(data))
        report = verify_certificate(data, trusted_key=trusted, trusted_from=f"--node-key {run.args.node_key}")
    else:
        report = certificates.verify_trusted_here(data, run.settings.home)
    lines = [f"{'ok  ' if c.passed else 'FAIL'}  {c.name}: {c.detail}" for c in report.checks]
    fields = report.fields
    verdict = (f"VALID: deactivation certificate {fields.get('number')} of weapon {fields.get('weapon_id')}, "
               f"issued by {fields.get('authority')} ({fields.get('state')}) on {fields.get('deactivated_on')}"
               if report.valid else "NOT VALID: do not rely on this certificate")
    run.emit(report.to_dict(), "\n".join([*lines, verdict]))
    return EXIT_OK if report.valid else EXIT_INVALID


def print_certificate(run: Invocation) -> int:
    data = _read(run.args.file, "file")
    out = output_path(run.args.output, "output")
    report = verify_certificate(data, trusted_key=None)
    out.write_text(certificates.render_certificate(report), encoding="utf-8")
    run.emit({"file": str(out), "certificate": report.fields.get("number")},
             f"certificate {report.fields.get('number')} printed to {out}")
    return EXIT_OK


# --- shared pieces ---------------------------------------------------------------------------------

def _read(path_text: str, field: str) -> bytes:
    return read_input(path_text, field, limit=MAX_FILE_BYTES, what="a certificate")


def _key_file(path_text: str, state: str) -> bytes | None:
    from nodes.federation.trust import parse_identity

    text = _read(path_text, "node_key").decode("utf-8", errors="replace")
    try:
        return parse_identity(text, expected_state=state or "XX").node_public_key
    except InvalidField as e:
        if e.field == "state":  # a key of another state: the verification says so, naming both
            return _other_state_key(text)
        raise InvalidField(f"{path_text}: {e.args[0]}", field="node_key") from None


def _other_state_key(text: str) -> bytes | None:
    try:
        return bytes.fromhex(str(json.loads(text).get("node_public_key", "")))
    except (ValueError, AttributeError):
        return None
