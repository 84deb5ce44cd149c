"""``armsledger key export`` and ``armsledger trust add|list|remove``: which partner node keys this node trusts.

A partner's records are accepted only when signed by an authority that its
trusted node key certified; identities are exchanged as the files
``key export`` prints (``nodes.federation.trust``). Each change of the trust
store is recorded in the node's log first (``nodes.federation.trust_record``),
so ``add`` and ``remove`` need ARMSLEDGER_PASSPHRASE.
"""

from __future__ import annotations

from pathlib import Path

from domain.errors import InvalidField
from ledger.keys import fingerprint
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option


def add_commands(subparsers: Commands) -> None:
    key = subparsers.add_parser("key", help="this node's public identity")
    actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_command(actions, "export", key_export, "print this node's public identity (give it to partners)")

    trust = subparsers.add_parser("trust", help="partners whose node keys this node trusts")
    actions = trust.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "add", trust_add, "trust a partner state's node key from its identity file")
    parser.add_argument("--state", required=True, metavar="CC", help="the partner's state (ISO 3166-1 alpha-2)")
    parser.add_argument("file", metavar="FILE", help="the partner's identity (armsledger key export)")
    add_json_option(parser)
    parser = add_command(actions, "list", trust_list,
                         "list the trusted partners with their node keys' fingerprints (SHA-256)")
    add_json_option(parser)
    parser = add_command(actions, "remove", trust_remove, "stop trusting a partner state's node key (recorded)")
    parser.add_argument("--state", required=True, metavar="CC", help="the partner's state (ISO 3166-1 alpha-2)")
    parser.add_argument("--reason", required=True, help="why (recorded, signed, in the node's log)")
    add_json_option(parser)


def key_export(run: Invocation) -> int:
    from nodes.federation.trust import export_identity
    from nodes.registry.identity import load_identity

    run.out.write(export_identity(load_identity(run.settings.home, None)))
    return 0


def trust_add(run: Invocation) -> int:
    from nodes.federation.trust import parse_identity
    from nodes.federation.trust_record import record_trust

    path = Path(run.args.file)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidField(f"cannot read {path}: {getattr(e, 'strerror', None) or e}", field="file") from None
    partner = parse_identity(text, expected_state=run.args.state)
    with run.open_node(unlock=True) as node:
        recorded = record_trust(node, partner)
        node.settle()
        own = node.identity.state
    run.emit({"state": partner.state, "node_key_id": partner.node_key_id,
              "fingerprint": fingerprint(partner.node_public_key), "recorded": recorded},
             f"{own} now trusts {partner.state} (node key {partner.node_key_id}, fingerprint "
             f"{fingerprint(partner.node_public_key)})" + ("" if recorded else "; the log recorded it already"))
    return 0


def trust_list(run: Invocation) -> int:
    from nodes.federation.trust import TrustStore
    from nodes.federation.trust_record import recorded_trust

    with run.open_node(unlock=False) as node:
        recorded = recorded_trust(node.registry, node.identity)
    partners, damaged = TrustStore(run.settings.home).readable()
    rows = [{"state": p.state, "node_key_id": p.node_key_id, "fingerprint": fingerprint(p.node_public_key),
             "recorded": recorded.get(p.state) == p.node_public_key} for p in partners.values()]
    lines = [f"{r['state']}  {r['node_key_id']}  {r['fingerprint']}"
             + ("" if r["recorded"] else "  NOT RECORDED (armsledger verify)") for r in rows]
    lines += [f"{state}  DAMAGED FILE: {why}" for state, why in damaged.items()]
    run.emit(rows, "\n".join(lines) or "no trusted partners")
    return 1 if damaged else 0


def trust_remove(run: Invocation) -> int:
    from nodes.federation.trust_record import remove_trust

    with run.open_node(unlock=True) as node:
        removed = remove_trust(node, run.args.state, reason=run.args.reason)
        node.settle()
        own = node.identity.state
    run.emit({"state": removed.state, "node_key_id": removed.node_key_id,
              "fingerprint": fingerprint(removed.node_public_key) if removed.node_public_key else None,
              "removed": True},
             f"{own} no longer trusts {removed.state}"
             + (f" (node key {removed.node_key_id})" if removed.node_key_id else ""))
    return 0
