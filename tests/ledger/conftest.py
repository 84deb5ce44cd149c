"""Fixtures of the ledger tests: the third-party conformance vectors.

The vectors are not part of this repository and are never copied into it: they
live in ``../shared/conformance`` beside the repository root, or wherever
ARMSLEDGER_CONFORMANCE_DIR points. When they are missing, every test that
needs them is skipped with a reason naming the place looked at.

A test taking ``inclusion_case``, ``consistency_case``, ``inclusion_probe`` or
``consistency_probe`` runs once per entry of that list in
``rfc6962/vectors.json``, with the entry's ``origin`` file as its id.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# pytest's default import mode puts tests/ on sys.path (tests/conftest.py is
# not inside a package), and there this folder, tests/ledger, passes for a
# namespace package named ``ledger`` that hides the real one. A regular
# package anywhere on sys.path wins over a namespace portion, so putting the
# repository root on it makes ``import ledger`` find ledger/__init__.py.
# (Best done once for the whole suite: pythonpath = ["."] in pyproject.toml.)
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

RFC6962_VECTORS = Path("rfc6962") / "vectors.json"
SIGNED_NOTE_VECTORS = Path("signed-note") / "vectors.json"

# Test argument -> list in rfc6962/vectors.json that it is parametrized over.
_RFC6962_PARAMETERS = {
    "inclusion_case": "inclusion",
    "consistency_case": "consistency",
    "inclusion_probe": "inclusion_probes",
    "consistency_probe": "consistency_probes",
}


def _conformance_path() -> Path:
    override = os.environ.get("ARMSLEDGER_CONFORMANCE_DIR")
    if override:
        return Path(override).resolve()
    return (REPO_ROOT / ".." / "shared" / "conformance").resolve()


def _not_found(path: Path) -> str:
    return (
        f"conformance vectors not found at {path}: they live in ../shared/conformance beside "
        "the repository (or set ARMSLEDGER_CONFORMANCE_DIR)"
    )


@functools.cache
def _load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The folder of third-party conformance vectors; skips the test if it is absent."""
    path = _conformance_path()
    if not path.is_dir():
        pytest.skip(_not_found(path))
    return path


@pytest.fixture(scope="session")
def rfc6962_vectors(conformance_dir: Path) -> dict:
    """The RFC 6962 / RFC 9162 Merkle tree vectors (transparency-dev/merkle), parsed."""
    return _vectors(conformance_dir / RFC6962_VECTORS)


def _vectors(path: Path) -> dict:
    """The JSON file at ``path``, parsed; skips the test, naming the path, when it is absent."""
    if not path.is_file():
        pytest.skip(_not_found(path))
    return _load_json(path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argname, key in _RFC6962_PARAMETERS.items():
        if argname not in metafunc.fixturenames:
            continue
        path = _conformance_path() / RFC6962_VECTORS
        if not path.is_file():
            skipped = pytest.param(None, marks=pytest.mark.skip(reason=_not_found(path)))
            metafunc.parametrize(argname, [skipped], ids=["vectors-missing"])
            continue
        cases = _load_json(path)[key]
        ids = [case["origin"].removeprefix("testdata/").removesuffix(".json") for case in cases]
        metafunc.parametrize(argname, cases, ids=ids)


@pytest.fixture(scope="session")
def signed_note_vectors(conformance_dir: Path) -> dict:
    """The C2SP signed-note vectors (Go's golang.org/x/mod/sumdb/note tests, transparency-dev/formats), parsed."""
    return _vectors(conformance_dir / SIGNED_NOTE_VECTORS)
