"""A weapon's current state, folded from its records by the rules of ``domain.weapon``.

The projection reads envelopes, not the node's repository, and in a federated
lifecycle some records come from partner nodes, so it cannot load the
aggregate. It repeats the ``apply`` rules of ``domain.weapon.Weapon``'s events
instead (status, holder, place, marking, description, flags); a test checks
that both agree on every local record. Unlike the aggregate it never refuses a
record: a view shows what was recorded, the domain decides what may be.

Records are folded in *lifecycle order* (``lifecycle_order``): by
``sequence_on``, the running maximum of ``occurred_on`` along one node's
chain for the weapon, then node, then version. Within one node's chain that is
version order, the order in which the domain applied them; between nodes it
is business time (an export recorded in BE, then the import recorded in FR).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.marking import normalise
from domain.weapon import Status

WEAPON_EVENT_TYPES = frozenset({
    "Weapon.Manufactured", "Weapon.Imported", "Weapon.Exported", "Weapon.ReceiptConfirmed",
    "Weapon.Transferred", "Weapon.Marked", "Weapon.ReportedLost", "Weapon.ReportedStolen",
    "Weapon.Recovered", "Weapon.Seized", "Weapon.Confiscated", "Weapon.Deactivated", "Weapon.Destroyed",
})

# Every weapon record but a post-manufacture mark says who holds the weapon,
# where, or in what status: its date is the date custody last changed.
CUSTODY_EVENT_TYPES = WEAPON_EVENT_TYPES - {"Weapon.Marked"}


class WeaponRecord(Protocol):
    """What the fold needs of one record (``projections.batch.ViewEvent`` has it)."""

    type: str
    node: str
    version: int
    occurred_on: int
    sequence_on: int
    body: Mapping[str, Any]


@dataclass
class WeaponState:
    """The folded state; ``status`` is a ``domain.weapon.Status`` value or '' before any opening record."""

    weapon_id: str
    opened_by: str = ""                    # node (state) of the first record in lifecycle order
    manufacturer: str = ""
    country: str = ""
    serial: str = ""
    type: str = ""
    make: str = ""
    model: str = ""
    calibre: str = ""
    year: int = 0
    status: str = ""
    holder: str = ""
    place: str = ""
    since: int | None = None               # occurred_on of the last custody-changing record
    flags: tuple[str, ...] = field(default_factory=tuple)
    last: tuple[int, str, int] | None = None  # lifecycle_order of the last record folded in

    @property
    def node_folded_last(self) -> str:
        return self.last[1] if self.last is not None else ""

    def marking_key(self, serial_key: str) -> str:
        """``MANUFACTURER|COUNTRY|SERIAL`` normalised as in ``domain.marking.Marking.key``."""
        return f"{normalise(self.manufacturer)}|{self.country.strip().upper()}|{serial_key}"


def lifecycle_order(record: WeaponRecord) -> tuple[int, str, int]:
    return (record.sequence_on, record.node, record.version)


def fold(weapon_id: str, records: Iterable[WeaponRecord], start: WeaponState | None = None) -> WeaponState:
    """Fold ``records`` (any order; sorted here by ``lifecycle_order``) into the weapon's state.

    ``start``, a state folded earlier, is continued in place: then every
    record must come after ``start.last`` in lifecycle order, which the caller
    checks (``projections.batch``); otherwise fold all records afresh.
    """
    state = start if start is not None else WeaponState(weapon_id)
    for record in sorted(records, key=lifecycle_order):
        state.last = lifecycle_order(record)
        rule = _RULES.get(record.type)
        if rule is None:
            continue
        if not state.opened_by:
            state.opened_by = record.node
        rule(state, record.body)
        if record.type in CUSTODY_EVENT_TYPES:
            state.since = record.occurred_on
    return state


# --- the apply rules of domain.weapon, one function per event ----------------------------

def _register(w: WeaponState, body: Mapping[str, Any], year: int) -> None:
    marking = body.get("marking") or {}
    w.manufacturer = str(marking.get("manufacturer", ""))
    w.country = str(marking.get("country", ""))
    w.serial = str(marking.get("serial", ""))
    w.type, w.make = str(body.get("type", "")), str(body.get("make", ""))
    w.model, w.calibre = str(body.get("model", "")), str(body.get("calibre", ""))
    w.year = int(year or 0)


def _manufactured(w: WeaponState, body: Mapping[str, Any]) -> None:
    _register(w, body, body.get("year", 0))
    w.holder = str(body.get("holder", ""))
    w.place = w.country
    w.status = Status.ACTIVE.value


def _imported(w: WeaponState, body: Mapping[str, Any]) -> None:
    if not w.serial:
        _register(w, body, body.get("year", 0))
    w.holder = str(body.get("holder", ""))
    w.place = str(body.get("import_state", ""))
    w.status = Status.ACTIVE.value


def _exported(w: WeaponState, body: Mapping[str, Any]) -> None:
    # An export carries the marking so that the importing state can open the
    # weapon's record from it: a partner's export may be the first record here.
    if not w.serial and body.get("marking"):
        _register(w, body, body.get("year", 0))
    w.status = Status.EXPORTED.value
    w.place = str(body.get("to_state", ""))
    w.holder = str(body.get("consignee", ""))


def _receipt_confirmed(w: WeaponState, body: Mapping[str, Any]) -> None:
    w.holder = str(body.get("received_by") or w.holder)


def _transferred(w: WeaponState, body: Mapping[str, Any]) -> None:
    w.holder = str(body.get("to_holder", ""))


def _marked(w: WeaponState, body: Mapping[str, Any]) -> None:
    pass  # marks are listed in the lifecycle's records; they change no state shown here


def _status(status: Status) -> Callable[[WeaponState, Mapping[str, Any]], None]:
    def apply(w: WeaponState, body: Mapping[str, Any]) -> None:
        w.status = status.value
    return apply


def _recovered(w: WeaponState, body: Mapping[str, Any]) -> None:
    w.status = str(body.get("restored_status") or Status.ACTIVE.value)
    w.holder = str(body.get("holder") or w.holder)


def _seized(w: WeaponState, body: Mapping[str, Any]) -> None:
    # A seizure of an unrecorded weapon registers it (ITI para 9); a seizure
    # after destruction keeps the status DESTROYED and carries the flag.
    if not w.serial:
        _register(w, body, 0)
    w.flags = (*w.flags, *(str(f) for f in body.get("flags", ())))
    w.place = str(body.get("state", ""))
    if w.status != Status.DESTROYED.value:
        w.status = Status.SEIZED.value


def _confiscated(w: WeaponState, body: Mapping[str, Any]) -> None:
    w.status = Status.CONFISCATED.value
    w.holder = ""


_RULES: dict[str, Callable[[WeaponState, Mapping[str, Any]], None]] = {
    "Weapon.Manufactured": _manufactured,
    "Weapon.Imported": _imported,
    "Weapon.Exported": _exported,
    "Weapon.ReceiptConfirmed": _receipt_confirmed,
    "Weapon.Transferred": _transferred,
    "Weapon.Marked": _marked,
    "Weapon.ReportedLost": _status(Status.LOST),
    "Weapon.ReportedStolen": _status(Status.STOLEN),
    "Weapon.Recovered": _recovered,
    "Weapon.Seized": _seized,
    "Weapon.Confiscated": _confiscated,
    "Weapon.Deactivated": _status(Status.DEACTIVATED),
    "Weapon.Destroyed": _status(Status.DESTROYED),
}
assert _RULES.keys() == WEAPON_EVENT_TYPES
