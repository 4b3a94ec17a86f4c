"""HTML pages: the meetings list and the viewer page; the templates live in frontend/."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

import frontend
from moderation import MeetingStatus
from moderation.projections import meeting_for_viewer
from moderation.tagging import districts_of
from moderation.text import MAX_COMMENT_CHARS
from server.i18n import (
    LANG_COOKIE,
    LANGUAGE_NAMES,
    js_strings,
    pick_language,
    template_gettext,
    translator,
)
from server.meetings import is_meeting_id
from server.player import player_for
from server.services import VIEWER_COOKIE, Services

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
    }


def remember_language(request: Request, response: Response, lang: str) -> Response:
    """Keep a language chosen with `?lang=` in a cookie, for the pages that follow."""
    secure = request.url.scheme == "https"
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="lax", secure=secure)
    return response


async def index(request: Request) -> Response:
    """`GET /`: the meetings, live first."""
    services: Services = request.app.state.services
    order = {MeetingStatus.LIVE: 0, MeetingStatus.SCHEDULED: 1, MeetingStatus.ENDED: 2}
    meetings = sorted(
        await services.store.meetings(), key=lambda m: (order[m.status], -m.created_at)
    )
    context = page_context(request) | {"meetings": meetings}
    response = request.app.state.templates.TemplateResponse(request, "index.html", context)
    return remember_language(request, response, str(context["lang"]))


async def meeting_page(request: Request) -> Response:
    """`GET /m/{meeting_id}`: the player, the live chat and the comment box (R3)."""
    services: Services = request.app.state.services
    meeting_id = request.path_params["meeting_id"]
    meeting = await services.store.meeting(meeting_id) if is_meeting_id(meeting_id) else None
    context = page_context(request)
    lang = str(context["lang"])
    if meeting is None:
        return error_page(request, 404, "not_found")
    config = {
        "meeting": meeting_for_viewer(meeting),
        "socket": f"/ws/meetings/{meeting.id}",
        "lang": lang,
        "maxChars": MAX_COMMENT_CHARS,
        "strings": js_strings(lang),
        "districts": list(districts_of(meeting.territory)),
    }
    context |= {
        "meeting": meeting,
        "title": meeting.title_in(lang),
        "player": player_for(meeting.stream_url),
        "config": config,
        "max_chars": MAX_COMMENT_CHARS,
    }
    response = request.app.state.templates.TemplateResponse(request, "meeting.html", context)
    if not request.cookies.get(VIEWER_COOKIE):
        response.set_cookie(
            VIEWER_COOKIE,
            services.new_viewer_cookie(),
            max_age=YEAR,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return remember_language(request, response, lang)


def error_page(request: Request, status: int, key: str) -> HTMLResponse:
    """The error page in the request's language; `key` names the message."""
    context = page_context(request)
    context |= {"status": status, "message": translator(str(context["lang"]))(key)}
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "error.html", context, status_code=status
    )
    return response
