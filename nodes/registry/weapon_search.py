"""Finding weapons among every record this node holds: ours (the views' marking index) and the
partners' records received (the inbox), a page at a time, saying how many matched in all.

The CLI's ``search``, the API's ``GET /api/v1/weapons`` and the search desk call ``find_weapons``;
``weapon_by_prefix`` (in ``nodes.registry.reading``) finds a weapon by the start of its id with
``weapon_ids_starting``. Partners' records are read from the inbox and folded here with the one
fold (``domain.weapon_state`` through ``projections.weapon_state.fold``): the views hold our
records only, so that ``verify`` can compare them with our log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidField
from domain.event_types import WEAPON_EVENT_TYPES
from domain.marking import check_text, normalise, serial_pattern_to_regex
from domain.weapon_state import WeaponState
from nodes.bootstrap import Node
from nodes.registry.component_reading import components_matching
from nodes.registry.federated_history import PARTNER, HeldRecord, fold_held, in_business_order
from projections.serial_search import DESCRIPTION_FIELDS, weapon_filter

#: Results on one page unless asked otherwise, and the most one page may hold.
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
#: The furthest page start accepted (a page is read from the start of the ordered results).
MAX_OFFSET = 100_000
_INBOX_PAGE = 1000


@dataclass(frozen=True)
class Criteria:
    """What an officer searches for: a serial pattern and make, model, calibre (whole, any case)."""

    serial: str = ""
    make: str = ""
    model: str = ""
    calibre: str = ""

    def given(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value.strip()}

    @property
    def subject(self) -> str:
        """How the read audit names the search: the pattern alone, or ``name=value`` pairs."""
        given = self.given()
        return given["serial"] if list(given) == ["serial"] else " ".join(f"{k}={v}" for k, v in given.items())


def check_page(offset: int, limit: int) -> None:
    """``InvalidField`` naming ``offset`` or ``limit`` when out of range (0..MAX_OFFSET, 1..MAX_LIMIT)."""
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidField(f"{offset} is out of range (0 to {MAX_OFFSET:,})", field="offset")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidField(f"{limit} is out of range (1 to {MAX_LIMIT:,})", field="limit")


def find_weapons(node: Node, criteria: Criteria, *, offset: int = 0, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The weapons matching every criterion given, ordered by serial then id, ``limit`` of them from
    ``offset``: ``{"criteria", "total", "offset", "limit", "cut", "matches"}``; ``cut`` is true when
    ``total`` holds more than the page shows. Each match: ``weapon_id``, ``marking``, ``status``,
    ``description``, ``flags``, ``held`` (``own`` or ``partner``) and ``nodes`` (the states whose records it
    has); a weapon found by the serial of one of its essential components lists them in ``components``.

    ``InvalidField`` naming the field (``serial`` when none is given) or ``offset``/``limit``.
    """
    where = weapon_filter(criteria.serial, criteria.make, criteria.model, criteria.calibre)
    check_page(offset, limit)
    node.views.catch_up(node.registry)
    own = node.views.search(**vars(criteria), limit=offset + limit)
    own_total = int(node.views.store.query(f"SELECT COUNT(*) AS n FROM view_weapons WHERE {where.condition}",
                                           where.params)[0]["n"])
    for found in own:
        found.update(held="own", nodes=[node.identity.state])
    partners = [match for match in _partner_matches(node, criteria) if node.views.custody(match["weapon_id"]) is None]
    by_part = _by_component(node, criteria, [*own, *partners])
    merged = sorted([*own, *partners, *by_part],
                    key=lambda m: (normalise(m["marking"].get("serial", "")), m["weapon_id"]))
    total = own_total + len(partners) + len(by_part)
    page = merged[offset:offset + limit]
    return {"criteria": criteria.given(), "total": total, "offset": offset, "limit": limit,
            "cut": offset + len(page) < total or offset > 0, "matches": page}


