"""``armsledger proof inclusion|consistency`` and ``armsledger evidence export|verify``.

``proof`` prints RFC 9162 proofs with the signed checkpoints they lead to, as JSON (docs/evidence.md).
``evidence export`` writes a weapon's evidence bundle (a read: recorded in the read audit like
``history``); ``evidence verify`` checks a bundle offline, with no node, database or network: exit 0
when every signed part verifies, 1 with what fails, 2 for a file that is not a bundle.
"""

from __future__ import annotations

import json
from typing import Any

from domain.errors import InvalidField
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_marking_options,
    named_weapon,
    number_option,
    output_path,
    read_input,
)

EXIT_OK, EXIT_INVALID = 0, 1
_MAX_SIZE = 2**62


def add_commands(subparsers: Commands) -> None:
    group = subparsers.add_parser("proof", help="RFC 9162 inclusion and consistency proofs of this node's log, as JSON")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "inclusion", proof_inclusion,
                         "the inclusion proof of each record of a weapon (or of one record) in a signed checkpoint")
    parser.add_argument("weapon", nargs="?", metavar="WEAPON-ID", help="weapon id or its start (or give the marking)")
    add_marking_options(parser, title="marking (instead of the id)")
    parser.add_argument("--record", metavar="HASH", help="only the record of this node's log with this envelope "
                                                         "hash (hex)")
    add_purpose_option(parser)
    parser = add_command(actions, "consistency", proof_consistency,
                         "the consistency proof between two of this node's signed checkpoints")
    parser.add_argument("--from", dest="from", required=True, type=number_option(1, _MAX_SIZE), metavar="SIZE",
                        help="size of the older checkpoint")
    parser.add_argument("--to", dest="to", type=number_option(1, _MAX_SIZE), metavar="SIZE",
                        help="size of the newer checkpoint (default: the latest)")

    group = subparsers.add_parser("evidence", help="a weapon's evidence bundle for a court: export, verify offline")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "export", evidence_export,
                         "write every record held of a weapon with its proofs, keys, verdict and report to one file")
    parser.add_argument("weapon", nargs="?", metavar="ID", help="weapon id or its start (or give the marking)")
    add_marking_options(parser, title="marking (instead of the ID)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the bundle file to write (JSON)")
    parser.add_argument("--html", metavar="FILE", help="also write the readable report there")
    add_purpose_option(parser)
    add_json_option(parser)
    parser = add_command(actions, "verify", evidence_verify,
                         "check a bundle offline: hashes, signatures, certificates, proofs, checkpoints; "
                         "exit 0 valid, 1 not")
    parser.add_argument("file", metavar="FILE", help="the evidence bundle")
    parser.add_argument("--trust", action="append", default=[], metavar="KEYFILE",
                        help="a state's identity ('armsledger key export') to check its records against; repeat "
                             "for each state (without it, only the keys the bundle claims)")
    add_json_option(parser)


# --- proof ---------------------------------------------------------------------------------------

def proof_inclusion(run: Invocation) -> int:
    from nodes.evidence.bundle import held_records
    from nodes.evidence.proofs import (
        Prover,
        checkpoint_document,
        node_keys_by_state,
        own_record_with_hash,
        signer_key,
    )

    a = run.args
    if a.record and (a.weapon or run.marking() is not None):
        raise InvalidField("give a weapon or --record HASH, not both", field="record")
    with run.open_node(unlock=False) as node:
        prover = Prover(node)
        if a.record:
            envelope_hash = _hex32(a.record, "record")
            documents = [prover.own(own_record_with_hash(node, envelope_hash))]
        else:
            weapon_id = named_weapon(run, node)
            record_read(run, node, "history", str(weapon_id))
            own, received = held_records(node, weapon_id)
            documents = [prover.of(e) for e in [*own, *received]]
        keys = node_keys_by_state(node)
        for document in documents:
            if document["proof"] is not None:
                checkpoint = prover.checkpoints[(document["origin"], document["proof"]["checkpoint"])]
                document["proof"]["checkpoint"] = checkpoint_document(checkpoint, signer_key(checkpoint, keys))
    run.out.write(json.dumps({"records": documents}, indent=2) + "\n")
    return EXIT_OK


def proof_consistency(run: Invocation) -> int:
    from nodes.evidence.proofs import consistency_document

    with run.open_node(unlock=False) as node:
        document = consistency_document(node, getattr(run.args, "from"), run.args.to)
    run.out.write(json.dumps(document, indent=2) + "\n")
    return EXIT_OK


# --- evidence ------------------------------------------------------------------------------------

def evidence_export(run: Invocation) -> int:
    from nodes.evidence.bundle import bundle_bytes, export_bundle

    out = output_path(run.args.output, "output")
    html = output_path(run.args.html, "html") if run.args.html else None
    with run.open_node(unlock=False) as node:
        weapon_id = named_weapon(run, node)
        record_read(run, node, "history", str(weapon_id))
        bundle = export_bundle(node, weapon_id)
    out.write_bytes(bundle_bytes(bundle))
    if html is not None:
        html.write_text(bundle["report_html"], encoding="utf-8")
    unproved = sum(1 for r in bundle["records"] if r["proof"] is None)
    run.emit({"weapon_id": str(weapon_id), "file": str(out), "records": len(bundle["records"]),
              "unproved": unproved, "html": str(html) if html else None},
             f"evidence of weapon {weapon_id} written to {out}: {len(bundle['records'])} records"
             + (f", {unproved} without inclusion proof (see their notes)" if unproved else ""))
    return EXIT_OK


def evidence_verify(run: Invocation) -> int:
    from nodes.evidence.bundle import MAX_FILE_BYTES
    from nodes.evidence.bundle_check import verify_bundle

    data = read_input(run.args.file, "file", limit=MAX_FILE_BYTES, what="an evidence bundle")
    trusted = dict(_trusted_key(path) for path in run.args.trust)
    report = verify_bundle(data, trusted)
    lines = [f"{'ok  ' if f.passed else 'FAIL'}  {f.subject}: {f.detail}" for f in report.findings]
    lines += [f"keys of {state}: {how}" for state, how in sorted(report.keys.items())]
    if not trusted:
        lines.append("NOTE: no --trust given: the node keys are only those the bundle claims; compare their "
                     "fingerprints with those the states publish")
    lines += [f"not proved: {u}" for u in report.unproved]
    failed = [f for f in report.findings if not f.passed]
    lines.append(f"VALID: the {report.records} records of weapon {report.weapon_id} verify" if report.valid else
                 f"NOT VALID: {len(failed)} of {len(report.findings)} checks fail")
    run.emit(report.to_dict(), "\n".join(lines))
    return EXIT_OK if report.valid else EXIT_INVALID


# --- shared pieces -------------------------------------------------------------------------------

def _hex32(text: str, field: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise InvalidField(f"{text!r} is not hex", field=field) from None
    if len(value) != 32:
        raise InvalidField(f"an envelope hash is 32 bytes (64 hex digits), got {len(value)}", field=field)
    return value


def _trusted_key(path_text: str) -> tuple[str, bytes]:
    from nodes.federation.trust import parse_identity

    text = read_input(path_text, "trust", limit=1_000_000, what="an identity").decode("utf-8", errors="replace")
    try:
        claimed: Any = json.loads(text)
        state = str(claimed.get("state", "")) if isinstance(claimed, dict) else ""
        partner = parse_identity(text, expected_state=state)
    except (ValueError, InvalidField) as e:
        raise InvalidField(f"{path_text}: not an identity ('armsledger key export'): {e}", field="trust") from None
    return partner.state, partner.node_public_key
