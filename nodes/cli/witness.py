"""``armsledger witness status``: which of our checkpoints each partner has cosigned, and when.

Partners cosign, as witnesses, the checkpoints we send them (``nodes.federation.witness``);
``verify`` holds the log to the newest of them, and ``verify --witnesses`` asks the partners.
"""

from __future__ import annotations

from domain.time import format_time
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option


def add_commands(subparsers: Commands) -> None:
    witness = subparsers.add_parser("witness", help="partners as witnesses of this node's log")
    actions = witness.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "status", witness_status,
                         "per partner, the newest checkpoint of ours it cosigned and when")
    add_json_option(parser)


def witness_status(run: Invocation) -> int:
    from nodes.federation.witness import witness_status as status

    with run.open_node(unlock=False) as node:
        rows = status(node)
        latest = node.sealer.latest_checkpoint()
    sealed = latest.size if latest else 0
    lines = [f"{'partner':<8} {'cosigned size':>13}  cosigned at"]
    for row in rows:
        if row["size"] is None:
            lines.append(f"{row['witness']:<8} {'-':>13}  never")
        else:
            behind = sealed - row["size"]
            lag = f" ({behind} behind our newest, {sealed})" if behind > 0 else ""
            lines.append(f"{row['witness']:<8} {row['size']:>13}  {format_time(row['cosigned_at'] // 1_000_000)}{lag}")
    human = "\n".join(lines) if rows else "no trusted partner: nobody witnesses this log (armsledger trust add)"
    run.emit({"sealed_size": sealed, "witnesses": rows}, human)
    return 0
