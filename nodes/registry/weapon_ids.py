"""A weapon named as officers type it: the start of its id (the short ids the commands print), or
its serial where a read audit filter takes either.

The weapons known are those of the projections (own records and partners' records held);
``nodes.values.id_prefix`` checks what was typed and ``one_by_prefix`` picks the one meant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from domain.errors import InvalidField
from nodes.values import id_prefix, one_by_prefix

if TYPE_CHECKING:
    from nodes.ports import Node
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


def weapon_subjects(node: Node, text: str, *, field_name: str = "weapon") -> list[str]:
    """The read-audit subjects of the weapon typed as ``text``: its id; for a serial, the id of each
    weapon with that serial (exactly: ``?`` and ``*`` are not patterns here) and the serial itself
    (as searched); else, for the start of one weapon's id, that id (a serial wins: "1234" may be
    both). ``InvalidField`` on ``field_name``, repeating ``text``, when it is neither, or starts
    several ids. Brings ``node``'s views up to date first."""
    try:
        return [str(UUID(text.strip()))]
    except ValueError:
        pass
    serial = text.strip().replace("*", "").replace("?", "")
    node.views.catch_up(node.registry)
    try:
        weapons = node.views.search_serial(serial)
    except InvalidField as e:  # the views name their own field: point at the one typed
        raise InvalidField(f"{text!r} is neither a weapon id nor a serial: {e.args[0]}", field=field_name) from None
    if not weapons and _could_start_an_id(text):
        starting = weapon_ids_starting(node.views, text, field_name=field_name)
        if starting:
            return [one_by_prefix(text, starting, what="weapon", field_name=field_name)]
    return [*(str(m["weapon_id"]) for m in weapons), text.strip()]


def _could_start_an_id(text: str) -> bool:
    try:
        id_prefix(text, field_name="weapon")
    except InvalidField:
        return False
    return True
