"""The officers' web desks: server-rendered pages (Jinja2) over the same services as the API.

``mount(app)`` adds the pages under ``/`` and the static files under ``/static``; the
pages read ``app.state.context`` (``services.DeskContext``) and ``app.state.directory``.
Every string shown comes from ``messages``; htmx (vendored, ``static/VENDORED.md``) only
improves pages that work without it. See docs/desks.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the desks' pages and static files to ``app``."""
    from nodes.service.desks import (
        admin_pages,
        alerts_pages,
        audit_pages,
        component_pages,
        customs_pages,
        import_pages,
        licensing_pages,
        reference_pages,
        search_pages,
        session_pages,
        stats_pages,
        tracing_pages,
    )
    from nodes.service.desks.access import SIGN_IN_PATH, DeskRefused, SignInRequired
    from nodes.service.desks.errors import NOT_ALLOWED, error_page
    from nodes.service.desks.jobs import Jobs

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        return RedirectResponse(SIGN_IN_PATH, status.HTTP_303_SEE_OTHER)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DeskRefused)
        return error_page(request, NOT_ALLOWED, exc.status_code, exc.reason)

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_exception_handler(DeskRefused, refused)
    app.state.error_page = error_page  # the API's failure answers, on a desk's path (nodes.service.errors)
    app.state.desk_jobs = Jobs()
    app.mount("/static", StaticFiles(directory=STATIC), name="desk-static")
    desks = (session_pages, search_pages, licensing_pages, customs_pages, tracing_pages, stats_pages, audit_pages,
             import_pages, admin_pages, alerts_pages, reference_pages,
             component_pages)
    for pages in desks:
        app.include_router(pages.router)
