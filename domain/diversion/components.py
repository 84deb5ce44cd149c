"""The diversion rule that follows an essential component moved between weapons (docs/diversion.md).

A component found in a seized weapon while on record in another weapon (``Component.Seized`` naming
``from_weapon``), or removed from one and never recorded again, came out of that weapon's legal custody:
the donor weapon's own lifecycle, analysed by the same rules, says where and when, and names the donor and
its point of diversion. A component found after its destruction was diverted from the destruction process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from domain import event_types as types
from domain.diversion.lifecycle import Lifecycle, walk
from domain.diversion.verdict import Custodian, Rule
from domain.diversion.words import date_of, holder_name
from domain.records import SignedRecord

if TYPE_CHECKING:
    from domain.diversion.rules import Analysis, Finding


def moved_component(a: Analysis, rules: Sequence[Callable[[Analysis], Finding | None]],
                    fallback: Callable[[Analysis], Finding]) -> Finding | None:
    """The finding for the first component of this weapon found when it was seized and recorded until then
    in another weapon; None when there is none, or when this lifecycle is itself a donor's (one hop)."""
    from domain.diversion.rules import Analysis, Finding

    if a.life.donor_of:
        return None
    for found in a.life.components_found():
        part = _part(a.life, found)
        destroyed = a.life.component_before(found, types.COMPONENT_DESTROYED)
        if destroyed is not None:
            body = a.life.authority(destroyed, "destruction authority")
            return Finding(Rule.COMPONENT_FROM_OTHER_WEAPON, Custodian(body, destroyed.node), destroyed.node,
                           destroyed.occurred_on, (destroyed, found),
                           f"holds the {part}, destroyed by {body} in {destroyed.node} on {date_of(destroyed)}: the "
                           f"{_kind(part)} was diverted from the destruction process, found when this weapon was "
                           f"seized on {date_of(found)}")
        removed = a.life.component_before(found, types.COMPONENT_REMOVED)
        donor_id = str(found.body.get("from_weapon") or (removed.body.get("weapon_id", "") if removed else ""))
        donor = Lifecycle(donor_id, a.life.records, a.life.licences.values(), (), donor_of=a.life.weapon_id)
        if not donor_id or donor_id == a.life.weapon_id or not donor.timeline:
            continue
        analysis = Analysis(donor, walk(donor), a.now, a.overdue_seconds)
        findings = [f for f in (rule(analysis) for rule in rules) if f is not None]
        finding = findings[0] if findings else fallback(analysis)
        origin = f"of weapon {donor.name}"
        if removed is not None and not found.body.get("from_weapon"):
            origin = f"removed from weapon {donor.name} on {date_of(removed)} ({removed.body.get('reason', '')})"
        if finding.rule is not Rule.NO_DIVERSION_FOUND:
            text = f"holds the {part} {origin}, which {finding.text}"
        elif analysis.custody[-1].status == "destroyed":
            text = (f"holds the {part} {origin}, which {finding.text}: the {_kind(part)} was diverted "
                    f"from the destruction process, found when this weapon was seized on {date_of(found)}")
        else:
            custody = analysis.custody[-1]
            text = (f"holds the {part} {origin}, which is on record in the legal custody of "
                    f"{holder_name(custody.holder)} in {custody.state}: the {_kind(part)} left that custody after "
                    f"{date_of(finding.evidence[0]) if finding.evidence and finding.evidence[0] else 'its last record'}"
                    f" and was found when this weapon was seized on {date_of(found)}")
        return Finding(Rule.COMPONENT_FROM_OTHER_WEAPON, finding.custodian, finding.place, finding.occurred_on,
                       (*finding.evidence, found), text)
    return None


def _part(life: Lifecycle, found: SignedRecord) -> str:
    registered = next((r for r in life.records if r.stream == found.stream and r.type == types.COMPONENT_REGISTERED),
                      None)
    if registered is None:
        return f"component {found.stream}"
    marking = registered.body.get("marking") or {}
    return (f"{registered.body.get('kind', 'component')} {str(marking.get('manufacturer', '')).upper()} "
            f"{marking.get('country', '')} {marking.get('serial', '')}")


def _kind(part: str) -> str:
    return part.split(" ", 1)[0]
