"""Exports of the issue pool for the open-data portal (R6, issue 12): one JSON shape per issue
and one flat CSV row per issue, from the same values, so that the JSON, the CSV and the pages
hold the same issues. The CSV opens in a spreadsheet as text: UTF-8 with a BOM (Excel reads
Cyrillic then) and no cell that starts a formula (CWE-1236). Also the R8 lists of issues that
need central bodies (issue 13.6), grouped by body, as JSON and CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, timedelta, timezone

from moderation.deadlines import local_day
from moderation.errors import InvalidInput
from moderation.pool import CLOSED, Issue, IssueStatus

ALMATY = timezone(timedelta(hours=5))
BOM = "\ufeff"
# What makes a spreadsheet read a cell as a formula (OWASP's list), with the full-width forms
# some spreadsheets take too; a cell that starts with one, after any whitespace, gets a `'`.
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CONTROL_STARTS = ("\t", "\r", "\n")

COLUMNS = (
    "id", "meeting_id", "questions", "title", "description", "topic", "district", "address",
    "executor_organisation", "executor_official", "deadline", "status", "reason", "overdue",
    "plan", "progress_count", "last_progress_on", "last_progress", "opened_on", "changed_on",
    "merged",
)  # fmt: skip


def _day(moment_ms: int, offset: timezone) -> str:
    return local_day(moment_ms, offset).isoformat()


def issue_json(issue: Issue, today: date, offset: timezone = ALMATY) -> dict[str, object]:
    """An issue as `GET /api/issues` and `GET /api/issues/{id}` give it (public: who made each
    change stays in the pool's record for staff, never in the export)."""
    late = issue.late_steps(today)
    return {
        "id": issue.id,
        "meeting_id": issue.meeting_id,
        "questions": list(issue.questions),
        "title": issue.title,
        "description": issue.description,
        "topic": issue.topic,
        "district": issue.district,
        "address": issue.address,
        "central_body": issue.central_body,  # R8 (issue 13): "" when it needs none
        "executor": {"organisation": issue.organisation, "official": issue.official},
        "deadline": issue.deadline,
        "status": str(issue.status),
        "reason": issue.reason,
        "overdue": issue.is_overdue(today),
        "plan": [
            {"text": s.text, "deadline": s.deadline, "done": s.done, "overdue": s in late}
            for s in issue.plan
        ],
        "progress": [{"on": _day(d.at, offset), "at": d.at, "text": d.text} for d in issue.updates],
        "history": [
            {"on": _day(d.at, offset), "at": d.at, "status": d.status, "reason": d.text}
            for d in issue.history
        ],
        "opened_on": _day(issue.opened_at, offset),
        "opened_at": issue.opened_at,
        "changed_at": issue.changed_at,
        "version": issue.version,
        "merged": list(issue.merged),
        "merged_into": issue.merged_into,
    }


def issue_row(issue: Issue, today: date, offset: timezone = ALMATY) -> dict[str, str]:
    """An issue as one flat CSV row (`COLUMNS`), before neutralising formulas: lists are
    joined (question ids by spaces, plan steps as "deadline text" by "; "), dates are the
    meeting's local dates."""
    last = issue.updates[-1] if issue.updates else None
    plan = "; ".join(f"{s.deadline} {s.text}{' (done)' if s.done else ''}" for s in issue.plan)
    return {
        "id": issue.id,
        "meeting_id": issue.meeting_id,
        "questions": " ".join(issue.questions),
        "title": issue.title,
        "description": issue.description,
        "topic": issue.topic,
        "district": issue.district,
        "address": issue.address,
        "executor_organisation": issue.organisation,
        "executor_official": issue.official,
        "deadline": issue.deadline,
        "status": str(issue.status),
        "reason": issue.reason,
        "overdue": "yes" if issue.is_overdue(today) else "no",
        "plan": plan,
        "progress_count": str(len(issue.updates)),
        "last_progress_on": _day(last.at, offset) if last else "",
        "last_progress": last.text if last else "",
        "opened_on": _day(issue.opened_at, offset),
        "changed_on": _day(issue.changed_at, offset),
        "merged": " ".join(issue.merged),
    }


def neutralised(cell: str) -> str:
    """The cell as a spreadsheet must show it: text, never a formula. A cell whose first
    character, or first after leading whitespace, starts a formula, or that starts with a
    tab or a line break, gets a leading `'` (what Excel and LibreOffice take as "text")."""
    if cell.startswith(CONTROL_STARTS) or cell.lstrip().startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def local(issue: Issue, now_ms: int, offsets: Mapping[str, timezone]) -> tuple[date, timezone]:
    """Today and the UTC offset of the issue's meeting (Almaty's when it is not known): what
    an issue's overdue flag and dates are counted in."""
    offset = offsets.get(issue.meeting_id, ALMATY)
    return local_day(now_ms, offset), offset


def issues_json(
    issues: Iterable[Issue], now_ms: int, offsets: Mapping[str, timezone]
) -> list[dict[str, object]]:
    """The issues as `GET /api/issues` lists them."""
    return [issue_json(issue, *local(issue, now_ms, offsets)) for issue in issues]


def issues_csv(issues: Iterable[Issue], now_ms: int, offsets: Mapping[str, timezone]) -> str:
    """The issues as CSV for the open-data portal: a BOM, a header of `COLUMNS`, a row per
    issue, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for issue in issues:
        row = issue_row(issue, *local(issue, now_ms, offsets))
        writer.writerow([neutralised(row[name]) for name in COLUMNS])
    return BOM + out.getvalue()


# R8 (issue 13.6): the lists of problem issues that need central bodies, which the Government
# collects by 15 February and 15 August. A list dated D holds every listed (not merged) issue
# that names a `central_body`, was opened on or before D and was neither resolved nor rejected
# as of the end of D (by its dated status changes; reopened counts as open); its body is the
# one the issue names now. Grouped by body (by name), issues by number within a body.
LIST_DAYS = ((2, 15), (8, 15))
CENTRAL_COLUMNS = ("central_body", *COLUMNS)


def list_day(value: str) -> date:
    """A list's date, `YYYY-02-15` or `YYYY-08-15` (R8), or `InvalidInput` naming `period`."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        day = None
    if day is None or (day.month, day.day) not in LIST_DAYS:
        raise InvalidInput("period must be a list's date: YYYY-02-15 or YYYY-08-15 (R8)")
    return day


def next_list_day(today: date) -> date:
    """The first list's date on or after `today` (what `GET /api/central` shows by default)."""
    days = [date(year, m, d) for year in (today.year, today.year + 1) for m, d in LIST_DAYS]
    return min(day for day in days if day >= today)


def status_on(issue: Issue, day: date, offset: timezone) -> IssueStatus:
    """The issue's status at the end of `day` (in `offset`), from its dated status changes."""
    status = IssueStatus.OPEN
    for change in issue.history:
        if local_day(change.at, offset) <= day:
            status = IssueStatus(change.status)
    return status


def central_groups(
    issues: Iterable[Issue], day: date, offsets: Mapping[str, timezone]
) -> list[tuple[str, list[Issue]]]:
    """R8: the list dated `day`, as (body, its issues) pairs, bodies by name."""
    groups: dict[str, list[Issue]] = {}
    for issue in sorted(issues, key=lambda i: int(i.id)):
        offset = offsets.get(issue.meeting_id, ALMATY)
        body = issue.central_body.strip()
        if not body or not issue.is_listed or local_day(issue.opened_at, offset) > day:
            continue
        if status_on(issue, day, offset) not in CLOSED:
            groups.setdefault(body, []).append(issue)
    return sorted(groups.items(), key=lambda group: group[0].casefold())


def central_json(
    issues: Iterable[Issue], day: date, now_ms: int, offsets: Mapping[str, timezone]
) -> dict[str, object]:
    """`GET /api/central?period=`: the list dated `day`, grouped by body."""
    groups = central_groups(issues, day, offsets)
    return {
        "period": day.isoformat(),
        "count": sum(len(found) for _, found in groups),
        "bodies": [
            {"central_body": body, "issues": issues_json(found, now_ms, offsets)}
            for body, found in groups
        ],
    }


def central_csv(
    issues: Iterable[Issue], day: date, now_ms: int, offsets: Mapping[str, timezone]
) -> str:
    """The list dated `day` as CSV: a BOM, `CENTRAL_COLUMNS`, a row per issue grouped by
    body, every cell neutralised (as the pool's CSV)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CENTRAL_COLUMNS)
    for body, found in central_groups(issues, day, offsets):
        for issue in found:
            row = issue_row(issue, *local(issue, now_ms, offsets)) | {"central_body": body}
            writer.writerow([neutralised(row[name]) for name in CENTRAL_COLUMNS])
    return BOM + out.getvalue()
