"""The shape of every signed record: header ranges, known types, each body field's type and range.

Derived from the aggregates' event classes (their annotated fields are the body the
envelope mapper signs), so the schema cannot drift from what the node itself records;
only ranges and lengths are declared here. A partner record is checked against it
before it is accepted (``nodes.acceptance.RECORD_SCHEMA``): a record correctly signed by
a trusted partner may still carry a stream that is no UUID or a version no database
column holds, and must be refused naming the field, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any

from domain import event_types as types
from domain.alarm import Alarm
from domain.broker import Broker
from domain.choice import parse_choice
from domain.component import Component
from domain.disclosure import ANSWER_KEY_BYTES, DisclosureAnswer, DisclosureRequest
from domain.erasure import PersonErasure
from domain.errors import InvalidField
from domain.hit import HitNotice
from domain.licence import Licence
from domain.marking import Marking, check_country, check_text
from domain.person import check_person_reference
from domain.shipment import Shipment
from domain.signed_aggregate import MAX_OFFICER_ID, check_officer_id
from domain.trace import Para22Ground, Priority, TraceAnswer, TraceRequest, check_reference
from domain.weapon import Weapon

#: Largest whole number every reader represents exactly (JavaScript, double, BIGINT).
MAX_SAFE_INT = 2**53
#: Longest text field, in characters: free text (circumstances, explanations) fits.
MAX_TEXT = 16_384
#: Most items in a list field (weapons of a shipment, states, a lifecycle fragment).
MAX_ITEMS = 100_000
#: Most entries in a map field (a marking).
MAX_ENTRIES = 64

# Fields of every event that the envelope header carries, not the body (nodes.registry.mapper).
_HEADER_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "occurred_on", "authority",
                            "originator_topic"})


@dataclass(frozen=True)
class Whole:
    """An int (never a bool) with ``low <= value <= high``."""

    low: int = 0
    high: int = MAX_SAFE_INT

    def problem(self, value: Any) -> str | None:
        if type(value) is not int:
            return f"must be an integer, not {type(value).__name__}"
        if not self.low <= value <= self.high:
            return f"{value} is out of range {self.low}..{self.high}"
        return None


@dataclass(frozen=True)
class Text:
    """A str of at most ``max_length`` characters."""

    max_length: int = MAX_TEXT

    def problem(self, value: Any) -> str | None:
        if type(value) is not str:
            return f"must be text, not {type(value).__name__}"
        if len(value) > self.max_length:
            return f"is {len(value)} characters long, over {self.max_length}"
        return None


@dataclass(frozen=True)
class Flag:
    def problem(self, value: Any) -> str | None:
        return None if type(value) is bool else f"must be true or false, not {type(value).__name__}"


@dataclass(frozen=True)
class Raw:
    """Bytes of at most ``max_length``."""

    max_length: int = MAX_TEXT

    def problem(self, value: Any) -> str | None:
        if type(value) is not bytes:
            return f"must be bytes, not {type(value).__name__}"
        return None if len(value) <= self.max_length else f"is {len(value)} bytes long, over {self.max_length}"


@dataclass(frozen=True)
class Items:
    """A list of at most ``MAX_ITEMS``, each satisfying ``item`` (None: any plain value)."""

    item: Text | None = None

    def problem(self, value: Any) -> str | None:
        if type(value) is not tuple:
            return f"must be a list, not {type(value).__name__}"
        if len(value) > MAX_ITEMS:
            return f"has {len(value)} items, over {MAX_ITEMS}"
        if self.item is not None:
            for position, element in enumerate(value):
                problem = self.item.problem(element)
                if problem is not None:
                    return f"item {position} {problem}"
        return None


@dataclass(frozen=True)
class Entries:
    """A map of at most ``MAX_ENTRIES`` text keys to text, whole numbers or nothing (a marking)."""

    def problem(self, value: Any) -> str | None:
        if type(value) is not dict:
            return f"must be a map, not {type(value).__name__}"
        if len(value) > MAX_ENTRIES:
            return f"has {len(value)} entries, over {MAX_ENTRIES}"
        for key, element in value.items():
            if element is None:
                continue
            problem = (_ANY_WHOLE if type(element) is int else _ANY_TEXT).problem(element)
            if problem is not None:
                return f"entry {str(key)[:64]!r} {problem}"
        return None


@dataclass(frozen=True)
class Format:
    """A value of ``kind`` that the domain's own ``check`` accepts (it raises ``InvalidField``)."""

    kind: Whole | Text | Flag | Raw | Items | Entries
    check: Callable[[Any], object]

    def problem(self, value: Any) -> str | None:
        problem = self.kind.problem(value)
        if problem is not None:
            return problem
        try:
            self.check(value)
        except InvalidField as e:
            return str(e.args[0])
        return None


