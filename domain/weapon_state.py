"""A weapon's state folded from its records: the one set of rules the aggregate and the views share.

``evolve(state, record_type, body)`` is the effect of one record. The ``Weapon``
aggregate (``domain.weapon``) applies its own records with it, in version order,
after its commands checked them; the views (``projections.weapon_state``) fold
with it the records of every node about the weapon, in business-time order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from domain import event_types as types


class Status(str, Enum):
    ACTIVE = "active"              # in legal custody in this state
    EXPORTED = "exported"          # left this state under an export licence
    LOST = "lost"
    STOLEN = "stolen"
    SEIZED = "seized"
    CONFISCATED = "confiscated"
    DEACTIVATED = "deactivated"
    DESTROYED = "destroyed"


# The records that may open a weapon's record on the node that records them: a
# weapon is manufactured, first seen here on import, or found (seizure of an
# unrecorded weapon, ITI para 9). The aggregate refuses any other first record.
OPENING_TYPES = frozenset({types.MANUFACTURED, types.IMPORTED, types.SEIZED})

# Where a fold is more lenient than the aggregate. The views fold the records of
# several nodes in business-time order, so a partner's record may come before any
# record of ours. ``evolve`` therefore never refuses a record, whatever the state:
# a view shows what was recorded, the aggregate's commands decided what may be.
# And an export registers the marking it carries when no record did: an export
# carries the marking so that the importing state can open the weapon's record
# from it alone (data minimisation, FP art 12(5)), and a partner's export is then
# the first record that state holds. On the aggregate's own chain an opening
# record always registered the marking before, so this changes nothing there.
REGISTERING_TYPES = OPENING_TYPES | {types.EXPORTED}


@dataclass(frozen=True)
class WeaponState:
    """What the records say of a weapon now; the empty state is before any record.

    ``status`` is None before a record that gives one. ``marking`` is the marking as
    applied (manufacturer, country, serial); ``marks`` the marks applied later.
    """

    marking: Mapping[str, Any] = field(default_factory=dict)
    type: str = ""
    make: str = ""
    model: str = ""
    calibre: str = ""
    year: int = 0
    import_marking: Mapping[str, Any] = field(default_factory=dict)
    imported_from: str = ""
    holder: str = ""
    place: str = ""
    status: Status | None = None
    status_before_loss: Status | None = None
    marks: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    open_shipment: str = ""
    awaiting_receipt: str = ""
    in_transit_to: str = ""        # exported to this state, receipt not (yet) confirmed (FP art 10(4))
    deactivation_certificate: str = ""
    # Essential components on record, by kind: {"component_id", "marking"} (Weapon.Assembled, ComponentReplaced).
    components: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    conversions: tuple[str, ...] = ()

    @property
    def registered(self) -> bool:
        """True once a record registered the weapon's marking."""
        return any(self.marking.values())


#: What a record changes in a state: fields by name, with their new values.
Changes = dict[str, Any]
#: The effect of one record: the changes that a record of its type with this body makes to a state (read,
#: never changed).
Rule = Callable[[WeaponState, Mapping[str, Any]], Changes]

_FIELD_NAMES = frozenset(f.name for f in fields(WeaponState))


def replace(state: WeaponState, **changes: Any) -> WeaponState:
    """A new ``WeaponState``: ``state`` with ``changes``, as ``dataclasses.replace`` gives it.

    Raises ``TypeError`` naming a change that is not a field. Copies the
    instance's fields instead of calling the frozen dataclass's ``__init__``
    (one ``object.__setattr__`` per field): ``dataclasses.replace`` was a
    fifth of a views rebuild. Valid because ``WeaponState`` has no
    ``__post_init__`` and every field is an ``__init__`` argument.
    """
    new = object.__new__(type(state))
    values = new.__dict__
    values.update(state.__dict__)
    values.update(changes)
    if len(values) != len(_FIELD_NAMES):  # a state holds exactly its fields: a change named another
        raise TypeError(f"WeaponState has no field {sorted(set(changes) - _FIELD_NAMES)[0]!r}")
    return new


