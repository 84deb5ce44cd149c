"""``/api/v1/session``, ``/api/v1/tokens``, ``/api/v1/users``: signing in and out, API tokens, accounts.

A browser signs in with ``POST /session`` and gets an HttpOnly, SameSite=Strict session
cookie plus the CSRF token its later writes must send; an API client trades its name and
password for a bearer token with ``POST /tokens``. Failed sign-ins are rate-limited by the
accounts (429 with Retry-After). Administrators list and add users.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from domain.roles import Role
from nodes.accounts.officer import Officer
from nodes.registry.reading import plain_record
from nodes.service.acting import API_PREFIX, Admin, Context
from nodes.service.auth import SESSION_COOKIE, signed_in
from nodes.service.bodies import Body, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=API_PREFIX, tags=["session"], responses=ERROR_RESPONSES)

Name = Annotated[str, Field(min_length=1, max_length=100)]
Password = Annotated[str, Field(min_length=1, max_length=1000)]


class SignIn(Body):
    name: Name
    password: Password


class TokenRequest(SignIn):
    days: Annotated[int, Field(ge=1, le=366, description="days until it expires")] = 30
    label: Text = ""


class NewUser(Body):
    name: Name
    role: Role
    password: Annotated[str | None, Field(max_length=1000, description="none: one is generated and shown once")] = None


class OfficerOut(BaseModel):
    user_id: str
    name: str
    role: Role

    @classmethod
    def of(cls, officer: Officer) -> OfficerOut:
        return cls(user_id=officer.user_id, name=officer.name, role=officer.role)


class Session(BaseModel):
    csrf_token: str
    user: OfficerOut


class Token(BaseModel):
    token: str = Field(description="shown once; send it as 'Authorization: Bearer TOKEN'")
    info: dict[str, Any]


class Added(BaseModel):
    user: OfficerOut
    password: str | None = Field(description="the generated password, shown once (null when one was given)")


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/session", summary="sign in: sets the session cookie, answers the CSRF token for writes")
def sign_in(body: SignIn, request: Request, response: Response, context: Context) -> Session:
    officer = context.accounts.sign_in(body.name, body.password, _address(request))
    session_id, csrf = context.accounts.open_session(officer)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return Session(csrf_token=csrf, user=OfficerOut.of(officer))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="sign out: ends the session")
def sign_out(request: Request, context: Context, _: Annotated[Officer, Depends(signed_in)]) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        context.accounts.close_session(session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/tokens", status_code=status.HTTP_201_CREATED, summary="a bearer token for an API client")
def create_token(body: TokenRequest, request: Request, context: Context) -> Token:
    officer = context.accounts.sign_in(body.name, body.password, _address(request))
    token, info = context.accounts.create_token(officer.name, days=body.days, label=body.label)
    return Token(token=token, info=plain_record(info))


@router.get("/users", summary="every account (administrators)")
def users(_: Admin, context: Context) -> dict[str, Any]:
    return {"users": plain_record(context.accounts.users())}


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="add an account (administrators)")
def add_user(body: NewUser, _: Admin, context: Context) -> Added:
    officer, password = context.accounts.add_user(body.name, body.role, body.password)
    return Added(user=OfficerOut.of(officer), password=password)
