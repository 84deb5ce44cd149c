"""Who is asking, and may they: the FastAPI dependencies every route declares.

A request is signed in by an API bearer token (``Authorization: Bearer ...``) or by a
browser session cookie (``SESSION_COOKIE``). A request that changes anything and rides
on a session cookie must also carry the session's CSRF token, in the ``X-CSRF-Token``
header (htmx sends it) or in the form field ``csrf_token``. Bearer tokens are not sent
by browsers on their own, so they need no CSRF token.

Errors: 401 when credentials are missing or not valid, 403 naming the missing right.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from domain.errors import NotPermitted
from domain.roles import Right
from nodes.accounts.officer import NotSignedIn, Officer
from nodes.ports import OfficerDirectory

SESSION_COOKIE = "armsledger_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def directory_of(request: Request) -> OfficerDirectory:
    """The directory the app was created with (``app.state.directory``)."""
    directory: OfficerDirectory = request.app.state.directory
    return directory


async def signed_in(request: Request) -> Officer:
    """The officer of the request's bearer token or session; 401 otherwise.

    The directory reads its database on a worker thread: the event loop, which serves every
    connection, must never wait on a query. A token found good a moment ago is taken from the
    directory's memory without a query (``nodes.service.token_cache``).
    """
    directory = directory_of(request)
    header = request.headers.get("authorization", "")
    try:
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotSignedIn("the Authorization header must be 'Bearer TOKEN'")
            token = token.strip()
            remembered = getattr(directory, "remembered", None)  # nodes.service.token_cache
            known: Officer | None = remembered(token) if remembered is not None else None
            if known is not None:
                return _known(request, known, "")
            looked_up: Officer = await run_in_threadpool(directory.officer_for_token, token)
            return _known(request, looked_up, "")
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            raise NotSignedIn("sign in first: no bearer token and no session")
        officer, csrf = await run_in_threadpool(directory.officer_for_session, session_id)
        if request.method not in _SAFE_METHODS:
            await _check_csrf(request, csrf)
        return _known(request, officer, csrf)
    except NotSignedIn as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(exc),
                            headers={"WWW-Authenticate": "Bearer"}) from None


def _known(request: Request, officer: Officer, csrf: str) -> Officer:
    """``officer``, kept on the request with the session's CSRF token ("" for a bearer token) once both are
    found good: a desk's page, and the page of a failure later in the same request, show their navigation and
    sign-out form without asking the directory again (``request.state.officer``, ``request.state.csrf``)."""
    request.state.officer = officer
    request.state.csrf = csrf
    return officer


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"{CSRF_FIELD}: missing or wrong CSRF token for this session")


def require(right: Right) -> Callable[[Request], Awaitable[Officer]]:
    """A dependency giving the signed-in officer whose role holds ``right``; 403 naming it otherwise."""

    async def officer_with_right(request: Request) -> Officer:
        officer = await signed_in(request)
        try:
            officer.check(right)
        except NotPermitted as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
        return officer

    officer_with_right.__name__ = f"officer_with_{right.value}_right"
    return officer_with_right
