"""The default sharing policy (``domain.sharing``), pure: who receives a node's own record.

The node's additions from sharing.json and its trusted-partner filter are tested in
tests/nodes/federation/test_sharing.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from domain import event_types as types
from domain.sharing import default_recipients, default_recipients_by_type

PARTNERS = frozenset({"NL", "DE", "FR"})


@dataclass(frozen=True)
class Record:
    type: str
    body: dict[str, Any] = field(default_factory=dict)
    stream: str = "s-1"
    version: int = 1
    node: str = "BE"
    occurred_on: int = 0
    recorded_at: int = 0
    authority: str = "k"
    hash: bytes = b""


def nothing_else(stream: str) -> list[Record]:
    return []


@pytest.mark.parametrize(("record", "expected"), [
    (Record(types.EXPORTED, {"to_state": "NL", "transit_states": ("DE",)}), {"NL", "DE"}),
    (Record(types.RECEIPT_CONFIRMED, {"from_state": "FR"}), {"FR"}),
    (Record(types.SHIPMENT_OPENED, {"import_state": "CH", "transit_states": ()}), {"CH"}),   # not a partner: kept
    (Record(types.LICENCE_ISSUED, {"kind": "import_authorization", "export_state": "DE"}), {"DE"}),
    (Record(types.LICENCE_ISSUED, {"kind": "export_licence", "export_state": "BE"}), set()),
    (Record(types.TRACE_SUBMITTED, {"addressee": "NL"}), {"NL"}),
    (Record(types.TRACE_ACKNOWLEDGED, {"requesting_state": "FR"}), {"FR"}),
    (Record(types.REPORTED_STOLEN), PARTNERS),
    (Record(types.AUTHORITY_CERTIFIED), PARTNERS),
    (Record(types.TRANSFERRED, {"to_holder": "a private holder"}), set()),
    (Record(types.HIT_NOTICE_SENT, {"reporting_state": "NL", "recording_state": "BE"}), {"NL"}),  # the reporter only
    # A disclosure request goes to the state owning the reference, its answer back to the requester only.
    (Record(types.DISCLOSURE_REQUESTED, {"addressee": "NL", "requesting_state": "BE"}), {"NL"}),
    (Record(types.DISCLOSURE_RELEASED, {"requesting_state": "FR", "answering_state": "BE"}), {"FR"}),
    (Record(types.DISCLOSURE_REFUSED, {"requesting_state": "DE", "answering_state": "BE"}), {"DE"}),
])
def test_default_recipients(record, expected):
    assert default_recipients(record, PARTNERS, nothing_else) == frozenset(expected)


def test_later_steps_go_where_the_first_record_of_their_stream_went():
    submitted = Record(types.TRACE_SUBMITTED, {"addressee": "NL"})
    closed = Record(types.TRACE_CLOSED, {"outcome": "done"}, version=2)
    revoked = Record(types.LICENCE_REVOKED, version=2)
    issued = Record(types.LICENCE_ISSUED, {"kind": "transit_no_objection", "export_state": "FR"})
    assert default_recipients(closed, PARTNERS, lambda stream: [submitted, closed]) == {"NL"}
    assert default_recipients(revoked, PARTNERS, lambda stream: [issued, revoked]) == {"FR"}
    assert default_recipients(closed, PARTNERS, nothing_else) == {""}   # nothing to go by: no state


def test_a_seizure_goes_to_the_state_of_manufacture_and_the_last_exporter():
    made = Record(types.MANUFACTURED, {"marking": {"country": "DE"}})
    imported = Record(types.IMPORTED, {"from_state": "FR"}, version=2)
    seized = Record(types.SEIZED, {"marking": {"country": "DE"}}, version=3)
    assert default_recipients(seized, PARTNERS, lambda stream: [made, imported, seized]) == {"DE", "FR"}


def test_by_type_answers_only_when_the_body_does_not_matter():
    assert default_recipients_by_type(types.EXPORTED, PARTNERS) is None
    assert default_recipients_by_type(types.TRACE_RESPONDED, PARTNERS) is None
    assert default_recipients_by_type(types.REPORTED_LOST, PARTNERS) == PARTNERS
    assert default_recipients_by_type(types.DESTROYED, PARTNERS) == frozenset()
