"""The desk strings of the federated timeline and of paged search, merged into the English
catalogue (``nodes.service.desks.messages.ENGLISH``) like every other desk string."""

from __future__ import annotations

HISTORY_ENGLISH: dict[str, str] = {
    "timeline.place": "Place",
    "timeline.in_transit": "{status}, in transit to {state}, receipt not confirmed",
    "timeline.consignee": "Consignee",
    "timeline.col_authority": "Authority",
    "timeline.trace": "Verified (trace answer from {node})",
    "timeline.show_own": "Only this node's records",
    "timeline.show_all": "Every record held, partners' and trace answers' too",
    "timeline.own_caption": "This node's records of the weapon, oldest first",
    "search.col_held": "Records held",
    "search.own": "this node",
    "search.partner": "partner records ({nodes})",
    "search.found_one": "1 weapon found.",
    "search.found_many": "{count} weapons found.",
    "search.cut": "Showing {first} to {last} of {total}.",
    "search.previous": "Previous page",
    "search.next": "Next page",
    "search.pages": "Pages of results",
}
