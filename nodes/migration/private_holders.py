"""Private holders in a register file: a row whose ``holder_kind`` is ``person`` has its ``current_holder``
replaced by the holder reference of the identity it gives (name, ``holder_born``, ``holder_address``,
``holder_id_document``), found in or added to the node's identity vault, before the row is signed.
So a migrated record names the reference, never the person (docs/csv-layout.md, "Private holders").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from domain.errors import InvalidField
from nodes.migration.reader import Row
from nodes.migration.report import RowError
from nodes.persons.holders import PersonGiven, reference_for
from nodes.persons.vault import IdentityVault

PERSON_COLUMNS = ("holder_kind", "holder_born", "holder_address", "holder_id_document")
#: ``holder_kind`` values: a private person, or (the default, as before) a licensed dealer, manufacturer or body.
PERSON, LICENSEE = "person", "licensee"
_COLUMN_OF_FIELD = {"name": "current_holder", "date_of_birth": "holder_born", "address": "holder_address",
                    "id_document": "holder_id_document"}


def pseudonymised(rows: Iterable[Row], vault: Callable[[], IdentityVault]) -> Iterator[Row]:
    """``rows`` with each private current holder replaced by its reference; a row whose person columns are
    wrong becomes a ``RowError`` naming the column. ``vault()`` is called at the first private holder only."""
    for line, row in rows:
        if isinstance(row, RowError):
            yield line, row
            continue
        try:
            yield line, _pseudonymised(row, vault)
        except InvalidField as refusal:
            yield line, RowError(line, _COLUMN_OF_FIELD.get(refusal.field or "", refusal.field or "holder_kind"),
                                 refusal.args[0] if refusal.args else str(refusal))


def _pseudonymised(row: dict[str, str], vault: Callable[[], IdentityVault]) -> dict[str, str]:
    kind = (row.get("holder_kind") or "").strip().lower() or LICENSEE
    person = PersonGiven(name=(row.get("current_holder") or "").strip(), date_of_birth=row.get("holder_born") or "",
                         address=row.get("holder_address") or "", id_document=row.get("holder_id_document") or "")
    if kind == LICENSEE:
        for column in PERSON_COLUMNS[1:]:
            if (row.get(column) or "").strip():
                raise InvalidField(f"is for a private holder: set holder_kind to {PERSON!r}", field=column)
        return row
    if kind != PERSON:
        raise InvalidField(f"{kind!r} is not a holder kind: {PERSON!r} or {LICENSEE!r} (the default)",
                           field="holder_kind")
    if not person.name:
        raise InvalidField("is required with holder_kind person (the person's name)", field="name")
    ref, _new = reference_for(vault(), person.identity())
    return {**row, "current_holder": ref}
