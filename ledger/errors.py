"""Errors of the ledger layer.

Hierarchy::

    LedgerError                      root of everything this package raises
    ├── EncodingError                bytes that are not canonical msgpack of plain values
    ├── KeyStoreError                missing key file, wrong passphrase, unsafe permissions
    └── VerificationError            evidence did not check out; carries expected/calculated
        ├── SignatureError           Ed25519 signature does not verify
        ├── CertificateError         authority key not certified by the node key
        ├── ChainError               per-stream ``prev`` hash chain broken
        ├── InclusionProofError      RFC 9162 section 2.1.3.2 failed
        ├── ConsistencyProofError    RFC 9162 section 2.1.4.2 failed
        ├── CheckpointError          checkpoint signature or content wrong
        └── NoteError                C2SP signed note, verifier key or cosignature malformed or wrong

Verifiers return ``True`` or raise one of the ``VerificationError`` subclasses;
they never return ``False``, so a forgotten check cannot pass silently.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error raised by ``ledger``."""


class EncodingError(LedgerError):
    """The bytes or value are not canonical msgpack of plain values."""


class KeyStoreError(LedgerError):
    """A key could not be created, loaded or unlocked."""


class VerificationError(LedgerError):
    """A verification failed.

    ``expected`` and ``calculated`` carry the evidence (for example the trusted
    root and the root recomputed from the proof) so that a report can show both.
    """

    def __init__(self, message: str, *, expected: object = None, calculated: object = None):
        super().__init__(message)
        self.expected = expected
        self.calculated = calculated

    def __str__(self) -> str:
        text = super().__str__()
        if self.expected is None and self.calculated is None:
            return text
        return f"{text} (expected {_show(self.expected)}, calculated {_show(self.calculated)})"


class SignatureError(VerificationError):
    """An Ed25519 signature did not verify."""


class CertificateError(VerificationError):
    """An authority certificate is missing, malformed or not signed by the node key."""


class ChainError(VerificationError):
    """A stream's ``prev`` hash chain is broken (edited, deleted or reordered record)."""


class InclusionProofError(VerificationError):
    """An inclusion proof does not lead to the trusted root."""


class ConsistencyProofError(VerificationError):
    """A consistency proof does not link the two trusted roots."""


class CheckpointError(VerificationError):
    """A checkpoint is malformed, badly signed, or disagrees with the log."""


class NoteError(VerificationError):
    """A C2SP signed note, verifier key or witness cosignature is malformed or does not verify."""


def _show(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return repr(value)
