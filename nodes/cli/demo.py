"""``armsledger demo``: five national nodes follow one pistol across borders to its point of diversion.

Starts a local Kafka-protocol broker and national nodes for BE, NL, DE, IT and FR
on the embedded default (SQLite, one temporary home each), plays the story of
``nodes.demo.story`` (manufacture, licensed export with import authorization and
transit no-objection, receipt confirmation, domestic transfers, a second export
never confirmed, a seizure, a multi-hop trace), then prints what a tracing officer
of the seizing state sees: the trace hop by hop, the weapon's federated timeline
(each record with its date, type, origin node and hash) and the diversion
verdict; finally every node's ``verify``.

Keys are encrypted with ARMSLEDGER_PASSPHRASE, or "demo" when it is unset. The
homes are deleted afterwards unless ``--keep DIR`` names a new directory to keep
them in (then ``armsledger --home DIR/fr diversion --weapon ID`` works there; the
broker is gone, so federation commands need ``armsledger broker run`` again).
With ``--serve`` the nodes keep running afterwards (``nodes.demo.serving``): each node's
web desks and API on 127.0.0.1 (free ports, or ``--port-base N`` to N+4), demo accounts
with generated passwords, and sync passes every second, until Ctrl-C or SIGTERM (exit 0).
Exit codes: 0 when the story ran and every node verified, 1 when a node failed
``verify``, otherwise those of ``nodes.cli.main``.
"""

from __future__ import annotations

import socket
import tempfile
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from domain.errors import InvalidField
from domain.time import format_time
from nodes.cli.invocation import Commands, Invocation, add_command, number_option

if TYPE_CHECKING:  # imported where used: the story starts a broker and five nodes
    from nodes.demo.story import DemoNetwork, Outcome

WIDTH = 110          # prose
TABLE_WIDTH = 130    # timeline rows: a table reads better unwrapped
NAMES = {"BE": "Belgium", "NL": "Netherlands", "DE": "Germany", "IT": "Italy", "FR": "France"}


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "demo", demo,
                         "five national nodes over a local broker trace a pistol to its point of diversion")
    parser.add_argument("--keep", metavar="DIR", help="keep the nodes' homes in DIR (a new directory)")
    parser.add_argument("--serve", action="store_true",
                        help="after the story, keep the nodes running with their web desks and federation "
                             "until Ctrl-C or SIGTERM; prints the URLs and demo accounts")
    parser.add_argument("--port-base", type=number_option(1, 65535 - len(NAMES) + 1), metavar="N",
                        help="with --serve: serve the nodes on ports N to N+4 (default: free ports)")


