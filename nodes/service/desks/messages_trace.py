"""The desk strings of trace deadlines and answers and of the statistics page, keyed by message id.

Part of the one catalogue: ``messages.ENGLISH`` takes them in (docs/desks.md, "The message
catalogue"); a language that translates the desks translates these ids too.
"""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    # a trace: recording times and the answer's content
    "trace.acknowledged": "Acknowledged",
    "trace.answered": "Answered",
    "trace.recorded_on": "recorded {when}",
    "trace.dated": "(the answer is dated {date})",
    "trace.late": "late",
    "trace.col_recorded": "Recorded",
    "trace.col_dated": "Dated",
    "trace.answered_records": "Who held the weapon, from the records of the answer",
    "trace.col_holder": "Holder",
    "trace.col_place": "Place",
    "trace.verified_by": "Verified (signed by {state})",
    "trace.not_verified": "Not verified, not used: {problem}",
    "trace.acknowledge": "Acknowledge receipt of the request",
    # statistics
    "stats.link": "Statistics of seized weapons",
    "stats.title": "Statistics of seized weapons",
    "stats.intro": "Seizures recorded by this node between the two dates, in the shape of UNODC's "
                   "Illicit Arms Flows Questionnaire.",
    "stats.show": "Show",
    "stats.csv": "Download as CSV",
    "stats.seized": "Weapons seized: {count}",
    "stats.col_dimension": "Table",
    "stats.col_value": "Value",
    "stats.col_count": "Weapons",
    "stats.by_place": "By place of seizure",
    "stats.by_weapon_type": "By type of firearm",
    "stats.by_calibre": "By calibre",
    "stats.by_country_of_manufacture": "By country of manufacture",
    "stats.by_country_of_last_legal_import": "By country of last legal import",
    "stats.tracing": "Tracing",
    "stats.traced": "traced",
    "stats.untraced": "untraced",
    "stats.time_to_crime": "Time to crime",
    "stats.median": "Median time to crime: {days} days ({known} weapons with a known start)",
    "stats.no_median": "Median time to crime: not known (no weapon with a known start)",
    "field.period_from": "From (date, inclusive)",
    "field.period_to": "To (date, inclusive)",
}
