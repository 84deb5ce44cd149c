"""How many failed sign-ins are allowed before sign-in is refused for a while, per name and per address.

Failures are rows of ``officer_signin_failures`` in the node's database, so every service
process counts the same ones. Guessing one officer's password from many addresses is
stopped by the count per name; guessing many names from one address by the count per
address. Refused attempts are not counted, so a refusal ends ``window_s`` after the
failure that started it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nodes.accounts.database import Statements
from nodes.accounts.officer import TooManyAttempts

#: Longest address kept (an IPv6 address with a zone is under 64 characters).
MAX_ADDRESS = 64


def name_subject(name: str) -> str:
    return f"user:{name}"


def address_subject(address: str) -> str:
    return f"address:{address.strip()[:MAX_ADDRESS]}"


@dataclass(frozen=True)
class SignInLimits:
    """At most ``max_failures`` failed sign-ins per subject within ``window_s`` seconds."""

    max_failures: int = 5
    window_s: int = 15 * 60

    def check(self, sql: Statements, subjects: Sequence[str], now: int) -> None:
        """``TooManyAttempts`` (with the seconds to wait) if any of ``subjects`` reached the limit."""
        for subject in subjects:
            rows = sql.all("SELECT at FROM officer_signin_failures WHERE subject = ? AND at > ? ORDER BY at DESC",
                           (subject, now - self.window_s))
            if len(rows) >= self.max_failures:
                # Allowed again when the oldest failure that still counts towards the limit leaves the window.
                oldest_counted = int(rows[self.max_failures - 1]["at"])
                wait = max(1, oldest_counted + self.window_s - now)
                what = "this name" if subject.startswith("user:") else "this address"
                raise TooManyAttempts(f"too many failed sign-ins for {what}: try again in {wait} s", wait)

    def record_failure(self, sql: Statements, subjects: Sequence[str], now: int) -> None:
        sql.run("DELETE FROM officer_signin_failures WHERE at <= ?", (now - self.window_s,))
        for subject in subjects:
            sql.run("INSERT INTO officer_signin_failures (subject, at) VALUES (?, ?)", (subject, now))

    def clear(self, sql: Statements, subject: str) -> None:
        """Forget ``subject``'s failures (after it signed in: an address's failures stay counted)."""
        sql.run("DELETE FROM officer_signin_failures WHERE subject = ?", (subject,))
