"""The admin desk: officers' accounts (add, role, password, disable, enable) and API tokens.

Every change goes through ``context.accounts`` (``nodes.accounts.store.Accounts``), which
validates it and names the field it refuses. A generated password and a new token are
shown once, on the page answering the form (sent ``no-store``), and never again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError, InvalidField
from domain.roles import Right, Role
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, form_of, whole_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/admin", include_in_schema=False)
ROLES = tuple(role.value for role in Role)


@router.get("", response_class=HTMLResponse)
async def admin(request: Request, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    """Every account with its role and state, every token, and the forms to change them."""
    return await _admin_page(request, desk)


@router.post("/users", response_class=HTMLResponse)
async def add_user(request: Request, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    """Add an account; without a password given, the generated one is shown once."""
    v = await form_of(request, ("name", "user_role", "password"))
    accounts = context_of(request).accounts

    def add() -> dict[str, str]:
        officer, generated = accounts.add_user(v["name"], _role(v["user_role"]), v["password"] or None)
        return {"name": officer.name, "password": generated or ""}

    return await _change(request, desk, add, values=v)


@router.post("/users/{name}/role", response_class=HTMLResponse)
async def change_role(request: Request, name: str, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    v = await form_of(request, ("user_role",))
    return await _change(request, desk, lambda: context_of(request).accounts.set_role(name, _role(v["user_role"])))


@router.post("/users/{name}/password", response_class=HTMLResponse)
async def change_password(request: Request, name: str, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    v = await form_of(request, ("password",))
    return await _change(request, desk, lambda: context_of(request).accounts.set_password(name, v["password"]))


@router.post("/users/{name}/disable", response_class=HTMLResponse)
async def disable(request: Request, name: str, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    """Disable the account: its tokens and sessions end with it."""
    return await _change(request, desk, lambda: context_of(request).accounts.disable_user(name))


@router.post("/users/{name}/enable", response_class=HTMLResponse)
async def enable(request: Request, name: str, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    return await _change(request, desk, lambda: context_of(request).accounts.enable_user(name))


@router.post("/tokens", response_class=HTMLResponse)
async def create_token(request: Request, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    """Create an API token for an account; its text is shown once."""
    v = await form_of(request, ("user", "days", "label"))
    accounts = context_of(request).accounts

    def create() -> dict[str, str]:
        days = whole_of(v["days"], "days", default=30, least=1, most=3650)
        token, _ = accounts.create_token(v["user"], days=days, label=v["label"])
        return {"name": v["user"], "token": token}

    return await _change(request, desk, create, values=v)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke_token(request: Request, token_id: str, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    return await _change(request, desk, lambda: context_of(request).accounts.revoke_token(token_id))


async def _change(request: Request, desk: Desk, change: Callable[[], Any], values: dict[str, str] | None = None
                  ) -> Response:
    """Apply ``change``; a secret it returns is shown once, otherwise back to the desk (303)."""
    try:
        result = await run_in_threadpool(change)
    except DomainError as exc:
        return await _admin_page(request, desk, values=values or {}, errors=[field_error(exc)],
                                 status_code=status_for(exc))
    if isinstance(result, dict) and (result.get("password") or result.get("token")):
        response = await _admin_page(request, desk, secret=result)
        response.headers["Cache-Control"] = "no-store"
        return response
    return RedirectResponse("/admin", status.HTTP_303_SEE_OTHER)


async def _admin_page(request: Request, desk: Desk, **values: Any) -> Response:
    accounts = context_of(request).accounts
    users, tokens = await run_in_threadpool(lambda: (accounts.users(), accounts.tokens()))
    values.setdefault("values", {})
    return desk_page(request, desk, "admin.html", users=users, tokens=tokens, roles=ROLES, **values)


def _role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidField(f"{text!r} is not a role (one of {', '.join(ROLES)})", field="user_role") from None