def paging_note(found: dict[str, Any], paging: str = "--offset/--limit") -> str:
    """``showing 1-100 of 240; --offset/--limit to page`` when results are cut, else ''; ``paging``
    names the options (or query parameters) that page."""
    if not found["cut"]:
        return ""
    first = found["offset"] + 1 if found["matches"] else found["offset"]
    return (f"showing {first}-{found['offset'] + len(found['matches'])} of {found['total']}; "
            f"{paging} to page")


def partner_weapons(node: Node) -> Iterator[tuple[str, list[str], WeaponState]]:
    """Each weapon that partners' records received speak of: (id, the states that sent them, the state
    folded from them). Reads the whole inbox: partners share few records (FP art 12(5))."""
    streams: dict[str, list[HeldRecord]] = {}
    start = 1
    while page := node.inbox.received_notifications(start, _INBOX_PAGE):
        for _, envelope in page:
            if envelope.type in WEAPON_EVENT_TYPES:
                streams.setdefault(envelope.stream, []).append(HeldRecord(PARTNER, envelope.version, None, envelope))
        start = page[-1][0] + 1
    for weapon_id, held in streams.items():
        nodes = sorted({h.node for h in held})
        yield weapon_id, nodes, fold_held(weapon_id, in_business_order(held))


#: Enough ids to say that a prefix is ambiguous and to list a few of them.
IDS_SHOWN = 6


def weapon_ids_starting(node: Node, prefix: str) -> list[str]:
    """Ids of the weapons held here (ours or partners') that start with ``prefix``, which
    ``nodes.values.id_prefix`` checked (hex digits and dashes only, so nothing to escape in LIKE)."""
    node.views.catch_up(node.registry)
    own = node.views.weapon_ids_starting(prefix, limit=IDS_SHOWN)
    partners = [weapon_id for weapon_id, _, _ in partner_weapons(node) if weapon_id.startswith(prefix)]
    return list(dict.fromkeys([*own, *partners]))


def _by_component(node: Node, criteria: Criteria, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The weapons whose essential components' serial matches (``components``: the parts that matched),
    beside ``found`` (those whose own serial matched: the parts are added to them)."""
    if not criteria.serial.strip():
        return []
    pattern = serial_pattern_to_regex(criteria.serial)
    wanted = {name: value.strip().lower() for name, value in criteria.given().items() if name in DESCRIPTION_FIELDS}
    matches = {m["weapon_id"]: m for m in found}
    added: dict[str, dict[str, Any]] = {}
    for part in components_matching(node, pattern):
        weapon_id = part.pop("weapon_id")
        match = matches.get(weapon_id) or added.get(weapon_id)
        if match is None and weapon_id:
            life = node.views.lifecycle(weapon_id)
            if life is None or any(str(life["description"][k]).lower() != v for k, v in wanted.items()):
                continue
            match = added[weapon_id] = {
                "weapon_id": weapon_id, "marking": life["marking"], "status": life["status"],
                "description": {k: life["description"][k] for k in DESCRIPTION_FIELDS}, "flags": list(life["flags"]),
                "held": "own",
                "nodes": [node.identity.state]}
        if match is not None:
            match.setdefault("components", []).append(part)
    return list(added.values())


def _partner_matches(node: Node, criteria: Criteria) -> list[dict[str, Any]]:
    serial = serial_pattern_to_regex(criteria.serial) if criteria.serial.strip() else None
    wanted = {name: check_text(value, name, max_length=64).lower()
              for name, value in criteria.given().items() if name in DESCRIPTION_FIELDS}
    found = []
    for weapon_id, nodes, state in partner_weapons(node):
        if serial is not None and not serial.fullmatch(normalise(str(state.marking.get("serial", "")))):
            continue
        if any(str(getattr(state, name)).lower() != value for name, value in wanted.items()):
            continue
        found.append({"weapon_id": weapon_id, "marking": dict(state.marking),
                      "status": state.status.value if state.status is not None else "",
                      "description": {name: getattr(state, name) for name in DESCRIPTION_FIELDS},
                      "flags": list(state.flags), "held": PARTNER, "nodes": nodes})
    return found
