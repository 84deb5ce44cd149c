"""armsledger's signed, event-sourced ledger: hashing, Merkle tree, proofs and their errors.

The names below are imported from their modules when first used (PEP 562), not with the package: a
worker process that imports one module of it (``ledger.audit_chunks``: parse and verify) does not also
import the audit, the Merkle tree and the proofs (``nodes.workers``: its start is a cost of every verify).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audit import AuditReport, LogRecord, Problem, ProblemKind, SealedLeaf, audit_log
    from .checkpoint import Checkpoint, envelope_leaf, sign_checkpoint, verify_checkpoint
    from .errors import (
        CertificateError,
        ChainError,
        CheckpointError,
        ConsistencyProofError,
        EncodingError,
        InclusionProofError,
        KeyStoreError,
        LedgerError,
        SignatureError,
        VerificationError,
    )
    from .hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
    from .merkle import MerkleTree, consistency_proof, inclusion_proof, merkle_root
    from .proofs import verify_consistency, verify_inclusion, verify_inclusions

_MODULE_OF = {
    **dict.fromkeys(("CertificateError", "ChainError", "CheckpointError", "ConsistencyProofError", "EncodingError",
                     "InclusionProofError", "KeyStoreError", "LedgerError", "SignatureError", "VerificationError"),
                    "errors"),
    **dict.fromkeys(("EMPTY_ROOT", "HASH_SIZE", "leaf_hash", "node_hash"), "hashing"),
    **dict.fromkeys(("MerkleTree", "consistency_proof", "inclusion_proof", "merkle_root"), "merkle"),
    **dict.fromkeys(("verify_consistency", "verify_inclusion", "verify_inclusions"), "proofs"),
    # Signed checkpoints and the offline audit of a log.
    **dict.fromkeys(("AuditReport", "LogRecord", "Problem", "ProblemKind", "SealedLeaf", "audit_log"), "audit"),
    **dict.fromkeys(("Checkpoint", "envelope_leaf", "sign_checkpoint", "verify_checkpoint"), "checkpoint"),
}

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AuditReport",
    "CertificateError",
    "ChainError",
    "Checkpoint",
    "CheckpointError",
    "ConsistencyProofError",
    "EncodingError",
    "InclusionProofError",
    "KeyStoreError",
    "LedgerError",
    "LogRecord",
    "MerkleTree",
    "Problem",
    "ProblemKind",
    "SealedLeaf",
    "SignatureError",
    "VerificationError",
    "audit_log",
    "consistency_proof",
    "envelope_leaf",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_inclusions",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        # A module of the package (``ledger.merkle``), as an import of the whole package used to make it.
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
