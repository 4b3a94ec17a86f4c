"""Exports of the issue pool for the open-data portal (R6, issue 12): one JSON shape per issue
and one flat CSV row per issue, from the same values, so that the JSON, the CSV and the pages
hold the same issues. The CSV opens in a spreadsheet as text: UTF-8 with a BOM (Excel reads
Cyrillic then) and no cell that starts a formula (CWE-1236).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, timedelta, timezone

from moderation.deadlines import local_day
from moderation.pool import Issue

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
