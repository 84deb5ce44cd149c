"""``analyse``: where a weapon left legal custody, on the federated records held (DESIGN.md "Tracing").

Pure: no I/O. The caller passes records it has verified already (on ingest or in
a trace response, ITI para 20); nothing here checks signatures or chains. The
rules and the meaning of incomplete evidence are explained in docs/diversion.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.diversion.lifecycle import Lifecycle, walk
from domain.diversion.rules import RULES, Analysis, Finding, current_custody
from domain.diversion.verdict import Evidence, Missing, Verdict
from domain.diversion.words import and_list, date_of, reactivations
from domain.event_types import EXPORTED, REACTIVATED
from domain.records import SignedRecord
from domain.shipment import DEFAULT_OVERDUE_DAYS
from domain.time import SECONDS_PER_DAY


def analyse(
    weapon_id: str, records: Iterable[SignedRecord], *, now: int, expected_from: tuple[str, ...] = (),
    answered: tuple[str, ...] = (), licences: Iterable[SignedRecord] = (), overdue_days: int = DEFAULT_OVERDUE_DAYS,
) -> Verdict:
    """Find where weapon ``weapon_id`` left legal custody.

    ``records``: verified envelopes from any nodes, in any order: the weapon's
    stream, shipment records, and optionally ``Authority.Certified`` (to name
    authorities) and ``Licence.Issued`` records; others are ignored.
    ``expected_from``: states asked in a trace that have not answered yet.
    ``answered``: states that answered a trace, even with no records (their
    silence about a receipt is then evidence). ``licences``: ``Licence.Issued``
    envelopes to check routes and consignees against. ``now`` (epoch seconds)
    decides whether an unconfirmed export is ``overdue_days`` old. Raises nothing
    for odd input: a record it cannot place is left out of the analysis.
    """
    life = Lifecycle(str(weapon_id), records, licences, answered)
    analysis = Analysis(life, walk(life), now, overdue_days * SECONDS_PER_DAY)
    findings = [f for f in (rule(analysis) for rule in RULES) if f is not None]
    finding = findings[0] if findings else current_custody(analysis)
    missing = _missing(life, finding, expected_from)
    name = f"weapon {life.name}"
    if missing:
        waiting = [m.state for m in missing if m.reason == _UNANSWERED]
        lacking = [m.state for m in missing if m.reason != _UNANSWERED]
        gaps = ([f"waiting for {and_list(waiting)}"] if waiting else []) + (
            [f"no records held from {and_list(lacking)}"] if lacking else [])
        sentence = (f"Cannot yet say where {name} left legal custody ({'; '.join(gaps)}): on the records "
                    f"held so far it {finding.text}.")
    else:
        sentence = f"{name[0].upper()}{name[1:]} {finding.text}."
    restored = [r for r in life.timeline if r.type == REACTIVATED]
    if restored:
        sentence = f"{sentence} {reactivations(restored)}"
    return Verdict(
        weapon_id=life.weapon_id, rule=finding.rule, last_legal_custodian=finding.custodian, place=finding.place,
        occurred_on=finding.occurred_on, evidence=tuple(Evidence.of(e) for e in life.ordered(finding.evidence)),
        sentence=sentence, complete=not missing, missing=missing,
        other_rules=tuple(f.rule for f in findings[1:] if f.rule is not finding.rule), reactivated=bool(restored),
    )


_UNANSWERED = "has not answered the trace request yet"


def _missing(life: Lifecycle, finding: Finding, expected_from: tuple[str, ...]) -> tuple[Missing, ...]:
    missing = {s: Missing(s, _UNANSWERED) for s in expected_from}
    for export in (r for r in life.timeline if r.type == EXPORTED):
        destination = str(export.body.get("to_state", ""))
        if destination and destination not in life.heard and destination not in missing \
                and not life.arrivals(export):
            missing[destination] = Missing(destination, (
                f"no records held from {destination}, destination of shipment {export.body.get('shipment')} "
                f"exported from {export.body.get('from_state') or export.node} on {date_of(export)}, and "
                f"{destination} has not answered a trace"))
    custodian = finding.custodian
    if custodian is not None and custodian.state and custodian.state not in life.heard \
            and custodian.state not in missing:
        missing[custodian.state] = Missing(custodian.state, (
            f"no records held from {custodian.state}, where the weapon was last in legal custody"))
    return tuple(missing.values())

