"""Point of diversion: where a weapon left legal custody, read from its federated lifecycle.

DESIGN.md "Tracing and the point of diversion". ``analyse`` joins the records of
every node we hold about one weapon (its own stream, the shipments it travelled
in, the licences they cite) and returns a ``Verdict``: the rule that fired, the
last legal custodian, place and time, the evidence (envelope hashes and origin
nodes) and one sentence a court or tracing officer can read.

Pure: no I/O. The caller passes envelopes it has verified already (on ingest or
in a trace response, ITI para 20); nothing here checks signatures or chains.

Rules, in order of precedence; the first that fires names the verdict, the
others that fire too are listed in ``Verdict.other_rules``. The order puts the
explanation that pins the break of custody most precisely (and most
authoritatively) first, and the rules that only infer a break afterwards:

1. ``record-after-destruction`` / ``record-after-deactivation``: a record dated
   after a certified destruction, or after a deactivation (FP art 9) other than
   its lawful sequels (marking, destruction). The certificate is the state's own
   signed word that the weapon left circulation, so that body is necessarily the
   last legal custodian and anything earlier is superseded: the weapon was back
   in official hands when certified.
2. ``export-never-confirmed``: an export that no state ever confirmed receiving
   (FP art 10(4)), and the weapon was found (seized) later or the export is
   ``overdue_days`` old. It pins the break to one transit leg between two named
   states; a seizure elsewhere (which rule 5 sees too) and a theft report during
   the leg (rule 4) are its consequences. A shipment that some state did confirm
   is not "never confirmed": rule 3 reports it as a deviation.
3. ``route-or-consignee-deviation``: receipt confirmed (or import recorded) by a
   state other than the export's destination; a seizure during transit in a
   state off the licensed route; an export whose consignee differs from the
   import authorization's, or whose destination or transit states differ from
   the export licence's (FP art 10(2)-(3)). The shipment is accounted for, but
   not where the licence put it.
4. ``lost-or-stolen``: a loss or theft report with no later recovery: the report
   itself names the holder, place and date at which custody ended, which rule 5
   can only infer.
5. ``no-export-from-last-legal-state``: seized in state S while its last legal
   custody was in another state L (held there, reported missing there, or in
   transit from there) and no export from L led to S: S is neither the
   destination nor a transit state of an open export from L.
6. ``tampered-marking``: seized with a marking that differs from the marking at
   manufacture (or import), has obliterated characters (``?``, ITI para 9) or is
   flagged so. Altering a marking defeats tracing (ITI para 8) and proves
   diversion, but does not locate it: custody up to the seizure looks intact.
7. ``no-legal-custody-on-record``: no record proves the weapon was ever in legal
   custody before it was found (or no record is held at all): untraceable so far.
8. ``no-diversion-found``: the weapon is in legal custody (or lawfully in
   transit, deactivated or destroyed); the verdict says where.

Evidence is incomplete when a state we asked has not answered (``expected_from``),
when an export went to a state that we hold no records from and that has not
answered a trace (``answered``), or when the last legal custody lies in such a
state. The verdict then has ``complete=False``, lists what is ``missing``, and its
sentence says it cannot yet say; it never names a custodian beyond what the
records held show.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Callable, Iterable

from domain.marking import UNKNOWN_CHARACTER, normalise
from domain.time import format_time
from ledger.envelope import Envelope

SECONDS_PER_DAY = 86_400
DEFAULT_OVERDUE_DAYS = 90

MANUFACTURED, IMPORTED, EXPORTED = "Weapon.Manufactured", "Weapon.Imported", "Weapon.Exported"
RECEIPT, TRANSFERRED, MARKED = "Weapon.ReceiptConfirmed", "Weapon.Transferred", "Weapon.Marked"
LOST, STOLEN, RECOVERED = "Weapon.ReportedLost", "Weapon.ReportedStolen", "Weapon.Recovered"
SEIZED, CONFISCATED = "Weapon.Seized", "Weapon.Confiscated"
DEACTIVATED, DESTROYED = "Weapon.Deactivated", "Weapon.Destroyed"
SHIPMENT_OPENED, SHIPMENT_RECEIPT = "Shipment.Opened", "Shipment.ReceiptConfirmed"
LICENCE_ISSUED, AUTHORITY_CERTIFIED = "Licence.Issued", "Authority.Certified"

# What may lawfully follow a deactivation: the deactivation mark and final destruction.
_LAWFUL_AFTER_DEACTIVATION = frozenset({MARKED, DESTROYED, DEACTIVATED})
# Records by the destination state that only a lawful holder there can make: proof of arrival.
_LAWFUL_IN_DESTINATION = frozenset({IMPORTED, RECEIPT, TRANSFERRED, EXPORTED})
# Seizure flags that report a tampered marking (weapon flags are free text from the seizing officer).
_TAMPER_WORDS = ("tamper", "obliterat", "altered", "marking")


class Rule(str, Enum):
    """Stable identifiers of the rules, in order of precedence."""

    RECORD_AFTER_DESTRUCTION = "record-after-destruction"
    RECORD_AFTER_DEACTIVATION = "record-after-deactivation"
    EXPORT_NEVER_CONFIRMED = "export-never-confirmed"
    ROUTE_OR_CONSIGNEE_DEVIATION = "route-or-consignee-deviation"
    LOST_OR_STOLEN = "lost-or-stolen"
    NO_EXPORT_FROM_LAST_LEGAL_STATE = "no-export-from-last-legal-state"
    TAMPERED_MARKING = "tampered-marking"
    NO_LEGAL_CUSTODY_ON_RECORD = "no-legal-custody-on-record"
    NO_DIVERSION_FOUND = "no-diversion-found"


@dataclass(frozen=True)
class Custodian:
    holder: str
    state: str


@dataclass(frozen=True)
class Evidence:
    """One envelope the verdict rests on, by hash and origin node."""

    hash: str
    node: str
    stream: str
    type: str
    version: int

    @classmethod
    def of(cls, envelope: Envelope) -> Evidence:
        return cls(envelope.hash.hex(), envelope.node, envelope.stream, envelope.type, envelope.version)


@dataclass(frozen=True)
class Missing:
    """Evidence not held: a state that has not answered, or whose records we lack."""

    state: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    weapon_id: str
    rule: Rule
    last_legal_custodian: Custodian | None
    place: str
    occurred_on: int | None
    evidence: tuple[Evidence, ...]
    sentence: str
    complete: bool
    missing: tuple[Missing, ...] = ()
    other_rules: tuple[Rule, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``occurred_on`` as epoch seconds and as ISO 8601 UTC)."""
        custodian = self.last_legal_custodian
        return {
            "weapon_id": self.weapon_id,
            "rule": self.rule.value,
            "last_legal_custodian": None if custodian is None else vars(custodian).copy(),
            "place": self.place,
            "occurred_on": self.occurred_on,
            "occurred_on_utc": None if self.occurred_on is None else format_time(self.occurred_on),
            "evidence": [vars(e).copy() for e in self.evidence],
            "sentence": self.sentence,
            "complete": self.complete,
            "missing": [vars(m).copy() for m in self.missing],
            "other_rules": [r.value for r in self.other_rules],
        }


