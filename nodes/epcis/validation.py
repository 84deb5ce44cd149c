"""A document checked against GS1's EPCIS 2.0 JSON schema (draft-07, with its formats: date-time, uri).

The schema is not shipped: the caller names the file (``--validate SCHEMA``; the tests read the
copy in ``../shared/conformance/epcis2/``). Export works without it. jsonschema is imported only when a
schema is loaded: every CLI process imports this module, and each worker process imports the CLI again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import InvalidField

if TYPE_CHECKING:
    from jsonschema import Draft7Validator


def load_schema(path: str | Path, field: str = "validate") -> Draft7Validator:
    """A validator of the schema in file ``path``; ``InvalidField`` on ``field`` when it cannot be read."""
    from jsonschema import Draft7Validator, FormatChecker

    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
        Draft7Validator.check_schema(schema)
    except (OSError, ValueError) as e:
        raise InvalidField(f"cannot read the EPCIS schema {str(path)!r}: {e}", field=field) from None
    except Exception as e:  # noqa: BLE001 - jsonschema's SchemaError: the file is JSON but no schema
        raise InvalidField(f"{str(path)!r} is not a JSON schema: {e}", field=field) from None
    return Draft7Validator(schema, format_checker=FormatChecker())


def problems(validator: Draft7Validator, document: Any) -> list[str]:
    """Each place where ``document`` breaks the schema, as ``path: reason`` (none: it validates)."""
    return [f"{_path(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def check(validator: Draft7Validator, document: Any, field: str = "document") -> None:
    """``InvalidField`` on ``field`` naming the first place (the most relevant, as jsonschema ranks
    them) where ``document`` breaks the schema."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(document))
    if error is not None:
        raise InvalidField(f"does not validate against the EPCIS 2.0 schema at {_path(error.absolute_path)}: "
                           f"{error.message[:300]}", field=field)


def _path(parts: Any) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return "$" + text
