"""Private holders in a register file: a row whose ``holder_kind`` is ``person`` has its ``current_holder``
replaced by the holder reference of the identity it gives (name, ``holder_born``, ``holder_address``,
``holder_id_document``), found in the node's identity vault or given a new one, before the row is
signed. So a migrated record names the reference, never the person (docs/csv-layout.md, "Private
holders"). A new person's identity is sealed here and kept in ``NewHolders`` until ``BatchWriter``
stores it in the transaction of the first batch that records a row naming it: a row refused or a batch
not written leaves no identity behind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from domain.errors import InvalidField
from domain.person import Identity
from nodes.migration.reader import Row
from nodes.migration.report import RowError
from nodes.persons.holders import PersonGiven, VaultOnDemand
from nodes.persons.vault import IdentityVault, SealedIdentity

PERSON_COLUMNS = ("holder_kind", "holder_born", "holder_address", "holder_id_document")
#: ``holder_kind`` values: a private person, or (the default, as before) a licensed dealer, manufacturer or body.
PERSON, LICENSEE = "person", "licensee"
#: Batches of rows read and checked, at most, while the vault's key is unlocked (a bound on the rows held).
_READ_AHEAD = 20
_COLUMN_OF_FIELD = {"name": "current_holder", "date_of_birth": "holder_born", "address": "holder_address",
                    "id_document": "holder_id_document"}


@dataclass
class NewHolders:
    """The persons of a migration that the vault did not hold: sealed under their new reference, not stored
    yet, and which rows (by line) name them. ``BatchWriter`` takes those of a batch's rows with ``to_store``,
    writes them with the batch's records, then calls ``stored`` and ``done``."""

    _sealed: dict[str, SealedIdentity] = field(default_factory=dict)
    _named_on: dict[int, str] = field(default_factory=dict)

    def add(self, sealed: SealedIdentity) -> None:
        self._sealed[sealed.ref] = sealed

    def name(self, line: int, ref: str) -> None:
        """Row ``line`` names holder ``ref`` (new, or one the vault holds: ``to_store`` leaves those out)."""
        self._named_on[line] = ref

    def to_store(self, lines: Iterable[int]) -> list[SealedIdentity]:
        """The new holders that rows ``lines`` name and that are not stored yet, each once."""
        refs = {self._named_on[line] for line in lines if line in self._named_on}
        return [self._sealed[ref] for ref in sorted(refs) if ref in self._sealed]

    def stored(self, rows: Iterable[SealedIdentity]) -> None:
        """``rows`` are committed: no later batch stores them again."""
        for row in rows:
            self._sealed.pop(row.ref, None)

    def done(self, lines: Iterable[int]) -> None:
        """Rows ``lines`` (a batch's, recorded or refused) need their holders no more."""
        for line in lines:
            self._named_on.pop(line, None)


#: A row's private person: the checked identity and its matching key (computed once per spelling).
Named = tuple[Identity, str]


def pseudonymised(rows: Iterable[Row], vault: VaultOnDemand, new: NewHolders, *, batch: int = 500) -> Iterator[Row]:
    """``rows`` with each private current holder replaced by its reference; a row whose person columns are
    wrong becomes a ``RowError`` naming the column. The vault is opened at the first private holder only;
    the persons of each ``batch`` rows are looked up in one query, and those the vault does not hold get a
    new reference, their identity sealed into ``new`` (stored later, with the first record naming it).

    The vault opens on a thread of its own (``VaultOnDemand.open_soon``): while its key is unlocked (scrypt,
    tens of milliseconds), the rows after are read and checked, up to ``_READ_AHEAD`` batches."""
    known: dict[str, str] = {}  # matching key -> reference: a register names the same person on many rows
    seen: dict[tuple[str, ...], Named] = {}
    waiting: deque[list[tuple[int, dict[str, str] | RowError, Named | None]]] = deque()
    chunk: list[tuple[int, dict[str, str] | RowError, Named | None]] = []
    opened = False
    for line, row in rows:
        read = _read(line, row, seen)
        if read[2] is not None and not opened:
            vault.open_soon()
            opened = True
        chunk.append(read)
        if len(chunk) == batch:
            waiting.append(chunk)
            chunk = []
            while waiting and (len(waiting) > _READ_AHEAD or not vault.opening):
                yield from _resolved(waiting.popleft(), vault, known, new)
    waiting.append(chunk)
    while waiting:
        yield from _resolved(waiting.popleft(), vault, known, new)


def _read(line: int, row: dict[str, str] | RowError,
          seen: dict[tuple[str, ...], Named]) -> tuple[int, dict[str, str] | RowError, Named | None]:
    """The row, and the private person it names (None: a licensee, or a row refused already). ``seen``: the
    persons checked already, by the row's person columns as typed (a register names a holder on many rows)."""
    if isinstance(row, RowError):
        return line, row, None
    typed = tuple(row.get(column) or "" for column in ("current_holder", *PERSON_COLUMNS))
    if typed in seen:
        return line, row, seen[typed]
    try:
        identity = _person(row)
    except InvalidField as refusal:
        return line, RowError(line, _COLUMN_OF_FIELD.get(refusal.field or "", refusal.field or "holder_kind"),
                              refusal.args[0] if refusal.args else str(refusal)), None
    if identity is None:
        return line, row, None
    person = seen[typed] = (identity, identity.matching_key())
    return line, row, person


def _resolved(chunk: list[tuple[int, dict[str, str] | RowError, Named | None]],
              vault: Callable[[], IdentityVault], known: dict[str, str], new: NewHolders) -> Iterator[Row]:
    unknown: dict[str, Identity] = {}  # the first row naming a person gives the identity stored
    for _line, _row, person in chunk:
        if person is not None and person[1] not in known:
            unknown.setdefault(person[1], person[0])
    if unknown:  # one query for the chunk's persons not seen yet
        known.update(vault().find_many(list(unknown.values())))
    for key, identity in unknown.items():
        if key not in known:
            sealed = vault().seal(identity)
            new.add(sealed)
            known[key] = sealed.ref
    for line, row, person in chunk:
        if person is None or isinstance(row, RowError):
            yield line, row
            continue
        ref = known[person[1]]
        new.name(line, ref)
        yield line, {**row, "current_holder": ref}


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
