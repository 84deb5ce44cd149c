"""The person references a record's body holds, wherever they sit in it."""

from __future__ import annotations

from nodes.retention.report import person_references

A, B = "person:" + "A" * 26, "person:" + "B2" * 13


def test_references_are_found_in_nested_maps_and_lists_and_nothing_else_is() -> None:
    body = {"holder": A, "parties": [{"name": "Dealer SA"}, {"person": B}], "note": f"see {A}",
            "count": 3, "short": "person:ABC"}
    assert sorted(person_references(body)) == [A, B]
