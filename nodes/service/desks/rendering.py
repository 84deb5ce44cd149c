"""Rendering a desk page: the template, the request's language, the officer and the nav.

Every page goes through ``render``: it hands the template ``t`` (the message catalogue in
the request's language), the officer and CSRF token for forms, the desks the officer's
role may use, and the field errors to summarise at the top of the page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from domain import event_types as types
from domain.errors import DomainError, InvalidField, NotPermitted
from domain.roles import ROLE_RIGHTS, Right, recordable
from domain.time import format_time
from nodes.accounts.officer import Officer
from nodes.errors import NodeError
from nodes.service.auth import CSRF_FIELD
from nodes.service.desks.messages import ENGLISH, language_for, translator

TEMPLATE_DIR = Path(__file__).parent / "templates"


@functools.cache
def templates() -> Jinja2Templates:
    """The desks' templates, loaded on first use (nothing is built at import time)."""
    return Jinja2Templates(directory=TEMPLATE_DIR)


@dataclass(frozen=True)
class FieldError:
    """One problem to show in the error summary; ``field`` is the input's name ("" when none)."""

    field: str
    message: str

    @property
    def links_to_input(self) -> bool:
        """Whether the page has an input for the field (the role is the officer's, not a field of the form)."""
        return bool(self.field) and self.field != "role"


def field_error(error: DomainError | NodeError) -> FieldError:
    """The summary line of a refused command: the field it names and the reason."""
    field = getattr(error, "field", None) or ""
    message = str(error.args[0]) if error.args else str(error)
    return FieldError(field, message)


def status_for(error: DomainError | NodeError) -> int:
    """The HTTP status of a refused command: 403 role, 422 malformed field, 409 rule or conflict."""
    if isinstance(error, NotPermitted):
        return 403
    return 422 if isinstance(error, InvalidField) else 409


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str     # message id


def desks_for(officer: Officer) -> list[NavItem]:
    """The desks the officer's role may use, in the order the nav shows them."""
    rights = ROLE_RIGHTS[officer.role]
    items = []
    if Right.READ in rights:
        items.append(NavItem("/search", "nav.search"))
    if types.MANUFACTURED in recordable(officer.role) or types.LICENCE_ISSUED in recordable(officer.role):
        items.append(NavItem("/licensing", "nav.licensing"))
    if types.RECEIPT_CONFIRMED in recordable(officer.role) or types.EXPORTED in recordable(officer.role):
        items.append(NavItem("/customs", "nav.customs"))
    if types.TRACE_SUBMITTED in recordable(officer.role) or types.TRACE_RESPONDED in recordable(officer.role):
        items.append(NavItem("/tracing", "nav.tracing"))
    if Right.AUDIT in rights:
        items.append(NavItem("/audit", "nav.audit"))
    if Right.ADMIN in rights:
        items.append(NavItem("/admin", "nav.admin"))
    return items


def render(request: Request, template: str, *, officer: Officer | None = None, csrf: str = "",
           errors: list[FieldError] | None = None, status_code: int = 200, **values: Any) -> HTMLResponse:
    """The page ``template`` filled with ``values``, in the language the browser asks for."""
    context = request.app.state.context
    language = language_for(request.headers.get("accept-language", ""))
    t = translator(language)
    page = {
        "t": t,
        # A count in words: the catalogue's "KEY.1" for one, "KEY" for any other number ({n}).
        "n": lambda key, count: t(f"{key}.1" if count == 1 else key, n=count),
        "language": language,
        "field_label": lambda name: t(f"field.{name}") if f"field.{name}" in ENGLISH else name,
        "day": lambda seconds: format_time(seconds)[:10],
        "officer_names": {},
        "officer": officer,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
        "nav": desks_for(officer) if officer is not None else [],
        "state": context.node.identity.state,
        "errors": errors or [],
        "error_fields": {e.field for e in errors or [] if e.field},
        "path": request.url.path,
        **values,
    }
    return templates().TemplateResponse(request, template, page, status_code=status_code)
