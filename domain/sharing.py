"""The default sharing policy: which states receive one of a node's own records (DESIGN.md).

Data minimisation (FP art 12(5)): a record goes only to the states that need it.
Pure: the caller names its trusted partners and hands over its own earlier
records of the same stream; adding recipients from a node's configuration and
keeping only trusted partners is the node's concern (``nodes.federation.sharing``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from domain.event_types import (
    AUTHORITY_PREFIX,
    BROKER_REGISTER_TYPES,
    COMPONENT_SEIZED,
    CORRECTED,
    DISCLOSURE_REFUSED,
    DISCLOSURE_RELEASED,
    DISCLOSURE_REQUESTED,
    EXPORTED,
    HIT_NOTICE_SENT,
    IMPORTED,
    LICENCE_ISSUED,
    LICENCE_REVOKED,
    PERSON_ERASED,
    RECEIPT_CONFIRMED,
    RECOVERED,
    REPORTED_LOST,
    REPORTED_STOLEN,
    SEIZED,
    SHIPMENT_OPENED,
    TRACE_ACKNOWLEDGED,
    TRACE_ANSWER_PREFIX,
    TRACE_REQUEST_PREFIX,
    TRACE_SUBMITTED,
    TRANSFERRED,
    TRUST_CHANGED,
    TRUST_REGISTER_OPENED,
)
from domain.person import is_person_reference
from domain.records import SignedRecord

#: ``own_records(stream)``: the node's own records of ``stream``, in version order.
OwnRecords = Callable[[str], Sequence[SignedRecord]]

# A broker's registration, renewal, suspension and revocation go to every partner: FP art 15(2) asks
# states to exchange information on brokers (as art 12 on dealers and exporters), and a partner can then
# check the broker a shipment or licence names. Brokering activities stay here (FP art 12(5)): they are
# case-specific commercial records, released on request through a trace or a sharing.json rule.
_TO_EVERY_PARTNER = frozenset({REPORTED_LOST, REPORTED_STOLEN, *BROKER_REGISTER_TYPES})
_AUTHORISATIONS = frozenset({"import_authorization", "transit_no_objection"})
_BODY_DEPENDENT_PREFIXES = (TRACE_REQUEST_PREFIX, TRACE_ANSWER_PREFIX)
# Components and conversions are national records (EU 2021/555 art 4): none goes abroad but a component
# found in a seized weapon, which goes to the component's state of manufacture, as a seized weapon's does
# (ITI para 17: the tracing state needs the manufacturer's records).
# A domestic transfer goes to no partner by default (FP art 12(5): a partner needs it only when it traces the
# weapon, and the trace answer then carries it, ITI para 20), but a state may share transfers in its
# sharing.json once they name private holders by reference only: ``withheld`` reads the body for that.
# A recovery goes where the loss or theft report went, to every partner, so that none keeps treating the
# weapon as missing (a seizure there would raise a false hit); its holder, too, must be a reference or no one.
_BODY_DEPENDENT = frozenset({EXPORTED, RECEIPT_CONFIRMED, SHIPMENT_OPENED, LICENCE_ISSUED, LICENCE_REVOKED, SEIZED,
                             HIT_NOTICE_SENT, COMPONENT_SEIZED, CORRECTED,
                             TRANSFERRED, RECOVERED, PERSON_ERASED,
                             DISCLOSURE_REQUESTED, DISCLOSURE_RELEASED, DISCLOSURE_REFUSED})
#: The holder fields of the records ``withheld`` judges.
_HOLDER_FIELDS = {TRANSFERRED: ("from_holder", "to_holder"), RECOVERED: ("holder",)}
#: Records that go to the states the default names and to no one else, whatever a node's configuration
#: adds: a hit notice tells of a seizure in an investigation, and only the reporting state needs it.
ONLY_DEFAULT_RECIPIENTS = frozenset({HIT_NOTICE_SENT, TRUST_REGISTER_OPENED, TRUST_CHANGED})
#: The node's record of its own trust store stays home: which keys a state trusts is its own business,
#: and no partner needs it to verify anything (docs/keys.md).
_NATIONAL_REGISTER = frozenset({TRUST_REGISTER_OPENED, TRUST_CHANGED})


def default_recipients_by_type(record_type: str, partners: frozenset[str]) -> frozenset[str] | None:
    """The default recipients of every record of ``record_type``, or None when they depend on the record.

    Lets a relay route most records without reading them.
    """
    if record_type in _BODY_DEPENDENT or record_type.startswith(_BODY_DEPENDENT_PREFIXES):
        return None
    if record_type in _NATIONAL_REGISTER:
        return frozenset()
    if record_type.startswith(AUTHORITY_PREFIX) or record_type in _TO_EVERY_PARTNER:
        # Partners cannot verify any record without the certificate of its authority key.
        return partners
    # Everything else stays home unless the body names a state, deactivations and reactivations (FP art 9)
    # among them: a partner needs them only when it traces the weapon, and the addressee's signed lifecycle
    # fragment then carries them (ITI para 20); data minimisation (FP art 12(5)) says no more.
    return frozenset()


def default_recipients(record: SignedRecord, partners: frozenset[str], own_records: OwnRecords) -> frozenset[str]:
    """The states that receive ``record`` (one of this node's own) under the default policy.

    May name states that are not ``partners``, and the node's own state: the
    caller keeps only trusted partners. Never raises for odd bodies: a field
    that is missing names no state ("").
    """
    by_type = default_recipients_by_type(record.type, partners)
    if by_type is not None:
        return by_type
    record_type, body = record.type, record.body
    if record_type == EXPORTED:
        return frozenset({body.get("to_state", ""), *body.get("transit_states", ())})
    if record_type == RECEIPT_CONFIRMED:
        return frozenset({body.get("from_state", "")})
    if record_type == SHIPMENT_OPENED:
        return frozenset({body.get("import_state", ""), *body.get("transit_states", ())})
    if record_type == LICENCE_ISSUED:
        return _authorisation_recipients(body)
    if record_type == LICENCE_REVOKED:
        return _authorisation_recipients(_first_body(record, own_records, LICENCE_ISSUED))
    if record_type.startswith(TRACE_REQUEST_PREFIX):
        submitted = body if record_type == TRACE_SUBMITTED else _first_body(record, own_records, TRACE_SUBMITTED)
        return frozenset({submitted.get("addressee", "")})
    if record_type.startswith(TRACE_ANSWER_PREFIX):
        acknowledged = body if record_type == TRACE_ACKNOWLEDGED else \
            _first_body(record, own_records, TRACE_ACKNOWLEDGED)
        return frozenset({acknowledged.get("requesting_state", "")})
    if record_type == RECOVERED:
        return partners
    if record_type == SEIZED:
        return _seizure_recipients(record, own_records)
    if record_type == HIT_NOTICE_SENT:
        return frozenset({body.get("reporting_state", "")})
    if record_type == COMPONENT_SEIZED:
        return _seizure_recipients(record, own_records) - {""}
    if record_type == CORRECTED:
        # A correction goes to whoever received the record it corrects: a partner that holds the
        # original must not keep tracing with the mistake; one that never received it needs no
        # correction (data minimisation, FP art 12(5)).
        corrected = [r for r in own_records(record.stream) if r.version == body.get("record_version")]
        return default_recipients(corrected[0], partners, own_records) if corrected else frozenset()
    if record_type == PERSON_ERASED:
        # The states that received records naming the person (listed in the signed body when it was erased)
        # learn that the identity is gone: a trace answer that released it cannot be repeated, and a partner
        # keeping the identity it received knows its period ended (FP art 12(5)). No one else: the
        # reference alone tells them nothing.
        return frozenset(body.get("partners", ()))
    if record_type == DISCLOSURE_REQUESTED:
        # A disclosure request goes to the state that owns the reference; its answer back to the requester.
        return frozenset({body.get("addressee", "")})
    if record_type in (DISCLOSURE_RELEASED, DISCLOSURE_REFUSED):
        return frozenset({body.get("requesting_state", "")})
    return frozenset()


def withheld(record: SignedRecord) -> bool:
    """Whether ``record`` goes to no partner at all, whatever a node's configuration adds: a transfer or a
    recovery (or a correction of one) with a holder written as a name rather than a holder reference. The
    body cannot tell a private person's name (signed before holders were pseudonymised, or typed by mistake)
    from a dealer's, so either keeps the record national (FP art 12(5): confidential information is
    protected); empty fields name no one."""
    if record.type == CORRECTED:  # a correction of a transfer carries its holder fields, old and new
        fields = _HOLDER_FIELDS.get(str(record.body.get("record_type", "")), ())
        bodies = [record.body.get(k) or {} for k in ("old_values", "new_values")]
    else:
        fields, bodies = _HOLDER_FIELDS.get(record.type, ()), [record.body]
    return any(isinstance(body, Mapping) and (value := body.get(name, "")) and not is_person_reference(str(value))
               for body in bodies for name in fields)


def _authorisation_recipients(body: Mapping[str, Any]) -> frozenset[str]:
    # An import authorization or transit no-objection is the exporting state's
    # precondition for its export licence (FP art 10(2)-(3)).
    if body.get("kind") in _AUTHORISATIONS:
        return frozenset({body.get("export_state", "")})
    return frozenset()


def _seizure_recipients(record: SignedRecord, own_records: OwnRecords) -> frozenset[str]:
    """The state of manufacture and the state the weapon was last imported from."""
    found: set[str] = set()
    history = [e for e in own_records(record.stream) if e.version <= record.version] or [record]
    for earlier in history:
        marking = earlier.body.get("marking")
        if isinstance(marking, Mapping) and marking.get("country"):
            found.add(marking["country"])
            break
    imports = [r for r in history if r.type == IMPORTED]
    if imports:
        found.add(imports[-1].body.get("from_state", ""))
    return frozenset(found)


def _first_body(record: SignedRecord, own_records: OwnRecords, record_type: str) -> Mapping[str, Any]:
    for earlier in own_records(record.stream):
        if earlier.type == record_type:
            return earlier.body
    return {}