@dataclass(frozen=True)
class MayLack:
    """A field of ``kind`` that a record may lack: its event field has a default because it came
    after records of that type were first signed (a licence's place of issue, FP art 10(3))."""

    kind: Whole | Text | Flag | Raw | Items | Entries | Format

    def problem(self, value: Any) -> str | None:
        return self.kind.problem(value)


Kind = Whole | Text | Flag | Raw | Items | Entries | Format | MayLack

_ANY_WHOLE = Whole(-MAX_SAFE_INT)
_ANY_TEXT = Text()
# What ``str(uuid.UUID(text))`` writes: a text is a UUID in canonical form exactly when it
# matches (``domain.signed_aggregate.canonical_uuid``'s verdict, without making the UUID twice).
_CANONICAL_UUID = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def _spells_uuid(text: Any) -> bool:
    """Whether ``text`` is a str spelling a UUID in its canonical form (lower-case hex, hyphens)."""
    return type(text) is str and _CANONICAL_UUID(text) is not None


def _identifier(value: str) -> None:
    """A UUID in canonical form, or "" where none is given (a first hop's parent, an import without shipment)."""
    if value and not _spells_uuid(value):
        raise InvalidField(f"{value[:64]!r} is not a UUID")


def _country(value: str) -> None:
    """A code ``check_country`` accepts, as it records it (upper case, no spaces)."""
    if check_country(value, "") != value:
        raise InvalidField(f"{value!r} is not written as the code {check_country(value, '')!r}")


def _country_if_given(value: str) -> None:
    if value:
        _country(value)


def _countries(value: tuple[Any, ...]) -> None:
    for state in value:
        if type(state) is not str:
            raise InvalidField(f"holds {type(state).__name__}, not a country code")
        _country(state)


def _marking(value: dict[str, Any]) -> None:
    """A marking ``Marking.read`` accepts: manufacturer, country and serial, as read off the weapon."""
    parts = ("manufacturer", "country", "serial")
    for part in parts:
        if type(value.get(part)) is not str:
            raise InvalidField(f"has no {part}")
    try:
        Marking.read(value["manufacturer"], value["country"], value["serial"])
    except InvalidField as e:
        raise InvalidField(f"{e.field}: {e.args[0]}") from None


def _marking_if_given(value: dict[str, Any]) -> None:
    if value:  # a weapon seized without a readable marking (ITI para 9)
        _marking(value)


def _hash(value: str) -> None:
    """A SHA-256 digest in lower-case hex (a record's hash)."""
    if len(value) != 64 or value.strip("0123456789abcdef"):
        raise InvalidField(f"{value[:64]!r} is not a SHA-256 hash in hex")


def _weapon_type(value: str) -> None:
    """A weapon record's type (what a correction corrects)."""
    if value not in types.WEAPON_EVENT_TYPES:
        raise InvalidField(f"{value[:64]!r} is not a weapon record type")


def _stated(value: str) -> None:
    """Text ``check_text`` accepts as required: not blank, no control characters."""
    check_text(value, "", max_length=MAX_TEXT)


def _priority(value: str) -> None:
    parse_choice(Priority, value, field="priority", noun="a priority")


def _ground(value: str) -> None:
    Para22Ground.parse(value)


def _answer_key(value: bytes) -> None:
    """An X25519 public key (RFC 7748 section 5): 32 bytes."""
    if len(value) != ANSWER_KEY_BYTES:
        raise InvalidField(f"is {len(value)} bytes, not the {ANSWER_KEY_BYTES} of an X25519 public key")

# The kind of each annotation the event classes use; an annotation not here fails at import.
_KINDS: dict[str, Kind] = {
    "str": Text(), "int": Whole(), "bool": Flag(), "bytes": Raw(), "dict[str, Any]": Entries(),
    "tuple[str, ...]": Items(Text()), "tuple[Any, ...]": Items(),
}

# Ranges narrower than the kind's, by field name (the same name means the same thing in every event).
_RANGES: dict[str, Kind] = {
    "year": Whole(0, 9999),
    "import_year": Whole(0, 9999),
    "hop": Whole(1, 10_000),
    "recorded_version": Whole(1, MAX_SAFE_INT),
    "record_version": Whole(1, MAX_SAFE_INT),
    # Envelopes with their proofs (TraceAnswer.Restricted declares tuple[str, ...], yet records these too).
    "fragment": Items(),
    # Business times, like the header's occurred_on, may be before 1970.
    "valid_from": Whole(-MAX_SAFE_INT),
    "valid_until": Whole(-MAX_SAFE_INT),
    "until": Whole(-MAX_SAFE_INT),
    "expected_by": Whole(-MAX_SAFE_INT),
    "inspected_on": Whole(-MAX_SAFE_INT),
    "due_on": Whole(-MAX_SAFE_INT),
}

