"""Statistics of the register for a period: the seizure tables of UNODC's Illicit Arms Flows
Questionnaire (IAFQ) and the register's counts, as one plain JSON document (docs/statistics.md).

``statistics(node, start=, end=)`` reads every seizure this node recorded in the period, and
each seized weapon's federated lifecycle (our records, partners' records received and the
verified records of trace answers: ``nodes.tracing.lifecycle``); ``seizure_tables`` turns
those into the figures, purely. The CLI's ``stats``, the API and the tracing desk all call
``statistics``; ``csv_rows`` is its one flat form.
"""

from __future__ import annotations

import statistics as median_of
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidField
from domain.event_types import IMPORTED, MANUFACTURED, RECEIPT_CONFIRMED, SEIZED, TRANSFERRED
from domain.records import SignedRecord
from domain.time import SECONDS_PER_DAY, format_time, parse_time, parse_until
from domain.weapon_state import WeaponState, evolve
from nodes.ports import Node
from nodes.registry.paging import signed
from nodes.registry.reading import plain_record
from nodes.tracing.lifecycle import federated_lifecycle

UNKNOWN = "unknown"
# Records that show the weapon in legal custody: the start of its time to crime is the
# last of these before the seizure (manufacture, or the last legal transfer).
LEGAL_CUSTODY = (MANUFACTURED, IMPORTED, RECEIPT_CONFIRMED, TRANSFERRED)
# Bands of time to crime, in days: (label, fewer than this many days).
BANDS = (("under 3 months", 91), ("3 to 12 months", 365), ("1 to 3 years", 3 * 365 + 1),
         ("3 to 10 years", 10 * 365 + 2), ("10 years or more", None))


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, epoch seconds, both included; None: from the first record, to the last."""

    start: int | None = None
    end: int | None = None

    def holds(self, moment: int) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment <= self.end)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start, "from_utc": format_time(self.start) if self.start is not None else None,
                "to": self.end, "to_utc": format_time(self.end) if self.end is not None else None}


def parse_period(start: str | None, end: str | None, *, start_field: str = "from", end_field: str = "to") -> Period:
    """The period between the dates typed (``YYYY-MM-DD`` or ISO 8601; a plain ``end`` date includes
    that day); no ``start``: from the first record, no ``end``: to the last. ``InvalidField`` naming
    ``start_field`` or ``end_field`` for a date that does not parse, or an end before the start."""
    first = parse_time(start, field=start_field) if start and start.strip() else None
    last = parse_until(end, field=end_field) if end and end.strip() else None
    if first is not None and last is not None and last < first:
        raise InvalidField(f"{end!r} is before the start of the period ({start!r})", field=end_field)
    return Period(first, last)


@dataclass(frozen=True)
class Seizure:
    """One seizure recorded here and what the records held say of the weapon up to it."""

    record: SignedRecord
    weapon: WeaponState                 # folded from every record held up to the seizure
    last_legal: SignedRecord | None     # the last record of legal custody before it
    last_import: SignedRecord | None    # the last import recorded or receipt confirmed before it


def statistics(node: Node, *, period: Period) -> dict[str, Any]:
    """The statistics document of ``period`` (fields: docs/statistics.md): ``seizures``, the IAFQ
    tables of the seizures recorded here in the period (by business date), beside the register's
    counts of the whole log (``events``, ``weapons``, ``by_type``, ``by_state``, ``by_month`` ...),
    projections brought up to date first."""
    node.views.catch_up(node.registry)
    seized = [e for e in signed(node.registry.recorder, (SEIZED,)) if period.holds(e.occurred_on)]
    lives: dict[str, list[SignedRecord]] = {}
    for record in seized:
        if record.stream not in lives:
            lives[record.stream] = [e for e in federated_lifecycle(node, record.stream).records
                                    if e.stream == record.stream]
    tables = seizure_tables(seizure_of(record, lives[record.stream]) for record in seized)
    register: dict[str, Any] = plain_record(node.views.statistics())
    return {**register, "period": period.to_dict(), "seizures": tables}


def seizure_of(record: SignedRecord, life: Sequence[SignedRecord]) -> Seizure:
    """``record`` (a seizure) with the weapon as the records of ``life`` up to it show it; pure."""
    before = sorted((e for e in life if (e.occurred_on, e.recorded_at) <= (record.occurred_on, record.recorded_at)
                     and e.hash != record.hash), key=lambda e: (e.occurred_on, e.recorded_at))
    state = WeaponState()
    for e in [*before, record]:
        state = evolve(state, e.type, e.body)
    legal = [e for e in before if e.type in LEGAL_CUSTODY]
    imports = [e for e in legal if e.type in (IMPORTED, RECEIPT_CONFIRMED)]
    return Seizure(record, state, legal[-1] if legal else None, imports[-1] if imports else None)


def seizure_tables(seizures: Iterable[Seizure]) -> dict[str, Any]:
    """The IAFQ-shaped tables of ``seizures``; pure. Counts are of seized weapons (one per seizure)."""
    found = list(seizures)
    by: dict[str, Counter[str]] = {name: Counter() for name in (
        "by_place", "by_weapon_type", "by_calibre", "by_country_of_manufacture", "by_country_of_last_legal_import")}
    days: list[int] = []
    bands: Counter[str] = Counter()
    traced = 0
    for s in found:
        body, w = s.record.body, s.weapon
        by["by_place"][str(body.get("place") or "") or UNKNOWN] += 1
        by["by_weapon_type"][w.type or UNKNOWN] += 1
        by["by_calibre"][w.calibre or UNKNOWN] += 1
        by["by_country_of_manufacture"][str(w.marking.get("country") or "") or UNKNOWN] += 1
        by["by_country_of_last_legal_import"][_last_import(s)] += 1
        if s.last_legal is None:
            bands[UNKNOWN] += 1
            continue
        traced += 1
        elapsed = max(0, s.record.occurred_on - s.last_legal.occurred_on) // SECONDS_PER_DAY
        days.append(elapsed)
        bands[next(label for label, under in BANDS if under is None or elapsed < under)] += 1
    return {
        "seized": len(found),
        **{name: dict(sorted(counts.items())) for name, counts in by.items()},
        "tracing": {"traced": traced, "untraced": len(found) - traced,
                    "traced_percent": round(100 * traced / len(found), 1) if found else None},
        "time_to_crime": {"known": len(days), "unknown": len(found) - len(days),
                          "median_days": median_of.median(days) if days else None,
                          "bands": {label: bands[label] for label, _ in BANDS} | {UNKNOWN: bands[UNKNOWN]}},
    }


def _last_import(s: Seizure) -> str:
    """The state of the last legal import before the seizure: the state that recorded the import or
    confirmed the receipt (FP art 10(4)); an export never confirmed as received is no legal import."""
    e = s.last_import
    if e is None:
        return UNKNOWN
    return str(e.body.get("import_state") or e.node) if e.type == IMPORTED else e.node


def csv_rows(document: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The seizure tables as (table, value, figure) rows, the header first: one table per row group."""
    tables = document["seizures"]
    rows: list[tuple[str, str, Any]] = [("table", "value", "figure"), ("seized", "", tables["seized"])]
    for name, counts in tables.items():
        if name.startswith("by_"):
            rows += [(name, key, count) for key, count in counts.items()]
    rows += [("tracing", key, value) for key, value in tables["tracing"].items()]
    ttc = tables["time_to_crime"]
    rows += [("time_to_crime", "median_days", ttc["median_days"]), ("time_to_crime", "known", ttc["known"]),
             ("time_to_crime", "unknown", ttc["unknown"])]
    rows += [("time_to_crime_band", label, count) for label, count in ttc["bands"].items()]
    return rows
