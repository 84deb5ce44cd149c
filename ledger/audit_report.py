"""What an audit of a log reads and reports: stored records, the sealer's leaves, problems found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class ProblemKind(StrEnum):
    ENCODING = "encoding"  # stored bytes are not a canonical envelope
    MISFILED = "misfiled"  # the row's stream, version or topic is not the envelope's
    SIGNATURE = "signature"  # Ed25519 signature does not verify
    CERTIFICATE = "certificate"  # signer not certified (before use), or a bad certificate
    PERMISSION = "permission"  # the signer's authority kind may not record this type
    CHAIN = "chain"  # version gap, out-of-order version, or prev hash mismatch
    CHECKPOINT = "checkpoint"  # a checkpoint is malformed or not signed by the node key
    ROOT = "root"  # the log's Merkle root differs from the latest checkpoint's
    CONSISTENCY = "consistency"  # two checkpoints are not consistent over the log as stored
    DELETED = "deleted"  # a sealed record is missing from the log
    ALTERED = "altered"  # a sealed record is present with another hash
    INSERTED = "inserted"  # a record inside the sealed range that no checkpoint sealed
    MOVED = "moved"  # a sealed record sits at another log index than it was sealed at
    INDEX = "index"  # the sealer's leaf index disagrees with the signed checkpoints
    UNTRUSTED = "untrusted"  # records held of a partner that is not trusted (any more)
    PROJECTION = "projection"  # a read model's row differs from the log projected afresh
    WITNESS = "witness"  # a checkpoint held outside the table (mark, a partner) that the log does not reach
    TRUST = "trust"  # the trust store's files differ from what the node's log records of them
    RETIRED = "retired"  # signed by an authority key at or after the time it was retired from
    MARK = "mark"  # the verified mark of ``verify --since`` is missing, unreadable, altered or forged
    REVOKED = "revoked"  # flagged, not a problem: signed by a key at or after the time it was revoked since


@dataclass(frozen=True)
class Problem:
    """One finding. ``position`` is the record's place in the log (notification id) when known;
    ``partner`` names the state whose record it is when it is a received partner record."""

    stream: str | None
    version: int | None
    position: int | None
    kind: ProblemKind
    reason: str
    partner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "version": self.version, "position": self.position,
                "kind": self.kind.value, "reason": self.reason, "partner": self.partner}

    def __str__(self) -> str:
        where = [f"received from {self.partner}"] if self.partner is not None else []
        if self.stream is not None:
            where.append(f"stream {self.stream}")
        if self.version is not None:
            where.append(f"version {self.version}")
        if self.position is not None:
            where.append(f"position {self.position}")
        return f"[{self.kind.value}] {' '.join(where) + ': ' if where else ''}{self.reason}"


@dataclass(frozen=True)
class AuditReport:
    """What an audit found. ``ok`` holds when there is no problem; unsealed records are not one."""

    events_checked: int
    streams_checked: int
    checkpoint_size: int  # size of the latest well-signed checkpoint (0 if none)
    checkpoints_checked: int
    unsealed: int  # records beyond the latest checkpoint
    problems: tuple[Problem, ...] = field(default=())
    received_checked: int = 0  # partner records held in the inbox
    # Records signed by a key at or after the time it was revoked since (docs/keys.md): listed, kept out
    # of evidence, but no problem of the log.
    flagged: tuple[Problem, ...] = field(default=())
    # Where a verify from the latest checkpoint would resume (``verify --since``): the Merkle frontier of the
    # log at ``checkpoint_size`` and the log position of the last record it covers; empty and None when the
    # audit could not tell (no checkpoint, or records deleted).
    frontier: tuple[bytes, ...] = field(default=())
    covered_position: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def with_problems(self, problems: Iterable[Problem], *, received_checked: int = 0,
                      flagged: Iterable[Problem] = ()) -> AuditReport:
        """A copy with ``problems`` (and ``flagged`` records) added (checks made outside the log audit:
        table rows, the inbox)."""
        return AuditReport(self.events_checked, self.streams_checked, self.checkpoint_size,
                           self.checkpoints_checked, self.unsealed, self.problems + tuple(problems),
                           self.received_checked + received_checked, self.flagged + tuple(flagged),
                           self.frontier, self.covered_position)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "streams_checked": self.streams_checked,
            "checkpoint_size": self.checkpoint_size,
            "checkpoints_checked": self.checkpoints_checked,
            "unsealed": self.unsealed,
            "received_checked": self.received_checked,
            "problems": [p.to_dict() for p in self.problems],
            "flagged": [p.to_dict() for p in self.flagged],
        }


class LogRecord(NamedTuple):
    """A stored record: its log position and envelope bytes, and optionally the row's own
    (stream, version) key and topic column."""

    position: int
    envelope: bytes | None  # None: a damaged row that holds no bytes (reported as unreadable)
    stream: str | None = None
    version: int | None = None
    topic: str | None = None


class SealedLeaf(NamedTuple):
    """One entry of the sealer's leaf index: leaf ``index`` is ``stream`` ``version`` with ``envelope_hash``."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the sealer has always named it
    stream: str
    version: int
    envelope_hash: bytes
