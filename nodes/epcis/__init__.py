"""GS1 EPCIS 2.0 (JSON-LD) for a weapon's chain of custody: export of our signed records as an
EPCISDocument, import of a manufacturer's or customs' document as signed records after the same
rules as the CLI, and the check of a document against GS1's JSON schema (docs/epcis.md)."""
