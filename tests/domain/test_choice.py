"""A word from a closed set: the member, or an error naming the field and every choice."""

import pytest

from domain.authority import AuthorityKind
from domain.choice import parse_choice
from domain.errors import InvalidField
from domain.licence import LicenceKind
from domain.trace import Para22Ground, Priority


@pytest.mark.parametrize("choices, value, member", [
    (AuthorityKind, "police", AuthorityKind.POLICE),
    (LicenceKind, "transit_no_objection", LicenceKind.TRANSIT_NO_OBJECTION),
    (Priority, "urgent", Priority.URGENT),
])
def test_a_listed_value_is_its_member(choices, value, member):
    assert parse_choice(choices, value, field="f", noun="a word") is member


def test_any_other_value_names_the_field_and_every_choice():
    with pytest.raises(InvalidField) as raised:
        parse_choice(Priority, "soon", field="priority", noun="a priority")
    assert raised.value.field == "priority"
    assert str(raised.value) == "priority: 'soon' is not a priority (routine, urgent)"


@pytest.mark.parametrize("parse, field", [
    (lambda v: AuthorityKind.parse(v, field="by"), "by"),
    (LicenceKind.parse, "kind"),
    (Para22Ground.parse, "ground"),
])
def test_each_enum_parse_refuses_an_unknown_word_on_its_field(parse, field):
    with pytest.raises(InvalidField) as raised:
        parse("nonsense")
    assert raised.value.field == field
