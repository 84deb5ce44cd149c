"""``armsledger verify``: audit a node's whole store offline.

Reads every stored record in log order, the sealer's checkpoints and leaf
index straight from the database, and runs ``ledger.audit.audit_log`` with the
node's public key only. No passphrase is needed: a locked node can be
verified, and so can a copy of its database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger.audit import AuditReport, LogRecord, Problem, ProblemKind, audit_log
from ledger.checkpoint import Checkpoint
from ledger.errors import CheckpointError


def verify_store(node: Any, *, workers: int | None = None) -> AuditReport:
    """Audit ``node``'s log, checkpoints and leaf index; see ``ledger.audit`` for what is checked.

    ``workers`` as in ``audit_log`` (default: a process pool for large logs).
    Raises ``StorageError`` if the database cannot be read; everything found
    in the data is a ``Problem`` of the report.
    """
    sealer = node.sealer
    checkpoints, row_problems = _checkpoints(sealer.checkpoint_rows())
    report = audit_log(
        _records(node.registry),
        checkpoints,
        node.identity.node_public_key,
        origin=node.identity.state,
        sealed=sealer.sealed_leaves(),
        workers=workers,
    )
    return report.with_problems(row_problems)


def _records(registry: Any) -> Iterator[LogRecord]:
    for position, stored in registry.stored_notifications():
        # The row's own key goes along, so a row holding another row's
        # envelope is named even when the envelope itself is intact.
        yield LogRecord(position, stored.state, str(stored.originator_id), stored.originator_version)


def _checkpoints(rows: list) -> tuple[list[Checkpoint], list[Problem]]:
    """Parse the signed bytes of each row, and check that the plain columns repeat them."""
    checkpoints, problems = [], []
    for row in rows:
        try:
            checkpoint = Checkpoint.from_bytes(row.bytes)
        except CheckpointError as e:
            problems.append(Problem(None, None, None, ProblemKind.CHECKPOINT,
                                    f"checkpoint row of size {row.size} is unreadable: {e}"))
            continue
        differing = [name for name in ("size", "root", "timestamp", "signer", "sig")
                     if getattr(row, name) != getattr(checkpoint, name)]
        if differing:
            problems.append(Problem(None, None, None, ProblemKind.CHECKPOINT,
                                    f"checkpoint row of size {row.size}: column {', '.join(differing)} "
                                    "differs from the signed checkpoint bytes"))
        checkpoints.append(checkpoint)
    return checkpoints, problems
