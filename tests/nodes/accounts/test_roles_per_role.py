"""What each role may record and which rights it holds (domain.roles), written out role by role.

The expected tables are spelled out here, not derived from ``domain.authority.PERMISSIONS``,
so that a change to the permission table that gives a role more (or less) fails here. A hit
notice is signed by the authority that recorded the seizure or import it reports (docs/alerts.md).
"""

from __future__ import annotations

import pytest

from domain.authority import PERMISSIONS, AuthorityKind
from domain.errors import NotPermitted
from domain.roles import Right, Role, authority_for, check_right, recordable
from nodes.accounts.officer import Officer

# Essential components and conversions (docs/components.md): lawful work, and what police and customs find.
PARTS_WORK = {"Weapon.Assembled", "Weapon.ComponentReplaced", "Weapon.Converted", "Component.Registered",
              "Component.Installed", "Component.Removed", "Component.Destroyed"}
PARTS_FOUND = {"Weapon.Assembled", "Weapon.Converted", "Component.Registered", "Component.Seized"}
# Every recording role may sign a correction, of the records it may record (docs/corrections.md).
CORRECTION = "Weapon.Corrected"
BROKERS = {"Broker.Registered", "Broker.Renewed", "Broker.Suspended", "Broker.Revoked", "Broker.ActivityRecorded"}

TRACE_STEPS = {"TraceRequest.Submitted", "TraceRequest.Forwarded", "TraceRequest.Closed",
               "TraceAnswer.Acknowledged", "TraceAnswer.Responded", "TraceAnswer.Untraceable",
               "TraceAnswer.Delayed", "TraceAnswer.Restricted", "TraceAnswer.Refused"}
# A holder's identity: police and tracing officers ask a partner, the registry answers (docs/personal-data.md).
DISCLOSURE_REQUEST = "DisclosureRequest.Requested"
DISCLOSURE_ANSWERS = {"DisclosureAnswer.Released", "DisclosureAnswer.Refused"}

# role: (the authority kind that signs its records, what it may record)
MAY_RECORD: dict[Role, tuple[AuthorityKind | None, set[str]]] = {
    Role.LICENSING: (AuthorityKind.LICENSING, {
        "Weapon.Manufactured", "Weapon.Imported", "Weapon.Exported", "Weapon.Transferred", "Weapon.Marked",
        "Weapon.ReportedLost", "Licence.Issued", "Licence.Revoked", "Shipment.Opened", "HitNotice.Sent",
        "Weapon.Reactivated", *PARTS_WORK, *BROKERS, CORRECTION}),
    Role.CUSTOMS: (AuthorityKind.CUSTOMS, {
        "Weapon.Imported", "Weapon.Exported", "Weapon.ReceiptConfirmed", "Weapon.Seized", "Shipment.Opened",
        "Shipment.ReceiptConfirmed", "HitNotice.Sent", *PARTS_FOUND, CORRECTION}),
    Role.POLICE: (AuthorityKind.POLICE, {
        "Weapon.Marked", "Weapon.ReportedLost", "Weapon.ReportedStolen", "Weapon.Recovered", "Weapon.Seized",
        "Weapon.Confiscated", "Weapon.Destroyed", "HitNotice.Sent", *TRACE_STEPS, *PARTS_FOUND, "Component.Destroyed",
        CORRECTION, DISCLOSURE_REQUEST}),
    Role.TRACING: (AuthorityKind.POLICE, {*TRACE_STEPS, DISCLOSURE_REQUEST}),
    Role.DEACTIVATION: (AuthorityKind.DEACTIVATION, {"Weapon.Deactivated", "Weapon.Destroyed", "Component.Destroyed",
                                                     CORRECTION}),
    Role.REGISTRY: (AuthorityKind.REGISTRY, {
        "Weapon.Manufactured", "Weapon.Imported", "Weapon.Transferred", "Weapon.Marked", "Weapon.ReportedLost",
        "Weapon.Confiscated", "Weapon.Destroyed", "TraceAnswer.Acknowledged", "TraceAnswer.Responded",
        "TraceAnswer.Untraceable", "TraceAnswer.Delayed", "TraceAnswer.Restricted", "TraceAnswer.Refused",
        "HitNotice.Sent", "PersonErasure.Recorded", "Alarm.Settled", *PARTS_WORK, CORRECTION,
        *DISCLOSURE_ANSWERS}),
    Role.AUDITOR: (None, set()),
    Role.ADMIN: (None, set()),
}

RIGHTS: dict[Role, set[Right]] = {
    **{role: {Right.RECORD, Right.READ} for role in (Role.LICENSING, Role.CUSTOMS, Role.POLICE, Role.TRACING,
                                                     Role.DEACTIVATION, Role.REGISTRY)},
    Role.AUDITOR: {Right.READ, Right.AUDIT},
    Role.ADMIN: {Right.ADMIN},
}


def test_every_role_is_covered():
    assert set(MAY_RECORD) == set(Role) == set(RIGHTS)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_a_role_may_record_exactly_its_types_signed_by_its_authority(role):
    kind, allowed = MAY_RECORD[role]
    assert recordable(role) == allowed
    for record_type in sorted(PERMISSIONS):
        if record_type in allowed:
            assert authority_for(role, record_type) is kind
        else:
            with pytest.raises(NotPermitted) as refused:
                authority_for(role, record_type)
            assert refused.value.field == "role"
            assert role.value in str(refused.value) and record_type in str(refused.value)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_a_role_holds_exactly_its_rights(role):
    officer = Officer(user_id="0c4ab0b2-3a0e-4b5f-9a57-2f0a4d0c1f11", name="someone", role=role)
    for right in Right:
        if right in RIGHTS[role]:
            check_right(role, right)
            officer.check(right)
        else:
            with pytest.raises(NotPermitted, match=f"lacks the right to {right.value}") as refused:
                officer.check(right)
            assert refused.value.field == "role"


def test_no_role_may_record_the_register_of_authorities():
    for role in Role:
        with pytest.raises(NotPermitted):
            authority_for(role, "Authority.Certified")
