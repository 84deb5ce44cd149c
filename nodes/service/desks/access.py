"""Who is at a desk: the signed-in officer and the session's CSRF token for the page's forms.

Pages use ``at_desk(right)``: it applies ``nodes.service.auth.require`` (so a form without
the session's CSRF token is refused with 403, and a role without the right with 403
naming it) and sends a browser that is not signed in to the sign-in page. Both are
answered as pages (``SignInRequired``, ``DeskRefused``; their handlers are added by
``mount``), not as the API's JSON errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, Response, status

from domain.numbers import LARGEST_WHOLE, check_whole
from domain.roles import Right
from nodes.accounts.officer import NotSignedIn, Officer
from nodes.service.auth import require
from nodes.service.desks.rendering import render
from nodes.service.desks.services import DeskContext

SIGN_IN_PATH = "/sign-in"


@dataclass(frozen=True)
class Desk:
    officer: Officer
    csrf: str      # the session's CSRF token ("" for a bearer token: no forms to protect)


def at_desk(right: Right) -> Callable[[Request], Awaitable[Desk]]:
    """A dependency giving the officer holding ``right`` and their CSRF token; 303 to sign-in if none."""
    check = require(right)

    async def desk(request: Request) -> Desk:
        try:
            officer = await check(request)
        except NotSignedIn:
            raise SignInRequired() from None
        except HTTPException as exc:
            if exc.status_code == status.HTTP_401_UNAUTHORIZED:
                raise SignInRequired() from None
            raise DeskRefused(str(exc.detail), exc.status_code) from None
        return Desk(officer, request.state.csrf)  # kept by the sign-in check (nodes.service.auth)

    desk.__name__ = f"desk_with_{right.value}_right"
    return desk


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class DeskRefused(Exception):
    """The request is refused (a missing right, a missing CSRF token): shown as a page with the reason."""

    def __init__(self, reason: str, status_code: int):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


def context_of(request: Request) -> DeskContext:
    """The service context the app was created with (``app.state.context``)."""
    context: DeskContext = request.app.state.context
    return context


async def form_of(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The posted values of ``names``, stripped ("" when absent); other fields are ignored."""
    form = await request.form()
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


def whole_of(text: str, field: str, *, default: int = 0, least: int = 0, most: int = LARGEST_WHOLE) -> int:
    """A whole number typed in a form (``default`` when empty); ``InvalidField`` naming ``field`` otherwise."""
    if not text:
        return default
    return check_whole(int(text) if text.isdigit() else text, field, least=least, most=most)


def query_of(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The query parameters ``names``, stripped ("" when absent)."""
    return {name: request.query_params.get(name, "").strip() for name in names}


def desk_page(request: Request, desk: Desk, template: str, **values: Any) -> Response:
    """``template`` rendered for the officer at ``desk`` (their nav and their forms' CSRF token)."""
    return render(request, template, officer=desk.officer, csrf=desk.csrf, **values)
