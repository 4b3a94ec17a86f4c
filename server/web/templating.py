"""What every page shares: the templates (in frontend/), static files, the page context in the
request's language, finding a page's meeting, and the error page."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

import frontend
from moderation import Meeting
from server.services import Services
from server.usecases import is_meeting_id
from server.web.i18n import (
    KEYS,
    LANG_COOKIE,
    LANGUAGE_NAMES,
    pick_language,
    template_gettext,
    translator,
)

FRONTEND = Path(frontend.__file__).parent
YEAR = 365 * 24 * 3600


def templates() -> Jinja2Templates:
    """Templates with autoescape on for every file: user text is only ever text.

    The i18n extension gives templates `_()`; it and `ngettext()`, `pgettext()` come with each
    page's context, in its language (`page_context`), with `{name}` placeholders as in scripts.
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(FRONTEND / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.globals["static"] = static_url_factory()
    environment.globals["has_word"] = KEYS.__contains__  # `t(key)` only for a known key
    return Jinja2Templates(env=environment)


def static_url_factory() -> Callable[[str], str]:
    """`static(name)`: the file's URL with a content hash, so browsers may cache it for long."""
    versions = {
        path.relative_to(FRONTEND / "static").as_posix(): _digest(path)
        for path in (FRONTEND / "static").rglob("*")
        if path.is_file()
    }

    def static(name: str) -> str:
        return f"/static/{name}?v={versions[name]}"

    return static


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class Static(StaticFiles):
    """Static files; versioned URLs (`?v=`) are cached for a year, others revalidated."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        versioned = b"v=" in scope.get("query_string", b"")
        cache = f"public, max-age={YEAR}, immutable" if versioned else "no-cache"
        response.headers["cache-control"] = cache
        return response


def static_files() -> Static:
    return Static(directory=FRONTEND / "static")


def page_context(request: Request) -> dict[str, object]:
    """What every page's template reads: the request, its language and its words.

    `t(key)` looks a message up by its code key (`t('status_' ~ status)`); `_()`, `pgettext()`,
    `ngettext()` and `npgettext()` take the English msgid itself.
    """
    services: Services = request.app.state.services
    lang = pick_language(
        request.query_params,
        request.cookies,
        request.headers.get("accept-language", ""),
        services.settings.default_lang,
    )
    return {
        "request": request,
        "lang": lang,
        "t": translator(lang),
        **template_gettext(lang),
        "languages": LANGUAGE_NAMES,
        "path": request.url.path,
        "keep_query": keep_query(request.query_params.multi_items()),
    }


def keep_query(items: Iterable[tuple[str, str]]) -> str:
    """The query a language link keeps (all but `lang`), ready for `?{keep}lang=xx`: the login
    page's `next`, a list's filters (issue 14)."""
    kept = urlencode([(name, value) for name, value in items if name != "lang"])
    return f"{kept}&" if kept else ""


def remember_language(request: Request, response: Response, lang: str) -> Response:
    """Keep a language chosen with `?lang=` in a cookie, for the pages that follow."""
    secure = request.url.scheme == "https"
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="lax", secure=secure)
    return response


def error_page(request: Request, status: int, key: str, detail: str = "") -> HTMLResponse:
    """The error page in the request's language, with the site's header (a signed-in staff
    member's too); `key` names the message, `detail` says which field of a request was bad."""
    context = page_context(request)
    context |= {"status": status, "message": translator(str(context["lang"]))(key)}
    context |= {"detail": detail, **_signed_in(request)}
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "error.html", context, status_code=status
    )
    return response


def _signed_in(request: Request) -> dict[str, object]:
    """The header's signed-in part, when the request's staff member is already known."""
    staff = getattr(request.state, "staff", None)
    return {"staff": staff, "csrf_token": staff.csrf} if staff is not None else {}


async def meeting_or_404(request: Request) -> Meeting | Response:
    """The meeting of the path's `meeting_id`, or the 404 page."""
    services: Services = request.app.state.services
    meeting_id = request.path_params["meeting_id"]
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    return meeting if meeting is not None else error_page(request, 404, "not_found")


def render(request: Request, name: str, context: dict[str, object]) -> Response:
    """Template `name` with `context` (which has the page context's `lang`)."""
    response: Response = request.app.state.templates.TemplateResponse(request, name, context)
    return remember_language(request, response, str(context["lang"]))
