"""Errors of the node layer (processes, storage, CLI).

Hierarchy::

    NodeError                  root; every failure of a node process
    ├── ConfigurationError     bad settings or environment (missing passphrase, bad --db)
    ├── NodeNotInitialised     no node at ARMSLEDGER_HOME (run ``armsledger init``)
    ├── NodeExists             ``init`` refuses to overwrite a node
    ├── StorageError           the database failed (translated from sqlite3 / psycopg)
    ├── TransportError         the Kafka broker failed or is unreachable (translated from kafka)
    │   └── TransportReset     the broker lost records we relied on (restart of a memory broker)
    ├── ImportFileError        the CSV file itself cannot be read (row errors are reported, not raised)
    └── NodeFileDamaged        node.json or a key file is unreadable, or disagrees with the node's own log

``domain.errors.DomainError`` (refused input, exit 2) and
``ledger.errors.VerificationError`` (exit 1) pass through unchanged.
"""

from __future__ import annotations


class NodeError(Exception):
    """Root of the node errors."""


class ConfigurationError(NodeError):
    """Settings or environment are missing or malformed."""


class NodeNotInitialised(NodeError):
    """There is no node at the configured home."""


class NodeExists(NodeError):
    """``init`` found an existing node and refuses to overwrite it."""


class StorageError(NodeError):
    """The database failed; the message says what, the cause is chained."""


class TransportError(NodeError):
    """The message transport failed: broker unreachable, refused or timed out, or the local
    broker could not start; the message says what, the cause is chained."""


class TransportReset(TransportError):
    """The broker no longer holds what the caller's position refers to (it lost its memory,
    or the topic was deleted and re-created): the caller must re-sync from its own log.

    ``topic`` names the topic, ``topic_id`` is its identity now (None if it is gone).
    """

    def __init__(self, message: str, topic: str, topic_id: str | None) -> None:
        super().__init__(message)
        self.topic = topic
        self.topic_id = topic_id


class ImportFileError(NodeError):
    """The import file cannot be read as the documented CSV layout."""


class NodeFileDamaged(NodeError):
    """A file of the node's identity (``node.json``, a key file) is damaged, replaced or altered:
    unreadable, or not what the node's own log certifies. The message names the file."""
