"""The schema of signed records (domain.schema): derived from the event classes, with ranges; a table of
values that hold and values that must be refused, each naming its field."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, strategies as st

from domain.errors import InvalidField
from domain.schema import MAX_SAFE_INT, RecordSchema, domain_schema
from domain.trace import TraceRequest
from domain.weapon import Weapon

SCHEMA = domain_schema()
STREAM = str(uuid.uuid4())
STOLEN = {"place": "Gent", "circumstances": "burglary"}
MARKING = {"manufacturer": "ACME", "country": "BE", "serial": "A1"}
SUBMITTED = {"requesting_state": "BE", "addressee": "NL", "weapon_id": STREAM, "marking": MARKING,
             "type": "pistol", "calibre": "9mm", "circumstances": "found", "legal_basis": "CPP", "intended_use": "x",
             "priority": "routine", "parent": "", "hop": 1}


def check(stream=STREAM, type="Weapon.ReportedStolen", body=None, **header):
    SCHEMA.check(stream=stream, type=type, body=STOLEN if body is None else body, **header)


def test_every_event_class_of_the_aggregates_has_its_annotated_fields_as_body():
    for aggregate in (Weapon, TraceRequest):
        for event in vars(aggregate).values():
            if isinstance(event, type) and "TOPIC" in vars(event) and not event.TOPIC.endswith(".Event"):
                declared = {n for n in event.__annotations__ if not n.startswith("_")}
                assert declared <= set(SCHEMA.bodies[event.TOPIC]), event.TOPIC
    # SUBMITTED is a request signed before requests carried the reference entry (which it may lack)
    assert set(SCHEMA.bodies["TraceRequest.Submitted"]) == set(SUBMITTED) | {"reference"}
    assert "Weapon.Event" not in SCHEMA.bodies and len(SCHEMA.bodies) == 47


HOLDING = [
    dict(),
    dict(version=1, occurred_on=-100, recorded_at=0),
    dict(version=MAX_SAFE_INT),
    dict(type="TraceRequest.Submitted", body=SUBMITTED),
    dict(type="TraceRequest.Submitted", body={**SUBMITTED, "marking": {**MARKING, "digits": None, "n": 3}}),
    # formats: "" where the domain lets a value out, the signer's own state, a seized weapon without marking
    dict(type="TraceRequest.Submitted", body={**SUBMITTED, "parent": STREAM, "hop": 2, "priority": "urgent"},
         node="BE"),
    dict(type="TraceAnswer.Delayed", body={"ground": "national-security", "explanation": "", "expected_by": 1}),
    dict(type="Weapon.Seized", body={"marking": {}, "type": "", "make": "", "model": "", "calibre": "", "place": "",
                                     "state": "NL", "circumstances": "", "flags": ()}, node="NL"),
]
SUBMITTED_AS = dict(type="TraceRequest.Submitted")

REFUSED = [  # (field named, the record)
    ("stream", dict(stream="not-a-uuid")),
    ("stream", dict(stream=STREAM.upper())),
    ("stream", dict(stream=STREAM.replace("-", ""))),
    ("version", dict(version=0)),
    ("version", dict(version=MAX_SAFE_INT + 1)),
    ("version", dict(version=2**63 + 5)),
    ("version", dict(version=True)),
    ("recorded_at", dict(recorded_at=-1)),
    ("node", dict(node="X" * 65)),
    ("type", dict(type="Weapon.Exploded")),
    ("type", dict(type="Weapon.Event")),
    ("body.place", dict(body={"circumstances": ""})),
    ("body.place", dict(body={**STOLEN, "place": 3})),
    ("body.place", dict(body={**STOLEN, "place": b"Gent"})),
    ("body.circumstances", dict(body={**STOLEN, "circumstances": "x" * 20_000})),
    ("body.extra", dict(body={**STOLEN, "extra": ""})),
    ("body.hop", dict(type="TraceRequest.Submitted", body={**SUBMITTED, "hop": 0})),
    ("body.hop", dict(type="TraceRequest.Submitted", body={**SUBMITTED, "hop": 2**64})),
    ("body.hop", dict(type="TraceRequest.Submitted", body={**SUBMITTED, "hop": "1"})),
    ("body.hop", dict(type="TraceRequest.Submitted", body={**SUBMITTED, "hop": False})),
    ("body.marking", dict(type="TraceRequest.Submitted", body={**SUBMITTED, "marking": ("A",)})),
    ("body.marking", dict(type="TraceRequest.Submitted", body={**SUBMITTED, "marking": {"serial": {"x": 1}}})),
    ("body.marking", dict(type="TraceRequest.Submitted",
                          body={**SUBMITTED, "marking": {str(i): "" for i in range(65)}})),
    ("body.year", dict(type="Weapon.Manufactured", body={"marking": MARKING, "type": "", "make": "", "model": "",
                                                         "calibre": "", "year": 10_000, "holder": ""})),
    ("body.transit_states", dict(type="Shipment.Opened", body={
        "export_licence": "", "import_authorization": "", "transit_no_objections": (), "export_state": "",
        "import_state": "", "transit_states": ("NL", 3), "consignee": "", "weapons": ()})),
    ("body.transit_states", dict(type="Shipment.Opened", body={
        "export_licence": "", "import_authorization": "", "transit_no_objections": (), "export_state": "",
        "import_state": "", "transit_states": ("NL", "XX"), "consignee": "", "weapons": ()})),
    ("body.weapon_id", dict(**SUBMITTED_AS, body={**SUBMITTED, "weapon_id": "not-a-uuid"})),
    ("body.weapon_id", dict(**SUBMITTED_AS, body={**SUBMITTED, "weapon_id": STREAM.upper()})),
    ("body.parent", dict(**SUBMITTED_AS, body={**SUBMITTED, "parent": "garbage", "hop": 2})),
    ("body.marking", dict(**SUBMITTED_AS, body={**SUBMITTED, "marking": {"manufacturer": "ACME", "country": "BE"}})),
    ("body.marking", dict(**SUBMITTED_AS, body={**SUBMITTED, "marking": {**MARKING, "country": "QQ"}})),
    ("body.marking", dict(**SUBMITTED_AS, body={**SUBMITTED, "marking": {**MARKING, "serial": "--"}})),
    ("body.marking", dict(**SUBMITTED_AS, body={**SUBMITTED, "marking": {**MARKING, "serial": 1}})),
    ("body.addressee", dict(**SUBMITTED_AS, body={**SUBMITTED, "addressee": "be"})),
    ("body.priority", dict(**SUBMITTED_AS, body={**SUBMITTED, "priority": "whenever"})),
    ("body.legal_basis", dict(**SUBMITTED_AS, body={**SUBMITTED, "legal_basis": "  "})),
    ("body.circumstances", dict(**SUBMITTED_AS, body={**SUBMITTED, "circumstances": "found\x00"})),
    ("body.requesting_state", dict(**SUBMITTED_AS, body={**SUBMITTED, "requesting_state": "FR"}, node="BE")),
    ("body.requesting_state", dict(**SUBMITTED_AS, body=SUBMITTED, node="NL")),
    ("body.ground", dict(type="TraceAnswer.Refused", body={"ground": "whim", "explanation": ""})),
    ("body.state", dict(type="Weapon.Seized", body={"marking": {}, "type": "", "make": "", "model": "",
                                                    "calibre": "", "place": "", "state": "BE", "circumstances": "",
                                                    "flags": ()}, node="NL")),
]


@pytest.mark.parametrize("record", HOLDING)
def test_records_in_the_schema_hold(record):
    check(**record)


@pytest.mark.parametrize("field, record", REFUSED, ids=[f"{f}-{i}" for i, (f, _) in enumerate(REFUSED)])
def test_records_out_of_the_schema_are_refused_naming_the_field(field, record):
    with pytest.raises(InvalidField) as refused:
        check(**record)
    assert refused.value.field == field


def test_an_annotation_without_a_kind_cannot_enter_the_schema():
    class Odd:
        class Happened:
            TOPIC = "Odd.Happened"
            __annotations__ = {"when": "float"}

    with pytest.raises(TypeError, match="Odd.Happened.when"):
        RecordSchema.of([Odd])
    print(f"{len(HOLDING) + len(REFUSED)} schema cases")


UUID_SPELLINGS = [STREAM, STREAM.upper(), STREAM.replace("-", ""), "{" + STREAM + "}", "urn:uuid:" + STREAM,
                  STREAM[:-1] + "g", STREAM[:-1] + "\u0661", " " + STREAM[1:], STREAM + "\n", "", 3, None,
                  str(uuid.UUID(int=0)), str(uuid.UUID(int=2**128 - 1))]


@pytest.mark.parametrize("text", UUID_SPELLINGS, ids=[f"spelling-{i}" for i in range(len(UUID_SPELLINGS))])
def test_the_stream_is_a_uuid_exactly_where_the_domain_reads_one_in_canonical_form(text):
    from domain.signed_aggregate import canonical_uuid

    try:
        check(stream=text)
    except InvalidField as refused:
        assert refused.field == "stream"
        assert canonical_uuid(text) is None
    else:
        assert canonical_uuid(text) is not None


@given(st.text(alphabet="0123456789abcdefABCDEF-{}: g\u0661", min_size=30, max_size=40))
def test_any_text_is_a_stream_exactly_when_the_domain_reads_it_as_a_canonical_uuid(text):
    from domain.signed_aggregate import canonical_uuid

    refused = None
    try:
        check(stream=text)
    except InvalidField as e:
        refused = e.field
    assert (refused == "stream") == (canonical_uuid(text) is None)


def test_a_field_older_records_lack_may_be_absent_and_is_checked_when_present():
    check(body=STOLEN)  # a theft report signed before reports carried the weapon's description
    with pytest.raises(InvalidField) as refused:
        check(body={**STOLEN, "year": "1990"})
    assert refused.value.field == "body.year"
