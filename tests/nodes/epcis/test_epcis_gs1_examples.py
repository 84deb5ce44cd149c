"""GS1's fourteen EPCIS 2.0 example documents as self-checks of the schema (each validates, mutated copies do
not), and as input of ``epcis import``'s reading: each is refused naming its event and field, never crashes."""

from __future__ import annotations

import copy

import pytest
from epcis_conformance import example, examples, schema_path

from domain.errors import DomainError
from nodes.epcis import validation
from nodes.epcis.reading import steps_of

EXAMPLES = [
    "AssociationEvent-a.jsonld", "ErrorDeclarationAndCorrectiveEvent.jsonld",
    "Example_9.6.1-ObjectEvent-with-error-declaration.jsonld", "Example_9.6.1-ObjectEvent.jsonld",
    "Example_9.6.1-ObjectEventWithDigitalLink.jsonld", "Example_9.6.2-ObjectEvent.jsonld",
    "Example_9.6.3-AggregationEvent.jsonld", "Example_9.6.3-AggregationEventWithDigitalLink.jsonld",
    "Example_9.6.4-TransformationEvent.jsonld", "Example_9.6.4-TransformationEventWithDigitalLink.jsonld",
    "aggregation_event_all_possible_fields.jsonld", "object_event_all_possible_fields.jsonld",
    "transaction_event_all_possible_fields.jsonld", "transformation_event_all_possible_fields.jsonld",
]


@pytest.fixture(scope="module")
def validator():
    return validation.load_schema(schema_path())


def test_the_fourteen_examples_are_all_there():
    assert [p.name for p in examples()] == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_gs1_example_validates(validator, name):
    assert validation.problems(validator, example(name)) == []


def _first_event(document):
    return document["epcisBody"]["eventList"][0]


MUTATIONS = {
    "no eventTime": lambda d: _first_event(d).pop("eventTime"),
    "action SHIPPED": lambda d: _first_event(d).update(action="SHIPPED"),
    "no @context": lambda d: d.pop("@context"),
    "offset '5 hours'": lambda d: _first_event(d).update(eventTimeZoneOffset="5 hours"),
    "eventTime not a date-time": lambda d: _first_event(d).update(eventTime="3 April 2005"),
    "bizStep an unknown CBV word": lambda d: _first_event(d).update(bizStep="urn:epcglobal:cbv:bizstep:seizing"),
    "epc not a URI": lambda d: _first_event(d).update(epcList=["not a uri"]),
    "source without its type": lambda d: _first_event(d).update(sourceList=[{"source": "urn:x:y"}]),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_mutated_copies_do_not_validate(validator, mutation):
    document = copy.deepcopy(example("Example_9.6.1-ObjectEvent.jsonld"))
    MUTATIONS[mutation](document)
    assert validation.problems(validator, document)
    with pytest.raises(DomainError) as refused:
        validation.check(validator, document)
    assert refused.value.field == "document" and "$" in str(refused.value)


@pytest.mark.parametrize("name", EXAMPLES)
def test_importing_an_example_is_refused_naming_the_event_and_the_field(name):
    # GS1's examples name trade items (SGTIN, SSCC) and events we do not record: the first such event
    # is named with its place in eventList and the field at fault; nothing is half-read.
    with pytest.raises(DomainError) as refused:
        steps_of(example(name))
    message = str(refused.value)
    assert refused.value.field in {"epcList", "childEPCs", "type", "bizStep", "action", "eventList"}, message
    assert "eventList[" in message
