"""The issue pool (R6, issue 12): problem issues made from a meeting's questions, with their
executor, action plan, deadlines, status and dated progress; every change an event with who
(`by`) and when (`at`), folded into the pool. Pure: ids, `at` and `today` are passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta, timezone
from typing import ClassVar

from moderation.deadlines import Deadlines, local_day
from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from moderation.model import PUBLIC_STATUSES, Item, ItemKind, ItemStatus

MAX_TITLE = 200
MAX_TEXT = 5000  # a description, a progress update, a rejection's reason
MAX_SHORT = 200  # a topic, a district, an address, an organisation, an official, a step, a body
MAX_STEPS = 50
MAX_QUESTIONS = 100


class IssueStatus(enum.StrEnum):
    """Where a problem issue is (R6); `needs_financing` waits for a maslikhat session."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    NEEDS_FINANCING = "needs_financing"


STATUSES = frozenset(s.value for s in IssueStatus)
CLOSED = frozenset({IssueStatus.RESOLVED, IssueStatus.REJECTED})
S = IssueStatus
# Which status may follow which: a resolved issue may be reopened (in progress again), a
# rejected one reconsidered (open again); nothing moves to the status it is in.
TRANSITIONS: dict[IssueStatus, frozenset[IssueStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.NEEDS_FINANCING, S.RESOLVED, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.NEEDS_FINANCING, S.RESOLVED, S.REJECTED}),
    S.NEEDS_FINANCING: frozenset({S.IN_PROGRESS, S.RESOLVED, S.REJECTED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS}),
    S.REJECTED: frozenset({S.OPEN}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """A step of an issue's action plan, due by `deadline` (an ISO date); `done` once done."""

    text: str
    deadline: str
    done: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """An issue's editable fields, as staff gave them (checked by `draft`)."""

    title: str = ""
    description: str = ""
    topic: str = ""
    district: str = ""
    address: str = ""
    organisation: str = ""
    official: str = ""
    plan: tuple[Step, ...] = ()
    deadline: str = ""
    # R8: the central body (a ministry, an agency) whose competence the issue needs, if any
    central_body: str = ""


EDITABLE = tuple(f for f in Draft.__dataclass_fields__)


# Events: each names its issue, who (`by`) and when (`at`, ms since the epoch).


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueOpened(Draft):
    """Staff made a problem issue of a meeting's questions (a question and those merged into
    it): R6's list of problem issues with executors, plan and deadlines."""

    kind: ClassVar[str] = "issue.opened"
    issue: str
    at: int
    by: str
    meeting_id: str
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueEdited(Draft):
    """Staff changed an issue's fields: the event holds all of them as they are after."""

    kind: ClassVar[str] = "issue.edited"
    issue: str
    at: int
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueStatusChanged:
    """An issue moved to `status` (`reason` says why a rejection; R6)."""

    kind: ClassVar[str] = "issue.status_changed"
    issue: str
    at: int
    by: str
    status: IssueStatus
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueProgress:
    """A dated progress update on an issue (R6: published every quarter)."""

    kind: ClassVar[str] = "issue.progress"
    issue: str
    at: int
    by: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueMerged:
    """An issue joined another (`into`): its questions are now the other's (`questions`, all of
    them), and it is no longer listed."""

    kind: ClassVar[str] = "issue.merged"
    issue: str
    at: int
    by: str
    into: str
    questions: tuple[str, ...]


PoolEvent = IssueOpened | IssueEdited | IssueStatusChanged | IssueProgress | IssueMerged
POOL_KINDS: dict[str, type[PoolEvent]] = {
    cls.kind: cls
    for cls in (IssueOpened, IssueEdited, IssueStatusChanged, IssueProgress, IssueMerged)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Dated:
    """A dated entry of an issue's history: a progress update's `text`, or a status change's
    `status` (and its `reason`)."""

    at: int
    by: str
    text: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue(Draft):
    """A problem issue as the pool holds it; `version` grows with every event on it."""

    id: str
    meeting_id: str
    questions: tuple[str, ...]
    status: IssueStatus = IssueStatus.OPEN
    reason: str = ""
    opened_at: int
    opened_by: str
    changed_at: int
    version: int = 1
    updates: tuple[Dated, ...] = ()  # progress, oldest first
    history: tuple[Dated, ...] = ()  # status changes, oldest first
    merged_into: str = ""
    merged: tuple[str, ...] = ()  # issues merged into this one

    @property
    def is_listed(self) -> bool:
        return not self.merged_into

    def late_steps(self, today: date) -> tuple[Step, ...]:
        """The plan's steps not done and past their deadline."""
        return tuple(s for s in self.plan if not s.done and date.fromisoformat(s.deadline) < today)

    def is_overdue(self, today: date) -> bool:
        """Past its deadline, or a plan step's, and neither resolved nor rejected (R6)."""
        if self.status in CLOSED or not self.is_listed:
            return False
        late = bool(self.deadline) and date.fromisoformat(self.deadline) < today
        return late or bool(self.late_steps(today))


@dataclass(slots=True)
class Pool:
    """Every issue, folded from the pool's stream; `claimed` maps (meeting, question) to the
    issue that holds it now."""

    issues: dict[str, Issue] = field(default_factory=dict)
    claimed: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, issue_id: str) -> Issue:
        found = self.issues.get(issue_id)
        if found is None:
            raise NotFound(f"no issue {issue_id[:40]!r}")
        return found

    def next_id(self) -> str:
        """The id the next issue gets: issues are numbered 1, 2, 3... in the order opened."""
        return str(len(self.issues) + 1)

    def apply(self, event: PoolEvent) -> Issue:
        """Fold one event in; returns the issue it changed as it is now."""
        if isinstance(event, IssueOpened):
            issue = _opened(event)
            for question in issue.questions:
                self.claimed[(issue.meeting_id, question)] = issue.id
        elif isinstance(event, IssueMerged):
            gone = self._bump(self.get(event.issue), event.at, merged_into=event.into)
            self.issues[gone.id] = gone
            into = self.get(event.into)
            issue = self._bump(
                into, event.at, questions=event.questions, merged=(*into.merged, gone.id)
            )
            for question in event.questions:
                self.claimed[(issue.meeting_id, question)] = issue.id
        else:
            issue = _changed(self.get(event.issue), event)
            issue = self._bump(issue, event.at)
        self.issues[issue.id] = issue
        return issue

    @staticmethod
    def _bump(issue: Issue, at: int, **changes: object) -> Issue:
        return replace(issue, changed_at=at, version=issue.version + 1, **changes)  # type: ignore[arg-type]


def _opened(event: IssueOpened) -> Issue:
    fields = {name: getattr(event, name) for name in EDITABLE}
    return Issue(
        id=event.issue, meeting_id=event.meeting_id, questions=event.questions,
        opened_at=event.at, opened_by=event.by, changed_at=event.at, **fields,
    )  # fmt: skip


def _changed(issue: Issue, event: IssueEdited | IssueStatusChanged | IssueProgress) -> Issue:
    dated = Dated(at=event.at, by=event.by)
    if isinstance(event, IssueEdited):
        return replace(issue, **{name: getattr(event, name) for name in EDITABLE})
    if isinstance(event, IssueStatusChanged):
        entry = replace(dated, status=event.status, text=event.reason)
        return replace(
            issue, status=event.status, reason=event.reason, history=(*issue.history, entry)
        )
    return replace(issue, updates=(*issue.updates, replace(dated, text=event.text)))


def fold(events: Iterable[PoolEvent]) -> Pool:
    """The pool after `events`, oldest first."""
    pool = Pool()
    for event in events:
        pool.apply(event)
    return pool


# Parsing what staff send (400 naming the field)


def _text(body: Mapping[str, object], name: str, limit: int, *, required: bool = False) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} is required")
    if len(value) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters")
    return value


