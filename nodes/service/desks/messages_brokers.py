"""The desks' strings for the broker register (FP art 15), in English.

Merged into ``messages.ENGLISH``, the one catalogue the desks read.
"""

from __future__ import annotations

BROKER_MESSAGES: dict[str, str] = {
    "licensing.brokers": "Brokers (FP art 15)",
    "licence.broker": "Broker (FP art 15)",
    "field.number_broker": "Registration number",
    "broker.title": "Broker {number}",
    "broker.name": "Name",
    "broker.seat": "Address or seat",
    "broker.registered_by": "Registered by",
    "broker.valid": "In force",
    "broker.suspended": "Suspended",
    "broker.suspension": "{start} to {end}: {reason}",
    "broker.revoked": "revoked on {date}: {reason}",
    "broker.licences": "Licences naming this broker",
    "broker.activities": "Brokering activities",
    "broker.no_activities": "No brokering activity is held here.",
    "broker.none": "No broker matches.",
    "broker.col_date": "Date",
    "broker.col_kind": "Activity",
    "broker.col_parties": "Parties",
    "broker.col_concerns": "Concerning",
    "broker.col_number": "Number",
    "broker.col_name": "Name",
    "broker.col_state": "State",
    "state.registered": "Registered",
    "state.suspended": "Suspended",
    "activity.negotiation": "Negotiation",
    "activity.arranging_transaction": "Arranging a transaction",
    "activity.arranging_transfer": "Arranging a transfer",
    "activity.trading": "Trading",
    "activity.transport": "Transport",
    "activity.financing": "Financing",
    "activity.insurance": "Insurance",
}
