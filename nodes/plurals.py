"""Counts in words, for the CLI's and the desks' sentences: "1 record", "2 records", "1 entry", "3 entries"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` followed by ``noun`` when it is 1, else by ``plural`` (default: ``noun`` + "s")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
