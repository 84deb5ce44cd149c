"""The read audit: who read what and why, in an append-only, hash-chained, node-sealed log.

``log.ReadAudit`` appends and lists entries; ``check`` verifies them offline for
``armsledger verify``. The protocol and its limits: docs/read-audit.md.
"""
