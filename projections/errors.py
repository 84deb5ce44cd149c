"""Errors of the projections layer.

Hierarchy::

    ProjectionError         root; the read models could not be brought up to date
    ├── TrackingConflict    another process recorded a position at or past this batch's
    │                       meanwhile; the batch was rolled back and nothing was applied twice
    ├── UnreadableLog       the log could not be projected afresh to compare the views with
    │                       (a damaged row: ``armsledger verify`` names it)
    └── MissingRecord       a record of the views' own log is no longer at its position: the row is
                            gone, holds another record or unreadable bytes (the views keep its
                            envelope there: ``armsledger verify`` names what changed)

Refused query input (a malformed weapon id or serial pattern) raises
``domain.errors.InvalidField`` like every other refused input. Database
failures arrive as ``eventsourcing.persistence.PersistenceError`` subclasses;
``nodes.registry.storage.translated_errors`` turns them into the node's ``StorageError``.
"""

from __future__ import annotations


class ProjectionError(Exception):
    """Root of the projection errors."""


class TrackingConflict(ProjectionError):
    """The tracked position was advanced by someone else while this batch was projected."""


class UnreadableLog(ProjectionError):
    """A row of the log could not be read while projecting it afresh (``projections.compare``)."""


class MissingRecord(ProjectionError):
    """A record the views hold is gone from its row of the own log (``projections.store.OwnLog``)."""
