"""``armsledger key export|rotate|revoke|reseal`` and ``armsledger trust add|list|remove``: this node's keys and the
partner node keys it trusts.

A partner's records are accepted only when signed by an authority that its
trusted node key certified; identities are exchanged as the files
``key export`` prints (``nodes.federation.trust``). Each change of the trust
store is recorded in the node's log first (``nodes.federation.trust_record``),
so ``add`` and ``remove`` need ARMSLEDGER_PASSPHRASE.
"""

from __future__ import annotations

from pathlib import Path

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from domain.time import format_time, parse_time
from ledger.keys import fingerprint
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option


def add_commands(subparsers: Commands) -> None:
    key = subparsers.add_parser("key", help="this node's public identity")
    actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "export", key_export, "print this node's public identity (give it to partners)")
    parser.add_argument("--note", action="store_true", help="print the node key as a C2SP note verifier key "
                                                            "(vkey) of this node's checkpoints")
    parser.add_argument("--witness", action="store_true", help="with --note: the verifier key of this node's "
                                                               "witness cosignatures (cosignature/v1) instead")
    parser = add_command(actions, "rotate", key_rotate,
                         "certify a new authority key and retire the old one from a time on, or (--node) hand the "
                         "node key over to a new one announced by the old (docs/keys.md)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--authority", metavar="KIND", help="the authority kind whose key to rotate")
    which.add_argument("--node", action="store_true", help="rotate the node key (partners follow: docs/keys.md)")
    parser.add_argument("--from", dest="retired_from", metavar="TIME",
                        help="the old key signs nothing recorded from then on (default: now; not in the past)")
    add_json_option(parser)
    parser = add_command(actions, "revoke", key_revoke,
                         "revoke a leaked authority key since a time and certify a replacement (docs/keys.md)")
    parser.add_argument("--authority", required=True, metavar="KIND", help="the authority kind whose key leaked")
    parser.add_argument("--since", required=True, metavar="TIME",
                        help="the earliest time it may have leaked: records it signed from then on are flagged")
    parser.add_argument("--reason", required=True, help="why (recorded, signed, sent to partners)")
    add_json_option(parser)
    parser = add_command(actions, "reseal", key_reseal,
                         "rewrite this node's private key files sealed with scrypt at ARMSLEDGER_KEK_COST: files of "
                         "the first format (PKCS#8, 2,048 PBKDF2 rounds) or of another cost (docs/keys.md)")
    add_json_option(parser)

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


def key_rotate(run: Invocation) -> int:
    from nodes.registry.key_changes import rotate_authority

    if run.args.node:
        return _rotate_node(run)
    kind = AuthorityKind.parse(run.args.authority)
    retired_from = None if run.args.retired_from is None else parse_time(run.args.retired_from, field="retired_from")
    with run.open_node(unlock=True) as node:
        change = rotate_authority(node, kind, retired_from=retired_from)
        node.settle()
    run.emit(change.to_dict(), f"{kind.value} key {change.old_key_id} retired from {format_time(change.ended_from)}; "
                               f"new key {change.new_key_id} certified (restart a running node or service)")
    return 0


def _rotate_node(run: Invocation) -> int:
    from nodes.registry.key_changes import rotate_node

    if run.args.retired_from is not None:
        raise InvalidField("goes with --authority: the node key hands over when the change is recorded",
                           field="from")
    with run.open_node(unlock=True) as node:
        change = rotate_node(node)
    with run.open_node(unlock=True) as node:  # the new key signs from here on: the checkpoint over the change
        node.settle()
    run.emit(change.to_dict(), f"node key {change.old_key_id} handed over to {change.new_key_id} at "
                               f"{format_time(change.handed_over_at)}; old key in keys/old/ (keep it until every "
                               "partner has synced: it signs the proof they follow the change with, docs/keys.md); "
                               "partners that trust the old key follow at their next sync; restart a running node "
                               "or service")
    return 0


def key_revoke(run: Invocation) -> int:
    from nodes.registry.key_changes import revoke_authority

    kind = AuthorityKind.parse(run.args.authority)
    since = parse_time(run.args.since, field="since")
    with run.open_node(unlock=True) as node:
        change = revoke_authority(node, kind, since=since, reason=run.args.reason)
        node.settle()
    run.emit(change.to_dict(), f"{kind.value} key {change.old_key_id} REVOKED since {format_time(since)}; "
                               f"new key {change.new_key_id} certified; records the old key signed since then "
                               "are flagged (armsledger verify; sync to tell partners)")
    return 0


def key_reseal(run: Invocation) -> int:
    from nodes.errors import ConfigurationError
    from nodes.registry.identity import load_identity, reseal_key_files

    load_identity(run.settings.home, None)  # NodeNotInitialised before any file is touched
    if not run.settings.passphrase:
        raise ConfigurationError("ARMSLEDGER_PASSPHRASE is not set: it unlocks the key files to rewrite")
    cost = run.settings.kek_cost
    done = reseal_key_files(run.settings.home, run.settings.passphrase, cost=cost)
    rows = [{"file": str(path), "resealed": resealed} for path, resealed in done.items()]
    lines = [f"{'resealed' if resealed else 'already sealed'}  {path}" for path, resealed in done.items()]
    lines.append(f"{sum(done.values())} of {len(done)} key files rewritten (scrypt N = 2^{cost}); "
                 "a running node or service keeps the keys it loaded")
    run.emit(rows, "\n".join(lines))
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
             "recorded": recorded.get(p.state) == p.node_public_key,
             "previous_keys": [{"node_key_id": k.key_id, "fingerprint": fingerprint(k.public_key),
                                "last_size": k.last_size, "retired_from": k.retired_from} for k in p.previous_keys]}
            for p in partners.values()]
    lines = [f"{p.state}  {p.node_key_id}  {fingerprint(p.node_public_key)}"
             + ("" if recorded.get(p.state) == p.node_public_key else "  NOT RECORDED (armsledger verify)")
             + "".join(f"\n    earlier key {k.key_id}  {fingerprint(k.public_key)}  kept for its log up to size "
                       f"{k.last_size}" for k in p.previous_keys) for p in partners.values()]
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
