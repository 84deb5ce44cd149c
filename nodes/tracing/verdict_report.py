"""The diversion verdict as a document: the verdict, the evidence it rests on and what was left out.

``armsledger diversion`` and the HTTP API both show this document.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from domain.records import SignedRecord
from ledger.acceptance import CertifiedKey, revoked_words
from nodes.bootstrap import Node
from nodes.tracing.lifecycle import diversion_verdict


def verdict_document(node: Node, weapon_id: UUID | str, *, now: int | None = None) -> dict[str, Any]:
    """The point-of-diversion verdict of ``weapon_id`` on the evidence held here.

    Besides the verdict's own fields: ``unverified`` (partner records not used),
    ``answered`` / ``expected_from`` (states), ``records_by_node``, ``failed`` (this
    node's own records that do not verify and were not used: non-empty means run verify) and
    ``revoked`` (records signed by a key revoked since before they were signed: not used, docs/keys.md).
    """
    verdict, life = diversion_verdict(node, weapon_id, now=int(time.time()) if now is None else now)
    return {**verdict.to_dict(), "unverified": list(life.unverified), "answered": list(life.answered),
            "expected_from": list(life.expected_from),
            "records_by_node": _count_by_node(life.records), "failed": list(life.failed_own),
            "revoked": [_revoked(record, key) for record, key in life.revoked]}


def _revoked(record: SignedRecord, key: CertifiedKey) -> str:
    return (f"{record.node} {record.type} (stream {record.stream} v{record.version}, {record.hash.hex()[:16]}): "
            f"{revoked_words(key)}")


def _count_by_node(records: Iterable[SignedRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        if not record.type.startswith("Authority."):
            counts[record.node] = counts.get(record.node, 0) + 1
    return dict(sorted(counts.items()))
