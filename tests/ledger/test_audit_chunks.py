"""What a verify worker imports: the module it runs (``ledger.audit_chunks``) and no more of the ledger; the
package's names, imported when first used.

A worker's imports are a fixed cost of every verify (``nodes.workers``); the audit, the Merkle tree, the
proofs and ``cryptography``'s key serialization run in the main process only.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules a worker has no use for (each counts with its submodules).
NOT_IN_A_WORKER = ("ledger.audit", "ledger.audit_records", "ledger.audit_checkpoints", "ledger.acceptance",
                   "ledger.merkle", "ledger.proofs", "ledger.checkpoint",
                   "cryptography.hazmat.primitives.serialization")


def test_the_module_a_worker_runs_imports_no_more_of_the_ledger_than_it_needs():
    done = subprocess.run([sys.executable, "-c", "import json, sys, ledger.audit_chunks; "
                                                 "print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=60, check=True)
    loaded = set(json.loads(done.stdout))
    assert {"ledger.audit_chunks", "ledger.envelope", "ledger.keys"} <= loaded
    assert not {m for m in loaded if m in NOT_IN_A_WORKER or m.startswith(tuple(f"{n}." for n in NOT_IN_A_WORKER))}



def test_the_package_names_are_their_modules_objects_imported_when_first_used():
    import importlib

    import ledger

    for name in ledger.__all__:
        assert getattr(ledger, name) is getattr(importlib.import_module(f"ledger.{ledger._MODULE_OF[name]}"), name)
    assert ledger.merkle is importlib.import_module("ledger.merkle")  # a module, as the whole package gave it
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        ledger.nothing  # noqa: B018
