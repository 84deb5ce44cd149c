"""The sharing policy: which partner states receive which of this node's records.

Data minimisation (FP art 12(5): information exchanged is confidential and used only
for the purposes of the Protocol): a record goes only to the states that need it, and
only to trusted partners. The defaults (DESIGN.md, "Default sharing policy"):

==================================================  =========================================
record                                              recipients
==================================================  =========================================
``Authority.*`` (certificates of authority keys)    every partner (they verify everything else)
``Weapon.Exported``                                 ``to_state`` and ``transit_states``
``Weapon.ReceiptConfirmed``                         ``from_state`` (the exporter, FP art 10(4))
``Shipment.Opened``                                 ``import_state`` and ``transit_states``
``Licence.Issued`` of kind ``import_authorization``  ``export_state`` named in it (FP art 10(2)-(3))
or ``transit_no_objection``; its ``Licence.Revoked``
``TraceRequest.*``                                  the trace's ``addressee`` (ITI para 17)
``TraceAnswer.*``                                   the trace's ``requesting_state`` (ITI para 20)
``Weapon.ReportedLost``, ``Weapon.ReportedStolen``  every partner
``Weapon.Seized``                                   the state of manufacture (marking) and the
                                                    state it was last imported from, if not us
anything else                                       nobody
==================================================  =========================================

An optional ``HOME/sharing.json`` adds recipients per record type (it never removes
a default)::

    {"share": {"Weapon.Transferred": ["NL", "DE"], "Weapon.Destroyed": "all", "*": ["FR"]}}

``"all"`` means every trusted partner; ``"*"`` applies to every type. Whatever the
policy says, only trusted partners (``nodes.federation.trust``) ever receive anything, and never
the node's own state.

Personal data: records carry the names of holders as recorded (e.g. a private holder
in ``Weapon.Transferred``). Those types are not shared by default; replacing private
holders by a pseudonymous reference needs a change in what is signed and is not done yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.authority import PERMISSIONS
from domain.countries import ISO_3166_ALPHA2
from ledger.envelope import Envelope
from nodes.errors import ConfigurationError

SHARING_FILE = "sharing.json"
ALL = "all"
EVERY_TYPE = "*"

_TO_EVERY_PARTNER = frozenset({"Weapon.ReportedLost", "Weapon.ReportedStolen"})
_AUTHORISATIONS = frozenset({"import_authorization", "transit_no_objection"})


@dataclass(frozen=True)
class SharingRules:
    """Recipients added to the defaults, per record type (``"*"``: every type).

    Each value is a frozenset of states, or ``ALL`` for every trusted partner.
    """

    extra: Mapping[str, frozenset[str] | str] = field(default_factory=dict)

    @classmethod
    def load(cls, home: Path) -> SharingRules:
        """Rules from ``HOME/sharing.json`` (none if the file is missing).

        Raises ``ConfigurationError`` naming the entry when the file is not the documented form.
        """
        path = Path(home) / SHARING_FILE
        if not path.exists():
            return cls()
        try:
            document = json.loads(path.read_text())
        except ValueError as e:
            raise ConfigurationError(f"{path}: not JSON ({e})") from None
        return cls.parse(document, source=str(path))

    @classmethod
    def parse(cls, document: object, *, source: str = SHARING_FILE) -> SharingRules:
        if not isinstance(document, dict) or set(document) - {"share"}:
            raise ConfigurationError(f'{source}: expected {{"share": {{"TYPE": ["CC", ...] | "all"}}}}')
        share = document.get("share", {})
        if not isinstance(share, dict):
            raise ConfigurationError(f'{source}: "share" must map record types to states or "all"')
        known = set(PERMISSIONS) | {EVERY_TYPE}
        extra: dict[str, frozenset[str] | str] = {}
        for record_type, states in share.items():
            if record_type not in known and not record_type.startswith("Authority."):
                raise ConfigurationError(f"{source}: share: {record_type!r} is not a record type")
            if states == ALL:
                extra[record_type] = ALL
                continue
            if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
                raise ConfigurationError(f'{source}: share: {record_type}: expected a list of states or "all"')
            codes = frozenset(s.strip().upper() for s in states)
            bad = sorted(codes - ISO_3166_ALPHA2)
            if bad:
                raise ConfigurationError(
                    f"{source}: share: {record_type}: {bad[0]!r} is not an ISO 3166-1 alpha-2 country code")
            extra[record_type] = codes
        return cls(extra)


@dataclass(frozen=True)
class SharingContext:
    """What the policy may consult: the node's state, its trusted partners, its own records.

    ``own_records(stream)`` returns this node's envelopes of ``stream`` in version order
    (``node.registry.envelopes``).
    """

    own_state: str
    partners: frozenset[str]
    own_records: Callable[[str], list[Envelope]]
    rules: SharingRules = field(default_factory=SharingRules)


def recipients(envelope: Envelope, context: SharingContext) -> frozenset[str]:
    """The trusted partners that receive ``envelope`` (one of this node's own records)."""
    by_type = recipients_by_type(envelope.type, context)
    if by_type is not None:
        return by_type
    return _with_rules(_default_recipients(envelope, context), envelope.type, context)


def recipients_by_type(record_type: str, context: SharingContext) -> frozenset[str] | None:
    """The recipients of every record of ``record_type``, or None when they depend on the record.

    Lets the relay route most records without reading them.
    """
    if record_type in _BODY_DEPENDENT or record_type.startswith(_BODY_DEPENDENT_PREFIXES):
        return None
    default = context.partners if record_type.startswith("Authority.") or record_type in _TO_EVERY_PARTNER \
        else frozenset()
    return _with_rules(default, record_type, context)


def _with_rules(default: frozenset[str] | set[str], record_type: str, context: SharingContext) -> frozenset[str]:
    wanted = set(default)
    for key in (record_type, EVERY_TYPE):
        added = context.rules.extra.get(key)
        if added == ALL:
            wanted |= context.partners
        elif added:
            wanted |= added
    return frozenset(wanted & context.partners) - {context.own_state}


_BODY_DEPENDENT_PREFIXES = ("TraceRequest.", "TraceAnswer.")
_BODY_DEPENDENT = frozenset({"Weapon.Exported", "Weapon.ReceiptConfirmed", "Shipment.Opened", "Licence.Issued",
                             "Licence.Revoked", "Weapon.Seized"})


def _default_recipients(envelope: Envelope, context: SharingContext) -> frozenset[str] | set[str]:
    record_type, body = envelope.type, envelope.body
    if record_type.startswith("Authority.") or record_type in _TO_EVERY_PARTNER:
        # Partners cannot verify any record without the certificate of its authority key.
        return context.partners
    if record_type == "Weapon.Exported":
        return {body.get("to_state", ""), *body.get("transit_states", ())}
    if record_type == "Weapon.ReceiptConfirmed":
        return {body.get("from_state", "")}
    if record_type == "Shipment.Opened":
        return {body.get("import_state", ""), *body.get("transit_states", ())}
    if record_type == "Licence.Issued":
        return _authorisation_recipients(body)
    if record_type == "Licence.Revoked":
        return _authorisation_recipients(_first_body(envelope, context, "Licence.Issued"))
    if record_type.startswith("TraceRequest."):
        submitted = body if record_type == "TraceRequest.Submitted" else \
            _first_body(envelope, context, "TraceRequest.Submitted")
        return {submitted.get("addressee", "")}
    if record_type.startswith("TraceAnswer."):
        acknowledged = body if record_type == "TraceAnswer.Acknowledged" else \
            _first_body(envelope, context, "TraceAnswer.Acknowledged")
        return {acknowledged.get("requesting_state", "")}
    if record_type == "Weapon.Seized":
        return _seizure_recipients(envelope, context)
    return set()


def _authorisation_recipients(body: Mapping) -> set[str]:
    # An import authorization or transit no-objection is the exporting state's
    # precondition for its export licence (FP art 10(2)-(3)).
    if body.get("kind") in _AUTHORISATIONS:
        return {body.get("export_state", "")}
    return set()


def _seizure_recipients(envelope: Envelope, context: SharingContext) -> set[str]:
    """The state of manufacture and the state the weapon was last imported from."""
    found: set[str] = set()
    history = [e for e in context.own_records(envelope.stream) if e.version <= envelope.version] or [envelope]
    for record in history:
        marking = record.body.get("marking")
        if isinstance(marking, Mapping) and marking.get("country"):
            found.add(marking["country"])
            break
    imports = [r for r in history if r.type == "Weapon.Imported"]
    if imports:
        found.add(imports[-1].body.get("from_state", ""))
    return found


def _first_body(envelope: Envelope, context: SharingContext, record_type: str) -> Mapping:
    for record in context.own_records(envelope.stream):
        if record.type == record_type:
            return record.body
    return {}