def demo(run: Invocation) -> int:
    from nodes.demo.story import STATES, DemoNetwork, play
    from nodes.registry.verify import verify_store

    if run.args.port_base is not None and not run.args.serve:
        raise InvalidField("--port-base goes with --serve", field="port-base")
    started = time.monotonic()
    passphrase = run.settings.passphrase or "demo"
    out = run.out
    with ExitStack() as stack:
        sockets = _listen(run, stack)
        base = _base(run, stack)
        _heading(out, "armsledger demo: five national nodes trace a pistol to its point of diversion", "=")
        out.write(f"Homes in {base} ({'kept' if run.args.keep else 'deleted afterwards'})\n"
                  "Keys encrypted with ARMSLEDGER_PASSPHRASE (\"demo\" when unset)\n")
        net = stack.enter_context(DemoNetwork(base, passphrase=passphrase, states=STATES))

        _heading(out, "Network")
        _write(out, f"broker  {net.bootstrap} (local Kafka-protocol broker, memory storage), "
                    f"topics {net.topic_prefix}.inbox.<STATE>", 2, 10)
        for state in net.states:
            node = net[state]
            out.write(f"  {state}  {NAMES.get(state, state):<12} node key {node.identity.node_key_id}  "
                      f"SQLite {Path(node.settings.db).relative_to(base)}\n")
        out.write(f"  each node trusts the other {len(net.states) - 1} node keys "
                  "(armsledger key export / trust add)\n")

        _heading(out, "The story, as each national authority records it")
        out.flush()
        def show(line: str) -> None:
            _write(out, line, 2, 18)
            out.flush()

        outcome = play(net, show)

        _print_trace(out, outcome)
        _print_timeline(out, outcome)
        _print_verdict(out, outcome)

        _heading(out, "Integrity")
        failed = []
        for state in net.states:
            node = net[state]
            report = verify_store(node, workers=1)
            quarantined = len(node.inbox.quarantined())
            if not report.ok:
                failed.append(state)
            out.write(f"  {state}  verify {'ok' if report.ok else 'FAILED'}: own records {report.events_checked}, "
                      f"signed checkpoints {report.checkpoints_checked}; messages quarantined {quarantined}\n")
            for problem in report.problems:
                out.write(f"      {problem}\n")
        traffic = net.traffic
        _write(out, f"{traffic.accepted} records crossed borders in {traffic.rounds} rounds of sync passes, each "
                    "verified on ingest (signature, certificate, permission, chain, inclusion proof); "
                    f"{traffic.reactions} steps were taken automatically", 2, 4)
        for state, shipments in outcome.open_shipments.items():
            for s in shipments:
                out.write(f"  {state}  shipment {s['shipment_id'][:8]} to {s['to_state']}, exported "
                          f"{format_time(s['exported_on'])[:10]}: never confirmed"
                          + (f", overdue since {s['due_by'][:10]}\n" if s["overdue"] else "\n"))
        if sockets:
            _serve(run, net, sockets)
    out.write(f"\ndemo finished in {time.monotonic() - started:.1f} s\n")
    if failed:
        run.warn(f"armsledger demo: verify failed on {', '.join(failed)}")
        return 1
    return 0


def _listen(run: Invocation, stack: ExitStack) -> list[socket.socket]:
    """With --serve, the nodes' ports, bound before the story so that a busy one is refused at once."""
    if not run.args.serve:
        return []
    from nodes.demo.serving import listen

    sockets = listen(len(NAMES), port_base=run.args.port_base)
    for sock in sockets:
        stack.callback(sock.close)
    return sockets


def _serve(run: Invocation, net: DemoNetwork, sockets: list[socket.socket]) -> None:
    """Keep ``net`` running with its desks until SIGINT or SIGTERM, after printing where and who."""
    from nodes.cli.federation import stop_on_signals
    from nodes.demo.serving import SYNC_EVERY_S, serve_desks
    from nodes.demo.story import PISTOL

    out = run.out
    stop = stop_on_signals()
    with serve_desks(net, sockets) as served:
        _heading(out, "Web desks and API of the five nodes (API documentation at URL/docs)")
        out.write(f"  {'state':<6} {'URL':<28} {'account':<10} {'role':<10} password\n")
        for node in served:
            for i, account in enumerate(node.accounts):
                where = f"{node.state:<6} {node.url:<28}" if i == 0 else " " * 35
                out.write(f"  {where} {account.name:<10} {account.role.value:<10} {account.password}\n")
        _write(out, "The passwords were generated for these homes and are shown only here. Try: sign in to FR as "
                    f"tracing, search serial {PISTOL.serial}, send a trace to another state; the nodes sync every "
                    f"{SYNC_EVERY_S:g} s, so it is acknowledged and answered in a few seconds.", 2, 2)
        out.write("Serving; Ctrl-C or SIGTERM stops\n")
        out.flush()
        while not stop.wait(0.5):
            pass
    out.write("stopped: the desks and the sync loop are closed\n")


