"""Sign-in, sign-out and the home page listing the officer's desks.

The sign-in form has no session yet, so it carries a one-off token that must equal a
SameSite=Strict cookie set with the form (double submit): another site cannot sign a
browser in under an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nodes.accounts.officer import NotSignedIn, Officer, TooManyAttempts
from nodes.service.auth import CSRF_FIELD, SESSION_COOKIE, directory_of, signed_in
from nodes.service.desks.access import SIGN_IN_PATH, context_of, form_of
from nodes.service.desks.messages import language_for, translator
from nodes.service.desks.rendering import FieldError, desks_for, render

router = APIRouter(include_in_schema=False)

SIGN_IN_COOKIE = "armsledger_signin"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The officer's desks; the sign-in page when nobody is signed in."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return RedirectResponse(SIGN_IN_PATH, status.HTTP_303_SEE_OTHER)
    try:
        officer, csrf = directory_of(request).officer_for_session(session_id)
    except NotSignedIn:
        return RedirectResponse(SIGN_IN_PATH, status.HTTP_303_SEE_OTHER)
    desks = desks_for(officer)
    if len(desks) == 1:
        return RedirectResponse(desks[0].href, status.HTTP_303_SEE_OTHER)
    return render(request, "home.html", officer=officer, csrf=csrf, desks=desks)


@router.get(SIGN_IN_PATH, response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    return _sign_in_form(request)


@router.post(SIGN_IN_PATH, response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check name and password, open a session, and go to the officer's desks."""
    values = await form_of(request, ("name", "password", CSRF_FIELD))
    t = translator(language_for(request.headers.get("accept-language", "")))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(values[CSRF_FIELD], expected):
        return _sign_in_form(request, values["name"], [FieldError("", t("signin.stale"))],
                             status.HTTP_403_FORBIDDEN)
    if not values["name"] or not values["password"]:
        missing = "name" if not values["name"] else "password"
        return _sign_in_form(request, values["name"], [FieldError(missing, t("signin.missing"))],
                             status.HTTP_422_UNPROCESSABLE_ENTITY)
    accounts = context_of(request).accounts
    address = request.client.host if request.client else ""
    try:
        officer = accounts.sign_in(values["name"], values["password"], address)
    except NotSignedIn:
        return _sign_in_form(request, values["name"], [FieldError("password", t("signin.failed"))],
                             status.HTTP_401_UNAUTHORIZED)
    except TooManyAttempts as exc:
        response = _sign_in_form(request, values["name"],
                                 [FieldError("name", t("signin.too_many", seconds=exc.retry_after_s))],
                                 status.HTTP_429_TOO_MANY_REQUESTS)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        accounts.close_session(previous)   # one browser, one session: signing in again ends the old one
    session_id, _ = accounts.open_session(officer)
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    return response


@router.post("/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, officer: Officer = Depends(signed_in)) -> Response:
    """Close the session (the form carries its CSRF token) and show the sign-in page."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        context_of(request).accounts.close_session(session_id)
    t = translator(language_for(request.headers.get("accept-language", "")))
    response = _sign_in_form(request, notice=t("signout.done"))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _sign_in_form(request: Request, name: str = "", errors: list[FieldError] | None = None,
                  status_code: int = status.HTTP_200_OK, notice: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "signin.html", errors=errors, status_code=status_code, name=name,
                      signin_token=token, notice=notice)
    response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=SIGN_IN_PATH)
    return response
