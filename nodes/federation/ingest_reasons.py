"""Why ingest quarantines a message: the reasons, which of them wait (parked), and the
quarantine reason for each refusal of the acceptance rule (``ledger.acceptance``)."""

from __future__ import annotations

from ledger.acceptance import Reason, Refusal
from nodes.federation.inbox_records import KIND_ALARM, KIND_ERROR

MALFORMED = "malformed"                 # not a message, envelope or checkpoint
UNTRUSTED = "untrusted-origin"          # origin not in the trust store (parked)
ORIGIN_MISMATCH = "origin-mismatch"     # the envelope or checkpoint is another node's
STREAM_MISMATCH = "stream-mismatch"     # Kafka key is not the envelope's stream: replayed elsewhere
UNCERTIFIED = "uncertified-authority"   # authority key not certified by the origin's node key (parked)
BAD_SIGNATURE = "bad-signature"
NOT_PERMITTED = "not-permitted"         # authority kind may not record this type
BROKEN_CHAIN = "broken-chain"           # version 1 with a prev, or a malformed certificate
FORK = "fork-or-rewrite"                # two histories: alarm
UNPROVEN = "unproven"                   # proved against a checkpoint not kept (yet) (parked)
BAD_PROOF = "bad-proof"                 # inclusion proof does not lead to the kept root
STALE_CHECKPOINT = "stale-checkpoint"   # older than the newest kept, not linkable to it
MISDIRECTED = "misdirected"             # a cosignature of a checkpoint that is not ours
UNVERIFIABLE = "unverifiable"           # a check failed unexpectedly (logged with its traceback)
INVALID_FIELD = "invalid-field"         # out of the domain's schema (domain.schema): the detail names the field
OVERSIZED = "oversized"                 # over the maximum message size: only its hash and size are kept
REACTION_FAILED = "reaction-failed"     # accepted, but our automatic step for it failed (the record is kept)
SPLIT_VIEW = "split-view"               # two checkpoints of one origin and size, both signed by it: alarm
ENDED_KEY = "retired-key"              # signed by a key its node retired by the record's signed time

REASONS = (MALFORMED, UNTRUSTED, ORIGIN_MISMATCH, STREAM_MISMATCH, UNCERTIFIED, BAD_SIGNATURE, NOT_PERMITTED,
           BROKEN_CHAIN, FORK, UNPROVEN, BAD_PROOF, STALE_CHECKPOINT, MISDIRECTED, UNVERIFIABLE, INVALID_FIELD,
           OVERSIZED, REACTION_FAILED, SPLIT_VIEW, ENDED_KEY)
PARKED = frozenset({UNTRUSTED, UNCERTIFIED, UNPROVEN})

_QUARANTINE_REASON = {
    Reason.UNCERTIFIED: UNCERTIFIED,
    Reason.REGISTER: NOT_PERMITTED,
    Reason.CERTIFICATE: BROKEN_CHAIN,
    Reason.SIGNATURE: BAD_SIGNATURE,
    Reason.PERMISSION: NOT_PERMITTED,
    Reason.INCLUSION: BAD_PROOF,
    Reason.ROW: STREAM_MISMATCH,
    Reason.RETIRED: ENDED_KEY,
}


class Refused(Exception):
    """A message refused for ``reason`` (one of ``REASONS``); ``kind`` alarm or error."""

    def __init__(self, reason: str, detail: str, kind: str = KIND_ERROR):
        super().__init__(detail)
        self.reason, self.detail, self.kind = reason, detail, kind

    @classmethod
    def by_rule(cls, refusal: Refusal, what: str) -> Refused:
        """The quarantine of a record the acceptance rule refused (a broken link is a fork: see ``Run``)."""
        if refusal.reason is Reason.CHAIN:
            return cls(FORK, f"{what}: {refusal.detail}: the origin has two histories", KIND_ALARM)
        return cls(_QUARANTINE_REASON[refusal.reason], f"{what}: {refusal.detail}")


class Duplicate(Exception):
    """A message whose content is held already: nothing to record."""
