"""A weapon named by the start of its id, as officers type the short ids the commands print.

The weapons known are those of the projections (own records and partners' records held);
``nodes.values.id_prefix`` checks what was typed and ``one_by_prefix`` picks the one meant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from nodes.values import id_prefix, one_by_prefix

if TYPE_CHECKING:
    from projections.views import Views

#: Enough ids to say that a prefix is ambiguous and to list a few of them.
_SHOWN = 6
# Dashes of a UUID's text form sit after these many hex digits.
_DASHES_AFTER = (8, 12, 16, 20)


def weapon_ids_starting(views: Views, typed: str, *, field_name: str = "weapon") -> list[str]:
    """Ids (text form) of the weapons in ``views`` whose id starts with ``typed`` (dashes optional),
    at most a few. ``InvalidField`` on ``field_name`` when ``typed`` cannot start an id
    (``id_prefix``). Reads the views as they are: catch them up first."""
    digits = id_prefix(typed, field_name=field_name).replace("-", "")
    canonical = "".join(("-" if at in _DASHES_AFTER else "") + digit for at, digit in enumerate(digits))
    rows = views.store.query("SELECT weapon_id FROM view_weapons WHERE weapon_id LIKE ? ORDER BY weapon_id "
                             f"LIMIT {_SHOWN}", [canonical + "%"])
    return [str(row["weapon_id"]) for row in rows]


def weapon_by_prefix(views: Views, typed: str, *, field_name: str = "weapon") -> UUID:
    """The one weapon whose id is ``typed`` or starts with it; ``InvalidField`` on ``field_name``,
    repeating what was typed, when none or several do."""
    try:
        return UUID(typed.strip())
    except ValueError:
        pass
    matches = weapon_ids_starting(views, typed, field_name=field_name)
    return UUID(one_by_prefix(typed, matches, what="weapon", field_name=field_name))
