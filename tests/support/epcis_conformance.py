"""GS1's EPCIS 2.0 JSON schema and example documents, read where they live (``../shared/conformance/epcis2``
beside the repository, or ``ARMSLEDGER_CONFORMANCE_DIR``/epcis2) and never copied in; a test that needs
them is skipped, naming the place looked at, when they are absent."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

from nodes.epcis import validation

REPO_ROOT = Path(__file__).resolve().parents[2]


def epcis2_dir() -> Path:
    """The folder of the schema and examples; skips the calling test when it is absent."""
    override = os.environ.get("ARMSLEDGER_CONFORMANCE_DIR")
    base = Path(override) if override else REPO_ROOT / ".." / "shared" / "conformance"
    path = (base / "epcis2").resolve()
    if not (path / "EPCIS-JSON-Schema.json").is_file():
        pytest.skip(f"GS1 EPCIS 2.0 schema not found in {path}: it lives in ../shared/conformance/epcis2 beside "
                    "the repository (or set ARMSLEDGER_CONFORMANCE_DIR)")
    return path


def schema_path() -> Path:
    return epcis2_dir() / "EPCIS-JSON-Schema.json"


def examples() -> list[Path]:
    return sorted((epcis2_dir() / "examples").glob("*.jsonld"))


def example(name: str) -> dict:
    return json.loads((epcis2_dir() / "examples" / name).read_text(encoding="utf-8"))


@functools.cache
def _validator(path: Path):
    return validation.load_schema(path)


def assert_valid(document: dict) -> None:
    """``document`` validates against GS1's schema (with its formats)."""
    found = validation.problems(_validator(schema_path()), document)
    assert found == [], found
