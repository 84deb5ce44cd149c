"""The reading commands: ``history``, ``search``.

None of them signs, so none needs ARMSLEDGER_PASSPHRASE. ``history`` and ``search`` are
recorded in the read audit first (``nodes.cli.audit``), with ``--purpose``. ``history`` shows
every record held of the weapon (ours read back and checked, partners' and trace answers'
records admitted by the acceptance rule); ``search`` reads our views and the partners' records
held; the others read the projections after bringing them up to date. The ``history --json``
document is part of the CLI contract (docs/cli.md).
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidField
from domain.event_types import CORRECTED
from nodes.cli.audit import add_purpose_option, record_read
from nodes.cli.corrections import corrected_text, value_text
from nodes.cli.invocation import (
    Commands,
    Invocation,
    add_command,
    add_json_option,
    add_marking_options,
    number_option,
)
from nodes.reference.matching import reference_text
from nodes.registry.reading import weapon_by_prefix, weapon_timeline
from nodes.registry.weapon_search import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, Criteria, find_weapons, paging_note

# Body fields that the timeline does not repeat on every line: the marking and
# description are printed once in the header, the officer in its own column.
_DESCRIPTION = ("marking", "type", "make", "model", "calibre", "year", "officer")
_FOUND_IN = {"own": "", "partner": "received", "trace": "trace answer"}


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "history", history,
                         "every record held of a weapon (ours, partners', trace answers'), by id or marking",
                         "Replay a weapon's life from every signed record this node holds of it.")
    parser.add_argument("weapon", nargs="?", metavar="ID", help="weapon id or its start (or give the marking)")
    parser.add_argument("--weapon", dest="weapon_option", metavar="ID", help="the same as the positional ID")
    add_marking_options(parser, title="marking (instead of the ID)")
    parser.add_argument("--own", action="store_true", help="only the records signed by this node")
    add_purpose_option(parser)
    add_json_option(parser)

    parser = add_command(subparsers, "search", search,
                         "find weapons, ours and partners': serial (? one unknown character, * any run), "
                         "make, model, calibre")
    parser.add_argument("--serial", metavar="PATTERN", help="serial or pattern such as AB?12*")
    for name in ("make", "model", "calibre"):
        parser.add_argument(f"--{name}", default="", help=f"{name}, whole, any case")
    parser.add_argument("--offset", type=number_option(0, MAX_OFFSET), default=0, metavar="N",
                        help="skip the first N results (default 0)")
    parser.add_argument("--limit", type=number_option(1, MAX_LIMIT), default=DEFAULT_LIMIT, metavar="N",
                        help=f"show at most N results (default {DEFAULT_LIMIT})")
    add_purpose_option(parser)
    add_json_option(parser)


# --- history -----------------------------------------------------------------------------

def history(run: Invocation) -> int:
    a = run.args
    marking = run.marking()
    given = [text for text in (a.weapon, a.weapon_option) if text]
    if len(given) > 1 or (marking is not None and given):
        raise InvalidField("give the weapon id once (ID or --weapon) or the marking options, not both",
                           field="weapon")
    if marking is None and not given:
        raise InvalidField("give the weapon id (ID or --weapon) or --manufacturer, --country and --serial",
                           field="weapon")
    with run.open_node(unlock=False) as node:
        if marking is not None:
            typed, weapon_id = f"{marking.manufacturer} / {marking.country} / {marking.serial}", marking.weapon_id()
        else:
            typed, weapon_id = given[0], weapon_by_prefix(node, given[0])
        record_read(run, node, "history", str(weapon_id))
        document = weapon_timeline(node, weapon_id, own_only=a.own, typed=typed)
    run.emit(document, None if run.wants_json else history_text(document))
    failed = [e for e in document["events"] if not e["verified"]]
    if failed:
        run.warn(f"history: verification failed: {len(failed)} of the {_count(len(document['events']), 'record')} "
                 f"of weapon {weapon_id} do not verify (first: version {failed[0]['version']}, "
                 f"{failed[0]['problem']}); the status shown is replayed from the records before it; "
                 "run 'armsledger verify'")
        return 1
    return 0


def custody_text(document: dict[str, Any]) -> str:
    """The status line: what the weapon is, and where and with whom as far as the records held say.
    An export whose receipt no record confirms is in transit, not held in the importing state; a
    seized, lost or destroyed weapon names no holder (the fold's holder is the last one recorded,
    possibly a consignee who never received it: ``holder`` in the JSON)."""
    status, place, holder = document["status"] or "unknown", document["place"], document["holder"]
    consignee = f" (consignee {holder})" if holder else ""
    if document["in_transit_to"]:
        return f"{status}, in transit to {document['in_transit_to']}{consignee}, receipt not confirmed"
    if status == "exported":
        return f"exported to {place}{consignee}, receipt confirmed"
    if status == "active":
        return status + (f", held by {holder}" if holder else "") + (f" in {place}" if place else "")
    return status + (f" in {place}" if place else "")


def history_text(document: dict[str, Any]) -> str:
    """A readable timeline of a history document (``nodes.registry.federated_history``)."""
    m, d = document["marking"], document["description"]
    described = " ".join(str(v) for v in (d["type"], d["make"], d["model"]) if v) or "(not described)"
    events = document["events"]
    sources = [sum(1 for e in events if e["source"] == s) for s in ("own", "partner", "trace")]
    held = f"{_count(len(events), 'record')} held" + (" (own records only)" if document["own_only"] else
                                                     f": {sources[0]} ours, {sources[1]} from partners, "
                                                     f"{sources[2]} from trace answers")
    lines = [
        f"weapon   {document['weapon_id']}",
        f"marking  {m.get('manufacturer', '')} / {m.get('country', '')} / {m.get('serial', '')}",
        f"is       {described}" + (f", calibre {d['calibre']}" if d["calibre"] else "")
        + (f", made {d['year']}" if d["year"] else ""),
        f"status   {custody_text(document)}",
        f"records  {held}",
    ]
    if reference_text(document.get("reference")):
        lines.append(f"table    {reference_text(document.get('reference'))}")
    if document["flags"]:
        lines.append(f"flags    {', '.join(document['flags'])}")
    if document["marks"]:
        lines.append(f"marks    {', '.join(document['marks'])}")
    if document.get("components"):
        parts = (f"{p['kind']} {marking_text(p['marking'])}" for p in document["components"])
        lines.append(f"parts    {', '.join(parts)}")
    lines += ["", f"{'date':<10}  {'record':<16} {'origin':<6} {'authority':<12} {'officer':<14} {'hash':<12}  "
              "verification"]
    for event in events:
        if event["type"] is None:
            lines.append(f"!! version {event['version']}: NOT VERIFIED: {event['problem']}")
            continue
        name = event["type"].split(".", 1)[-1]
        by = event["authority_kind"] or event["authority"][:12]
        check = (f"NOT VERIFIED: {event['problem']}" if not event["verified"]
                 else "verified" + (f" ({_FOUND_IN[event['source']]})" if _FOUND_IN[event["source"]] else ""))
        if event.get("revoked"):
            check = (f"SIGNED BY A REVOKED KEY (revoked since {event['revoked']['since_iso']}: "
                     f"{event['revoked']['reason']}); not evidence; {check}")
        lines.append(f"{event['occurred_on_iso'][:10]}  {name:<16} {event['node']:<6} {by:<12} "
                     f"{_officer(event['officer']):<14} {event['hash'][:12]}  {check}")
        details = corrected_text(event["body"]) if event["type"] == CORRECTED else ", ".join(
            f"{k}: {_show(v)}" for k, v in event["body"].items()
            if k not in _DESCRIPTION and v not in ("", (), [], None, {}))
        if details:
            lines.append(f"{'':<12}{details}")
        for c in event.get("corrections", ()):
            values = ", ".join(f"{k}: {value_text(k, v)}" for k, v in c["new_values"].items())
            lines.append(f"{'':<12}corrected {c['occurred_on_iso'][:10]} by {c['authority_kind'] or 'authority'} "
                         f"({_officer(c['officer'])}, {c['hash'][:12]}): {values}; reason: {c['reason']}")
        if reference_text(event.get("reference")):
            lines.append(f"{'':<12}{reference_text(event.get('reference'))}")
    return "\n".join(lines)


def _officer(officer: str | None) -> str:
    if officer is None:
        return "not recorded"
    return officer or "node operator"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):  # a route reads "BE > DE > NL"; parts are listed
        return (", " if any(isinstance(v, dict) for v in value) else " > ").join(_show(v) for v in value)
    if isinstance(value, dict) and {"manufacturer", "country", "serial"} <= value.keys():
        return marking_text(value)
    if isinstance(value, dict) and isinstance(value.get("marking"), dict):  # a part: "frame FN / BE / F-1"
        return f"{value.get('kind', '')} {marking_text(value['marking'])}".strip()
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12]  # a record hash, shortened as in the hash column
    return text


# --- projections ---------------------------------------------------------------------------

def search(run: Invocation) -> int:
    """Weapons held here, ours and partners', matching every criterion given (serial: ``?`` one
    character, ``*`` any run), a page at a time."""
    a = run.args
    criteria = Criteria(serial=a.serial or "", make=a.make, model=a.model, calibre=a.calibre)
    with run.open_node(unlock=False) as node:
        # A refused criterion is no read: find_weapons refuses it before the read is recorded.
        found = find_weapons(node, criteria, offset=a.offset, limit=a.limit)
        record_read(run, node, "search", criteria.subject)
    lines = [f"{m['weapon_id']}  {marking_text(m['marking'])}  {m['status'] or 'unknown'}"
             + (f" ({', '.join(m['flags'])})" if m.get("flags") else "")
             + ("" if m["held"] == "own" else f"  (partner record: {', '.join(m['nodes'])})")
             + "".join(f"  ({p['kind']} {marking_text(p['marking'])})" for p in m.get("components", ()))
             for m in found["matches"]]
    if not lines:
        text = f"no weapon matches {criteria.subject!r}" + (f" from result {a.offset + 1}" if a.offset else "")
    else:
        text = "\n".join([*lines, f"{_count(found['total'], 'weapon')} found"])
        note = paging_note(found)
        if note:
            text += f"; {note}"
    run.emit(found, text)
    return 0


    return 0


# --- rendering of projection rows ----------------------------------------------------------

def marking_text(marking: dict[str, Any]) -> str:
    """``FN / BE / 12345``."""
    return f"{marking.get('manufacturer', '')} / {marking.get('country', '')} / {marking.get('serial', '')}"
