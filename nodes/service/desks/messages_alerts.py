"""The strings of the alerts page (``alerts_pages``), in English, merged into ``messages.ENGLISH``.

Kept apart from ``messages`` while the alerts page is new; the ids follow the catalogue's rules
(docs/desks.md), and a language added there must translate these too.
"""

from __future__ import annotations

ALERTS_ENGLISH: dict[str, str] = {
    "alerts.link": "Stolen-weapon hits (alerts)",
    "alerts.title": "Alerts: weapons we reported missing, found elsewhere",
    "alerts.intro": "Hit notices partners sent: a weapon this state reported lost or stolen was seized or "
                    "imported in their state. Newest first; they arrive with each sync.",
    "alerts.none": "No alerts.",
    "alerts.caption": "Hit notices received",
    "alerts.col_date": "Date",
    "alerts.col_state": "Recorded by",
    "alerts.col_recorded": "Record",
    "alerts.col_place": "Place",
    "alerts.col_weapon": "Weapon",
    "alerts.col_marking": "Marking",
    "alerts.col_reported": "Our report",
    "alerts.seizure": "seizure",
    "alerts.import": "import",
    "alerts.reported_lost": "lost",
    "alerts.reported_stolen": "stolen",
    "alerts.reported_on": "{what}, reported {date}",
    "alerts.report_link": "Report a weapon lost or stolen",
    "alerts.report_title": "Report a weapon lost or stolen",
    "alerts.report_intro": "Name a weapon on record by its id, or any weapon by its marking: one with no record "
                           "here is described by what is known of it, and the report opens its record.",
    "alerts.report_submit": "Record the report",
    "alerts.stolen": "Stolen",
    "alerts.lost": "Lost",
    "field.missing": "Lost or stolen",
    "field.place": "Place",
}
