"""The desk strings of a corrected record on a weapon's timeline, merged into the English catalogue
(``nodes.service.desks.messages.ENGLISH``) like every other desk string."""

from __future__ import annotations

CORRECTIONS_ENGLISH: dict[str, str] = {
    "correction.corrected": "corrected {date} by the {kind} authority: {values} (reason: {reason})",
}
