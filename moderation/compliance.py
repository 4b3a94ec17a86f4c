"""Compliance checks on the calendar and on what actually happened (issue 13): each gap names
its rule, unit, office and period, and says by how much.

- R1 visits: every unit an office must visit gets a visiting meeting per half-year (oblast
  akims) or per quarter (the others). A meeting counts once it happened, or while it is still
  ahead (planned); so a past period counts only what happened, and a period still running
  counts what happened and what is planned for the rest of it. A cancelled one never counts.
- R5 announcement: a meeting is announced (created in the product) at least 14 days ahead, or
  7 for a village's, settlement's, rural district's or city district's akim (`local`, and a
  rural district's `city_local`).
- R1 approval: the calendars of oblasts and of cities of republican significance are approved
  by 15 January and submitted to the Government by 20 January.
- R6: the due dates of `moderation.deadlines` that passed unmet (the caller finds them).

Pure: `now` (aware, any zone; read in Almaty) is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from moderation.calendar import APPROVAL_DAY, SUBMISSION_DAY, Approval
from moderation.deadlines import ALMATY
from moderation.model import AkimLevel

HALF_YEARLY = frozenset({AkimLevel.OBLAST})  # R1: a visit per half-year; the others per quarter
APPROVING = frozenset({AkimLevel.OBLAST, AkimLevel.CITY_REPUBLICAN})  # R1: approve a calendar
SHORT_NOTICE = frozenset({AkimLevel.LOCAL})  # R5: 7 days (and a rural district's city_local)
LONG_LEAD_DAYS, SHORT_LEAD_DAYS = 14, 7
WARN_DAYS = 30  # the dashboard warns of a period ending within this many days


@dataclass(frozen=True, slots=True, kw_only=True)
class Duty:
    """What R1 and R5 ask of one office: its level, its own unit, whether it is a rural
    district's akim, and the units it must visit (the territories decide which)."""

    office: str
    level: AkimLevel
    unit: str = ""
    rural: bool = False
    must_visit: tuple[str, ...] = ()

    @property
    def lead_days(self) -> int:
        """R5: how many days ahead its meetings are announced."""
        short = self.level in SHORT_NOTICE or (self.level is AkimLevel.CITY_LOCAL and self.rural)
        return SHORT_LEAD_DAYS if short else LONG_LEAD_DAYS


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """A meeting as the checks see it: planned or not, held or not."""

    meeting: str
    office: str
    unit: str
    starts: datetime
    announced: datetime
    visiting: bool = True
    happened: bool = False
    cancelled: bool = False

    @property
    def day(self) -> date:
        return self.starts.astimezone(ALMATY).date()


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """A quarter (`2026-Q2`) or a half-year (`2026-H1`), first and last day included."""

    label: str
    first: date
    last: date

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """One thing not done as a rule says: `detail` says by how much."""

    rule: str
    unit: str
    office: str
    period: str
    detail: str
    meeting: str = ""

    def public(self) -> dict[str, object]:
        shown: dict[str, object] = {
            "rule": self.rule,
            "unit": self.unit,
            "office": self.office,
            "period": self.period,
            "detail": self.detail,
        }
        if self.meeting:
            shown["meeting"] = self.meeting
        return shown


def periods(level: AkimLevel, year: int) -> list[Period]:
    """R1: the half-years of an oblast akim's year, the quarters of any other's."""
    if level in HALF_YEARLY:
        return [
            Period(label=f"{year}-H1", first=date(year, 1, 1), last=date(year, 6, 30)),
            Period(label=f"{year}-H2", first=date(year, 7, 1), last=date(year, 12, 31)),
        ]
    ends = (date(year, 3, 31), date(year, 6, 30), date(year, 9, 30), date(year, 12, 31))
    return [
        Period(label=f"{year}-Q{n + 1}", first=date(year, n * 3 + 1, 1), last=ends[n])
        for n in range(4)
    ]


def counts(meeting: Held, now: datetime) -> bool:
    """R1: a visiting meeting counts once it happened, or while it is still ahead."""
    ahead = meeting.happened or meeting.starts >= now
    return meeting.visiting and not meeting.cancelled and ahead


def visit_gaps(duty: Duty, year: int, meetings: Sequence[Held], now: datetime) -> list[Gap]:
    """R1: each unit the office must visit, each period without a visiting meeting."""
    today = now.astimezone(ALMATY).date()
    mine = [m for m in meetings if m.office == duty.office]
    gaps = []
    for period in periods(duty.level, year):
        for unit in duty.must_visit:
            here = [m for m in mine if m.unit == unit and period.holds(m.day)]
            if any(counts(m, now) for m in here):
                continue
            gaps.append(Gap(rule="R1", unit=unit, office=duty.office, period=period.label,
                            detail=_unvisited(period, here, today)))  # fmt: skip
    return gaps


