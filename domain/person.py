"""Private holders: the identity of a natural person, and the reference that stands for it in records.

A natural person appears in a signed body only as a holder reference, ``person:`` followed by
26 base32 characters of 16 random bytes; the identity behind it stays in the node's identity
vault (``nodes.persons.vault``). The reference is random, not derived from the identity: once
the identity is erased, nothing links the reference to a name (docs/personal-data.md).
"""

from __future__ import annotations

import base64
import datetime
import re
import secrets
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidField, NotPermitted, PersonErased, UnknownPerson
from domain.roles import Role

__all__ = [
    "PERSON_PREFIX",
    "SUBJECT_ACCESS_ROLES",
    "Identity",
    "PersonErased",
    "UnknownPerson",
    "check_person_reference",
    "check_subject_access",
    "is_person_reference",
    "new_person_reference",
]

PERSON_PREFIX = "person:"
_REFERENCE = re.compile(r"person:[A-Z2-7]{26}")
_MAX_TEXT = 200

#: Who may read a private holder's identity and every record naming it: the registry (it answers the
#: holders' own requests and keeps the vault), licensing (it issues their licences and records their
#: transfers) and police (investigations, seizures, ITI para 17 traces). Customs, deactivation bodies
#: and tracing officers work from weapons and references; auditors verify records, not persons.
SUBJECT_ACCESS_ROLES = frozenset({Role.REGISTRY, Role.LICENSING, Role.POLICE})
_EARLIEST_BIRTH = datetime.date(1880, 1, 1)


def new_person_reference() -> str:
    """A fresh holder reference: ``person:`` and 16 random bytes in unpadded base32 (26 characters)."""
    return PERSON_PREFIX + base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def is_person_reference(text: object) -> bool:
    """Whether ``text`` has the form of a holder reference (``person:`` + 26 base32 characters)."""
    return isinstance(text, str) and _REFERENCE.fullmatch(text) is not None


def check_person_reference(text: object, field: str = "person") -> str:
    """``text`` stripped, if it is a holder reference; ``InvalidField`` naming ``field`` otherwise."""
    value = text.strip() if isinstance(text, str) else text
    if not is_person_reference(value):
        raise InvalidField(f"{str(text)[:60]!r} is not a holder reference (person: and 26 letters A-Z, "
                           "digits 2-7)", field=field)
    assert isinstance(value, str)
    return value


def check_subject_access(role: Role) -> None:
    """Raise ``NotPermitted`` (field ``role``) unless ``role`` may read holders' identities."""
    if role not in SUBJECT_ACCESS_ROLES:
        allowed = ", ".join(sorted(r.value for r in SUBJECT_ACCESS_ROLES))
        raise NotPermitted(f"the {role.value} role may not read holders' identities ({allowed} may)", field="role")


@dataclass(frozen=True)
class Identity:
    """Who a private holder is: name, date of birth (ISO date), address and identity document.

    Build with ``Identity.of``, which checks every field.
    """

    name: str
    date_of_birth: str
    address: str = ""
    id_document: str = ""

    @classmethod
    def of(cls, *, name: object, date_of_birth: object, address: object = "", id_document: object = "",
           today: datetime.date | None = None) -> Identity:
        """A checked identity. ``InvalidField`` naming the field: ``name`` empty or over 200 characters,
        ``date_of_birth`` not a YYYY-MM-DD date from 1880 to ``today``, ``address`` or ``id_document``
        over 200 characters; control characters anywhere."""
        return cls(name=_text(name, "name", required=True),
                   date_of_birth=_birth(date_of_birth, today or datetime.date.today()),
                   address=_text(address, "address"),
                   id_document=_text(id_document, "id_document"))

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "date_of_birth": self.date_of_birth, "address": self.address,
                "id_document": self.id_document}

    def matching_key(self) -> str:
        """Name and date of birth normalised (NFKC, case folded, spaces collapsed): equal for the same person
        written differently. The vault keeps only a keyed hash of it (its blind index)."""
        name = " ".join(unicodedata.normalize("NFKC", self.name).casefold().split())
        return f"{name}|{self.date_of_birth}"


def _text(value: object, field: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField("must be text", field=field)
    text = " ".join(value.split())
    if required and not text:
        raise InvalidField("is required", field=field)
    if len(text) > _MAX_TEXT:
        raise InvalidField(f"is longer than {_MAX_TEXT} characters", field=field)
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise InvalidField("holds a control character", field=field)
    return text


def _birth(value: object, today: datetime.date) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        born = datetime.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        born = None
    if born is None:
        raise InvalidField(f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)", field="date_of_birth")
    if not _EARLIEST_BIRTH <= born <= today:
        raise InvalidField(f"{text} is not a possible date of birth (1880-01-01 to today)", field="date_of_birth")
    return text