# Formats the domain's own checks give, by field name (the same name means the same thing in every event).
_FORMATS: dict[str, Callable[[Any], object]] = {
    "weapon_id": _identifier, "shipment": _identifier, "parent": _identifier, "next_trace": _identifier,
    "from_weapon": _identifier,
    "requesting_state": _country, "answering_state": _country, "addressee": _country, "to_state": _country,
    "from_state": _country, "issuer_state": _country, "state": _country, "confirmed_by_state": _country,
    "recording_state": _country, "reporting_state": _country, "reported_record": _hash,
    # A licence for holding names no export or import state.
    "export_state": _country_if_given, "import_state": _country_if_given,
    "transit_states": _countries, "partners": _countries, "marking": _marking, "priority": _priority, "ground": _ground,
}
# Where one event's field is looser than the name's format.
_FORMATS_OF: dict[tuple[str, str], Callable[[Any], object]] = {
    (types.SEIZED, "marking"): _marking_if_given, (types.HIT_NOTICE_SENT, "marking"): _marking_if_given,
    (types.COMPONENT_REPLACED, "removed"): _identifier, (types.COMPONENT_REPLACED, "installed"): _identifier,
    (types.CORRECTED, "record"): _hash, (types.CORRECTED, "record_type"): _weapon_type,
    (types.REPORTED_LOST, "marking"): _marking_if_given, (types.REPORTED_STOLEN, "marking"): _marking_if_given,
    # A deactivation certificate names the weapon as on record: a weapon seized without a readable marking too.
    (types.DEACTIVATED, "marking"): _marking_if_given,
    # What a trace request must state (ITI para 17), as TraceRequest.submit requires it.
    (types.TRACE_SUBMITTED, "circumstances"): _stated, (types.TRACE_SUBMITTED, "legal_basis"): _stated,
    (types.TRACE_SUBMITTED, "intended_use"): _stated,
    (types.TRACE_SUBMITTED, "reference"): check_reference,
    (types.ALARM_SETTLED, "entry"): _hash, (types.ALARM_SETTLED, "reason"): _stated,
    # A disclosure names a holder reference, states why, and commits to what it releases.
    (types.DISCLOSURE_REQUESTED, "person"): check_person_reference, (types.DISCLOSURE_REQUESTED, "purpose"): _stated,
    (types.DISCLOSURE_REQUESTED, "legal_basis"): _stated, (types.DISCLOSURE_REQUESTED, "answer_key"): _answer_key,
    (types.DISCLOSURE_RELEASED, "person"): check_person_reference, (types.DISCLOSURE_RELEASED, "commitment"): _hash,
    (types.DISCLOSURE_REFUSED, "person"): check_person_reference, (types.DISCLOSURE_REFUSED, "reason"): _stated,
}

#: Body fields every record type may carry, and may lack: they came after records were first
#: signed, so older records (ours and partners') have none. ``officer``: the account id of the
#: officer who recorded it, "" for the node operator (domain.signed_aggregate).
OPTIONAL_BODY: dict[str, Kind] = {"officer": Format(Text(MAX_OFFICER_ID), check_officer_id)}

#: Body fields a record type gained after records of it were first signed: older records lack them.
#: A loss or theft report now carries the weapon's marking and description (``domain.weapon``).
_DESCRIBED = frozenset({"marking", "type", "make", "model", "calibre", "year"})
OLDER_RECORDS_LACK: dict[str, frozenset[str]] = {types.REPORTED_LOST: _DESCRIBED, types.REPORTED_STOLEN: _DESCRIBED}

#: The body field holding the state whose authority records the event (``authority.state`` in the
#: aggregate's command): it must be the signing node's state.
SIGNER_STATE: dict[str, str] = {
    types.TRACE_SUBMITTED: "requesting_state", types.TRACE_ACKNOWLEDGED: "answering_state",
    types.EXPORTED: "from_state", types.IMPORTED: "import_state", types.SEIZED: "state",
    types.SHIPMENT_OPENED: "export_state", types.LICENCE_ISSUED: "issuer_state",
    types.HIT_NOTICE_SENT: "recording_state", types.BROKER_REGISTERED: "issuer_state",
    types.DISCLOSURE_REQUESTED: "requesting_state", types.DISCLOSURE_RELEASED: "answering_state",
    types.DISCLOSURE_REFUSED: "answering_state",
}

#: Header fields other than the body, with their ranges (``version``: a database column holds it).
HEADER: dict[str, Kind] = {
    "version": Whole(1, MAX_SAFE_INT),
    "occurred_on": Whole(-MAX_SAFE_INT),
    "recorded_at": Whole(0),
    "node": Text(64),
    "authority": Text(256),
}


