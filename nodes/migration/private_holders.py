"""Private holders in a register file: a row whose ``holder_kind`` is ``person`` has its ``current_holder``
replaced by the holder reference of the identity it gives (name, ``holder_born``, ``holder_address``,
``holder_id_document``), found in or added to the node's identity vault, before the row is signed.
So a migrated record names the reference, never the person (docs/csv-layout.md, "Private holders").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from domain.errors import InvalidField
from domain.person import Identity
from nodes.migration.reader import Row
from nodes.migration.report import RowError
from nodes.persons.holders import PersonGiven
from nodes.persons.vault import IdentityVault

PERSON_COLUMNS = ("holder_kind", "holder_born", "holder_address", "holder_id_document")
#: ``holder_kind`` values: a private person, or (the default, as before) a licensed dealer, manufacturer or body.
PERSON, LICENSEE = "person", "licensee"
_COLUMN_OF_FIELD = {"name": "current_holder", "date_of_birth": "holder_born", "address": "holder_address",
                    "id_document": "holder_id_document"}


def pseudonymised(rows: Iterable[Row], vault: Callable[[], IdentityVault], *, batch: int = 500) -> Iterator[Row]:
    """``rows`` with each private current holder replaced by its reference; a row whose person columns are
    wrong becomes a ``RowError`` naming the column. ``vault()`` is called at the first private holder only;
    the persons of each ``batch`` rows are looked up in one query, and those new to the vault added in one
    transaction."""
    known: dict[str, str] = {}  # matching key -> reference: a register names the same person on many rows
    seen: dict[tuple[str, ...], Identity] = {}
    chunk: list[tuple[int, dict[str, str] | RowError, Identity | None]] = []
    for line, row in rows:
        chunk.append(_read(line, row, seen))
        if len(chunk) == batch:
            yield from _resolved(chunk, vault, known)
            chunk = []
    yield from _resolved(chunk, vault, known)


def _read(line: int, row: dict[str, str] | RowError,
          seen: dict[tuple[str, ...], Identity]) -> tuple[int, dict[str, str] | RowError, Identity | None]:
    """The row, and the private person it names (None: a licensee, or a row refused already). ``seen``: the
    identities checked already, by the row's person columns as typed (a register names a holder on many rows)."""
    if isinstance(row, RowError):
        return line, row, None
    typed = tuple(row.get(column) or "" for column in ("current_holder", *PERSON_COLUMNS))
    if typed in seen:
        return line, row, seen[typed]
    try:
        person = _person(row)
        if person is not None:
            seen[typed] = person
        return line, row, person
    except InvalidField as refusal:
        return line, RowError(line, _COLUMN_OF_FIELD.get(refusal.field or "", refusal.field or "holder_kind"),
                              refusal.args[0] if refusal.args else str(refusal)), None


def _resolved(chunk: list[tuple[int, dict[str, str] | RowError, Identity | None]],
              vault: Callable[[], IdentityVault], known: dict[str, str]) -> Iterator[Row]:
    unknown: dict[str, Identity] = {}  # the first row naming a person gives the identity stored
    for _line, _row, identity in chunk:
        if identity is not None and (key := identity.matching_key()) not in known:
            unknown.setdefault(key, identity)
    if unknown:  # one query for the chunk's persons not seen yet, then one transaction for the new ones
        known.update(vault().find_many(list(unknown.values())))
    new = {key: identity for key, identity in unknown.items() if key not in known}
    if new:
        known.update(zip(new, vault().add_many(list(new.values())), strict=True))
    for line, row, identity in chunk:
        if identity is None or isinstance(row, RowError):
            yield line, row
        else:
            yield line, {**row, "current_holder": known[identity.matching_key()]}


def _person(row: dict[str, str]) -> Identity | None:
    kind = (row.get("holder_kind") or "").strip().lower() or LICENSEE
    if kind == LICENSEE:
        for column in PERSON_COLUMNS[1:]:
            if (row.get(column) or "").strip():
                raise InvalidField(f"is for a private holder: set holder_kind to {PERSON!r}", field=column)
        return None
    if kind != PERSON:
        raise InvalidField(f"{kind!r} is not a holder kind: {PERSON!r} or {LICENSEE!r} (the default)",
                           field="holder_kind")
    name = (row.get("current_holder") or "").strip()
    if not name:
        raise InvalidField("is required with holder_kind person (the person's name)", field="name")
    return PersonGiven(name=name, date_of_birth=row.get("holder_born") or "", address=row.get("holder_address") or "",
                       id_document=row.get("holder_id_document") or "").identity()
