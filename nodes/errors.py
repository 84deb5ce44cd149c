"""Errors of the node layer (processes, storage, CLI).

Hierarchy::

    NodeError                  root; every failure of a node process
    ├── ConfigurationError     bad settings or environment (missing passphrase, bad --db)
    ├── NodeNotInitialised     no node at ARMSLEDGER_HOME (run ``armsledger init``)
    ├── NodeExists             ``init`` refuses to overwrite a node
    ├── StorageError           the database failed (translated from sqlite3 / psycopg)
    └── ImportFileError        the CSV file itself cannot be read (row errors are reported, not raised)

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


class ImportFileError(NodeError):
    """The import file cannot be read as the documented CSV layout."""
