"""Every failure a client can cause, as one JSON shape and a 4xx status.

Body: ``{"detail": message, "field": input at fault or null}`` (validation errors add
``errors``, one per field). Domain refusals: ``InvalidField`` 422, ``UnknownWeapon`` 404,
``NotPermitted`` 403 (the role or authority may not record it), other rule violations and
stale writes 409; a body that cannot be read at all 400; ``NotSignedIn`` 401,
``TooManyAttempts`` 429 with ``Retry-After``; the database or broker failing 503. A damaged
store (a record the read models hold is gone from the log or altered there) 500, saying so and
that the operator should run ``armsledger verify``: nothing the officer can change by asking again.
Anything else is logged and answered 500 without details.

The same failures on a page of the web desks (any path outside the API and the health routes, when the
desks are mounted) are answered with the same status as an HTML page in the officer's language
(``nodes.service.desks.errors``), not with the API's JSON.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from eventsourcing.persistence import ConnectionUnavailableError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response

from domain.errors import DomainError, InvalidField, NotPermitted, UnknownPerson, UnknownWeapon
from nodes.accounts.officer import NotSignedIn, TooManyAttempts
from nodes.errors import StorageError, TransportError, VersionConflict
from nodes.service.acting import API_PREFIX
from nodes.service.security import HEADERS as SECURITY_HEADERS, STRICT_POLICY
from projections.errors import MissingRecord

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """The body of every error answer."""

    detail: str
    field: str | None = None
    errors: list[dict[str, str]] | None = None


#: The error answers every route may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in (
        (400, "the body cannot be read (not UTF-8 JSON)"), (401, "not signed in"),
        (403, "the role lacks the right or may not record this"),
        (404, "no such record"), (409, "refused by a rule, or a conflicting write"),
        (413, "body too large"), (422, "a field is malformed; `field` names it"),
        (429, "too many failed sign-ins"), (500, "the node's store is damaged, or another failure (logged)"),
        (503, "database or broker unreachable"))
}


def problem(status: int, detail: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "field": field, **extra}
    return JSONResponse(body, status_code=status)


#: What went wrong, for a desk page: the kinds ``nodes.service.desks.errors`` has words for.
UNAVAILABLE, BUSY, DAMAGED, INTERNAL, NOT_FOUND, REFUSED = (
    "unavailable", "busy", "damaged", "internal", "not_found", "refused")
#: Paths outside the API that are not desk pages either: their failures are answered in JSON.
_NOT_PAGES = frozenset({"/healthz", "/readyz", "/metrics"})


def _answer(request: Request, kind: str, response: JSONResponse, shown: str = "") -> Response:
    """``response`` (the API's JSON), or on a page of the desks the desks' page of the same status for
    ``kind`` with ``shown`` (a refusal's reason; nothing for a failure of the node), set where the desks are
    mounted (``app.state.error_page``). The answer's ``Retry-After`` and ``WWW-Authenticate`` go with it."""
    page = getattr(request.app.state, "error_page", None)
    path = request.url.path
    if page is None or path.startswith(API_PREFIX) or path in _NOT_PAGES:
        return response
    answer: Response = page(request, kind, response.status_code, shown)
    for name in ("retry-after", "www-authenticate"):
        if name in response.headers:
            answer.headers[name] = response.headers[name]
    # The handler of any other exception answers outside the middleware that adds these (Starlette's
    # ServerErrorMiddleware): a page carries them always.
    answer.headers.setdefault("content-security-policy", STRICT_POLICY)
    for header, value in SECURITY_HEADERS.items():
        answer.headers.setdefault(header.decode(), value.decode())
    return answer


_NAMED = frozenset({"role", "csrf_token"})


def _pool_ran_dry(exc: OperationalError) -> bool:
    """Whether ``exc`` is a connection pool's wait running out: eventsourcing's own SQLite pool says
    so itself; on PostgreSQL it wraps psycopg_pool's ``PoolTimeout`` (looked up only where loaded, so
    a SQLite node never imports psycopg for this)."""
    if isinstance(exc, ConnectionUnavailableError):
        return True
    pool = sys.modules.get("psycopg_pool")
    return pool is not None and isinstance(exc.__cause__, pool.PoolTimeout)


def status_of(error: DomainError) -> int:
    if isinstance(error, InvalidField):
        return 422
    if isinstance(error, NotPermitted):
        return 403
    if isinstance(error, (UnknownWeapon, UnknownPerson)):
        return 404
    return 409


def install(app: FastAPI) -> None:
    """Add the exception handlers to ``app``."""

    @app.exception_handler(DomainError)
    async def domain_refused(request: Request, exc: DomainError) -> Response:
        return _answer(request, REFUSED, problem(status_of(exc), str(exc), exc.field), str(exc))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                   "reason": str(e.get("msg", ""))} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "reason": "malformed"}
        detail = f"{first['field']}: {first['reason']}"
        return _answer(request, REFUSED, problem(422, detail, first["field"], errors=errors), detail)

    @app.exception_handler(HTTPException)
    async def http_refused(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 413:  # Starlette's body limit (nodes.service.security)
            response = problem(413, "the request body is larger than this service accepts", "body")
        elif exc.status_code == 400:  # FastAPI could not read the body at all
            response = problem(400, f"body: {exc.detail}", "body")
        else:
            # The auth dependencies say "role: ..." or "csrf_token: ...": name that field too.
            named = str(exc.detail).split(": ", 1)[0]
            response = problem(exc.status_code, str(exc.detail), named if named in _NAMED else None)
        response.headers.update(exc.headers or {})
        if exc.status_code == 404:  # no such page (a route's own 404s are domain refusals, above)
            return _answer(request, NOT_FOUND, response)
        return _answer(request, REFUSED, response, str(exc.detail))

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        response = problem(401, str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return _answer(request, REFUSED, response, str(exc))

    @app.exception_handler(TooManyAttempts)
    async def too_many(request: Request, exc: TooManyAttempts) -> Response:
        response = problem(429, str(exc))
        response.headers["Retry-After"] = str(max(1, exc.retry_after_s))
        return _answer(request, REFUSED, response, str(exc))

    @app.exception_handler(VersionConflict)
    async def conflict(request: Request, exc: VersionConflict) -> Response:
        detail = f"another write reached this record first, try again: {exc}"
        return _answer(request, REFUSED, problem(409, detail), detail)

    @app.exception_handler(StorageError)
    @app.exception_handler(TransportError)
    async def unavailable(request: Request, exc: Exception) -> Response:
        log.error("service unavailable: %s", exc)
        return _answer(request, UNAVAILABLE, problem(503, f"the node cannot serve this now: {exc}"))

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        if not _pool_ran_dry(exc):  # the database went away, or refused the connection
            log.error("service unavailable: %s", exc)
            return _answer(request, UNAVAILABLE, problem(503, f"the node cannot serve this now: {exc}"))
        # Every connection of the node's database was in use for the pool's whole wait. A write is one
        # transaction, so a write refused here was not recorded, and the officer can send it again.
        log.warning("service busy: %s", exc)
        response = problem(503, "the node is busy: try again in a moment")
        response.headers["Retry-After"] = "1"
        return _answer(request, BUSY, response)

    @app.exception_handler(MissingRecord)
    async def damaged(request: Request, exc: MissingRecord) -> Response:
        # The log row of a record the views hold was deleted or changed after it was projected: tampering
        # or a damaged disk. The specifics (positions, streams) go to the node's log, not to the client.
        log.error("store damaged: %s", exc)
        return _answer(request, DAMAGED, problem(
            500, "the node's store is damaged: a record its read models hold is missing or altered in the log; "
                 "the node's operator should run 'armsledger verify' (logged on the node)"))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error", exc_info=exc)
        return _answer(request, INTERNAL, problem(500, "internal error (logged on the node)"))
