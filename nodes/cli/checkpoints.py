"""``armsledger checkpoint show``: this node's newest (or a given) checkpoint, optionally as a C2SP signed note.

With ``--note`` the output is the checkpoint note followed by the witness cosignatures this node
holds, one signature line each, for any C2SP verifier (docs/checkpoints.md).
"""

from __future__ import annotations

from typing import Any

from domain.time import format_time
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option
from nodes.federation.checkpoint_notes import WitnessedCheckpoint, witnessed_checkpoint

_US = 1_000_000


def add_commands(subparsers: Commands) -> None:
    checkpoint = subparsers.add_parser("checkpoint", help="this node's signed checkpoints")
    actions = checkpoint.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "show", show, "show this node's newest (or a given) checkpoint and its cosignatures")
    parser.add_argument("--size", type=number_option(1, 2**63 - 1), metavar="N",
                        help="the checkpoint of the log at size N (default: the newest)")
    parser.add_argument("--note", action="store_true",
                        help="print it as a C2SP signed note with the witnesses' cosignature lines")
    add_json_option(parser)


def show(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        witnessed = witnessed_checkpoint(node, run.args.size)
        note = witnessed.note(node) if run.args.note else None
    for problem in (*witnessed.problems, *witnessed.unchecked):
        run.warn(f"armsledger checkpoint show: {problem}")
    if note is not None and not run.wants_json:
        run.out.write(note)
    else:
        data = _as_dict(witnessed)
        if note is not None:
            data["note"] = note
        run.emit(data, _as_text(witnessed))
    return 1 if witnessed.problems else 0


def _as_dict(witnessed: WitnessedCheckpoint) -> dict[str, Any]:
    c = witnessed.checkpoint
    return {
        "origin": c.origin, "size": c.size, "root": c.root.hex(), "timestamp": c.timestamp, "signer": c.signer,
        "format": c.format,
        "cosignatures": [{"witness": w.witness, "time": w.time, "form": "cosignature/v1" if w.line else "older"}
                         for w in witnessed.cosigned],
        "problems": list(witnessed.problems), "unchecked": list(witnessed.unchecked),
    }


def _as_text(witnessed: WitnessedCheckpoint) -> str:
    c = witnessed.checkpoint
    lines = [
        f"checkpoint of {c.origin} at size {c.size} ({c.format})",
        f"root       {c.root.hex()}",
        f"signed     {format_time(c.timestamp // _US)} by node key {c.signer}",
    ]
    for w in witnessed.cosigned:
        when = format_time(w.time) if w.time is not None else "(older form, undated)"
        lines.append(f"cosigned   by {w.witness} at {when}")
    if not witnessed.cosigned:
        lines.append("cosigned   by no witness yet")
    return "\n".join(lines)
