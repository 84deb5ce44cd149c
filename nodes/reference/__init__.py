"""The national reference table of makes, models, types and calibres (docs/reference-table.md)."""
