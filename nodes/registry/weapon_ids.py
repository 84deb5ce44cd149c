"""A weapon named as officers type it: the start of its id (the short ids the commands print), or
its serial where a read audit filter takes either.

The weapons known are those held here, ours and partners' (``weapon_search.weapon_ids_starting``);
``nodes.values.id_prefix`` checks what was typed and ``one_by_prefix`` picks the one meant. The
CLI, the API and the desks all name weapons through ``weapon_by_prefix``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from domain.errors import InvalidField
from nodes.registry.weapon_search import weapon_ids_starting
from nodes.values import id_prefix, one_by_prefix

if TYPE_CHECKING:
    from nodes.bootstrap import Node

# Dashes of a UUID's text form sit after these many hex digits.
_DASHES_AFTER = (8, 12, 16, 20)


def id_start(typed: str, *, field_name: str = "weapon") -> str:
    """What the officer typed as the start of a weapon id, in the ids' text form (dashes where a
    UUID has them, whether typed or not); ``InvalidField`` on ``field_name`` when it cannot start an
    id (``id_prefix``)."""
    digits = id_prefix(typed, field_name=field_name).replace("-", "")
    return "".join(("-" if at in _DASHES_AFTER else "") + digit for at, digit in enumerate(digits))


def weapon_by_prefix(node: Node, typed: str, field_name: str = "weapon") -> UUID:
    """The weapon ``typed`` names: a whole id (held here or not), or the unique start (at least
    ``nodes.values.MIN_PREFIX`` characters, dashes optional) of the id of a weapon held here, ours
    or a partner's. ``InvalidField`` on ``field_name``, repeating what was typed, when it is not an
    id or its start, or when no weapon or several start with it."""
    try:
        return UUID(typed.strip())
    except ValueError:
        pass
    starting = weapon_ids_starting(node, id_start(typed, field_name=field_name))
    return UUID(one_by_prefix(typed, starting, what="weapon", field_name=field_name))


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
        starting = weapon_ids_starting(node, id_start(text, field_name=field_name))
        if starting:
            return [one_by_prefix(text, starting, what="weapon", field_name=field_name)]
    return [*(str(m["weapon_id"]) for m in weapons), text.strip()]


def _could_start_an_id(text: str) -> bool:
    try:
        id_prefix(text, field_name="weapon")
    except InvalidField:
        return False
    return True
