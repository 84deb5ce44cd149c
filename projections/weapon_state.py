"""A weapon's current state in the views, folded from the records of every node by ``domain.weapon_state``.

The views read envelopes, not the node's repository, and in a federated
lifecycle some records come from partner nodes, so they cannot load the
aggregate: they fold with the aggregate's own rules (``domain.weapon_state.evolve``,
applied to a fold's records at once by ``evolve_all``), which also say
where a fold of several nodes' records is more lenient than the aggregate.
What is kept here is the views' bookkeeping: which node opened the
record, since when custody is as it is, and how far the fold has come.

Records are folded in *lifecycle order* (``lifecycle_order``): by
``sequence_on``, the running maximum of ``occurred_on`` along one node's
chain for the weapon, then node, then version. Within one node's chain that is
version order, the order in which the domain applied them; between nodes it
is business time (an export recorded in BE, then the import recorded in FR).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.corrected import corrected_body, corrected_date, corrections
from domain.event_types import CORRECTED, CUSTODY_EVENT_TYPES, WEAPON_EVENT_TYPES
from domain.marking import normalise
from domain.weapon_state import WeaponState, evolve_all


class WeaponRecord(Protocol):
    """What the fold needs of one record (``projections.batch.ViewEvent`` has it)."""

    @property
    def type(self) -> str: ...
    @property
    def node(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def occurred_on(self) -> int: ...
    @property
    def sequence_on(self) -> int: ...
    @property
    def body(self) -> Mapping[str, Any]: ...


@dataclass
class WeaponView:
    """One weapon in the views: its folded ``state`` and the fold's bookkeeping."""

    weapon_id: str
    opened_by: str = ""                    # node (state) of the first record in lifecycle order
    state: WeaponState = field(default_factory=WeaponState)
    since: int | None = None               # occurred_on of the last custody-changing record
    last: tuple[int, str, int] | None = None  # lifecycle_order of the last record folded in

    @property
    def node_folded_last(self) -> str:
        return self.last[1] if self.last is not None else ""

    @property
    def manufacturer(self) -> str:
        return str(self.state.marking.get("manufacturer", ""))

    @property
    def country(self) -> str:
        return str(self.state.marking.get("country", ""))

    @property
    def serial(self) -> str:
        return str(self.state.marking.get("serial", ""))

    @property
    def status(self) -> str:
        """The ``domain.weapon_state.Status`` value, or '' before a record that gives one."""
        return self.state.status.value if self.state.status is not None else ""

    def marking_key(self, serial_key: str) -> str:
        """``MANUFACTURER|COUNTRY|SERIAL`` normalised as in ``domain.marking.Marking.key``."""
        return marking_key(self.manufacturer, self.country, serial_key)


def marking_key(manufacturer: str, country: str, serial_key: str) -> str:
    """``MANUFACTURER|COUNTRY|SERIAL`` of a marking whose serial is normalised already, normalised as in
    ``domain.marking.Marking.key``."""
    return f"{_normalised_name(manufacturer)}|{country.strip().upper()}|{serial_key}"


# Manufacturers' names recur across weapons: normalised once per name, not per weapon written.
_normalised_name = functools.lru_cache(maxsize=4096)(normalise)


def weapon_row(w: WeaponView) -> tuple[Any, ...]:
    """The ``view_weapons`` row of a folded weapon, as the views write it (``projections.store.WEAPON_ROWS``).
    Here, not in the store, so that a rebuild's worker (``projections.range_rows``) imports no eventsourcing."""
    assert w.last is not None, "a weapon's row is written after a record was folded in"
    s = w.state
    status = s.status
    marking = s.marking
    manufacturer, country, serial = (str(marking.get("manufacturer", "")), str(marking.get("country", "")),
                                     str(marking.get("serial", "")))
    serial_key = normalise(serial)
    # The marking key from the values at hand, not WeaponView's properties (a rebuild writes every weapon).
    return (w.weapon_id, w.opened_by, manufacturer, country, serial, marking_key(manufacturer, country, serial_key),
            serial_key, serial_key[::-1], s.type, s.make, s.model, s.calibre, s.year,
            # WeaponView.status, without the enum's ``value`` property (a third of a microsecond, per weapon).
            status._value_ if status is not None else "", s.holder, s.place,
            w.since, ",".join(s.flags), *w.last)


def lifecycle_order(record: WeaponRecord) -> tuple[int, str, int]:
    return (record.sequence_on, record.node, record.version)


# Shared by the views folded from the start: a state is never changed in place (``evolve`` makes a new one).
_EMPTY = WeaponState()
_lifecycle_order = operator.attrgetter("sequence_on", "node", "version")  # lifecycle_order, in C for the sort
_record_type = operator.attrgetter("type")


def fold(weapon_id: str, records: Iterable[WeaponRecord], start: WeaponView | None = None, *,
         in_order: bool = False) -> WeaponView:
    """Fold ``records`` (any order; sorted here by ``lifecycle_order``) into the weapon's view.

    ``start``, a view folded earlier, is continued in place: then every
    record must come after ``start.last`` in lifecycle order, which the caller
    checks (``projections.batch``); otherwise fold all records afresh.
    ``in_order``: the caller gives a list already in lifecycle order, such as one node's chain in version order
    (``projections.projected_rows``), and it is not sorted again.
    """
    view = start if start is not None else WeaponView(weapon_id, state=_EMPTY)
    records = records if in_order and isinstance(records, list) else sorted(records, key=_lifecycle_order)
    # A correction among them: the caller folds afresh (projections.batch). Most weapons have none.
    corrected = corrections(records) if CORRECTED in map(_record_type, records) else {}
    opened_by, since = view.opened_by, view.since
    folded: list[tuple[str, Mapping[str, Any]]] = []  # one new state for them all (``evolve_all``)
    for record in records:
        record_type = record.type
        if record_type not in WEAPON_EVENT_TYPES or record_type == CORRECTED:
            continue
        if not opened_by:
            opened_by = record.node
        values = corrected.get((record.node, record.version)) if corrected else None
        folded.append((record_type, corrected_body(record.body, values) if values else record.body))
        if record_type in CUSTODY_EVENT_TYPES:
            since = corrected_date(record.occurred_on, values) if values else record.occurred_on
    state = evolve_all(view.state, folded)
    if records:
        view.last = lifecycle_order(records[-1])
    view.state, view.opened_by, view.since = state, opened_by, since
    return view
