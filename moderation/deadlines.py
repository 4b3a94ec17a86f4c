"""R6's deadlines after a meeting: when its results are due, and each quarterly progress report.

Within 10 calendar days after the meeting and its personal receptions end, the list of problem
issues and the action plan are published; then every quarter, by the 25th of the month after the
quarter, progress on them. The first progress report is the one after the quarter the results
are due in. Dates are the meeting's local dates (its announced UTC offset; Almaty's +05:00 when
it gave none). Pure: `today` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from moderation.errors import InvalidInput
from moderation.events import MeetingReceptionsSet
from moderation.model import Meeting

PUBLICATION_DAYS = 10  # R6: calendar days after the meeting and its receptions end
PROGRESS_DAY = 25  # R6: the day of the month after each quarter
QUARTERS = 4  # progress reports listed ahead: a year of them
ALMATY = timezone(timedelta(hours=5))


@dataclass(frozen=True, slots=True)
class Deadlines:
    """A meeting's R6 due dates (None before its date is known)."""

    publication_due: date | None
    progress_due: tuple[date, ...] = ()

    def overdue(self, today: date, met: frozenset[date] = frozenset()) -> list[date]:
        """The due dates already past that were not `met` (the issue pool says which were:
        `moderation.pool.met`)."""
        due = [self.publication_due, *self.progress_due] if self.publication_due else []
        return [d for d in due if d is not None and d < today and d not in met]

    def public(self, today: date, met: frozenset[date] = frozenset()) -> dict[str, object]:
        """As `GET /api/meetings/{id}/deadlines` gives it: ISO dates."""
        pub = self.publication_due
        return {
            "publication_due": pub.isoformat() if pub else None,
            "progress_due": [d.isoformat() for d in self.progress_due],
            "overdue": [d.isoformat() for d in self.overdue(today, met)],
        }


def publication_due(meeting_day: date, receptions_until: date | None = None) -> date:
    """R6: 10 calendar days after the meeting and its personal receptions end."""
    end = max(meeting_day, receptions_until) if receptions_until else meeting_day
    return end + timedelta(days=PUBLICATION_DAYS)


def progress_due(publication: date, count: int = QUARTERS) -> tuple[date, ...]:
    """R6: the 25th of the month after each quarter, from the quarter of `publication`."""
    quarter = (publication.month - 1) // 3  # 0..3
    dues = []
    for n in range(count):
        index = publication.year * 4 + quarter + n + 1  # the quarter after this one...
        year, next_quarter = divmod(index, 4)
        dues.append(date(year, next_quarter * 3 + 1, PROGRESS_DAY))  # ...its first month
    return tuple(dues)


def local_day(moment_ms: int, offset: timezone) -> date:
    return datetime.fromtimestamp(moment_ms / 1000, offset).date()


def meeting_offset(meeting: Meeting) -> timezone:
    """The meeting's UTC offset: the announced one, else Almaty's."""
    if meeting.starts_at:
        found = datetime.fromisoformat(meeting.starts_at).utcoffset()
        if found is not None:
            return timezone(found)
    return ALMATY


def meeting_day(meeting: Meeting) -> date | None:
    """The day the meeting was held (its end), or is planned for; None if unknown."""
    if meeting.ended_at:
        return local_day(meeting.ended_at, meeting_offset(meeting))
    if meeting.starts_at:
        return datetime.fromisoformat(meeting.starts_at).date()
    return None


def deadlines(meeting: Meeting) -> Deadlines:
    """The meeting's R6 due dates, from its day and its receptions' end."""
    day = meeting_day(meeting)
    if day is None:
        return Deadlines(None)
    until = date.fromisoformat(meeting.receptions_until) if meeting.receptions_until else None
    due = publication_due(day, until)
    return Deadlines(due, progress_due(due))


def set_receptions(meeting: Meeting, until: str, *, now: int) -> MeetingReceptionsSet:
    """Record when the meeting's personal receptions end (R6): an ISO date, not before the
    meeting's day."""
    try:
        day = date.fromisoformat(until.strip())
    except ValueError:
        raise InvalidInput("until must be a date, YYYY-MM-DD") from None
    held = meeting_day(meeting)
    if held is not None and day < held:
        raise InvalidInput(f"the receptions end after the meeting ({held.isoformat()}), not before")
    return MeetingReceptionsSet(at=now, until=day.isoformat())