def _base(run: Invocation, stack: ExitStack) -> Path:
    if not run.args.keep:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="armsledger-demo-")))
    base = Path(run.args.keep)
    if base.exists() and (not base.is_dir() or any(base.iterdir())):
        raise InvalidField(f"{base} exists and is not an empty directory", field="keep")
    base.mkdir(parents=True, exist_ok=True)
    return base


def _heading(out: TextIO, title: str, rule: str = "-") -> None:
    out.write(f"\n{title}\n{rule * len(title)}\n")


def _print_trace(out: TextIO, outcome: Outcome) -> None:
    route = " -> ".join([outcome.seizing_state, *(h.addressee for h in outcome.hops)])
    _heading(out, f"Trace {str(outcome.trace_id)[:8]}, {route} (ITI paras 17-20), as {outcome.seizing_state} sees it")
    for hop in outcome.hops:
        ack, answer = hop.acknowledgement, hop.response
        timing = (f"acknowledged {_clock(ack.done_on)}, answered {_clock(answer.done_on)}"
                  + (" (in time)" if ack.done_on and answer.done_on and not (ack.late or answer.late) else ""))
        out.write(f"  hop {hop.request.get('hop')}  {hop.requesting_state} -> {hop.addressee}  "
                  f"{hop.status.value:<12} {timing}\n")
        if hop.fragment is not None:
            rejected = len(hop.fragment.problems)
            out.write(f"         {len(hop.fragment.records)} signed items received and verified "
                      f"(signatures, checkpoint, inclusion proofs)" + (f", {rejected} REJECTED" if rejected else "")
                      + "\n")
        _write(out, hop.reason, 9, 9)


def _print_timeline(out: TextIO, outcome: Outcome) -> None:
    _heading(out, f"Federated timeline of weapon {outcome.weapon_id}, as {outcome.seizing_state} holds it")
    out.write(f"  {'date':<10}  {'record':<25} {'origin':<6} {'hash':<12}  what\n")
    for entry in outcome.timeline:
        row = f"  {format_time(entry.occurred_on)[:10]}  {entry.type:<25} {entry.node:<6} {entry.hash[:12]}  "
        _write(out, row + entry.detail, 0, len(row), width=TABLE_WIDTH)


def _print_verdict(out: TextIO, outcome: Outcome) -> None:
    verdict = outcome.verdict
    _heading(out, "Point of diversion")
    custodian = verdict.last_legal_custodian
    dates = {e.hash: e.occurred_on for e in outcome.timeline}
    also = f" (also: {', '.join(r.value for r in verdict.other_rules)})" if verdict.other_rules else ""
    out.write(f"  rule                  {verdict.rule.value}{also}\n")
    out.write("  last legal custodian  "
              + (f"{custodian.holder or 'not on record'} ({custodian.state})" if custodian else "none on record")
              + "\n")
    out.write(f"  place                 {verdict.place or '-'}\n")
    out.write(f"  date                  {format_time(verdict.occurred_on)[:10] if verdict.occurred_on else '-'}\n")
    out.write(f"  evidence complete     {'yes' if verdict.complete else 'NO'}\n")
    out.writelines(f"    missing {missing.state}: {missing.reason}\n" for missing in verdict.missing)
    out.write("  evidence\n")
    for e in verdict.evidence:
        when = format_time(dates[e.hash])[:10] if e.hash in dates else "          "
        out.write(f"    {when}  {e.type:<25} {e.node:<6} {e.hash[:12]}\n")
    out.write("\n")
    _write(out, verdict.sentence, 2, 2)


def _write(out: TextIO, text: str, indent: int, hanging: int, *, width: int = WIDTH) -> None:
    """``text`` wrapped at ``width`` columns: first line indented by ``indent``, the others by ``hanging``."""
    out.write(textwrap.fill(text, width, initial_indent=" " * indent, subsequent_indent=" " * hanging,
                            break_on_hyphens=False) + "\n")


def _clock(seconds: int | None) -> str:
    return "never" if seconds is None else format_time(seconds).replace("T", " ")
