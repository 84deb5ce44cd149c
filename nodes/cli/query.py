"""The reading commands: ``history``, ``search``.

None of them signs, so none needs ARMSLEDGER_PASSPHRASE. ``history`` and ``search`` are
recorded in the read audit first (``nodes.cli.audit``), with ``--purpose``. ``history`` reads the
weapon's signed envelopes from the log; the others read the projections after
bringing them up to date. The ``history --json`` document is part of the CLI
contract (docs/cli.md).
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidField
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_marking_options,
    parse_weapon_id,
)
from nodes.registry.reading import search_weapons, weapon_timeline
from projections.serial_search import serial_like

# Body fields that the timeline does not repeat on every line: the marking and
# description are printed once in the header.
_DESCRIPTION = ("marking", "type", "make", "model", "calibre", "year")


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "history", history,
                         "a weapon's signed timeline, by id or by marking",
                         "Replay a weapon's life from its signed records.")
    parser.add_argument("weapon", nargs="?", metavar="ID", help="weapon id (or give the marking)")
    add_marking_options(parser)
    add_purpose_option(parser)
    add_json_option(parser)

    parser = add_command(subparsers, "search", search,
                         "find weapons by serial: exact, ? for one unknown character, * for any run")
    parser.add_argument("--serial", required=True, metavar="PATTERN", help="serial or pattern such as AB?12*")
    add_purpose_option(parser)
    add_json_option(parser)


# --- history -----------------------------------------------------------------------------

def history(run: Invocation) -> int:
    a = run.args
    marking = run.marking()
    if marking is not None and a.weapon:
        raise InvalidField("give the weapon id or the marking options, not both", field="weapon")
    if marking is None and not a.weapon:
        raise InvalidField("give the weapon id or --manufacturer, --country and --serial", field="weapon")
    weapon_id = marking.weapon_id() if marking is not None else parse_weapon_id(a.weapon)
    with run.open_node(unlock=False) as node:
        record_read(run, node, "history", str(weapon_id))
        document = weapon_timeline(node, weapon_id)
    run.emit(document, None if run.wants_json else history_text(document))
    failed = [e for e in document["events"] if not e["verified"]]
    if failed:
        run.warn(f"history: verification failed: {len(failed)} of the {len(document['events'])} records of weapon "
                 f"{weapon_id} do not verify (first: version {failed[0]['version']}, {failed[0]['problem']}); "
                 "the status shown is replayed from the records before it; run 'armsledger verify'")
        return 1
    return 0


def history_text(document: dict[str, Any]) -> str:
    """A readable timeline of a ``history_document``."""
    m, d = document["marking"], document["description"]
    described = " ".join(str(v) for v in (d["type"], d["make"], d["model"]) if v)
    lines = [
        f"weapon   {document['weapon_id']}",
        f"marking  {m.get('manufacturer', '')} / {m.get('country', '')} / {m.get('serial', '')}",
        f"is       {described}, calibre {d['calibre']}" + (f", made {d['year']}" if d["year"] else ""),
        f"status   {document['status']}" + (f", held by {document['holder']}" if document["holder"] else "")
        + (f" in {document['place']}" if document["place"] else ""),
    ]
    if document["flags"]:
        lines.append(f"flags    {', '.join(document['flags'])}")
    if document["marks"]:
        lines.append(f"marks    {', '.join(document['marks'])}")
    lines.append("")
    for event in document["events"]:
        if event["type"] is None:
            lines.append(f"!! version {event['version']}: NOT VERIFIED: {event['problem']}")
            continue
        name = event["type"].split(".", 1)[-1]
        details = ", ".join(f"{k}: {_show(v)}" for k, v in event["body"].items()
                            if k not in _DESCRIPTION and v not in ("", (), [], None, {}))
        by = event["authority_kind"] or event["authority"][:12]
        lines.append(f"{event['occurred_on_iso'][:10]}  {name:<16} {by:<12} {details}".rstrip())
        if not event["verified"]:
            lines.append(f"!! version {event['version']} above: NOT VERIFIED: {event['problem']}")
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " > ".join(str(v) for v in value)
    return str(value)


# --- projections ---------------------------------------------------------------------------

def search(run: Invocation) -> int:
    """Partial-serial search over the marking index (``?`` one character, ``*`` any run)."""
    pattern = run.args.serial
    serial_like(pattern)  # a refused pattern is no read: refuse it before recording one
    with run.open_node(unlock=False) as node:
        record_read(run, node, "search", pattern)
        matches = search_weapons(node, pattern)
    lines = [f"{m['weapon_id']}  {_marking_text(m['marking'])}  {m['status']}" for m in matches]
    run.emit({"pattern": pattern, "matches": matches}, "\n".join(lines) or f"no weapon matches {pattern!r}")
    return 0


    return 0


# --- rendering of projection rows ----------------------------------------------------------

def _marking_text(marking: dict) -> str:
    return f"{marking.get('manufacturer', '')} / {marking.get('country', '')} / {marking.get('serial', '')}"
