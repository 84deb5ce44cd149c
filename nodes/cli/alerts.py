"""``armsledger alerts``: the hit notices partners sent this node (``nodes.alerts.hits``).

A partner that seized or imported a weapon this state reported lost or stolen sends a signed
hit notice; after a sync it is listed here, newest first, with the weapon, its marking, the
place, the date and the recording state. The listing is a read of weapons: it is appended to
the read audit first (action ``search``, subject ``alerts``), with ``--purpose``.
"""

from __future__ import annotations

from typing import Any

from nodes.alerts.hits import DEFAULT_ALERTS, MAX_ALERTS, alerts
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option, number_option

#: The read audit's subject of a listing of alerts.
AUDIT_SUBJECT = "alerts"


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "alerts", list_alerts,
                         "hit notices received: weapons we reported lost or stolen, seized or imported elsewhere",
                         "List the hit notices partners sent: a weapon this state reported lost or stolen was "
                         "seized or imported in their state. Newest first.")
    parser.add_argument("--limit", type=number_option(1, MAX_ALERTS), default=DEFAULT_ALERTS, metavar="N",
                        help=f"at most N alerts (default {DEFAULT_ALERTS}, at most {MAX_ALERTS})")
    add_purpose_option(parser)
    add_json_option(parser)


def list_alerts(run: Invocation) -> int:
    with run.open_node(unlock=False) as node:
        record_read(run, node, "search", AUDIT_SUBJECT)
        found = alerts(node, limit=run.args.limit)
    run.emit({"alerts": found}, "\n".join(_line(alert) for alert in found) if found else "no alerts")
    return 0


def _line(alert: dict[str, Any]) -> str:
    marking = alert["marking"]
    named = " ".join(str(marking.get(k, "")) for k in ("manufacturer", "country", "serial")).strip()
    place = f" in {alert['place']}" if alert["place"] else ""
    report = alert["our_report"]
    reported = f" (our report of {report['date']})" if report else ""
    return (f"{alert['date']}  {alert['recording_state']}  {alert['recorded']}{place} of weapon "
            f"{alert['weapon_id'][:8]} {named}, reported {alert['reported']}{reported}")