def evolve(state: WeaponState, record_type: str, body: Mapping[str, Any]) -> WeaponState:
    """The state after one record of ``record_type`` with fields ``body``.

    Total: any record in any state gives a state (see ``REGISTERING_TYPES`` for
    why); a type that is not a weapon record leaves the state as it is. Missing
    fields read as empty. Raises nothing.
    """
    rule = _RULES.get(record_type)
    if rule is None:
        return state
    changes = rule(state, body)
    ends_transit = state.in_transit_to and record_type not in _KEEP_IN_TRANSIT
    if not changes and not ends_transit:
        return state
    new = object.__new__(WeaponState)  # ``replace``, without passing the changes as keywords
    values = new.__dict__
    values.update(state.__dict__)
    if ends_transit:
        values["in_transit_to"] = ""
    values.update(changes)
    if len(values) != len(_FIELD_NAMES):  # a state holds exactly its fields: a rule named another
        raise TypeError(f"WeaponState has no field {sorted(values.keys() - _FIELD_NAMES)[0]!r}")
    return new


def evolve_all(state: WeaponState, records: Iterable[tuple[str, Mapping[str, Any]]]) -> WeaponState:
    """The state after ``records`` ((record type, body) pairs, in the order they apply): exactly
    ``evolve`` applied to each in turn, with the same rules, making one new state, not one per record
    (a rebuild of the views folds every weapon of the log). Returns ``state`` itself when no record is
    a weapon record, as ``evolve`` does. Raises nothing.
    """
    new: WeaponState | None = None
    for record_type, body in records:
        rule = _RULES.get(record_type)
        if rule is None:
            continue
        if new is None:
            new = object.__new__(WeaponState)  # as ``replace`` makes one
            values = new.__dict__
            values.update(state.__dict__)
        # Not seen by anyone before it is returned, the new state takes each record's changes in place. They
        # are made first: a rule sees the state before its record, as in ``evolve``.
        changes = rule(new, body)
        if values["in_transit_to"] and record_type not in _KEEP_IN_TRANSIT:
            values["in_transit_to"] = ""
        values.update(changes)
    if new is None:
        return state
    if len(values) != len(_FIELD_NAMES):  # a state holds exactly its fields: a rule named another
        raise TypeError(f"WeaponState has no field {sorted(values.keys() - _FIELD_NAMES)[0]!r}")
    return new


# --- one rule per record -------------------------------------------------------------------


def _registration(body: Mapping[str, Any], *, year: bool = True) -> dict[str, Any]:
    """The marking and description ``body`` carries, as changes of the state (a seizure gives no year)."""
    return {"marking": dict(body.get("marking") or {}), "type": str(body.get("type", "")),
            "make": str(body.get("make", "")), "model": str(body.get("model", "")),
            "calibre": str(body.get("calibre", "")), "year": int(body.get("year") or 0) if year else 0}