def _date(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise InvalidInput(f"{name} must be a date, YYYY-MM-DD") from None


def _executor(value: object) -> tuple[str, str]:
    """`executor`: the organisation's name, or `{"organisation", "official"}`."""
    if isinstance(value, str):
        value = {"organisation": value}
    if not isinstance(value, Mapping):
        raise InvalidInput("executor must be a string or {organisation, official}")
    organisation = _text(value, "organisation", MAX_SHORT, required=True)
    return organisation, _text(value, "official", MAX_SHORT)


def _plan(value: object) -> tuple[Step, ...]:
    if not isinstance(value, list) or len(value) > MAX_STEPS:
        raise InvalidInput(f"plan must be a list of at most {MAX_STEPS} steps")
    steps = []
    for n, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"plan[{n}] must be {{text, deadline, done}}")
        text = _text(raw, "text", MAX_SHORT, required=True)
        done = raw.get("done", False)
        if not isinstance(done, bool):
            raise InvalidInput(f"plan[{n}].done must be true or false")
        steps.append(
            Step(text=text, deadline=_date(raw.get("deadline"), f"plan[{n}].deadline"), done=done)
        )
    return tuple(steps)


def draft(body: Mapping[str, object], base: Draft | None = None) -> Draft:
    """The fields `body` gives, over `base` (an edit), else a new issue's (`title`,
    `executor` and `deadline` required)."""
    given = base or Draft()
    changes: dict[str, object] = {}
    for name, limit in (("title", MAX_TITLE), ("description", MAX_TEXT)):
        if name in body or base is None:
            changes[name] = _text(body, name, limit, required=name == "title")
    for name in ("topic", "district", "address", "central_body"):
        if name in body:
            changes[name] = _text(body, name, MAX_SHORT)
    if "executor" in body or base is None:
        if "executor" not in body:
            raise InvalidInput("executor is required")
        changes["organisation"], changes["official"] = _executor(body["executor"])
    if "deadline" in body or base is None:
        changes["deadline"] = _date(body.get("deadline"), "deadline")
    if "plan" in body:
        changes["plan"] = _plan(body["plan"])
    return replace(given, **changes)  # type: ignore[arg-type]


