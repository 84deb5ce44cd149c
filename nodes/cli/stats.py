"""``armsledger stats``: the statistics of a period, shaped like UNODC's Illicit Arms Flows Questionnaire.

A thin layer over ``nodes.registry.statistics``: the seizures recorded in the period by place,
weapon type, calibre, country of manufacture and of last legal import, the traced share and the
time to crime, beside the register's counts (docs/statistics.md). ``--csv`` prints the seizure
tables as rows (table, value, figure); ``--json`` the whole document. Reads no personal data
and signs nothing.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option
from nodes.registry.statistics import csv_rows, parse_period, statistics

TABLES = (("by_place", "by place of seizure"), ("by_weapon_type", "by type of firearm"),
          ("by_calibre", "by calibre"), ("by_country_of_manufacture", "by country of manufacture"),
          ("by_country_of_last_legal_import", "by country of last legal import"))


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "stats", stats,
                         "statistics of seized weapons in a period (UNODC IAFQ tables) and the register's counts")
    parser.add_argument("--from", dest="from", metavar="DATE", default=None,
                        help="first day of the period (YYYY-MM-DD; default: the first record)")
    parser.add_argument("--to", dest="to", metavar="DATE", default=None,
                        help="last day of the period, included (YYYY-MM-DD; default: the last record)")
    parser.add_argument("--csv", action="store_true", help="the seizure tables as CSV rows: table, value, figure")
    add_json_option(parser)


def stats(run: Invocation) -> int:
    period = parse_period(getattr(run.args, "from"), run.args.to)   # refused before the node is opened
    with run.open_node(unlock=False) as node:
        document = statistics(node, period=period)
    if run.args.csv and not run.wants_json:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(csv_rows(document))
        run.out.write(out.getvalue())
        return 0
    run.emit(document, stats_text(document))
    return 0


def stats_text(document: dict[str, Any]) -> str:
    """The seizure tables as an officer reads them."""
    period, tables = document["period"], document["seizures"]
    since = period["from_utc"][:10] if period["from_utc"] else "the first record"
    until = period["to_utc"][:10] if period["to_utc"] else "the last"
    lines = [f"weapons seized from {since} to {until}: {tables['seized']}"]
    for name, title in TABLES:
        lines.append(f"\n{title}")
        lines += [f"  {key:<32} {count}" for key, count in tables[name].items()] or ["  -"]
    tracing, ttc = tables["tracing"], tables["time_to_crime"]
    share = f" ({tracing['traced_percent']}% traced)" if tracing["traced_percent"] is not None else ""
    lines.append(f"\ntraced {tracing['traced']}, untraced {tracing['untraced']}{share}")
    median = ttc["median_days"]
    lines.append("\ntime to crime (last legal custody to seizure): median "
                 + (f"{median} days" if median is not None else "not known")
                 + f", known for {ttc['known']}, unknown for {ttc['unknown']}")
    lines += [f"  {label:<32} {count}" for label, count in ttc["bands"].items()]
    lines.append("\nregister (every record held, whatever the period)")
    for name, value in document.items():
        if name in ("period", "seizures"):
            continue
        if isinstance(value, dict):
            lines.append(f"  {name}:")
            lines += [f"    {key:<30} {count}" for key, count in _flat(value)]
        else:
            lines.append(f"  {name}: {value}")
    return "\n".join(lines)


def _flat(counts: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(key, count) pairs of nested counts, inner keys joined with "/" (``pistol/2024-05``)."""
    pairs: list[tuple[str, Any]] = []
    for key, value in counts.items():
        if isinstance(value, dict):
            pairs += _flat(value, f"{prefix}{key}/")
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs
