"""The issue pool over HTTP (R6, issue 12): staff make and change problem issues; anyone reads
them as pages, JSON and CSV, from the same rows.

Staff (the admin token as `Authorization: Bearer`, or the session of a role allowed `moderate`
with its CSRF token): `POST /api/meetings/{id}/issues` makes an issue; `POST /api/issues/{id}`
edits it, `POST /api/issues/{id}/status`, `/progress` and `/merge` change its status, add a
progress update and merge it into another. Public: `GET /api/issues` (JSON), `GET
/api/issues.csv`, `GET /api/issues/{id}`, and the pages `/issues` and `/issues/{id}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timezone
from urllib.parse import urlencode

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation import Meeting, NotFound
from moderation.audiences import public_question
from moderation.pool import Filters, Issue, IssueStatus, listed
from recordings.exports import issue_json, issues_csv, issues_json, local
from recordings.transcript import Question
from server.auth.accounts import Permission
from server.auth.keys import admin_or_staff
from server.auth.sessions import services_of
from server.usecases import is_meeting_id
from server.usecases import pool as cases_of
from server.usecases.context import UseCases
from server.usecases.rundown import fold
from server.usecases.transcript import transcript_of
from server.web.api import read_json
from server.web.templating import error_page, page_context, render

MAX_BODY = 64 * 1024
FILTERS = ("meeting", "district", "topic", "executor", "status")
NO_STORE = {"Cache-Control": "no-store"}


def _cases(request: Request) -> UseCases:
    return services_of(request).usecases


async def editor(request: Request) -> str:
    """Who changes the pool in this request: the admin token, or staff allowed `moderate`."""
    return await admin_or_staff(request, Permission.MODERATE)


async def _body(request: Request) -> Mapping[str, object]:
    body = await read_json(request, MAX_BODY)
    if not isinstance(body, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body must be a JSON object")
    return body


async def _shown(request: Request, issue: Issue, *, code: int = 200) -> JSONResponse:
    cases = _cases(request)
    offsets = await cases_of.offsets(cases)
    return JSONResponse(
        issue_json(issue, *local(issue, cases.clock(), offsets)), status_code=code, headers=NO_STORE
    )


# Staff


async def post_issue(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/issues`: 201 with the new issue."""
    by = await editor(request)
    meeting_id = str(request.path_params["meeting_id"])
    if not is_meeting_id(meeting_id):
        raise NotFound(f"no meeting {meeting_id[:40]!r}")
    body = await _body(request)
    issue = await cases_of.open_issue(_cases(request), meeting_id, body, by=by)
    return await _shown(request, issue, code=status.HTTP_201_CREATED)


def _change(run: Callable[..., Awaitable[Issue]]) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        by = await editor(request)
        body = await _body(request)
        issue_id = str(request.path_params["issue_id"])
        return await _shown(request, await run(_cases(request), issue_id, body, by=by))

    endpoint.__doc__ = run.__doc__
    return endpoint


edit_issue = _change(cases_of.edit)  # POST /api/issues/{issue_id}
change_status = _change(cases_of.change_status)  # POST /api/issues/{issue_id}/status
add_progress = _change(cases_of.add_progress)  # POST /api/issues/{issue_id}/progress
merge_issue = _change(cases_of.merge)  # POST /api/issues/{issue_id}/merge: answers `into`


# Public


def filters_of(request: Request) -> Filters:
    """The query's filters (`meeting`, `status`, `district`, `topic`, `executor`)."""
    params = request.query_params
    return Filters(**{name: params.get(name, "").strip()[:200] for name in FILTERS})


async def _rows(request: Request) -> tuple[list[Issue], int, dict[str, timezone]]:
    cases = _cases(request)
    pool = await cases.store.pool.pool()
    return listed(pool, filters_of(request)), cases.clock(), await cases_of.offsets(cases)


async def issues_api(request: Request) -> JSONResponse:
    """`GET /api/issues`: `{"issues": [...]}`, filtered as the query says."""
    issues, now, offsets = await _rows(request)
    return JSONResponse({"issues": issues_json(issues, now, offsets)}, headers=NO_STORE)


async def issues_csv_export(request: Request) -> Response:
    """`GET /api/issues.csv`: the same rows as CSV for the open-data portal."""
    issues, now, offsets = await _rows(request)
    return Response(
        issues_csv(issues, now, offsets).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="issues.csv"', **NO_STORE},
    )