@dataclass(frozen=True)
class RecordSchema:
    """Per record type, its body fields and their kinds."""

    bodies: Mapping[str, Mapping[str, Kind]]
    #: Per record type, what ``check`` walks: the body fields allowed (``OPTIONAL_BODY`` too), and each
    #: field's (name, kind, whether a record may lack it), in the order of ``bodies``.
    _layouts: dict[str, tuple[frozenset[str], tuple[tuple[str, Kind, bool], ...]]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layouts = {}
        for record_type, fields in self.bodies.items():
            may_lack = OLDER_RECORDS_LACK.get(record_type, frozenset())
            layouts[record_type] = (frozenset(fields) | frozenset(OPTIONAL_BODY), tuple(
                (name, kind, isinstance(kind, MayLack) or name in may_lack) for name, kind in fields.items()))
        object.__setattr__(self, "_layouts", layouts)

    @classmethod
    def of(cls, aggregates: Iterable[type]) -> RecordSchema:
        """The schema of every event class nested in ``aggregates`` that has its own ``TOPIC``.

        Raises ``TypeError`` for a field annotation with no kind here (add it to ``_KINDS``).
        """
        bodies: dict[str, dict[str, Kind]] = {}
        for aggregate in aggregates:
            for event in vars(aggregate).values():
                topic = vars(event).get("TOPIC") if isinstance(event, type) else None
                if isinstance(topic, str) and not topic.endswith(".Event"):
                    bodies[topic] = _body_of(event)
        return cls(bodies)

    def check(self, *, stream: str, type: str, body: Mapping[str, Any], **header: Any) -> None:
        """Raise ``InvalidField`` naming the first field out of the schema: ``stream`` (a UUID in
        its canonical form), the ``HEADER`` fields given, ``type`` (known), then each body field
        (its kind, then its format; ``OPTIONAL_BODY`` and ``OLDER_RECORDS_LACK`` fields only when present),
        then, when ``node``
        is given, the ``SIGNER_STATE`` field."""
        if not _spells_uuid(stream):
            raise InvalidField(f"{str(stream)[:64]!r} is not a UUID", field="stream")
        for name, value in header.items():
            kind = HEADER.get(name)
            problem = kind.problem(value) if kind is not None else None
            if problem is not None:
                raise InvalidField(problem, field=name)
        layout = self._layouts.get(type)
        if layout is None:
            raise InvalidField(f"{str(type)[:64]!r} is not a known record type", field="type")
        allowed, fields = layout
        if not allowed.issuperset(body):
            unknown = sorted(str(name)[:64] for name in set(body) - allowed)
            raise InvalidField(f"{type} has no such field", field=f"body.{unknown[0]}")
        for name, kind in OPTIONAL_BODY.items():
            problem = kind.problem(body[name]) if name in body else None
            if problem is not None:
                raise InvalidField(problem, field=f"body.{name}")
        for name, kind, may_lack in fields:
            if name in body:
                problem = kind.problem(body[name])
                if problem is not None:
                    raise InvalidField(problem, field=f"body.{name}")
            elif not may_lack:
                raise InvalidField(f"{type} requires it", field=f"body.{name}")
        signer = SIGNER_STATE.get(type)
        if signer is not None and "node" in header and body[signer] != header["node"]:
            raise InvalidField(f"is {body[signer]!r}, yet {str(header['node'])[:64]!r} signed it",
                               field=f"body.{signer}")


def _body_of(event: type) -> dict[str, Kind]:
    fields: dict[str, Kind] = {}
    for klass in reversed(event.__mro__):
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if (name in _HEADER_FIELDS or name in OPTIONAL_BODY or name.startswith("_")
                    or str(annotation).startswith("ClassVar")):
                continue
            kind = _KINDS.get(str(annotation))
            if kind is None:
                raise TypeError(f"{event.__qualname__}.{name}: no schema kind for annotation {annotation!r}")
            kind = _RANGES.get(name, kind)
            check = _FORMATS_OF.get((getattr(event, "TOPIC", ""), name), _FORMATS.get(name))
            fields[name] = kind if check is None or isinstance(kind, Format | MayLack) else Format(kind, check)
            if _has_default(event, name):
                fields[name] = MayLack(fields[name])  # type: ignore[arg-type]  # _KINDS and _RANGES hold no MayLack
    return fields


def _has_default(event: type, name: str) -> bool:
    declared = getattr(event, "__dataclass_fields__", {}).get(name)
    return declared is not None and (declared.default is not MISSING or declared.default_factory is not MISSING)


def domain_schema() -> RecordSchema:
    """The schema of the domain's aggregates (the node layer adds its register of authorities)."""
    return RecordSchema.of((Weapon, Shipment, Licence, TraceRequest, TraceAnswer, HitNotice, Broker, Component,
                              PersonErasure, Alarm, DisclosureRequest, DisclosureAnswer))
