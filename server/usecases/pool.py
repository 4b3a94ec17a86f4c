"""The issue pool end to end (R6, issue 12): load the pool (every issue folded from its one
stream) and, for a new issue, the meeting's board; let the domain decide; append behind the
versions the decision read. A new issue takes the next number (two opened at once: the second
is decided again on the pool with the first); a change of an issue that changed meanwhile is
a `Conflict` (409), and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timezone

from moderation import Conflict, InvalidInput, Meeting, NotFound
from moderation import pool as domain
from moderation.deadlines import deadlines, local_day, meeting_offset
from moderation.pool import Issue, IssueMerged, Pool, PoolEvent
from server.store import Refused, Write
from server.usecases.context import UseCases
from server.usecases.rundown import fold

TRIES = 5  # a new issue decided again when another was opened first


async def open_issue(
    cases: UseCases,
    meeting_id: str,
    body: Mapping[str, object],
    *,
    by: str,
    requests: bool = False,
) -> Issue:
    """A problem issue of the meeting's `questions` (approved ones, with those merged into
    them; with `requests`, new ones too: the commission's, R5), with the fields `body` gives;
    topic and district default to the questions'."""
    board = (await fold(cases, meeting_id)).board  # NotFound for no such meeting
    questions = domain.questions_of(board.items, body.get("questions"), requests=requests)
    topic, district = domain.default_place(board.items, questions)
    fields = domain.draft({"topic": topic, "district": district, **body})
    store = cases.store.pool
    for _ in range(TRIES):
        pool = await store.pool()
        event = domain.open_issue(pool, meeting_id, questions, fields, at=cases.clock(), by=by)
        write = Write()
        store.opening(write, pool, event.issue)
        store.append(write, event)
        if not isinstance(await cases.store.record.run(write), Refused):
            return pool.apply(event)
    raise Conflict("the pool kept changing; try again")


Decide = Callable[[Pool, Issue], PoolEvent]


async def change(cases: UseCases, issue_id: str, decide: Decide) -> Issue:
    """Apply what `decide` makes of the issue as it is now; `Conflict` when it (or, for a
    merge, the other issue) changed before the write landed."""
    store = cases.store.pool
    pool = await store.pool()
    issue = pool.get(issue_id)
    event = decide(pool, issue)
    touched = [issue, pool.get(event.into)] if isinstance(event, IssueMerged) else [issue]
    write = Write()
    store.changing(write, touched)
    store.append(write, event)
    if isinstance(await cases.store.record.run(write), Refused):
        raise Conflict(f"issue {issue_id} changed meanwhile; nothing was applied")
    return pool.apply(event)


def version_of(body: Mapping[str, object]) -> int | None:
    """The `version` the caller saw (optional): a change of an issue at another one is a
    `Conflict`."""
    value = body.get("version")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput("version must be a positive integer")
    return value


async def edit(cases: UseCases, issue_id: str, body: Mapping[str, object], *, by: str) -> Issue:
    version = version_of(body)
    fields = {k: v for k, v in body.items() if k in (*domain.EDITABLE, "executor")}
    return await change(
        cases,
        issue_id,
        lambda _, i: domain.edit(i, fields, at=cases.clock(), by=by, version=version),
    )


async def change_status(
    cases: UseCases, issue_id: str, body: Mapping[str, object], *, by: str
) -> Issue:
    version = version_of(body)
    status, reason = body.get("status"), body.get("reason", "")
    return await change(
        cases,
        issue_id,
        lambda _, i: domain.change_status(
            i, status, reason, at=cases.clock(), by=by, version=version
        ),
    )


async def add_progress(
    cases: UseCases, issue_id: str, body: Mapping[str, object], *, by: str
) -> Issue:
    version = version_of(body)
    text = body.get("text")
    return await change(
        cases,
        issue_id,
        lambda _, i: domain.add_progress(i, text, at=cases.clock(), by=by, version=version),
    )


async def merge(cases: UseCases, issue_id: str, body: Mapping[str, object], *, by: str) -> Issue:
    """`issue_id` joins the issue `into`; answers `into` as it is after."""
    version = version_of(body)
    into = body.get("into")
    if not isinstance(into, str) or not into:
        raise InvalidInput("into must be an issue's id")

    def decide(pool: Pool, issue: Issue) -> PoolEvent:
        try:
            other = pool.get(into)
        except NotFound:
            raise InvalidInput(f"into: no issue {into[:40]!r}") from None
        return domain.merge(issue, other, at=cases.clock(), by=by, version=version)

    return await change(cases, issue_id, decide)  # the folded merge is `into` as it is after


# Reading


async def offsets(cases: UseCases) -> dict[str, timezone]:
    """Each meeting's UTC offset: an issue's dates are its meeting's local dates."""
    return {m.id: meeting_offset(m) for m in await cases.store.meetings.all()}


def today(cases: UseCases, offset: timezone) -> date:
    return local_day(cases.clock(), offset)


async def meeting_deadlines(cases: UseCases, meeting: Meeting) -> dict[str, object]:
    """`GET /api/meetings/{id}/deadlines`: R6's due dates, `overdue` those past and not met by
    the meeting's issues (`moderation.pool.met`)."""
    offset = meeting_offset(meeting)
    due = deadlines(meeting)
    pool = await cases.store.pool.pool()
    issues = domain.listed(pool, domain.Filters(meeting=meeting.id))
    return due.public(today(cases, offset), domain.met(due, issues, offset))


async def overdue(cases: UseCases, meetings: Sequence[Meeting]) -> dict[str, dict[str, object]]:
    """For the staff dashboard: each meeting's R6 due dates past and not met (`dates`, ISO)
    and how many of its issues are overdue (`issues`); meetings with neither are left out."""
    pool = await cases.store.pool.pool()
    flagged: dict[str, dict[str, object]] = {}
    for meeting in meetings:
        offset = meeting_offset(meeting)
        day = today(cases, offset)
        due = deadlines(meeting)
        issues = domain.listed(pool, domain.Filters(meeting=meeting.id))
        dates = [d.isoformat() for d in due.overdue(day, domain.met(due, issues, offset))]
        late = sum(1 for issue in issues if issue.is_overdue(day))
        if dates or late:
            flagged[meeting.id] = {"dates": dates, "issues": late}
    return flagged