def _unvisited(period: Period, here: Sequence[Held], today: date) -> str:
    per = "half-year" if period.label[-2] == "H" else "quarter"
    if period.last < today:
        missed = sum(1 for m in here if not m.cancelled and m.visiting)
        planned = f" ({missed} planned, not held)" if missed else ""
        return f"0 of 1 visiting meeting per {per} held{planned}"
    return f"0 of 1 visiting meeting per {per} held or planned"


def lead_gaps(duty: Duty, year: int, meetings: Sequence[Held]) -> list[Gap]:
    """R5: each of the office's meetings of `year` announced fewer days ahead than its level
    asks (days counted between the local dates of the announcement and of the meeting)."""
    gaps = []
    for meeting in meetings:
        if meeting.office != duty.office or meeting.cancelled or meeting.day.year != year:
            continue
        ahead = (meeting.day - meeting.announced.astimezone(ALMATY).date()).days
        if ahead < duty.lead_days:
            short = duty.lead_days - ahead
            gaps.append(Gap(rule="R5", unit=meeting.unit, office=duty.office,
                            period=meeting.day.isoformat(), meeting=meeting.meeting,
                            detail=f"announced {ahead} days ahead, {duty.lead_days} required "
                                   f"({short} {_days(short)} short)"))  # fmt: skip
    return gaps


def approval_gaps(duty: Duty, approval: Approval, today: date) -> list[Gap]:
    """R1: an oblast's or a big city's calendar approved by 15 January, submitted by 20."""
    if duty.level not in APPROVING:
        return []
    year = approval.year
    gaps = []
    for what, done, (month, day) in (
        ("approved", approval.approved_on, APPROVAL_DAY),
        ("submitted", approval.submitted_on, SUBMISSION_DAY),
    ):
        due = date(year, month, day)
        if done and date.fromisoformat(done) > due:
            late = (date.fromisoformat(done) - due).days
            detail = f"{what} on {done}, {late} {_days(late)} late (due {due})"
        elif not done and today > due:
            late = (today - due).days
            detail = f"not {what}: due {due}, {late} {_days(late)} late"
        else:
            continue
        gaps.append(Gap(rule="R1", unit=duty.unit, office=duty.office, period=str(year),
                        detail=detail))  # fmt: skip
    return gaps


def overdue_gaps(
    meetings: Sequence[Held], overdue: Mapping[str, Sequence[date]], today: date
) -> list[Gap]:
    """R6: each due date of a meeting's results or progress that passed unmet."""
    gaps = []
    for meeting in meetings:
        for due in overdue.get(meeting.meeting, ()):
            late = (today - due).days
            gaps.append(Gap(rule="R6", unit=meeting.unit, office=meeting.office,
                            period=due.isoformat(), meeting=meeting.meeting,
                            detail=f"results due {due} not published: {late} {_days(late)} "
                                   "overdue"))  # fmt: skip
    return gaps


def gaps(
    year: int,
    duties: Iterable[Duty],
    meetings: Sequence[Held],
    approvals: Mapping[str, Approval],
    overdue: Mapping[str, Sequence[date]],
    now: datetime,
) -> list[Gap]:
    """Every gap of `year`, ordered by rule, period, office and unit."""
    today = now.astimezone(ALMATY).date()
    found: list[Gap] = []
    for duty in duties:
        found += visit_gaps(duty, year, meetings, now)
        found += lead_gaps(duty, year, meetings)
        found += approval_gaps(duty, approvals.get(duty.office) or Approval(
            office=duty.office, year=year), today)  # fmt: skip
    found += overdue_gaps([m for m in meetings if m.day.year == year], overdue, today)
    return sorted(found, key=lambda g: (g.rule, g.period, g.office, g.unit))


def warnings(duties: Iterable[Duty], meetings: Sequence[Held], now: datetime) -> list[Gap]:
    """For the staff dashboard: the units not yet visited in a period ending within
    `WARN_DAYS` days (R1), before they become gaps; a planned meeting still to come does not
    make a unit visited, it is only said."""
    today = now.astimezone(ALMATY).date()
    found = []
    for duty in duties:
        period = next(p for p in periods(duty.level, today.year) if p.holds(today))
        left = (period.last - today).days
        if left > WARN_DAYS:
            continue
        mine = [m for m in meetings if m.office == duty.office and period.holds(m.day)]
        for unit in duty.must_visit:
            here = [m for m in mine if m.unit == unit and m.visiting and not m.cancelled]
            if any(m.happened for m in here):
                continue
            ahead = sorted((m for m in here if m.starts >= now), key=lambda m: m.starts)
            planned = f"; planned on {ahead[0].day}" if ahead else "; nothing planned"
            found.append(Gap(rule="R1", unit=unit, office=duty.office, period=period.label,
                             detail=f"{period.label} ends in {left} {_days(left)}: not yet "
                                    f"visited{planned}"))  # fmt: skip
    return found


def _days(n: int) -> str:
    return "day" if n == 1 else "days"