def _manufactured(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    changes = _registration(body)
    changes.update(holder=str(body.get("holder", "")), place=str(changes["marking"].get("country", "")),
                   status=Status.ACTIVE)
    return changes


def _imported(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    registration = {} if w.registered else _registration(body)
    import_state = str(body.get("import_state", ""))
    return dict(**registration, import_marking={"country": import_state, "year": body.get("import_year", 0)},
                   imported_from=str(body.get("from_state", "")), holder=str(body.get("holder", "")),
                   place=import_state, status=Status.ACTIVE, awaiting_receipt=str(body.get("shipment", "")))


def _exported(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    registration = _registration(body) if not w.registered and body.get("marking") else {}
    to_state = str(body.get("to_state", ""))
    return dict(**registration, status=Status.EXPORTED, place=to_state, in_transit_to=to_state,
                   holder=str(body.get("consignee", "")), open_shipment=str(body.get("shipment", "")))


def _receipt_confirmed(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(awaiting_receipt="", holder=str(body.get("received_by") or w.holder))


def _transferred(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(holder=str(body.get("to_holder", "")))


def _marked(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(marks=(*w.marks, str(body.get("mark", ""))))


def _missing(status: Status) -> Rule:
    def apply(w: WeaponState, body: Mapping[str, Any]) -> Changes:
        # A report describes the weapon (older reports do not): one that opens its record, a
        # weapon on no register here, registers its marking, as a partner's report does in a view.
        registration = _registration(body) if not w.registered and body.get("marking") else {}
        return dict(**registration, status_before_loss=w.status, status=status)
    return apply


def _recovered(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    # Back to what it was before it went missing: a weapon lost from police
    # custody is seized again, not lawfully held by someone. The record says
    # so itself, so partners that never saw the loss fold it the same way.
    restored = str(body.get("restored_status") or "")
    status = Status(restored) if restored in _STATUS_VALUES else Status.ACTIVE
    return dict(status=status, holder=str(body.get("holder") or w.holder))


def _seized(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    # A seizure of an unrecorded weapon registers it (ITI para 9); a seizure
    # after destruction keeps the status DESTROYED and carries the flag.
    registration = {} if w.registered else _registration(body, year=False)
    status = w.status if w.status is Status.DESTROYED else Status.SEIZED
    return dict(**registration, flags=(*w.flags, *(str(f) for f in body.get("flags", ()))),
                   place=str(body.get("state", "")), status=status)


def _confiscated(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(status=Status.CONFISCATED, holder="")


def _deactivated(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(status=Status.DEACTIVATED, deactivation_certificate=str(body.get("certificate", "")))


def _destroyed(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(status=Status.DESTROYED)


#: The flag a reactivated weapon carries for good, in its history and search results: it was once
#: deactivated, and a licence restored it (FP art 9).
REACTIVATED_FLAG = "reactivated"


def _reactivated(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    flags = w.flags if REACTIVATED_FLAG in w.flags else (*w.flags, REACTIVATED_FLAG)
    return dict(status=Status.ACTIVE, holder=str(body.get("holder") or w.holder), deactivation_certificate="",
                   flags=flags)
def _assembled(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    parts = dict(w.components)
    for part in body.get("components", ()):
        if isinstance(part, Mapping):
            parts[str(part.get("kind", ""))] = {"component_id": str(part.get("component_id", "")),
                                                "marking": dict(part.get("marking") or {})}
    return dict(components=parts, flags=(*w.flags, *(str(f) for f in body.get("flags", ()))))


def _component_replaced(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    part = {"component_id": str(body.get("installed", "")), "marking": dict(body.get("installed_marking") or {})}
    return dict(components={**w.components, str(body.get("kind", "")): part})


def _converted(w: WeaponState, body: Mapping[str, Any]) -> Changes:
    return dict(type=str(body.get("to_type") or w.type), calibre=str(body.get("to_calibre") or w.calibre),
                   conversions=(*w.conversions, str(body.get("conversion", ""))),
                   flags=(*w.flags, *(str(f) for f in body.get("flags", ()))))


_STATUS_VALUES = frozenset(s.value for s in Status)

# An export puts the weapon in transit; only a record of its arrival (receipt confirmed,
# an import, a seizure ...) ends that. A mark or a loss report on the way does not: the
# exporter still holds no word from the importing state's customs (FP art 10(4)).
_KEEP_IN_TRANSIT = frozenset({types.EXPORTED, types.MARKED, types.REPORTED_LOST, types.REPORTED_STOLEN,
                              types.CORRECTED})

_RULES: dict[str, Rule] = {
    types.MANUFACTURED: _manufactured,
    types.IMPORTED: _imported,
    types.EXPORTED: _exported,
    types.RECEIPT_CONFIRMED: _receipt_confirmed,
    types.TRANSFERRED: _transferred,
    types.MARKED: _marked,
    types.REPORTED_LOST: _missing(Status.LOST),
    types.REPORTED_STOLEN: _missing(Status.STOLEN),
    types.RECOVERED: _recovered,
    types.SEIZED: _seized,
    types.CONFISCATED: _confiscated,
    types.DEACTIVATED: _deactivated,
    types.DESTROYED: _destroyed,
    types.REACTIVATED: _reactivated,
    types.ASSEMBLED: _assembled,
    types.COMPONENT_REPLACED: _component_replaced,
    types.CONVERTED: _converted,
    # A correction changes an earlier record, not the state after the last: the folds read the
    # records as corrected (domain.corrected) and skip the correction itself.
    types.CORRECTED: lambda w, body: {},
}
assert _RULES.keys() == types.WEAPON_EVENT_TYPES
