"""The holder written into a signed body: a named dealer or body as typed, a private person as a reference.

Every command that names a holder (manufacture, import, transfer, recover, the CSV import, the API)
turns what the officer gave into the holder value here, so the rule lives once: a ``person:``
reference must be one of this node's holders whose identity is still held; an identity (name and date
of birth, at least) is looked up in the vault and added when new, and its reference is written; any
other text is the name of a licensed dealer, manufacturer or state body, written as typed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from domain.errors import InvalidField
from domain.person import PERSON_PREFIX, Identity, PersonErased, UnknownPerson, check_person_reference
from nodes.persons.vault import IdentityVault
from nodes.settings import Settings


@dataclass(frozen=True)
class PersonGiven:
    """An identity as an officer typed it (not checked yet); empty when none was given."""

    name: str = ""
    date_of_birth: str = ""
    address: str = ""
    id_document: str = ""

    def __bool__(self) -> bool:
        return any((self.name, self.date_of_birth, self.address, self.id_document))

    def identity(self) -> Identity:
        """The checked identity; ``InvalidField`` naming the field at fault."""
        return Identity.of(name=self.name, date_of_birth=self.date_of_birth, address=self.address,
                           id_document=self.id_document)


def reference_for(vault: IdentityVault, identity: Identity) -> tuple[str, bool]:
    """The holder reference of ``identity``: the existing one of the same person (by name and date of
    birth), else a new one. Returns it and whether it is new."""
    found = vault.find(identity)
    if found is not None:
        return found, False
    return vault.add(identity), True


class VaultOnDemand:
    """The node's identity vault, opened (and its KEK unlocked) on first use only; safe between threads.

    Most records name no private person: they need neither the passphrase's key derivation nor the table.
    A caller that knows it will need the vault soon calls ``open_soon``: the opening then runs on a thread
    of its own (scrypt lets other threads run) beside the caller's work.
    """

    def __init__(self, settings: Settings):
        self._settings = settings
        self._vault: IdentityVault | None = None
        self._lock = threading.Lock()
        self._opening: threading.Thread | None = None
        self._opened: IdentityVault | BaseException | None = None  # what the opening thread made

    def __call__(self) -> IdentityVault:
        """The open vault; waits for an opening ``open_soon`` started. Raises what opening it raised
        (``ConfigurationError``, ``KeyStoreError``, ``NodeFileDamaged``, ``StorageError``)."""
        with self._lock:
            if self._vault is None:
                self._vault = self._take_opened() if self._opening is not None else IdentityVault.open(self._settings)
            return self._vault

    def open_soon(self) -> None:
        """Start opening the vault on a thread of its own, unless it is open or opening already; the next call
        waits only for what is left of it, and raises its failure."""
        with self._lock:
            if self._vault is None and self._opening is None:
                self._opening = threading.Thread(target=self._open, name="identity-vault-opening", daemon=True)
                self._opening.start()

    @property
    def opening(self) -> bool:
        """Whether a call now would wait for the opening ``open_soon`` started."""
        opening = self._opening
        return opening is not None and opening.is_alive()

    def close(self) -> None:
        with self._lock:
            if self._opening is not None:  # opened for a caller that failed before it called: close it too
                with contextlib.suppress(Exception):
                    self._vault = self._take_opened()
            if self._vault is not None:
                self._vault.close()
                self._vault = None

    def __enter__(self) -> VaultOnDemand:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        try:
            self._opened = IdentityVault.open(self._settings)
        except BaseException as failure:  # raised in the caller's thread, at its next call
            self._opened = failure

    def _take_opened(self) -> IdentityVault:
        assert self._opening is not None
        self._opening.join()
        self._opening, (opened, self._opened) = None, (self._opened, None)
        if isinstance(opened, BaseException):
            raise opened
        assert opened is not None
        return opened


@contextlib.contextmanager
def holder_for(typed: str, person: PersonGiven, vault: Callable[[], IdentityVault], *, field: str) -> Iterator[str]:
    """What to write as holder for ``typed`` (option ``field``) or ``person`` (exactly one of them given).

    ``vault()`` is called only when a private person is involved. If the block fails (the record is
    refused), a reference made for it is discarded again: a refusal leaves nothing in the vault either.
    ``InvalidField`` (``field``) when both or neither are given, or a ``person:`` text is malformed;
    ``UnknownPerson`` / ``PersonErased`` (``field``) for a reference whose identity this node does not hold.
    """
    typed = (typed or "").strip()
    if typed and person:
        raise InvalidField("give the holder's name or reference, or a private person's identity, not both",
                           field=field)
    if person:
        ref, new = reference_for(vault(), person.identity())
        try:
            yield ref
        except BaseException:
            if new:
                vault().discard(ref)
            raise
        return
    yield named_holder(typed, vault, field=field)


def named_holder(typed: str, vault: Callable[[], IdentityVault], *, field: str) -> str:
    """``typed`` (option ``field``) as a holder to record: a name as typed, or a ``person:`` reference this node
    holds. ``InvalidField`` when empty or a malformed reference; ``UnknownPerson`` / ``PersonErased`` for a
    reference this node does not hold (all naming ``field``)."""
    typed = (typed or "").strip()
    if not typed:
        raise InvalidField("give the holder: a dealer's or body's name, a person: reference, or a private "
                           "person's --name and --born", field=field)
    if typed.lower().startswith(PERSON_PREFIX):
        ref = check_person_reference(typed, field)
        try:
            vault().identity(ref)  # no record names a holder this node cannot answer for
        except (UnknownPerson, PersonErased) as refused:
            raise type(refused)(refused.args[0], field=field) from None
        return ref
    return typed
