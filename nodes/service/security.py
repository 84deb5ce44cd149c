"""Protections every answer and every request get, whatever the route.

Answers carry the security headers: a Content-Security-Policy that allows no inline
script and no framing, ``X-Frame-Options: DENY``, ``nosniff`` and a strict referrer
policy. A request body over ``MAX_BODY_BYTES`` is refused with 413 before any route
reads it, whether it declares its length or streams.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000

# /docs (Swagger UI) loads its script and style from the jsDelivr CDN and starts with one inline
# script; only that page gets a policy that allows them, every other answer the strict one.
STRICT_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_POLICY = ("default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
               "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    b"x-frame-options": b"DENY",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
}
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect")


class SecurityHeaders:
    """ASGI middleware adding the security headers to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope.get("path") in DOCS_PATHS else STRICT_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS.items() if k not in given]
                if b"content-security-policy" not in given:
                    extra.append((b"content-security-policy", policy.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class DeclaredBodyLimit:
    """ASGI middleware answering 413 (our JSON error shape) to a request that declares a body over
    ``limit`` bytes, before anything reads it; Starlette's ``RequestBodyLimitMiddleware`` catches streamed ones."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length") if scope["type"] == "http" else None
        if declared is None or (declared.isdigit() and int(declared) <= self.limit):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": f"the request body is larger than {self.limit} bytes", "field": "body"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