def analyse(
    weapon_id: str, records: Iterable[Envelope], *, now: int, expected_from: tuple[str, ...] = (),
    answered: tuple[str, ...] = (), licences: Iterable[Envelope] = (), overdue_days: int = DEFAULT_OVERDUE_DAYS,
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
    life = _Lifecycle(str(weapon_id), records, licences, answered)
    analysis = _Analysis(life, _walk(life), now, overdue_days * SECONDS_PER_DAY)
    findings = [f for f in (rule(analysis) for rule in _RULES) if f is not None]
    finding = findings[0] if findings else _current_custody(analysis)
    missing = _missing(life, finding, expected_from)
    name = f"weapon {life.name}"
    if missing:
        waiting = [m.state for m in missing if m.reason == _UNANSWERED]
        lacking = [m.state for m in missing if m.reason != _UNANSWERED]
        gaps = ([f"waiting for {_and(waiting)}"] if waiting else []) + (
            [f"no records held from {_and(lacking)}"] if lacking else [])
        sentence = (f"Cannot yet say where {name} left legal custody ({'; '.join(gaps)}): on the records "
                    f"held so far it {finding.text}.")
    else:
        sentence = f"{name[0].upper()}{name[1:]} {finding.text}."
    return Verdict(
        weapon_id=life.weapon_id, rule=finding.rule, last_legal_custodian=finding.custodian, place=finding.place,
        occurred_on=finding.occurred_on, evidence=tuple(Evidence.of(e) for e in life.ordered(finding.evidence)),
        sentence=sentence, complete=not missing, missing=missing,
        other_rules=tuple(f.rule for f in findings[1:] if f.rule is not finding.rule),
    )


# --- the evidence held ------------------------------------------------------------


def _order(envelope: Envelope) -> tuple:
    # Business time first, recording time to break ties; node, stream and version
    # only make the order total so that verdicts do not depend on input order.
    return (envelope.occurred_on, envelope.recorded_at, envelope.node, envelope.stream, envelope.version)


class _Lifecycle:
    """The weapon's records from every node, in business-time order, with their context."""

    def __init__(self, weapon_id: str, records: Iterable[Envelope], licences: Iterable[Envelope],
                 answered: Iterable[str]):
        records = list({r.hash: r for r in records}.values())
        self.weapon_id = weapon_id
        weapon = [r for r in records if r.stream == weapon_id and r.type.startswith("Weapon.")]
        shipments = {str(r.body.get("shipment", "")) for r in weapon} - {""}
        related = [r for r in records if r.type in (SHIPMENT_OPENED, SHIPMENT_RECEIPT) and (
            r.stream in shipments or weapon_id in map(str, r.body.get("weapons", ())))]
        self.timeline = sorted(weapon + related, key=_order)
        self.position = {r.hash: i for i, r in enumerate(self.timeline)}
        self.heard = {r.node for r in self.timeline} | set(answered)
        self.names = {str(r.body.get("key_id")): str(r.body.get("name", "")) for r in records
                      if r.type == AUTHORITY_CERTIFIED}
        self.licences = {(str(r.body.get("issuer_state") or r.node), str(r.body.get("kind")),
                          normalise(str(r.body.get("number")))): r
                         for r in (*licences, *records) if r.type == LICENCE_ISSUED}
        source = next((r for r in self.timeline if r.type in (MANUFACTURED, IMPORTED) and r.body.get("marking")),
                      None)
        self.marked_at = source    # the record of the marking as applied (manufacture, else import)
        self.original_marking = dict(source.body["marking"]) if source is not None else None
        marking = self.original_marking or next(
            (dict(r.body["marking"]) for r in self.timeline if r.body.get("marking")), None)
        self.name = (f"{marking.get('manufacturer', '').upper()} {marking.get('country', '')} "
                     f"{marking.get('serial', '')}" if marking else weapon_id)

    def ordered(self, envelopes: Iterable[Envelope | None]) -> list[Envelope]:
        unique = {e.hash: e for e in envelopes if e is not None}
        return sorted(unique.values(), key=lambda e: self.position.get(e.hash, -1))

    def after(self, envelope: Envelope, *types: str) -> list[Envelope]:
        later = self.timeline[self.position[envelope.hash] + 1:]
        return [r for r in later if not types or r.type in types]

    def licence(self, issuer: str, kind: str, number: str) -> Envelope | None:
        return self.licences.get((issuer, kind, normalise(number or "")))

    def authority(self, envelope: Envelope, role: str) -> str:
        """The certified name of the record's authority, else its role and state."""
        return self.names.get(envelope.authority) or f"the {role} of {envelope.node}"

    def shipment_opened(self, export: Envelope) -> Envelope | None:
        return next((r for r in self.timeline if r.type == SHIPMENT_OPENED
                     and r.stream == export.body.get("shipment")), None)

    def arrivals(self, export: Envelope) -> list[tuple[Envelope, str]]:
        """Records proving the export arrived somewhere, with the state each places it in.

        A receipt or import naming the shipment (from whichever state), or, when
        the record names no shipment, a lawful record by the destination after
        the export (the destination's import of a weapon whose papers lacked the
        shipment number is still its arrival).
        """
        shipment, destination = str(export.body.get("shipment", "")), str(export.body.get("to_state", ""))
        found = []
        for record in self.timeline:
            named = str(record.body.get("shipment", "")) if record.stream == self.weapon_id else record.stream
            if record.type == SHIPMENT_RECEIPT and shipment and named == shipment:
                found.append((record, str(record.body.get("confirmed_by_state", ""))))
            elif record.type in (RECEIPT, IMPORTED) and shipment and named == shipment:
                found.append((record, str(record.body.get("import_state") or record.node)))
            elif (record.type in _LAWFUL_IN_DESTINATION and record.node == destination and not named
                  and self.position[record.hash] > self.position[export.hash]):
                found.append((record, destination))
        return found


# --- custody, record by record ------------------------------------------------------


@dataclass(frozen=True)
class _Custody:
    """Where the weapon stood in law: status, last legal custodian, and the record proving it."""

    status: str = "unrecorded"   # held | in-transit | missing | seized | deactivated | destroyed
    holder: str = ""
    state: str = ""
    proof: Envelope | None = None
    transit: Envelope | None = None

    @property
    def custodian(self) -> Custodian | None:
        return Custodian(self.holder, self.state) if self.proof is not None else None


def _walk(life: _Lifecycle) -> list[_Custody]:
    """Custody before each record of ``life.timeline``; the last entry is custody now."""
    custody = [_Custody()]
    for record in life.timeline:
        custody.append(_step(custody[-1], record, life))
    return custody


def _step(c: _Custody, r: Envelope, life: _Lifecycle) -> _Custody:
    body, kind = r.body, r.type
    if kind == MANUFACTURED:
        return _Custody("held", str(body.get("holder", "")), r.node, r)
    if kind == IMPORTED:
        return _Custody("held", str(body.get("holder", "")), str(body.get("import_state") or r.node), r)
    if kind in (RECEIPT, SHIPMENT_RECEIPT):
        state = r.node if kind == RECEIPT else str(body.get("confirmed_by_state", ""))
        if kind == SHIPMENT_RECEIPT and c.status != "in-transit":
            return c
        known = c.holder if c.status == "held" and c.state == state else (
            str(c.transit.body.get("consignee", "")) if c.transit is not None else "")
        return _Custody("held", str(body.get("received_by") or known), state, r)
    if kind == TRANSFERRED:
        return _Custody("held", str(body.get("to_holder", "")), r.node, r)
    if kind == EXPORTED:
        origin = str(body.get("from_state") or r.node)
        holder = c.holder if c.state == origin else ""
        if not holder:  # the export licence was issued to the exporting holder (FP art 10(2))
            licence = life.licence(origin, "export_licence", str(body.get("licence", "")))
            holder = str(licence.body.get("holder", "")) if licence is not None else ""
        return _Custody("in-transit", holder, origin, r, transit=r)
    if kind in (LOST, STOLEN):
        return replace(c, status="missing")
    if kind == RECOVERED:
        return _Custody("held", str(body.get("holder") or c.holder), r.node, r)
    if kind == SEIZED:
        return _Custody("seized", life.authority(r, "seizing authority"), str(body.get("state") or r.node), r)
    if kind == CONFISCATED:
        return replace(c, status="seized", proof=r)
    if kind == DEACTIVATED:
        return replace(c, status="deactivated", state=r.node, proof=r)
    if kind == DESTROYED:
        return _Custody("destroyed", life.authority(r, "destruction authority"), r.node, r)
    if kind == MARKED and c.status in ("held", "seized", "deactivated") and c.state == r.node:
        return replace(c, proof=r)
    return c


# --- the rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    rule: Rule
    custodian: Custodian | None
    place: str
    occurred_on: int | None
    evidence: tuple[Envelope | None, ...]
    text: str   # the predicate: "Weapon X <text>."


@dataclass(frozen=True)
class _Analysis:
    life: _Lifecycle
    custody: list[_Custody]      # custody[i] is custody before life.timeline[i]
    now: int
    overdue_seconds: int

    def before(self, record: Envelope) -> _Custody:
        return self.custody[self.life.position[record.hash]]

    def after(self, record: Envelope) -> _Custody:
        return self.custody[self.life.position[record.hash] + 1]

    def records(self, *types: str) -> list[Envelope]:
        return [r for r in self.life.timeline if r.type in types]


def _record_after_end_of_life(a: _Analysis) -> _Finding | None:
    ended: Envelope | None = None
    for record in a.life.timeline:
        if not record.type.startswith("Weapon."):
            continue
        if ended is not None and (ended.type == DESTROYED or record.type not in _LAWFUL_AFTER_DEACTIVATION):
            destroyed = ended.type == DESTROYED
            body = a.life.authority(ended, "destruction authority" if destroyed else "deactivation body")
            process = "destruction" if destroyed else "deactivation"
            return _Finding(
                Rule.RECORD_AFTER_DESTRUCTION if destroyed else Rule.RECORD_AFTER_DEACTIVATION,
                Custodian(body, ended.node), ended.node, ended.occurred_on,
                (a.before(ended).proof, ended, record),
                f"left legal custody after its {process} by {body} in {ended.node} on {_date(ended)}"
                f"{_certificate(ended)}, and was diverted from the {process} process: it was later {_describe(record)}")
        if record.type in (DESTROYED, DEACTIVATED):
            ended = record
    return None


def _export_never_confirmed(a: _Analysis) -> _Finding | None:
    for export in a.records(EXPORTED):
        if a.life.arrivals(export):
            continue
        found = next(iter(a.life.after(export, SEIZED)), None)
        if found is None and a.now - export.occurred_on < a.overdue_seconds:
            continue
        custody = a.after(export)
        destination = str(export.body.get("to_state", ""))
        consequence = (f", and it was later {_describe(found)}" if found is not None
                       else f" within {a.overdue_seconds // SECONDS_PER_DAY} days")
        return _Finding(
            Rule.EXPORT_NEVER_CONFIRMED, custody.custodian, f"in transit {_route(export)}", export.occurred_on,
            (a.before(export).proof, export, a.life.shipment_opened(export), found),
            f"{_left_by_export(custody, export)} and was diverted in transit or at destination: "
            f"{destination} never confirmed receipt{consequence}")
    return None


def _route_or_consignee_deviation(a: _Analysis) -> _Finding | None:
    for export in a.records(EXPORTED):
        deviation = _deviation(a, export)
        if deviation is not None:
            place, detail, evidence = deviation
            custody = a.after(export)
            return _Finding(
                Rule.ROUTE_OR_CONSIGNEE_DEVIATION, custody.custodian, place, export.occurred_on,
                (a.before(export).proof, export, a.life.shipment_opened(export), *evidence),
                f"{_left_by_export(custody, export)} and deviated from its licence: {detail}")
    return None


def _deviation(a: _Analysis, export: Envelope) -> tuple[str, str, tuple[Envelope, ...]] | None:
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
            return (destination, f"export licence {licence.body.get('number')} is for {licensed_to}, not "
                    f"{destination}", (licence,))
        off_route = [s for s in transit if s not in licensed_via]
        if off_route:
            return (_and(off_route), f"it was routed via {_and(off_route)}, but export licence "
                    f"{licence.body.get('number')} allows transit only via {_and(licensed_via) or 'no state'}",
                    (licence,))
    if authorization is not None:
        authorised = str(authorization.body.get("consignee", ""))
        if authorised and consignee and normalise(authorised) != normalise(consignee):
            return (destination, f"the export names consignee {consignee}, but import authorization "
                    f"{authorization.body.get('number')} of {destination} authorises {authorised}", (authorization,))
    arrivals = a.life.arrivals(export)
    for arrival, state in arrivals:
        if state != destination:
            return (state, f"{_describe(arrival)} (not {destination})", (arrival,))
    if arrivals:
        allowed = {origin, destination, *(tuple(licence.body.get("transit_states", ())) if licence else transit)}
        arrived = a.life.position[arrivals[0][0].hash]
        for seizure in a.life.after(export, SEIZED):
            state = str(seizure.body.get("state") or seizure.node)
            if a.life.position[seizure.hash] < arrived and state not in allowed:
                return (_place(seizure), f"during transit it was {_describe(seizure)}, off the licensed route "
                        f"{_route(export)}", (seizure, arrivals[0][0]))
    return None


def _lost_or_stolen(a: _Analysis) -> _Finding | None:
    for report in a.records(LOST, STOLEN):
        if a.life.after(report, RECOVERED):
            continue
        custody = a.before(report)
        how = "lost" if report.type == LOST else "stolen"
        found = next(iter(a.life.after(report, SEIZED)), None)
        holder = custody.custodian or Custodian("", report.node)
        return _Finding(
            Rule.LOST_OR_STOLEN, Custodian(holder.holder, holder.state or report.node), _place(report),
            report.occurred_on, (custody.proof, report, found),
            f"left the legal custody of {_holder(holder.holder)} in {holder.state or report.node} when reported "
            f"{how} ({_place(report)}) on {_date(report)}, and was never recovered"
            + (f"; it was later {_describe(found)}" if found is not None else ""))
    return None


def _no_export_from_last_legal_state(a: _Analysis) -> _Finding | None:
    for seizure in a.records(SEIZED):
        custody = a.before(seizure)
        state = str(seizure.body.get("state") or seizure.node)
        # Any custody counts, in transit and missing too: the exception is the open export's own route.
        on_route = custody.transit is not None and state in (
            str(custody.transit.body.get("to_state", "")), *custody.transit.body.get("transit_states", ()))
        if custody.proof is not None and custody.state and custody.state != state and not on_route:
            return _Finding(
                Rule.NO_EXPORT_FROM_LAST_LEGAL_STATE, custody.custodian, custody.state, custody.proof.occurred_on,
                (custody.proof, seizure),
                f"left the legal custody of {_holder(custody.holder)} in {custody.state} after "
                f"{_date(custody.proof)}: it was later {_describe(seizure)}, with no export from {custody.state} "
                f"to {state} on record")
    return None


def _tampered_marking(a: _Analysis) -> _Finding | None:
    original = a.life.original_marking
    for seizure in a.records(SEIZED):
        seen = dict(seizure.body.get("marking") or {})
        flags = [str(f) for f in seizure.body.get("flags", ()) if any(w in str(f).lower() for w in _TAMPER_WORDS)]
        shown = " ".join(str(seen.get(k, "")) for k in ("manufacturer", "country", "serial")).strip()
        if flags:
            detail = f"the seizing authority flagged {', '.join(flags)}"
        elif any(UNKNOWN_CHARACTER in str(v) for v in seen.values()):
            detail = f"its marking reads {shown}, with obliterated characters"
        elif original and seen and _marking_key(seen) != _marking_key(original):
            when = "manufacture" if a.life.marked_at.type == MANUFACTURED else "import"
            detail = (f"its marking reads {shown}, not {original.get('manufacturer')} {original.get('country')} "
                      f"{original.get('serial')} as marked at {when}")
        else:
            continue
        custody = a.before(seizure)
        source = a.life.marked_at
        if custody.proof is None:
            return _Finding(Rule.TAMPERED_MARKING, None, _place(seizure), None, (source, seizure),
                            f"was {_describe(seizure)} with a tampered marking ({detail}); no legal custody of it "
                            "is on record")
        return _Finding(
            Rule.TAMPERED_MARKING, custody.custodian, custody.state, custody.proof.occurred_on,
            (source, custody.proof, seizure),
            f"left the legal custody of {_holder(custody.holder)} in {custody.state} after {_date(custody.proof)} "
            f"and its marking was tampered with: it was {_describe(seizure)} and {detail}")
    return None


def _no_legal_custody_on_record(a: _Analysis) -> _Finding | None:
    weapon = [r for r in a.life.timeline if r.type.startswith("Weapon.")]
    if not weapon:
        return _Finding(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, "", None, (),
                        "has no record held by any node")
    if weapon[0].type == SEIZED:
        return _Finding(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, _place(weapon[0]), None, (weapon[0],),
                        f"has no record of legal custody: it was first recorded when {_describe(weapon[0])}")
    if a.custody[-1].proof is None:  # e.g. only marks are held: nothing says who holds it
        return _Finding(Rule.NO_LEGAL_CUSTODY_ON_RECORD, None, "", None, tuple(weapon),
                        "has no record of legal custody among the records held")
    return None


def _current_custody(a: _Analysis) -> _Finding:
    """No rule fired: where the weapon lawfully is now (``no-diversion-found``)."""
    c = a.custody[-1]
    proof = c.proof
    assert proof is not None  # _no_legal_custody_on_record fires whenever no record proves custody
    since = _date(proof)
    if c.status == "in-transit":
        text = (f"is in legal custody: in transit {_route(proof)} since {since} (shipment "
                f"{proof.body.get('shipment')}), receipt not yet overdue (after {a.overdue_seconds // SECONDS_PER_DAY} "
                "days)")
        place = f"in transit {_route(proof)}"
    elif c.status == "destroyed":
        text, place = f"was destroyed by {c.holder} in {c.state} on {since}{_certificate(proof)}", c.state
    elif c.status == "deactivated" and proof.type == DEACTIVATED:
        text = f"was deactivated in {c.state} on {since}{_certificate(proof)} and is held by {_holder(c.holder)}"
        place = c.state
    else:
        text, place = f"is in legal custody: held by {_holder(c.holder)} in {c.state} (last record {since})", c.state
    return _Finding(Rule.NO_DIVERSION_FOUND, c.custodian, place, proof.occurred_on, (proof,), text)


_RULES: tuple[Callable[[_Analysis], _Finding | None], ...] = (
    _record_after_end_of_life, _export_never_confirmed, _route_or_consignee_deviation, _lost_or_stolen,
    _no_export_from_last_legal_state, _tampered_marking, _no_legal_custody_on_record,
)


# --- what is missing ----------------------------------------------------------------

_UNANSWERED = "has not answered the trace request yet"


def _missing(life: _Lifecycle, finding: _Finding, expected_from: tuple[str, ...]) -> tuple[Missing, ...]:
    missing = {s: Missing(s, _UNANSWERED) for s in expected_from}
    for export in (r for r in life.timeline if r.type == EXPORTED):
        destination = str(export.body.get("to_state", ""))
        if destination and destination not in life.heard and destination not in missing \
                and not life.arrivals(export):
            missing[destination] = Missing(destination, (
                f"no records held from {destination}, destination of shipment {export.body.get('shipment')} "
                f"exported from {export.body.get('from_state') or export.node} on {_date(export)}, and "
                f"{destination} has not answered a trace"))
    custodian = finding.custodian
    if custodian is not None and custodian.state and custodian.state not in life.heard \
            and custodian.state not in missing:
        missing[custodian.state] = Missing(custodian.state, (
            f"no records held from {custodian.state}, where the weapon was last in legal custody"))
    return tuple(missing.values())


# --- words --------------------------------------------------------------------------


def _date(record: Envelope) -> str:
    return format_time(record.occurred_on)


def _and(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + (" and " + items[-1] if items else "")


def _holder(holder: str) -> str:
    return holder or "a holder not on record"


def _marking_key(marking: dict) -> tuple[str, str, str]:
    return (normalise(str(marking.get("manufacturer", ""))), str(marking.get("country", "")).upper(),
            normalise(str(marking.get("serial", ""))))


def _certificate(record: Envelope) -> str:
    certificate = record.body.get("certificate")
    return f" (certificate {certificate})" if certificate else ""


def _route(export: Envelope) -> str:
    via = tuple(export.body.get("transit_states", ()))
    return (f"from {export.body.get('from_state') or export.node} to {export.body.get('to_state')}"
            + (f" via {_and(via)}" if via else ""))


def _place(record: Envelope) -> str:
    state = str(record.body.get("state") or record.node)
    place = str(record.body.get("place", "") or "")
    return f"{place}, {state}" if place else state


def _left_by_export(custody: _Custody, export: Envelope) -> str:
    consignee = export.body.get("consignee")
    return (f"left the legal custody of {_holder(custody.holder)} in {custody.state} when exported "
            f"{_route(export)} on {_date(export)} (shipment {export.body.get('shipment')}"
            + (f", consignee {consignee})" if consignee else ")"))


_VERBS = {
    MANUFACTURED: "manufactured", IMPORTED: "imported", RECEIPT: "received (receipt confirmed)",
    TRANSFERRED: "transferred", MARKED: "marked", LOST: "reported lost", STOLEN: "reported stolen",
    RECOVERED: "recovered", CONFISCATED: "confiscated", DEACTIVATED: "deactivated", DESTROYED: "destroyed",
    SHIPMENT_RECEIPT: "received (shipment receipt confirmed)",
}


def _describe(record: Envelope) -> str:
    """What a record says happened, where and when: "seized in FR (Lille) on 2024-...Z"."""
    if record.type == SEIZED:
        place = record.body.get("place")
        return (f"seized in {record.body.get('state') or record.node}" + (f" ({place})" if place else "")
                + f" on {_date(record)}")
    if record.type == EXPORTED:
        return f"exported {_route(record)} on {_date(record)}"
    state = record.body.get("confirmed_by_state") if record.type == SHIPMENT_RECEIPT else record.node
    return f"{_VERBS.get(record.type, record.type)} in {state} on {_date(record)}"
