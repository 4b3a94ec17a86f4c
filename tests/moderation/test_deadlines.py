"""R6's deadlines (issue 12): results 10 calendar days after the meeting and its receptions,
then progress by the 25th of the month after each quarter; right across month, quarter and
year ends and leap days."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from moderation.deadlines import (
    ALMATY,
    Deadlines,
    deadlines,
    meeting_day,
    progress_due,
    publication_due,
    set_receptions,
)
from moderation.errors import InvalidInput
from moderation.events import MeetingReceptionsSet
from moderation.meetings import apply
from moderation.model import MeetingStatus
from tests.moderation._records import MEETING

D = date.fromisoformat


@pytest.mark.parametrize(
    ("held", "receptions", "publication", "progress"),
    [
        # a meeting on 28 December: the results are due in the new year, progress after Q1
        ("2026-12-28", None, "2027-01-07", "2027-04-25 2027-07-25 2027-10-25 2028-01-25"),
        # a leap day: 29 February 2028 + 10 days is 10 March
        ("2028-02-29", None, "2028-03-10", "2028-04-25 2028-07-25 2028-10-25 2029-01-25"),
        # receptions ending after the meeting move the results, and here the quarter too
        ("2026-03-20", "2026-03-27", "2026-04-06", "2026-07-25 2026-10-25 2027-01-25 2027-04-25"),
        # receptions over before it ended count for nothing
        ("2026-03-20", "2026-03-20", "2026-03-30", "2026-04-25 2026-07-25 2026-10-25 2027-01-25"),
        # month ends: 31 January + 10 = 10 February; 21 December + 10 = 31 December
        ("2026-01-31", None, "2026-02-10", "2026-04-25 2026-07-25 2026-10-25 2027-01-25"),
        ("2026-12-21", None, "2026-12-31", "2027-01-25 2027-04-25 2027-07-25 2027-10-25"),
        # a quarter's last day: 30 September + receptions to 5 October
        ("2026-09-30", "2026-10-05", "2026-10-15", "2027-01-25 2027-04-25 2027-07-25 2027-10-25"),
    ],
)  # fmt: skip
def test_r6_due_dates_across_month_quarter_and_year_ends(
    held: str, receptions: str | None, publication: str, progress: str
) -> None:
    due = publication_due(D(held), D(receptions) if receptions else None)
    assert due == D(publication)
    assert progress_due(due) == tuple(map(D, progress.split()))


def test_a_meetings_day_is_its_end_in_its_own_offset_else_its_planned_day() -> None:
    """An end at 23:30 Almaty time is that day in Almaty, the next in UTC terms it is not."""
    late = datetime(2026, 12, 28, 23, 30, tzinfo=ALMATY)
    ended = dataclasses.replace(
        MEETING, status=MeetingStatus.ENDED, starts_at="2026-12-28T18:00:00+05:00",
        ended_at=int(late.timestamp() * 1000),
    )  # fmt: skip
    assert meeting_day(ended) == D("2026-12-28")
    planned = dataclasses.replace(MEETING, starts_at="2027-01-15T10:00:00+06:00")
    assert meeting_day(planned) == D("2027-01-15")
    utc_end = datetime(2026, 12, 28, 20, 0, tzinfo=UTC)  # 01:00 on the 29th in Almaty
    no_offset = dataclasses.replace(MEETING, starts_at="", ended_at=int(utc_end.timestamp() * 1000))
    assert meeting_day(no_offset) == D("2026-12-29")  # Almaty's date when none was announced
    assert meeting_day(dataclasses.replace(MEETING, starts_at="")) is None
    naive = dataclasses.replace(no_offset, starts_at="2026-12-28T18:00:00")  # an old record
    assert meeting_day(naive) == D("2026-12-29")


def test_a_meeting_without_a_date_has_no_deadlines_yet() -> None:
    undated = dataclasses.replace(MEETING, starts_at="")
    assert deadlines(undated) == Deadlines(None)
    assert deadlines(undated).public(D("2027-01-01")) == {
        "publication_due": None, "progress_due": [], "overdue": [],
    }  # fmt: skip


def test_receptions_are_recorded_and_move_the_deadlines() -> None:
    planned = dataclasses.replace(MEETING, starts_at="2026-12-28T18:00:00+05:00")
    event = set_receptions(planned, " 2027-01-05 ", now=7)
    assert event == MeetingReceptionsSet(at=7, until="2027-01-05")
    after = apply(planned, event, meeting_id=planned.id)
    assert after is not None
    assert after.receptions_until == "2027-01-05"
    found = deadlines(after)
    assert found.publication_due == D("2027-01-15")
    assert found.public(D("2027-05-01")) == {
        "publication_due": "2027-01-15",
        "progress_due": ["2027-04-25", "2027-07-25", "2027-10-25", "2028-01-25"],
        "overdue": ["2027-01-15", "2027-04-25"],  # nothing is published through Halyq yet
    }
    assert found.overdue(D("2027-01-15")) == []  # due today is not late
    # R6: a due date the issue pool met (`moderation.pool.met`) is not overdue.
    met = frozenset({D("2027-01-15")})
    assert found.public(D("2027-05-01"), met)["overdue"] == ["2027-04-25"]


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("05.01.2027", "until must be a date, YYYY-MM-DD"),
        ("", "until must be a date, YYYY-MM-DD"),
        ("2026-12-27", "the receptions end after the meeting (2026-12-28), not before"),
    ],
)
def test_receptions_before_the_meeting_or_not_a_date_are_refused(until: str, message: str) -> None:
    planned = dataclasses.replace(MEETING, starts_at="2026-12-28T18:00:00+05:00")
    with pytest.raises(InvalidInput, match=re.escape(message)):
        set_receptions(planned, until, now=1)


def test_receptions_of_a_meeting_without_a_date_are_taken_as_given() -> None:
    undated = dataclasses.replace(MEETING, starts_at="")
    assert set_receptions(undated, "2027-01-05", now=1).until == "2027-01-05"
    assert timedelta(days=10) == D("2027-01-15") - D("2027-01-05")
