"""``armsledger key export`` and ``armsledger trust add|list``: which partner node keys this node trusts.

A partner's records are accepted only when signed by an authority that its
trusted node key certified; identities are exchanged as the files
``key export`` prints (``nodes.federation.trust``).
"""

from __future__ import annotations

from pathlib import Path

from domain.errors import InvalidField
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option


def add_commands(subparsers: Commands) -> None:
    key = subparsers.add_parser("key", help="this node's public identity")
    actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "export", key_export, "print this node's public identity (give it to partners)")
    parser.add_argument("--note", action="store_true", help="print the node key as a C2SP note verifier key "
                                                            "(vkey) of this node's checkpoints")
    parser.add_argument("--witness", action="store_true", help="with --note: the verifier key of this node's "
                                                               "witness cosignatures (cosignature/v1) instead")

    trust = subparsers.add_parser("trust", help="partners whose node keys this node trusts")
    actions = trust.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "add", trust_add, "trust a partner state's node key from its identity file")
    parser.add_argument("--state", required=True, metavar="CC", help="the partner's state (ISO 3166-1 alpha-2)")
    parser.add_argument("file", metavar="FILE", help="the partner's identity (armsledger key export)")
    add_json_option(parser)
    parser = add_command(actions, "list", trust_list, "list the trusted partners")
    add_json_option(parser)


def key_export(run: Invocation) -> int:
    from ledger.checkpoint import checkpoint_verifier
    from ledger.cosignature import witness_verifier
    from ledger.keys import public_key_from_bytes
    from nodes.federation.trust import export_identity
    from nodes.registry.identity import load_identity

    identity = load_identity(run.settings.home, None)
    if run.args.witness and not run.args.note:
        raise InvalidField("--witness goes with --note (it chooses which note verifier key is printed)",
                           field="witness")
    if not run.args.note:
        run.out.write(export_identity(identity))
        return 0
    public_key = public_key_from_bytes(identity.node_public_key)
    key = witness_verifier if run.args.witness else checkpoint_verifier
    run.out.write(key(identity.state, public_key).vkey() + "\n")
    return 0


def trust_add(run: Invocation) -> int:
    from nodes.federation.trust import TrustStore, parse_identity
    from nodes.registry.identity import load_identity

    identity = load_identity(run.settings.home, None)
    path = Path(run.args.file)
    try:
        text = path.read_text()
    except OSError as e:
        raise InvalidField(f"cannot read {path}: {e.strerror or e}", field="file") from None
    partner = parse_identity(text, expected_state=run.args.state)
    TrustStore(run.settings.home).add(partner, own_state=identity.state)
    run.emit({"state": partner.state, "node_key_id": partner.node_key_id},
             f"{identity.state} now trusts {partner.state} (node key {partner.node_key_id})")
    return 0


def trust_list(run: Invocation) -> int:
    from nodes.federation.trust import TrustStore

    partners = TrustStore(run.settings.home).partners()
    rows = [{"state": p.state, "node_key_id": p.node_key_id} for p in partners.values()]
    run.emit(rows, "\n".join(f"{r['state']}  {r['node_key_id']}" for r in rows) or "no trusted partners")
    return 0
