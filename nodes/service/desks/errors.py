"""The page a desk shows when the node fails or refuses a request that no desk page answers itself.

``nodes.service.errors`` answers every failure of the API in JSON; on a desk's path it calls
``error_page`` instead (``mount`` sets it as ``app.state.error_page``): the same status, a title
and what the officer can do, in the officer's language. A failure of the node (its database or
broker away, a damaged store, an error of ours) shows nothing of the failure itself: the node's
log has it. A refusal shows its reason; the desks' own "Not allowed" (``access.DeskRefused``) is the same page.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from nodes.service import errors
from nodes.service.desks.rendering import FieldError, render

#: A desk refused the officer (``access.DeskRefused``: the role lacks the right, a form without its CSRF token).
NOT_ALLOWED = "not_allowed"
#: Per kind of failure, the message ids of the page's title and of what the officer can do.
_WORDS = {
    NOT_ALLOWED: ("refused.title", ""),
    errors.UNAVAILABLE: ("problem.unavailable.title", "problem.unavailable.text"),
    errors.BUSY: ("problem.busy.title", "problem.busy.text"),
    errors.DAMAGED: ("problem.damaged.title", "problem.damaged.text"),
    errors.INTERNAL: ("problem.internal.title", "problem.internal.text"),
    errors.NOT_FOUND: ("problem.not_found.title", "problem.not_found.text"),
    errors.REFUSED: ("problem.refused.title", ""),
}


def error_page(request: Request, kind: str, status_code: int, shown: str) -> Response:
    """The page for ``kind`` (``nodes.service.errors``, or ``NOT_ALLOWED``) with ``status_code``; ``shown``: a
    refusal's reason."""
    title, text = _WORDS.get(kind, _WORDS[errors.INTERNAL])
    # The officer, when the request got as far as signing in (kept by ``nodes.service.auth``): their navigation
    # and sign-out form stay on the page. An address no route answers, or a failure before the sign-in check,
    # shows the page without them (the handler asks the directory nothing: it may be what failed).
    page: HTMLResponse = render(request, "problem.html", errors=[FieldError("", shown)] if shown else None,
                                officer=getattr(request.state, "officer", None),
                                csrf=getattr(request.state, "csrf", ""),
                                status_code=status_code, title_id=title, text_id=text)
    page.headers["Cache-Control"] = "no-store"  # a failure of the moment, not a page to keep
    return page
