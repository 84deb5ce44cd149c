"""The strings of the reference table's page (``reference_pages``), in English, merged into
``messages.ENGLISH``; the ids follow the catalogue's rules (docs/desks.md)."""

from __future__ import annotations

REFERENCE_ENGLISH: dict[str, str] = {
    "reference.link": "Reference table of makes, models and calibres",
    "reference.title": "Reference table",
    "reference.intro": "The national table of makes, models, types and calibres that descriptions are matched "
                       "to. A description that matches no entry is recorded all the same and flagged in the "
                       "weapon's history.",
    "reference.text_hint": "Words found in a make, model, type or calibre; 9mm finds 9x19mm.",
    "reference.submit": "Look up",
    "reference.results": "Entries",
    "reference.found": "{count} found, {shown} shown.",
    "reference.none": "No entry matches.",
    "reference.col_id": "Reference id",
    "reference.col_type": "Type",
    "reference.col_country": "Made in",
    "reference.col_source": "Source",
    "field.text": "Text",
}
