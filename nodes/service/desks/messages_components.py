"""The desk strings of a component's page and of a weapon's parts on its timeline, merged into the English
catalogue (``nodes.service.desks.messages.ENGLISH``) like every other desk string."""

from __future__ import annotations

COMPONENTS_ENGLISH: dict[str, str] = {
    "component.title": "Component {kind} {serial}",
    "component.id": "Component id",
    "component.marking": "Marking",
    "component.status": "Status",
    "component.in_weapon": "{status}, in weapon {weapon}",
    "component.weapon_ended": "the weapon was {status}",
    "component.flags": "Flags",
    "component.caption": "The weapons it was in, oldest first",
    "component.col_weapon": "Weapon",
    "component.col_since": "Since",
    "component.col_until": "Until",
    "component.col_how": "How",
    "component.now": "now",
    "component.how_installed": "installed",
    "component.how_found_when_seized": "found when seized",
    "component.removed": "removed: {reason}",
    "component.none": "In no weapon on record.",
    "component.not_verified": "Not verified: {problem}",
    "timeline.parts": "Essential components",
    "kind.conversion_licence": "Conversion licence",
}
