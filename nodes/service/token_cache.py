"""Bearer tokens recently found good, kept for a moment so that a busy API client's requests do
not each cost a database query and a hop to a worker thread.

``RememberedTokens`` wraps the accounts the service runs on. A token the accounts accepted is
remembered for ``ttl_s`` seconds (never past its own expiry). Any change to accounts made
through this wrapper (revoking a token, disabling or enabling a user, a new role or password)
forgets every remembered token at once, so a change made in the service (the admin desk, the
API) takes effect on the next request. A change made by another process (``armsledger user
disable`` in a shell) takes effect within ``ttl_s`` seconds. Refused tokens are never
remembered: each refusal is looked up again.
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
#: The accounts' methods that change who a token stands for.
_CHANGES = frozenset({"revoke_token", "disable_user", "enable_user", "set_role", "set_password"})


class RememberedTokens:
    """The accounts (``nodes.accounts.store.Accounts`` or a stand-in), with good tokens remembered."""

    def __init__(self, accounts: Any, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.accounts = accounts
        self.ttl_s = ttl_s
        self._clock, self._wall_clock = clock, wall_clock
        self._good: dict[str, tuple[Officer, float]] = {}
        self._lock = threading.Lock()

    def remembered(self, token: str) -> Officer | None:
        """The officer of ``token`` if it was found good less than ``ttl_s`` ago, else None."""
        key = secret_hash(token)
        with self._lock:
            found = self._good.get(key)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._good[key]
                return None
            return found[0]

    def officer_for_token(self, token: str) -> Officer:
        """The officer of a bearer token (``NotSignedIn`` as the accounts say); remembered when good,
        never past the token's own expiry."""
        officer, expires_at = self.accounts.token_holder(token)
        now = self._clock()
        until = now + min(self.ttl_s, max(0.0, expires_at - self._wall_clock()))
        with self._lock:
            if len(self._good) >= MOST_TOKENS:
                self._good.clear()
            self._good[secret_hash(token)] = (officer, until)
        return officer

    def forget(self) -> None:
        with self._lock:
            self._good.clear()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.accounts, name)
        if name not in _CHANGES:
            return found

        def changing(*args: Any, **kwargs: Any) -> Any:
            try:
                return found(*args, **kwargs)
            finally:
                self.forget()

        return changing
