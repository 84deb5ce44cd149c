"""Which weapons a holder holds now, from the projected register (``view_weapons``)."""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidField
from projections.store import ViewStore

#: Most weapons one listing returns; the answer says when it is cut.
HOLDER_LIMIT = 1000


def weapons_held_by(store: ViewStore, holder: str, limit: int = HOLDER_LIMIT) -> list[dict[str, Any]]:
    """The weapons whose current holder is ``holder`` (whole name, ignoring case and surrounding
    spaces), by serial: id, marking, description, status, place and since when. At most ``limit``.

    ``InvalidField`` (field ``holder``) for a blank name.
    """
    name = (holder or "").strip()
    if not name:
        raise InvalidField("give the holder's name", field="holder")
    rows = store.query(
        "SELECT weapon_id, manufacturer, country, serial, type, make, model, calibre, year, status, holder, place, "
        "since, flags FROM view_weapons WHERE lower(holder) = lower(?) ORDER BY serial_key, weapon_id LIMIT ?",
        [name, max(0, int(limit))])
    return [{"weapon_id": r["weapon_id"],
             "marking": {k: r[k] for k in ("manufacturer", "country", "serial")},
             "description": {k: r[k] for k in ("type", "make", "model", "calibre", "year")},
             "status": r["status"], "holder": r["holder"], "place": r["place"], "since": r["since"],
             "flags": [f for f in r["flags"].split(",") if f]} for r in rows]
