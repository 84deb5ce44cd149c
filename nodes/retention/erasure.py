"""`retention run`: erase the identities whose every record is past its period, keeping the chain.

For each such person the registry first appends its signed erasure record, then destroys the person's
data key in the vault (crypto-shredding). A crash between the two leaves an erasure record whose identity
the vault still holds, never an identity gone without its record; the next run finishes it, as it
repeats the erasures on a vault restored from a backup taken before them. Nothing in the signed log
changes, so every signature, chain and proof still verifies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.erasure import PersonErasure
from domain.errors import InvalidField
from domain.time import CLOCK_TOLERANCE_SECONDS, format_time
from ledger.envelope import Envelope
from nodes.errors import StorageError
from nodes.federation.sharing import SharingContext, SharingRules, recipients
from nodes.federation.trust import TrustStore
from nodes.ports import Node
from nodes.registry.application import Registry
from nodes.retention.report import DueOn, ErasablePerson, PersonRegister, due_on

#: How often the vault is asked to erase when the database is busy.
ERASE_ATTEMPTS = 8
#: ``submit(command)``: run ``command`` against the registry and return once its records are stored
#: (the CLI calls it; the service queues it on its group committer).
Submit = Callable[[Callable[[Registry], Any]], Any]


@dataclass
class RetentionRun:
    """What a run did (or, dry, would do): persons erased now, erasures finished, and the report it acted on."""

    dry_run: bool
    report: DueOn
    erased: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        would = self.dry_run
        return {
            "dry_run": would,
            "on": format_time(self.report.on),
            "erased": [] if would else list(self.erased),
            "finished": [] if would else list(self.finished),
            "would_erase": [p.reference for p in self.report.erasable] if would else [],
            "would_finish": list(self.report.unfinished) if would else [],
        }


def run_retention(node: Node, register: PersonRegister, submit: Submit, *,
                  on: int | None = None, dry_run: bool = False, now: float | None = None) -> RetentionRun:
    """Erase every person of ``register`` whose records are all past their period on ``on`` (default now).

    ``InvalidField`` (field ``on``) for a date in the future unless ``dry_run``: a run erases only what is
    due already. Repeatable: erasures recorded but unfinished are finished first, and a person erased
    is never erased twice.
    """
    moment = time.time() if now is None else now
    if on is None:
        on = int(moment)
    if not dry_run and on > moment + CLOCK_TOLERANCE_SECONDS:
        raise InvalidField(f"{format_time(on)} is in the future: a run erases only what is due by now "
                           "(--dry-run shows what a later date would erase)", field="on")
    report = due_on(node, register, on, partners_of=None if dry_run else _Recipients(node).of)
    run = RetentionRun(dry_run=dry_run, report=report)
    if dry_run:
        return run
    for reference in report.unfinished:
        _destroy_key(register, reference)
        run.finished.append(reference)
    for person in report.erasable:
        submit(_erasure(person, int(moment)))
        _destroy_key(register, person.reference)
        run.erased.append(person.reference)
    return run


def _destroy_key(register: PersonRegister, reference: str) -> None:
    """Erase ``reference`` in the vault, again after a short pause when the database was busy: a SQLite file
    takes one writer at a time, and the service's settler writes in the background. ``StorageError`` when
    it stays busy (the erasure record is stored: the next run finishes it)."""
    for attempt in range(1, ERASE_ATTEMPTS + 1):
        try:
            register.erase(reference)
            return
        except StorageError:
            if attempt == ERASE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)


def _erasure(person: ErasablePerson, occurred_on: int) -> Callable[[Registry], None]:
    """The command that records the erasure of ``person``, signed by the registry authority."""
    def record(registry: Registry) -> None:
        registry.save(PersonErasure.erase(authority=registry.authority("registry"), reference=person.reference,
                                          allowed_by=person.allowed_by, partners=person.partners,
                                          occurred_on=occurred_on))
    return record


class _Recipients:
    """The trusted partners that receive one of this node's records under its sharing policy."""

    def __init__(self, node: Node):
        partners = frozenset(TrustStore(node.settings.home).partners())
        self._context = SharingContext(own_state=node.identity.state, partners=partners,
                                       own_records=node.registry.envelopes,
                                       rules=SharingRules.load(node.settings.home))

    def of(self, record: Envelope) -> frozenset[str]:
        return recipients(record, self._context)