# Decisions


def questions_of(
    items: Mapping[str, Item], ids: object, *, requests: bool = False
) -> tuple[str, ...]:
    """The questions an issue links to: each id a question staff approved (R4: on the public
    list), followed by the questions merged into it; 400 naming `questions` otherwise. With
    `requests`, a new one is taken too: the commission makes issues of requests before the
    meeting (R5, issue 13)."""
    allowed = PUBLIC_STATUSES | {ItemStatus.NEW} if requests else PUBLIC_STATUSES
    if not isinstance(ids, list) or not ids or len(ids) > MAX_QUESTIONS:
        raise InvalidInput(f"questions must be a list of 1-{MAX_QUESTIONS} question ids")
    linked: list[str] = []
    for question in ids:
        item = items.get(question) if isinstance(question, str) else None
        if item is None or item.kind is not ItemKind.QUESTION:
            raise InvalidInput(f"questions: no question {str(question)[:40]!r} in this meeting")
        if item.status is ItemStatus.MERGED:
            raise InvalidInput(
                f"questions: {question} was merged into {item.merged_into}: name that one"
            )
        if item.status not in allowed:
            raise InvalidInput(f"questions: {question} is {item.status}, not approved")
        group = [question, *sorted(i.id for i in items.values() if i.merged_into == question)]
        linked += [q for q in group if q not in linked]
    return tuple(linked)


def default_place(items: Mapping[str, Item], questions: Sequence[str]) -> tuple[str, str]:
    """The topic and district of the first of `questions` that has them (a moderator's, else
    the suggested ones): an issue's defaults."""
    found = [items[q] for q in questions if q in items]
    topic = next((t for i in found if (t := i.topic or i.suggested_topic)), "")
    district = next((d for i in found if (d := i.district or i.suggested_district)), "")
    return topic, district


def open_issue(
    pool: Pool, meeting_id: str, questions: tuple[str, ...], fields: Draft, *, at: int, by: str
) -> IssueOpened:
    """A new issue of `questions` (from `questions_of`); a question already in an issue is a
    `Conflict`."""
    for question in questions:
        holder = pool.claimed.get((meeting_id, question))
        if holder is not None:
            raise Conflict(f"question {question} is already in issue {holder}")
    values = {name: getattr(fields, name) for name in EDITABLE}
    return IssueOpened(
        issue=pool.next_id(), at=at, by=by, meeting_id=meeting_id, questions=questions, **values
    )


def _changeable(issue: Issue, version: int | None) -> None:
    if version is not None and version != issue.version:
        raise Conflict(f"issue {issue.id} is at version {issue.version}, not {version}")
    if issue.merged_into:
        raise InvalidTransition(f"issue {issue.id} was merged into {issue.merged_into}")


def edit(
    issue: Issue, body: Mapping[str, object], *, at: int, by: str, version: int | None = None
) -> IssueEdited:
    """An edit of the fields `body` names (the others stay)."""
    _changeable(issue, version)
    after = draft(body, issue)
    if all(getattr(after, name) == getattr(issue, name) for name in EDITABLE):
        raise InvalidInput("nothing to change: give a field with a new value")
    return IssueEdited(issue=issue.id, at=at, by=by, **{n: getattr(after, n) for n in EDITABLE})


