"""The one catalogue of every string the desks show, keyed by message id.

Templates and page handlers never hold words: they call ``t("id", **params)``, which
looks the id up in the request's language and fills ``{name}`` placeholders. Adding a
language is adding one dict to ``CATALOGUES`` with the same ids (docs/desks.md); a test
fails when a language lacks an id that English has, or a template uses an unknown id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Translate = Callable[..., str]

DEFAULT_LANGUAGE = "en"

ENGLISH: dict[str, str] = {
    # layout
    "app.title": "armsledger",
    "app.node": "Node {state}",
    "layout.skip": "Skip to main content",
    "layout.nav": "Desks",
    "layout.signed_in_as": "Signed in as {name} ({role})",
    "layout.sign_out": "Sign out",
    "layout.errors_title": "There is a problem",
    "layout.footer": "Every record is signed; every read is audited.",
    "nav.search": "Search",
    "nav.licensing": "Licensing",
    "home.title": "Desks",
    "home.intro": "Choose a desk.",
    "home.none": "Your role has no desk here yet.",
    "refused.title": "Not allowed",
    "refused.back": "Back to your desks",
    # sign-in
    "signin.title": "Sign in",
    "signin.name": "Name",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.failed": "Name or password is wrong.",
    "signin.too_many": "Too many failed attempts. Try again in {seconds} seconds.",
    "signin.missing": "Give your name and your password.",
    "signin.stale": "This form has expired. Please sign in again.",
    "signout.done": "You are signed out.",
    # search
    "search.title": "Search weapons",
    "search.serial": "Serial number",
    "search.serial_hint": "Type ? for one unknown character and * for any run, e.g. AB?12*",
    "search.purpose": "Purpose (optional)",
    "search.purpose_hint": "Why you are looking: kept in the read audit.",
    "search.submit": "Search",
    "search.results": "Results for {pattern}",
    "search.none": "No weapon matches {pattern}.",
    "search.col_weapon": "Weapon",
    "search.col_manufacturer": "Manufacturer",
    "search.col_country": "Country",
    "search.col_serial": "Serial",
    "search.col_status": "Status",
    "search.col_description": "Make, model, calibre",
    "search.intro": "Give any of serial, make, model and calibre: weapons matching all of them are shown.",
    # timeline
    "timeline.title": "Weapon {serial}",
    "timeline.id": "Weapon id",
    "timeline.marking": "Marking",
    "timeline.description": "Description",
    "timeline.status": "Status",
    "timeline.holder": "Holder",
    "timeline.caption": "Every record held about this weapon, oldest first",
    "timeline.col_date": "Date",
    "timeline.col_record": "Record",
    "timeline.col_origin": "Origin node",
    "timeline.col_officer": "Officer",
    "timeline.col_verified": "Verification",
    "timeline.col_hash": "Hash",
    "timeline.verified": "Verified",
    "timeline.received": "Verified (received from {node})",
    "timeline.failed": "NOT VERIFIED: {problem}",
    "timeline.no_officer": "not recorded",
    "timeline.operator": "node operator",
    "timeline.unknown": "unknown",
    # licensing desk
    "licensing.title": "Licensing desk",
    "licensing.manufacture": "Record a manufacture",
    "licensing.transfer": "Record a transfer",
    "licensing.issue": "Issue a licence",
    "licensing.revoke": "Revoke a licence",
    "licensing.lookup": "Look up a licence",
    "licensing.recorded": "Recorded.",
    "field.manufacturer": "Manufacturer (as marked)",
    "field.country": "Country of manufacture (ISO code, e.g. BE)",
    "field.serial": "Serial number",
    "field.type": "Type (e.g. pistol)",
    "field.make": "Make",
    "field.model": "Model",
    "field.calibre": "Calibre",
    "field.year": "Year of manufacture",
    "field.holder": "Holder",
    "field.date": "Date (YYYY-MM-DD; empty: today)",
    "field.weapon": "Weapon id",
    "field.to": "New holder",
    "field.licence": "Transfer licence number of the new holder",
    "field.number": "Licence number",
    "field.kind": "Kind",
    "field.valid_from": "Valid from (YYYY-MM-DD)",
    "field.valid_until": "Valid until (YYYY-MM-DD, inclusive)",
    "field.export_state": "Exporting state (ISO code)",
    "field.import_state": "Importing state (ISO code)",
    "field.consignee": "Consignee",
    "field.end_user": "End user",
    "field.quantity": "Quantity (0: not limited)",
    "field.reason": "Reason",
    "field.purpose": "Purpose",
    "field.name": "Name",
    "field.password": "Password",
    "field.role": "Your role",
    "field.user_role": "Role",
    "field.user": "Account name",
    "field.days": "Days valid",
    # admin desk
    "nav.admin": "Admin",
    "admin.title": "Admin desk",
    "admin.users": "Accounts",
    "admin.tokens": "API tokens",
    "admin.col_name": "Name",
    "admin.col_role": "Role",
    "admin.col_state": "State",
    "admin.col_created": "Created",
    "admin.col_actions": "Actions",
    "admin.col_token": "Token id",
    "admin.col_label": "Label",
    "admin.col_expires": "Expires",
    "admin.enabled": "Enabled",
    "admin.disabled": "Disabled",
    "admin.disable": "Disable",
    "admin.enable": "Enable",
    "admin.change_role": "Change role",
    "admin.new_password": "New password",
    "admin.set_password": "Set password",
    "admin.add_user": "Add an account",
    "admin.password_hint": "At least 12 characters; leave empty to generate one, shown once.",
    "admin.password_once": "The password of {name}, shown only now:",
    "admin.token_once": "The API token of {name}, shown only now:",
    "admin.create_token": "Create a token",
    "admin.days_hint": "Empty: 30 days.",
    "admin.revoke": "Revoke",
    "admin.revoked": "Revoked",
    "admin.no_tokens": "No API tokens.",
    "admin.import_link": "Import weapons from a CSV file",
    "kind.transfer_licence": "Transfer licence",
    "kind.export_licence": "Export licence",
    "kind.import_authorization": "Import authorization",
    "kind.transit_no_objection": "Transit no-objection",
    "kind.broker_registration": "Broker registration",
    "action.manufacture": "Record manufacture",
    "action.transfer": "Record transfer",
    "action.check": "Check the licence",
    "action.issue": "Issue licence",
    "action.revoke": "Revoke licence",
    "action.lookup": "Look up",
    "check.title": "Licence check",
    "check.ok": "Licence {number} allows {holder} to hold this weapon today.",
    "check.refused": "Refused: {reason}",
    "check.incomplete": "Give the new holder and the licence number to check.",
    "licence.title": "Licence {number}",
    "licence.kind": "Kind",
    "licence.holder": "Holder",
    "licence.issuer": "Issued by",
    "licence.valid": "Valid",
    "licence.valid_range": "{start} to {end}",
    "licence.route": "Route",
    "licence.quantity": "Quantity",
    "licence.status": "Status",
    "licence.in_force": "Issued",
    "licence.revoked": "Revoked on {date}: {reason}",
    "licence.issued_id": "Licence recorded with id {id}.",
    "licence.revoked_id": "Licence {number} revoked.",
}

CATALOGUES: dict[str, Mapping[str, str]] = {DEFAULT_LANGUAGE: ENGLISH}


def language_for(accept_language: str) -> str:
    """The first language of an ``Accept-Language`` header that has a catalogue; English otherwise."""
    for part in (accept_language or "").split(","):
        code = part.split(";", 1)[0].strip().lower().split("-", 1)[0]
        if code in CATALOGUES:
            return code
    return DEFAULT_LANGUAGE


def translator(language: str) -> Translate:
    """``t(message_id, **params)`` in ``language``; ``KeyError`` for an id that no catalogue holds."""
    catalogue = CATALOGUES.get(language, ENGLISH)

    def t(message_id: str, **params: object) -> str:
        text = catalogue.get(message_id)
        if text is None:
            text = ENGLISH[message_id]
        return text.format(**params) if params else text

    return t
