"""Who is acting: the officer an HTTP request or a command runs for.

``Officer`` is what the service hands to the application services; its ``user_id`` is
the id the signed body names (field ``officer``), so every record says who made it.
``OPERATOR`` is the node operator at the shell: the CLI acts as it, with the role's
checks left to ``--by`` as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.roles import Right, Role, check_right
from nodes.errors import NodeError


@dataclass(frozen=True)
class Officer:
    user_id: str     # stable account id (a UUID as text); "" for the node operator at the shell
    name: str        # sign-in name, shown in the read audit and on the desks
    role: Role

    def check(self, right: Right) -> None:
        """``domain.errors.NotPermitted`` (field ``role``) unless the role holds ``right``."""
        check_right(self.role, right)


class NotSignedIn(NodeError):
    """No valid credentials: missing, unknown, expired or revoked token or session (HTTP 401)."""


class TooManyAttempts(NodeError):
    """Sign-in refused for a while after repeated failures (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s
