"""The rules of the diversion analysis, in order of precedence (docs/diversion.md).

Each rule reads the ``Analysis`` (the lifecycle and its custody walk) and returns
a ``Finding`` when it fires; the first finding names the verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.diversion.components import moved_component
from domain.diversion.lifecycle import Custody, Lifecycle
from domain.diversion.verdict import Custodian, Rule
from domain.diversion.words import (
    and_list,
    certificate,
    date_of,
    describe,
    holder_name,
    left_by_export,
    marking_key,
    place_of,
    route,
)
from domain.event_types import (
    DEACTIVATED,
    DESTROYED,
    EXPORTED,
    MANUFACTURED,
    MARKED,
    REACTIVATED,
    RECOVERED,
    REPORTED_LOST,
    REPORTED_STOLEN,
    SEIZED,
    WEAPON_PREFIX,
)
from domain.marking import UNKNOWN_CHARACTER, normalise
from domain.records import SignedRecord
from domain.time import SECONDS_PER_DAY

# What may lawfully follow a deactivation: the deactivation mark, final destruction, and a reactivation
# under licence (FP art 9), after which the weapon is a firearm again and the process is over.
_LAWFUL_AFTER_DEACTIVATION = frozenset({MARKED, DESTROYED, DEACTIVATED, REACTIVATED})
# Seizure flags that report a tampered marking (weapon flags are free text from the seizing officer).
_TAMPER_WORDS = ("tamper", "obliterat", "altered", "marking")


@dataclass(frozen=True)
class Finding:
    rule: Rule
    custodian: Custodian | None
    place: str
    occurred_on: int | None
    evidence: tuple[SignedRecord | None, ...]
    text: str   # the predicate: "Weapon X <text>."


@dataclass(frozen=True)
class Analysis:
    life: Lifecycle
    custody: list[Custody]      # custody[i] is custody before life.timeline[i]
    now: int
    overdue_seconds: int

    def before(self, record: SignedRecord) -> Custody:
        return self.custody[self.life.position[record.hash]]

    def after(self, record: SignedRecord) -> Custody:
        return self.custody[self.life.position[record.hash] + 1]

    def records(self, *types: str) -> list[SignedRecord]:
        return [r for r in self.life.timeline if r.type in types]


def _record_after_end_of_life(a: Analysis) -> Finding | None:
    ended: SignedRecord | None = None
    for record in a.life.timeline:
        if not record.type.startswith(WEAPON_PREFIX):
            continue
        if ended is not None and (ended.type == DESTROYED or record.type not in _LAWFUL_AFTER_DEACTIVATION):
            destroyed = ended.type == DESTROYED
            body = a.life.authority(ended, "destruction authority" if destroyed else "deactivation body")
            process = "destruction" if destroyed else "deactivation"
            return Finding(
                Rule.RECORD_AFTER_DESTRUCTION if destroyed else Rule.RECORD_AFTER_DEACTIVATION,
                Custodian(body, ended.node), ended.node, ended.occurred_on,
                (a.before(ended).proof, ended, record),
                f"left legal custody after its {process} by {body} in {ended.node} on {date_of(ended)}"
                f"{certificate(ended)}, and was diverted from the {process} process: it was later {describe(record)}")
        if record.type in (DESTROYED, DEACTIVATED):
            ended = record
        elif record.type == REACTIVATED and ended is not None and ended.type == DEACTIVATED:
            ended = None
    return None


def _export_never_confirmed(a: Analysis) -> Finding | None:
    for export in a.records(EXPORTED):
        if a.life.arrivals(export):
            continue
        found = next(iter(a.life.after(export, SEIZED)), None)
        if found is None and a.now - export.occurred_on < a.overdue_seconds:
            continue
        custody = a.after(export)
        destination = str(export.body.get("to_state", ""))
        consequence = (f", and it was later {describe(found)}" if found is not None
                       else f" within {a.overdue_seconds // SECONDS_PER_DAY} days")
        return Finding(
            Rule.EXPORT_NEVER_CONFIRMED, custody.custodian, f"in transit {route(export)}", export.occurred_on,
            (a.before(export).proof, export, a.life.shipment_opened(export), found),
            f"{left_by_export(custody.holder, custody.state, export)} and was diverted in transit or at destination: "
            f"{destination} never confirmed receipt{consequence}")
    return None


def _route_or_consignee_deviation(a: Analysis) -> Finding | None:
    for export in a.records(EXPORTED):
        deviation = _deviation(a, export)
        if deviation is not None:
            place, detail, evidence = deviation
            custody = a.after(export)
            return Finding(
                Rule.ROUTE_OR_CONSIGNEE_DEVIATION, custody.custodian, place, export.occurred_on,
                (a.before(export).proof, export, a.life.shipment_opened(export), *evidence),
                f"{left_by_export(custody.holder, custody.state, export)} and deviated from its licence: {detail}")
    return None


def _deviation(a: Analysis, export: SignedRecord) -> tuple[str, str, tuple[SignedRecord, ...]] | None:
    """(place, detail, evidence) of the first way ``export`` left its licensed route or consignee."""
    body = export.body
    origin, destination = str(body.get("from_state") or export.node), str(body.get("to_state", ""))
    transit, consignee = tuple(body.get("transit_states", ())), str(body.get("consignee", ""))
    licence = a.life.licence(origin, "export_licence", str(body.get("licence", "")))
    authorization = a.life.licence(destination, "import_authorization", str(body.get("import_authorization", "")))
    if licence is not None:
        licensed_to = str(licence.body.get("import_state", ""))
        licensed_via = tuple(licence.body.get("transit_states", ()))
        if licensed_to and licensed_to != destination:
            return (destination, (f"export licence {licence.body.get('number')} is for {licensed_to}, not "
                                  f"{destination}"), (licence,))
        off_route = [s for s in transit if s not in licensed_via]
        if off_route:
            return (and_list(off_route), (
                f"it was routed via {and_list(off_route)}, but export licence {licence.body.get('number')} "
                f"allows transit only via {and_list(licensed_via) or 'no state'}"), (licence,))
    if authorization is not None:
        authorised = str(authorization.body.get("consignee", ""))
        if authorised and consignee and normalise(authorised) != normalise(consignee):
            return (destination, (f"the export names consignee {consignee}, but import authorization "
                                  f"{authorization.body.get('number')} of {destination} authorises {authorised}"),
                    (authorization,))
    arrivals = a.life.arrivals(export)
    for arrival, state in arrivals:
        if state != destination:
            return (state, f"{describe(arrival)} (not {destination})", (arrival,))
    if arrivals:
        allowed = {origin, destination, *(tuple(licence.body.get("transit_states", ())) if licence else transit)}
        arrived = a.life.position[arrivals[0][0].hash]
        for seizure in a.life.after(export, SEIZED):
            state = str(seizure.body.get("state") or seizure.node)
            if a.life.position[seizure.hash] < arrived and state not in allowed:
                return (place_of(seizure), (f"during transit it was {describe(seizure)}, off the licensed route "
                                            f"{route(export)}"), (seizure, arrivals[0][0]))
    return None


def _lost_or_stolen(a: Analysis) -> Finding | None:
    for report in a.records(REPORTED_LOST, REPORTED_STOLEN):
        if a.life.after(report, RECOVERED):
            continue
        custody = a.before(report)
        how = "lost" if report.type == REPORTED_LOST else "stolen"
        found = next(iter(a.life.after(report, SEIZED)), None)
        holder = custody.custodian or Custodian("", report.node)
        return Finding(
            Rule.LOST_OR_STOLEN, Custodian(holder.holder, holder.state or report.node), place_of(report),
            report.occurred_on, (custody.proof, report, found),
            f"left the legal custody of {holder_name(holder.holder)} in {holder.state or report.node} when reported "
            f"{how} ({place_of(report)}) on {date_of(report)}, and was never recovered"
            + (f"; it was later {describe(found)}" if found is not None else ""))
    return None


def _no_export_from_last_legal_state(a: Analysis) -> Finding | None:
    for seizure in a.records(SEIZED):
        custody = a.before(seizure)
        state = str(seizure.body.get("state") or seizure.node)
        # Any custody counts, in transit and missing too: the exception is the open export's own route.
        on_route = custody.transit is not None and state in (
            str(custody.transit.body.get("to_state", "")), *custody.transit.body.get("transit_states", ()))
        if custody.proof is not None and custody.state and custody.state != state and not on_route:
            return Finding(
                Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE, custody.custodian, custody.state, custody.proof.occurred_on,
                (custody.proof, seizure),
                f"left the legal custody of {holder_name(custody.holder)} in {custody.state} after "
                f"{date_of(custody.proof)}: it was later {describe(seizure)}, with no export from {custody.state} "
                f"to {state} on record")
    return None


def _tampered_marking(a: Analysis) -> Finding | None:
    original = a.life.original_marking
    for seizure in a.records(SEIZED):
        seen = dict(seizure.body.get("marking") or {})
        flags = [str(f) for f in seizure.body.get("flags", ()) if any(w in str(f).lower() for w in _TAMPER_WORDS)]
        shown = " ".join(str(seen.get(k, "")) for k in ("manufacturer", "country", "serial")).strip()
        if flags:
            detail = f"the seizing authority flagged {', '.join(flags)}"
        elif any(UNKNOWN_CHARACTER in str(v) for v in seen.values()):
            detail = f"its marking reads {shown}, with obliterated characters"
        elif original and seen and marking_key(seen) != marking_key(original):
            when = "manufacture" if a.life.marked_at is not None and a.life.marked_at.type == MANUFACTURED else "import"
            detail = (f"its marking reads {shown}, not {original.get('manufacturer')} {original.get('country')} "
                      f"{original.get('serial')} as marked at {when}")
        else:
            continue
        custody = a.before(seizure)
        source = a.life.marked_at
        if custody.proof is None:
            return Finding(Rule.TAMPERED_MARKING, None, place_of(seizure), None, (source, seizure),
                            f"was {describe(seizure)} with a tampered marking ({detail}); no legal custody of it "
                            "is on record")
        return Finding(
            Rule.TAMPERED_MARKING, custody.custodian, custody.state, custody.proof.occurred_on,
            (source, custody.proof, seizure),
            f"left the legal custody of {holder_name(custody.holder)} in {custody.state} "
            f"after {date_of(custody.proof)} "
            f"and its marking was tampered with: it was {describe(seizure)} and {detail}")
    return None


def _no_legal_custody_on_record(a: Analysis) -> Finding | None:
    weapon = [r for r in a.life.timeline if r.type.startswith(WEAPON_PREFIX)]
    if not weapon:
        return Finding(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, "", None, (),
                        "has no record held by any node")
    if weapon[0].type == SEIZED:
        return Finding(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, place_of(weapon[0]), None, (weapon[0],),
                        f"has no record of legal custody: it was first recorded when {describe(weapon[0])}")
    if a.custody[-1].proof is None:  # e.g. only marks are held: nothing says who holds it
        return Finding(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, "", None, tuple(weapon),
                        "has no record of legal custody among the records held")
    return None


def current_custody(a: Analysis) -> Finding:
    """No rule fired: where the weapon lawfully is now (``no-diversion-found``)."""
    c = a.custody[-1]
    proof = c.proof
    assert proof is not None  # _no_legal_custody_on_record fires whenever no record proves custody
    since = date_of(proof)
    if c.status == "in-transit":
        text = (f"is in legal custody: in transit {route(proof)} since {since} (shipment "
                f"{proof.body.get('shipment')}), receipt not yet overdue (after {a.overdue_seconds // SECONDS_PER_DAY} "
                "days)")
        place = f"in transit {route(proof)}"
    elif c.status == "destroyed":
        text, place = f"was destroyed by {c.holder} in {c.state} on {since}{certificate(proof)}", c.state
    elif c.status == "deactivated" and proof.type == DEACTIVATED:
        text = f"was deactivated in {c.state} on {since}{certificate(proof)} and is held by {holder_name(c.holder)}"
        place = c.state
    else:
        text = f"is in legal custody: held by {holder_name(c.holder)} in {c.state} (last record {since})"
        place = c.state
    return Finding(Rule.NO_DIVERSION_FOUND, c.custodian, place, proof.occurred_on, (proof,), text)


def _component_from_other_weapon(a: Analysis) -> Finding | None:
    return moved_component(a, RULES, current_custody)


RULES: tuple[Callable[[Analysis], Finding | None], ...] = (
    _record_after_end_of_life, _export_never_confirmed, _route_or_consignee_deviation, _lost_or_stolen,
    _no_export_from_last_legal_state, _tampered_marking, _component_from_other_weapon, _no_legal_custody_on_record,
)