async def issue_api(request: Request) -> JSONResponse:
    """`GET /api/issues/{issue_id}`: one issue (a merged one names the issue it joined)."""
    pool = await _cases(request).store.pool.pool()
    return await _shown(request, pool.get(str(request.path_params["issue_id"])))


async def issues_of(cases: UseCases, meeting_id: str) -> list[dict[str, object]]:
    """A meeting's issues as `GET /api/issues?meeting=ID` gives them: the rows
    `frontend/templates/_issues.html` renders (`issues`) on another page."""
    pool = await cases.store.pool.pool()
    found = listed(pool, Filters(meeting=meeting_id))
    return issues_json(found, cases.clock(), await cases_of.offsets(cases))


# Pages


def _link(filters: Filters, name: str, value: str) -> str:
    chosen = {n: getattr(filters, n) for n in FILTERS} | {name: value}
    query = urlencode({n: v for n, v in chosen.items() if v})
    return "/issues" + (f"?{query}" if query else "")


def facets(
    issues: list[Issue], filters: Filters, meetings: Mapping[str, Meeting], lang: str
) -> list[dict[str, object]]:
    """Each filter's values, as links that keep the other filters: meetings by title, the
    districts, topics and executors the issues have, every status."""
    values: dict[str, dict[str, str]] = {
        "meeting": {i.meeting_id: _title(meetings, i.meeting_id, lang) for i in issues},
        "district": {i.district: i.district for i in issues if i.district},
        "topic": {i.topic: i.topic for i in issues if i.topic},
        "executor": {i.organisation: i.organisation for i in issues},
        "status": {s.value: s.value for s in IssueStatus},
    }
    shown = []
    for name in FILTERS:
        current = getattr(filters, name)
        options = [
            {"value": v, "label": label, "href": _link(filters, name, v), "current": v == current}
            for v, label in sorted(values[name].items(), key=lambda kv: kv[1])
        ]
        shown.append(
            {"name": name, "all": _link(filters, name, ""), "current": current, "options": options}
        )
    return shown


def _title(meetings: Mapping[str, Meeting], meeting_id: str, lang: str) -> str:
    meeting = meetings.get(meeting_id)
    return meeting.title_in(lang) if meeting else meeting_id


async def issues_page(request: Request) -> Response:
    """`GET /issues`: the pool, filtered by links (no script), overdue ones flagged; with a
    meeting chosen, its R6 due dates and which are overdue."""
    context = page_context(request)
    cases = _cases(request)
    filters = filters_of(request)
    pool = await cases.store.pool.pool()
    meetings = {m.id: m for m in await cases.store.meetings.all()}
    offsets = await cases_of.offsets(cases)
    issues = listed(pool, filters)
    every = listed(pool, Filters())
    chosen = meetings.get(filters.meeting)
    context |= {
        "issues": issues_json(issues, cases.clock(), offsets),
        "facets": facets(every, filters, meetings, str(context["lang"])),
        "filters": filters,
        "meeting": chosen,
        "deadlines": await cases_of.meeting_deadlines(cases, chosen) if chosen else None,
        "meetings": {i: _title(meetings, i, str(context["lang"])) for i in meetings},
        "export_query": request.url.query,
    }
    return render(request, "issues.html", context)


async def _moments(request: Request, meeting_id: str) -> dict[str, Question]:
    """Each question's moment in the meeting's transcript: the question itself when it went
    on air, else the one it was merged into (`recordings.transcript.Question`)."""
    transcript = await transcript_of(services_of(request), meeting_id)
    if transcript is None:
        return {}
    aired = {q.id: q for q in transcript.aired}
    merged = {q.id: aired[q.merged_into] for q in transcript.not_reached if q.merged_into in aired}
    return aired | merged


async def issue_page(request: Request) -> Response:
    """`GET /issues/{issue_id}`: one issue: its plan, progress, status history and questions."""
    context = page_context(request)
    cases = _cases(request)
    pool = await cases.store.pool.pool()
    try:
        issue = pool.get(str(request.path_params["issue_id"]))
    except NotFound:
        return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
    meeting = await cases.store.meetings.get(issue.meeting_id)
    offsets = await cases_of.offsets(cases)
    questions = []
    if meeting is not None:
        board = (await fold(cases, meeting.id)).board
        found = (public_question(board.items[q]) for q in issue.questions if q in board.items)
        questions = [q for q in found if q is not None]
    context |= {
        "issue": issue_json(issue, *local(issue, cases.clock(), offsets)),
        "meeting": meeting,
        "questions": questions,
        "moments": await _moments(request, issue.meeting_id),
    }
    return render(request, "issue.html", context)
