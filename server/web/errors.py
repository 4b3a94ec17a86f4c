"""The one place errors become responses: JSON for the API, an error page for pages."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation import Conflict, InvalidTransition, ModerationError, NotFound
from server.store import StoreUnavailable
from server.web.templating import error_page

logger = logging.getLogger(__name__)

STATUS = {NotFound: 404, Conflict: 409, InvalidTransition: 409}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# The sentence of each error page (issue 14): what happened, in the reader's language.
PAGE_MESSAGES = {
    400: "error_bad_request",
    403: "error_forbidden",
    404: "error_page_missing",
    405: "error_method",
    503: "unavailable",
}


def _answer(request: Request, status: int, code: str, detail: str) -> Response:
    """JSON for the API (`{"error", "detail"}`); for pages, a real page in the reader's
    language, naming the bad field of a 400 (`detail`), never a crash's."""
    if _wants_json(request):
        return JSONResponse({"error": code, "detail": detail}, status_code=status)
    key = PAGE_MESSAGES.get(status, "server_error" if status >= 500 else "error")
    return error_page(request, status, key, detail if status == 400 else "")


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ModerationError)
    status = STATUS.get(type(exc), 400)
    return _answer(request, status, exc.code, exc.detail or str(exc))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
    }.get(exc.status_code, "bad_request")
    return _answer(request, exc.status_code, code, str(exc.detail))


async def on_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("store unavailable for %s: %s", request.url.path, exc)
    return _answer(request, 503, "unavailable", "the store is unavailable; try again shortly")


async def on_crash(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s", request.url.path, exc_info=exc)
    return _answer(request, 500, "internal", "internal server error")


HANDLERS = {
    ModerationError: on_domain_error,
    HTTPException: on_http_error,
    StoreUnavailable: on_unavailable,
    Exception: on_crash,
}
