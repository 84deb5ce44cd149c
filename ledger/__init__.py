"""armsledger's signed, event-sourced ledger: hashing, Merkle tree, proofs and their errors."""

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

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CertificateError",
    "ChainError",
    "CheckpointError",
    "ConsistencyProofError",
    "EncodingError",
    "InclusionProofError",
    "KeyStoreError",
    "LedgerError",
    "MerkleTree",
    "SignatureError",
    "VerificationError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
    "verify_inclusions",
]

# Signed checkpoints and the offline audit of a log.
from .audit import AuditReport, LogRecord, Problem, ProblemKind, SealedLeaf, audit_log  # noqa: E402
from .checkpoint import Checkpoint, envelope_leaf, sign_checkpoint, verify_checkpoint  # noqa: E402

__all__ += [
    "AuditReport",
    "Checkpoint",
    "LogRecord",
    "Problem",
    "ProblemKind",
    "SealedLeaf",
    "audit_log",
    "envelope_leaf",
    "sign_checkpoint",
    "verify_checkpoint",
]
