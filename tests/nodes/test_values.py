"""Ids read from what an officer typed: one id picked by its prefix, with errors that repeat the text."""

import pytest

from domain.errors import InvalidField
from nodes.values import id_prefix, one_by_prefix


def test_a_prefix_matching_one_id_gives_that_id() -> None:
    assert one_by_prefix("ab12", ["ab12cd"], what="weapon", field_name="weapon") == "ab12cd"


def test_a_prefix_matching_nothing_names_what_was_typed() -> None:
    with pytest.raises(InvalidField, match="'zz12'") as refused:
        one_by_prefix("zz12", [], what="weapon", field_name="weapon")
    assert refused.value.field == "weapon"


def test_an_ambiguous_prefix_says_how_many_and_asks_for_more() -> None:
    with pytest.raises(InvalidField, match="2 trace request ids .*type more"):
        one_by_prefix("ab", ["ab1", "ab2"], what="trace request", field_name="trace")


def test_a_typed_prefix_is_trimmed_and_lower_cased() -> None:
    assert id_prefix(" ABCD-12 ", field_name="weapon") == "abcd-12"


@pytest.mark.parametrize("typed", ["abc", "ghij", "", "12 34"])
def test_too_short_or_non_hex_prefixes_are_refused(typed: str) -> None:
    with pytest.raises(InvalidField) as refused:
        id_prefix(typed, field_name="weapon")
    assert refused.value.field == "weapon"
