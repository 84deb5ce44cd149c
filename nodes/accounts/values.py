"""What the accounts store hands out (``UserInfo``, ``TokenInfo``) and the checks of what it is given.

Every check raises ``domain.errors.InvalidField`` naming the field, so the CLI exits 2 and
the API answers 422 saying which input was wrong.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidField
from domain.marking import check_text
from domain.roles import Role

#: A sign-in name: lower case letters, digits and ``. _ @ -``, starting with a letter or digit.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
#: Names that would be mistaken for someone else: the node operator at the shell is "operator".
RESERVED_NAMES = frozenset({"operator"})
MAX_TOKEN_DAYS = 366
MAX_LABEL = 100


def check_name(name: str) -> str:
    """``name`` as stored: NFKC, trimmed, lower case; ``InvalidField`` (field ``name``) if malformed."""
    if type(name) is not str:
        raise InvalidField("a user's name must be text", field="name")
    normal = unicodedata.normalize("NFKC", name).strip().lower()
    if not NAME_PATTERN.fullmatch(normal):
        raise InvalidField(f"{name[:70]!r} is not a user name: 1 to 64 letters a-z, digits and . _ @ -, "
                           "starting with a letter or digit", field="name")
    if normal in RESERVED_NAMES:
        raise InvalidField(f"{normal!r} is reserved for the node operator", field="name")
    return normal


def check_role(role: Role | str) -> Role:
    """``role`` as a ``Role``; ``InvalidField`` (field ``role``) naming the roles otherwise."""
    return Role.parse(role.value if isinstance(role, Role) else role)


def check_days(days: int) -> int:
    if type(days) is not int or not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidField(f"a token lasts 1 to {MAX_TOKEN_DAYS} days, not {days!r}", field="days")
    return days


def check_label(label: str) -> str:
    return check_text(label, "label", required=False, max_length=MAX_LABEL)


def secret_hash(secret: str) -> str:
    """SHA-256 (hex) of a token or session id: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class UserInfo:
    name: str
    user_id: str
    role: Role
    enabled: bool
    created_at: int  # seconds since the epoch

    @classmethod
    def of_row(cls, row: Any) -> UserInfo:
        return cls(name=row["name"], user_id=row["user_id"], role=Role(row["role"]), enabled=bool(row["enabled"]),
                   created_at=int(row["created_at"]))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "user_id": self.user_id, "role": self.role.value, "enabled": self.enabled,
                "created_at": self.created_at}


@dataclass(frozen=True)
class TokenInfo:
    """An API bearer token as listed: never the token itself."""

    token_id: str
    user_name: str
    user_id: str
    label: str
    created_at: int   # seconds since the epoch
    expires_at: int
    revoked_at: int | None

    @classmethod
    def of_row(cls, row: Any) -> TokenInfo:
        revoked = row["revoked_at"]
        return cls(token_id=row["token_id"], user_name=row["name"], user_id=row["user_id"], label=row["label"],
                   created_at=int(row["created_at"]), expires_at=int(row["expires_at"]),
                   revoked_at=None if revoked is None else int(revoked))

    def status(self, now: float) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if now < self.expires_at else "expired"

    def to_dict(self) -> dict[str, Any]:
        return {"token_id": self.token_id, "user": self.user_name, "user_id": self.user_id, "label": self.label,
                "created_at": self.created_at, "expires_at": self.expires_at, "revoked_at": self.revoked_at}
