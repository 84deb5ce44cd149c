"""The names of the records, as signed in each envelope's ``type``: declared once, here.

The aggregates' events (``Weapon.Exported`` ...) take their ``TOPIC`` from these
names, and every reader of envelopes (diversion, trace status, sharing policy,
projections) compares with them rather than with a string of its own.
"""

from __future__ import annotations

# Weapon lifecycle (DESIGN.md "Events").
MANUFACTURED = "Weapon.Manufactured"
IMPORTED = "Weapon.Imported"
EXPORTED = "Weapon.Exported"
RECEIPT_CONFIRMED = "Weapon.ReceiptConfirmed"
TRANSFERRED = "Weapon.Transferred"
MARKED = "Weapon.Marked"
REPORTED_LOST = "Weapon.ReportedLost"
REPORTED_STOLEN = "Weapon.ReportedStolen"
RECOVERED = "Weapon.Recovered"
SEIZED = "Weapon.Seized"
CONFISCATED = "Weapon.Confiscated"
DEACTIVATED = "Weapon.Deactivated"
DESTROYED = "Weapon.Destroyed"
# The lawful restoration of a deactivated weapon under a reactivation licence (FP art 9).
REACTIVATED = "Weapon.Reactivated"
# The weapon's essential components (EU 2021/555 art 1(3), FP art 3(b)) and conversions.
ASSEMBLED = "Weapon.Assembled"
COMPONENT_REPLACED = "Weapon.ComponentReplaced"
CONVERTED = "Weapon.Converted"
# A correction of one of the node's own earlier weapon records: the original stays signed as it was.
CORRECTED = "Weapon.Corrected"

# An essential component's own life: frame or receiver, slide, barrel, bolt or breech block.
COMPONENT_REGISTERED = "Component.Registered"
COMPONENT_INSTALLED = "Component.Installed"
COMPONENT_REMOVED = "Component.Removed"
COMPONENT_DESTROYED = "Component.Destroyed"
COMPONENT_SEIZED = "Component.Seized"

# Shipments (FP art 10(2)-(4)) and licences (FP art 7, art 10(3)).
SHIPMENT_OPENED = "Shipment.Opened"
SHIPMENT_RECEIPT_CONFIRMED = "Shipment.ReceiptConfirmed"
LICENCE_ISSUED = "Licence.Issued"
LICENCE_REVOKED = "Licence.Revoked"

# Brokers registered by the licensing authority and their brokering activities (FP art 15).
BROKER_REGISTERED = "Broker.Registered"
BROKER_RENEWED = "Broker.Renewed"
BROKER_SUSPENDED = "Broker.Suspended"
BROKER_REVOKED = "Broker.Revoked"
BROKER_ACTIVITY_RECORDED = "Broker.ActivityRecorded"

# Tracing (ITI paras 17-23): the requester's steps, then the addressee's.
TRACE_SUBMITTED = "TraceRequest.Submitted"
TRACE_FORWARDED = "TraceRequest.Forwarded"
TRACE_CLOSED = "TraceRequest.Closed"
TRACE_ACKNOWLEDGED = "TraceAnswer.Acknowledged"
TRACE_RESPONDED = "TraceAnswer.Responded"
TRACE_UNTRACEABLE = "TraceAnswer.Untraceable"
TRACE_DELAYED = "TraceAnswer.Delayed"
TRACE_RESTRICTED = "TraceAnswer.Restricted"
TRACE_REFUSED = "TraceAnswer.Refused"

# A seizure or import here of a weapon a partner reported lost or stolen, told to that partner.
HIT_NOTICE_SENT = "HitNotice.Sent"

# A person's identity erased at the end of its retention period (docs/personal-data.md): names the reference only.
PERSON_ERASED = "PersonErasure.Recorded"
# A partner's signed request for the identity behind one of this state's holder references, and the answer.
DISCLOSURE_REQUESTED = "DisclosureRequest.Requested"
DISCLOSURE_RELEASED = "DisclosureAnswer.Released"
DISCLOSURE_REFUSED = "DisclosureAnswer.Refused"

# An operator's review that settles an alarm (signed evidence of a partner's two histories): a national record.
ALARM_SETTLED = "Alarm.Settled"

# The node's register of its authorities' keys (certificates signed by the node key).
AUTHORITY_CERTIFIED = "Authority.Certified"
# An authority key retired from a time on (rotation), or revoked since a time (a leak): docs/keys.md.
AUTHORITY_RETIRED = "Authority.Retired"
AUTHORITY_REVOKED = "Authority.Revoked"
# The node key handing over to a new one (key rotate --node): signed by the old, countersigned by the new.
NODE_KEY_CHANGED = "Authority.NodeKeyChanged"
# The node's record of its trust store (partners' node keys added and removed), kept national.
TRUST_REGISTER_OPENED = "Authority.TrustRegisterOpened"
TRUST_CHANGED = "Authority.TrustChanged"

WEAPON_PREFIX = "Weapon."
COMPONENT_PREFIX = "Component."
AUTHORITY_PREFIX = "Authority."
TRACE_REQUEST_PREFIX = "TraceRequest."
TRACE_ANSWER_PREFIX = "TraceAnswer."

WEAPON_EVENT_TYPES = frozenset({
    MANUFACTURED, IMPORTED, EXPORTED, RECEIPT_CONFIRMED, TRANSFERRED, MARKED, REPORTED_LOST, REPORTED_STOLEN,
    RECOVERED, SEIZED, CONFISCATED, DEACTIVATED, DESTROYED, ASSEMBLED, COMPONENT_REPLACED, CONVERTED,
    REACTIVATED, CORRECTED,
})
# Every weapon record but a post-manufacture mark says who holds the weapon,
# where, or in what status: its date is the date custody last changed.
CUSTODY_EVENT_TYPES = WEAPON_EVENT_TYPES - {MARKED, ASSEMBLED, COMPONENT_REPLACED, CONVERTED, CORRECTED}
COMPONENT_EVENT_TYPES = frozenset({
    COMPONENT_REGISTERED, COMPONENT_INSTALLED, COMPONENT_REMOVED, COMPONENT_DESTROYED, COMPONENT_SEIZED,
})
SHIPMENT_EVENT_TYPES = frozenset({SHIPMENT_OPENED, SHIPMENT_RECEIPT_CONFIRMED})
LICENCE_EVENT_TYPES = frozenset({LICENCE_ISSUED, LICENCE_REVOKED})
BROKER_REGISTER_TYPES = frozenset({BROKER_REGISTERED, BROKER_RENEWED, BROKER_SUSPENDED, BROKER_REVOKED})
# The addressee's steps that end its part of a trace (ITI paras 20-22).
TRACE_ANSWERS = (TRACE_RESPONDED, TRACE_UNTRACEABLE, TRACE_RESTRICTED, TRACE_REFUSED)