def change_status(
    issue: Issue,
    status: object,
    reason: object = "",
    *,
    at: int,
    by: str,
    version: int | None = None,
) -> IssueStatusChanged:
    """A move to `status` along `TRANSITIONS`; a rejection needs its reason."""
    _changeable(issue, version)
    if not isinstance(status, str) or status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(IssueStatus)}")
    target = IssueStatus(status)
    why = _text({"reason": reason}, "reason", MAX_TEXT, required=target is IssueStatus.REJECTED)
    if target not in TRANSITIONS[issue.status]:
        raise InvalidTransition(f"issue {issue.id} is {issue.status}: it cannot become {target}")
    return IssueStatusChanged(issue=issue.id, at=at, by=by, status=target, reason=why)


def add_progress(
    issue: Issue, text: object, *, at: int, by: str, version: int | None = None
) -> IssueProgress:
    """A dated progress update."""
    _changeable(issue, version)
    return IssueProgress(
        issue=issue.id, at=at, by=by, text=_text({"text": text}, "text", MAX_TEXT, required=True)
    )


def merge(
    issue: Issue, into: Issue, *, at: int, by: str, version: int | None = None
) -> IssueMerged:
    """`issue` joins `into` (of the same meeting): `into` holds the questions of both."""
    _changeable(issue, version)
    _changeable(into, None)
    if issue.id == into.id:
        raise InvalidInput("into must be another issue")
    if issue.meeting_id != into.meeting_id:
        raise InvalidInput("into must be an issue of the same meeting")
    questions = (*into.questions, *(q for q in issue.questions if q not in into.questions))
    return IssueMerged(issue=issue.id, at=at, by=by, into=into.id, questions=questions)


# Reading


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list of issues is narrowed to (empty: any)."""

    meeting: str = ""
    status: str = ""
    district: str = ""
    topic: str = ""
    executor: str = ""


def listed(pool: Pool, filters: Filters) -> list[Issue]:
    """The pool's listed issues that match `filters`, in the order they were opened."""
    if filters.status and filters.status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(IssueStatus)}")
    found = []
    for issue in sorted(pool.issues.values(), key=lambda i: int(i.id)):
        matches = (
            (filters.meeting, issue.meeting_id), (filters.status, issue.status),
            (filters.district, issue.district), (filters.topic, issue.topic),
            (filters.executor, issue.organisation),
        )  # fmt: skip
        if issue.is_listed and all(not want or want == have for want, have in matches):
            found.append(issue)
    return found


def met(due: Deadlines, issues: Sequence[Issue], offset: timezone) -> frozenset[date]:
    """Which of a meeting's R6 due dates its issues met (dates in the meeting's `offset`).

    Publication: the first issue was opened on or before the due date. A quarter's progress
    report (due the 25th of the month after it): every issue that was opened by the quarter's
    last day and not resolved or rejected before the quarter began got a progress update or a
    status change from the quarter's first day to the due date (none such: met).
    """
    if due.publication_due is None:
        return frozenset()
    ours = [i for i in issues if i.is_listed]
    first = min((local_day(i.opened_at, offset) for i in ours), default=None)
    kept = {due.publication_due} if first is not None and first <= due.publication_due else set()
    for report in due.progress_due:
        start, end = _quarter_before(report)
        concerned = [
            i
            for i in ours
            if local_day(i.opened_at, offset) <= end and not _closed_before(i, start, offset)
        ]
        if all(_reported(i, start, report, offset) for i in concerned):
            kept.add(report)
    return frozenset(kept)


def _quarter_before(report: date) -> tuple[date, date]:
    """The first and last days of the quarter whose progress is due on `report`."""
    first_of_month = report.replace(day=1)
    end = first_of_month - timedelta(days=1)
    start = date(end.year, end.month - 2, 1)
    return start, end


def _closed_before(issue: Issue, start: date, offset: timezone) -> bool:
    """Resolved or rejected (and not reopened) by the day before `start`."""
    status = IssueStatus.OPEN
    for change in issue.history:
        if local_day(change.at, offset) < start:
            status = IssueStatus(change.status)
    return status in CLOSED


def _reported(issue: Issue, start: date, end: date, offset: timezone) -> bool:
    return any(start <= local_day(d.at, offset) <= end for d in (*issue.updates, *issue.history))
