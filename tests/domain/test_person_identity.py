"""Holder references and identities: their forms, and the refusals naming the field."""

import datetime

import pytest

from domain.errors import InvalidField
from domain.person import PERSON_PREFIX, Identity, check_person_reference, is_person_reference, new_person_reference

TODAY = datetime.date(2026, 1, 1)


def test_new_references_have_the_form_and_differ():
    refs = {new_person_reference() for _ in range(50)}
    assert len(refs) == 50
    assert all(is_person_reference(r) and r.startswith(PERSON_PREFIX) and len(r) == 7 + 26 for r in refs)


@pytest.mark.parametrize("text", ["", "person:", "person:abc", "Person:" + "A" * 26, "person:" + "A" * 25,
                                  "person:" + "1" * 26, "Anna Meier", None, 12])
def test_what_is_no_reference(text):
    assert not is_person_reference(text)
    with pytest.raises(InvalidField) as refused:
        check_person_reference(text, "to")
    assert refused.value.field == "to"


def test_identity_is_normalised_and_matches_across_spelling():
    a = Identity.of(name="  Anna   Meier ", date_of_birth="1980-02-29", address="Rue 1", today=TODAY)
    b = Identity.of(name="ANNA MEIER", date_of_birth="1980-02-29", id_document="P123", today=TODAY)
    assert a.name == "Anna Meier" and a.id_document == ""
    assert a.matching_key() == b.matching_key()
    assert a.matching_key() != Identity.of(name="Anna Meier", date_of_birth="1980-03-01", today=TODAY).matching_key()


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": "", "date_of_birth": "1980-01-01"}, "name"),
    ({"name": "x" * 201, "date_of_birth": "1980-01-01"}, "name"),
    ({"name": "A\x00B", "date_of_birth": "1980-01-01"}, "name"),
    ({"name": "A", "date_of_birth": "1980-02-30"}, "date_of_birth"),
    ({"name": "A", "date_of_birth": "80-01-01"}, "date_of_birth"),
    ({"name": "A", "date_of_birth": "2027-01-01"}, "date_of_birth"),
    ({"name": "A", "date_of_birth": "1870-01-01"}, "date_of_birth"),
    ({"name": "A", "date_of_birth": "1980-01-01", "address": 5}, "address"),
    ({"name": "A", "date_of_birth": "1980-01-01", "id_document": "y" * 201}, "id_document"),
])
def test_bad_identities_name_the_field(fields, field):
    with pytest.raises(InvalidField) as refused:
        Identity.of(**fields, today=TODAY)
    assert refused.value.field == field
