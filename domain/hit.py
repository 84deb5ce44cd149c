"""Hit notices: a weapon that a partner state reported lost or stolen was seized or imported here.

iARMS exists to "notify a country quickly when a recorded firearm is seized": the notice is
this state's signed word to the reporting state, naming the weapon, its marking, the place
and date of the seizure or import, the recording state and the hash of the report it hit.
It is signed by the authority that recorded the seizure or import (it states no more than
that record does) in the same transaction, and goes only to the reporting state
(``domain.sharing``). ``outstanding_reports`` decides which partner reports a record hits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.errors import InvalidField
from domain.marking import ARMSLEDGER_NAMESPACE, check_text
from domain.records import SignedRecord
from domain.signed_aggregate import SignedAggregate

#: The partner records that say a weapon went missing, and the one that says it came back.
MISSING_TYPES = frozenset({types.REPORTED_LOST, types.REPORTED_STOLEN})
#: The records of ours that raise a hit when the weapon is reported missing elsewhere.
HIT_RAISING_TYPES = frozenset({types.SEIZED, types.IMPORTED})


def outstanding_reports(records: Iterable[SignedRecord], *, own_state: str) -> list[SignedRecord]:
    """The partners' loss or theft reports among ``records`` that no later recovery of theirs withdrew.

    ``records`` are partner records of one weapon, each node's in version order; one report per
    reporting node at most (its latest), oldest report first. Records of ``own_state`` are ignored.
    """
    latest: dict[str, SignedRecord] = {}
    for record in records:
        if record.node == own_state:
            continue
        if record.type in MISSING_TYPES or record.type == types.RECOVERED:
            held = latest.get(record.node)
            if held is None or record.version >= held.version:
                latest[record.node] = record
    reports = [r for r in latest.values() if r.type in MISSING_TYPES]
    return sorted(reports, key=lambda r: (r.occurred_on, r.node))


def hit_notice_id(weapon_id: str, recorded_version: int, reporting_state: str) -> uuid.UUID:
    """The id of the notice of one record of ours (weapon, version) to one reporting state: the same
    inputs give the same id, so a notice cannot be sent twice for one record."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"hit|{weapon_id}|{recorded_version}|{reporting_state}")


class HitNotice(SignedAggregate):
    """One notice to one reporting state; it is sent once and never changes."""

    TOPIC = "HitNotice"

    class Event(SignedAggregate.Event):
        TOPIC = "HitNotice.Event"

    class Sent(Event, Aggregate.Created):
        """``recorded_type`` and ``recorded_version``: our seizure or import record in the weapon's stream;
        ``reported_record``: the hex hash of the partner's report it hit, of type ``reported_type``.
        The business time is that of our record."""

        TOPIC = types.HIT_NOTICE_SENT
        weapon_id: str
        marking: dict[str, Any]
        place: str
        recording_state: str
        reporting_state: str
        reported_record: str
        reported_type: str
        recorded_type: str
        recorded_version: int

    def __init__(self, occurred_on: int, authority: str, weapon_id: str, marking: dict[str, Any], place: str,
                 recording_state: str, reporting_state: str, reported_record: str, reported_type: str,
                 recorded_type: str, recorded_version: int):
        self.occurred_on = occurred_on
        self.weapon_id = weapon_id
        self.marking = dict(marking)
        self.place = place
        self.recording_state = recording_state
        self.reporting_state = reporting_state
        self.reported_record = reported_record
        self.reported_type = reported_type
        self.recorded_type = recorded_type
        self.recorded_version = recorded_version

    @staticmethod
    def create_id(weapon_id: str, recorded_version: int, reporting_state: str, **_: Any) -> uuid.UUID:
        return hit_notice_id(weapon_id, recorded_version, reporting_state)

    @classmethod
    def send(cls, *, authority: Authority, report: SignedRecord, weapon_id: str, marking: Mapping[str, Any],
             place: str, recorded_type: str, recorded_version: int, occurred_on: int) -> HitNotice:
        """The notice that our ``recorded_type`` record (version ``recorded_version`` of the weapon's stream)
        hit the partner's ``report``.

        Requires ``authority`` to be the one that recorded it. ``NotPermitted`` unless its kind may sign
        notices; ``InvalidField`` when ``report`` is no partner's loss or theft report of this weapon, or
        ``recorded_type`` is not a seizure or import.
        """
        check_permitted(types.HIT_NOTICE_SENT, authority.kind)
        if report.type not in MISSING_TYPES:
            raise InvalidField(f"{report.type} is not a loss or theft report", field="report")
        if report.node == authority.state:
            raise InvalidField("a hit notice goes to a partner state, not our own", field="report")
        if report.stream != weapon_id:
            raise InvalidField(f"the report is of weapon {report.stream}, not {weapon_id}", field="report")
        if recorded_type not in HIT_RAISING_TYPES:
            raise InvalidField(f"{recorded_type} raises no hit", field="recorded_type")
        return cls._open(
            cls.Sent, authority=authority, occurred_on=occurred_on, weapon_id=weapon_id, marking=dict(marking),
            place=check_text(place, "place", required=False), recording_state=authority.state,
            reporting_state=report.node, reported_record=report.hash.hex(), reported_type=report.type,
            recorded_type=recorded_type, recorded_version=int(recorded_version),
        )
