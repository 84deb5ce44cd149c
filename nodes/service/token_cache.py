"""Bearer tokens recently found good, kept for a moment so that a busy API client's requests do
not each cost a database query and a hop to a worker thread.

``RememberedTokens`` wraps the accounts the service runs on. A token the accounts accepted is
remembered for ``ttl_s`` seconds (never past its own expiry). Any write the accounts made
since (revoking a token, disabling or enabling a user, a new role or password, whatever method
made it: ``Accounts.changes`` moves) forgets every remembered token at once, so a change made
in the service (the admin desk, the API) takes effect on the next request. A change made by
another process (``armsledger user disable`` in a shell) takes effect within ``ttl_s`` seconds.
Refused tokens are never remembered: each refusal is looked up again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from nodes.accounts.officer import Officer
from nodes.accounts.values import secret_hash

#: How long a good token is remembered.
TTL_S = 2.0
#: Most tokens remembered; past it, all are forgotten (bounded memory under many clients).
MOST_TOKENS = 10_000


class RememberedTokens:
    """The accounts (``nodes.accounts.store.Accounts`` or a stand-in), with good tokens remembered."""

    def __init__(self, accounts: Any, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.accounts = accounts
        self.ttl_s = ttl_s
        self._clock, self._wall_clock = clock, wall_clock
        self._good: dict[str, tuple[Officer, float]] = {}
        self._changes_seen = accounts.changes
        self._lock = threading.Lock()

    def remembered(self, token: str) -> Officer | None:
        """The officer of ``token`` if it was found good less than ``ttl_s`` ago, else None."""
        key = secret_hash(token)
        with self._lock:
            self._forget_if_changed()
            found = self._good.get(key)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._good[key]
                return None
            return found[0]

    def officer_for_token(self, token: str) -> Officer:
        """The officer of a bearer token (``NotSignedIn`` as the accounts say); remembered when good,
        never past the token's own expiry, and not when the accounts changed while it was looked up."""
        before = self.accounts.changes
        officer, expires_at = self.accounts.token_holder(token)
        now = self._clock()
        until = now + min(self.ttl_s, max(0.0, expires_at - self._wall_clock()))
        with self._lock:
            self._forget_if_changed()
            if self._changes_seen != before:  # a change landed during the look-up: it may be stale
                return officer
            if len(self._good) >= MOST_TOKENS:
                self._good.clear()
            self._good[secret_hash(token)] = (officer, until)
        return officer

    def _forget_if_changed(self) -> None:
        if self.accounts.changes != self._changes_seen:
            self._good.clear()
            self._changes_seen = self.accounts.changes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.accounts, name)
