"""R1 and R5 checks (issue 13) against a table: each level, half-year and quarter boundaries, a
unit visited twice in one quarter and not at all in the next, an announcement 13 days ahead, a
calendar approved on 16 January, a rural district's 7 days; each gap asserted with its rule,
unit, period (and office)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest

from moderation.calendar import Approval
from moderation.compliance import (
    Duty,
    Gap,
    Held,
    approval_gaps,
    counts,
    gaps,
    lead_gaps,
    overdue_gaps,
    periods,
    visit_gaps,
    warnings,
)
from moderation.deadlines import ALMATY
from moderation.model import AkimLevel

L = AkimLevel
YEAR = 2026
END_OF_YEAR = datetime(2027, 1, 1, 12, tzinfo=ALMATY)  # every period of 2026 is past


def at(day: str, hour: int = 11) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=ALMATY)


def held(
    unit: str,
    day: str,
    *,
    office: str = "o",
    ahead: int = 14,
    visiting: bool = True,
    happened: bool = True,
    cancelled: bool = False,
    hour: int = 11,
) -> Held:
    starts = at(day, hour)
    return Held(meeting=f"{unit}-{day}-{hour}", office=office, unit=unit, starts=starts,
                announced=starts - timedelta(days=ahead), visiting=visiting, happened=happened,
                cancelled=cancelled)  # fmt: skip


def quarterly(unit: str, skip: tuple[int, ...] = (), office: str = "o") -> list[Held]:
    """One held visiting meeting in each quarter of 2026 except those in `skip` (1-4)."""
    return [held(unit, f"2026-{q * 3 - 1:02d}-10", office=office) for q in range(1, 5)
            if q not in skip]  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    duty: Duty
    meetings: list[Held]
    expected: set[tuple[str, str, str]]  # (rule, unit, period)
    now: datetime = END_OF_YEAR
    approval: Approval | None = None
    overdue: dict[str, list[date]] = field(default_factory=dict)


def duty(level: AkimLevel, units: tuple[str, ...] = ("a",), *, rural: bool = False) -> Duty:
    return Duty(office="o", level=level, unit="home", rural=rural, must_visit=units)


APPROVED = Approval(office="o", year=YEAR, approved_on="2026-01-10", submitted_on="2026-01-12")
CITY = duty(L.CITY_REPUBLICAN, ("a", "b"))

CASES = [
    # --- R1 visits, each level ---
    Case("oblast: one visit per half-year is enough",
         duty(L.OBLAST), [held("a", "2026-02-01"), held("a", "2026-11-30")], set(),
         approval=APPROVED),
    Case("oblast: no visit in H2",
         duty(L.OBLAST), [held("a", "2026-02-01")], {("R1", "a", "2026-H2")}, approval=APPROVED),
    Case("oblast: half-year boundary, 30 June is H1 and 1 July is H2",
         duty(L.OBLAST, ("a", "b")),
         [held("a", "2026-06-30", hour=23), held("b", "2026-07-01", hour=0)],
         {("R1", "a", "2026-H2"), ("R1", "b", "2026-H1")}, approval=APPROVED),
    Case("city_republican: every district every quarter",
         CITY, quarterly("a") + quarterly("b"), set(), approval=APPROVED),
    Case("city_republican: one district left unvisited in Q2",
         CITY, quarterly("a") + quarterly("b", skip=(2,)), {("R1", "b", "2026-Q2")},
         approval=APPROVED),
    Case("district: every village each quarter; none at all in Q4",
         duty(L.DISTRICT), quarterly("a", skip=(4,)), {("R1", "a", "2026-Q4")}),
    Case("city_local: a microdistrict missed in Q1",
         duty(L.CITY_LOCAL), quarterly("a", skip=(1,)), {("R1", "a", "2026-Q1")}),
    Case("local: its own territory once a quarter",
         duty(L.LOCAL), quarterly("a"), set()),
    Case("local: no meeting at all is four gaps",
         duty(L.LOCAL), [],
         {("R1", "a", "2026-Q1"), ("R1", "a", "2026-Q2"), ("R1", "a", "2026-Q3"),
          ("R1", "a", "2026-Q4")}),
    # --- quarter boundaries ---
    Case("31 March 23:30 is still Q1 in Almaty; Q2 is then empty",
         duty(L.DISTRICT), [held("a", "2026-03-31", hour=23), *quarterly("a", skip=(1, 2))],
         {("R1", "a", "2026-Q2")}),
    Case("1 April 00:00 is Q2; Q1 is then empty",
         duty(L.DISTRICT), [held("a", "2026-04-01", hour=0), *quarterly("a", skip=(1, 2))],
         {("R1", "a", "2026-Q1")}),
    Case("30 September and 1 October fall in Q3 and Q4",
         duty(L.DISTRICT),
         [*quarterly("a", skip=(3, 4)), held("a", "2026-09-30"), held("a", "2026-10-01")], set()),
    Case("31 December is Q4 of this year, 1 January the next year's",
         duty(L.DISTRICT), [*quarterly("a", skip=(4,)), held("a", "2027-01-01")],
         {("R1", "a", "2026-Q4")}),
    # --- twice in one quarter, not at all in the next ---
    Case("a unit visited twice in Q2 and not at all in Q3",
         duty(L.CITY_REPUBLICAN),
         [*quarterly("a", skip=(2, 3)), held("a", "2026-04-10"), held("a", "2026-06-20")],
         {("R1", "a", "2026-Q3")}, approval=APPROVED),
    # --- what counts ---
    Case("a meeting that is not visiting does not count",
         duty(L.LOCAL), [*quarterly("a", skip=(1,)), held("a", "2026-02-10", visiting=False)],
         {("R1", "a", "2026-Q1")}),
    Case("a cancelled meeting does not count",
         duty(L.LOCAL), [*quarterly("a", skip=(1,)), held("a", "2026-02-10", cancelled=True)],
         {("R1", "a", "2026-Q1")}),
    Case("a past quarter counts only what happened: planned but not held is a gap",
         duty(L.LOCAL), [*quarterly("a", skip=(1,)), held("a", "2026-02-10", happened=False)],
         {("R1", "a", "2026-Q1")}),
    Case("a planned meeting still ahead counts for its quarter",
         duty(L.LOCAL),
         [*quarterly("a", skip=(3, 4)), held("a", "2026-08-20", happened=False),
          held("a", "2026-11-20", happened=False)],
         set(), now=at("2026-08-01")),
    Case("a running quarter with nothing planned is a gap already",
         duty(L.LOCAL), [*quarterly("a", skip=(3, 4)), held("a", "2026-11-20", happened=False)],
         {("R1", "a", "2026-Q3")}, now=at("2026-08-01")),
    Case("another office's visit does not count for this one",
         duty(L.LOCAL), [*quarterly("a", skip=(2,)), held("a", "2026-05-10", office="other")],
         {("R1", "a", "2026-Q2")}),
    # --- R5 announcements ---
    Case("city_republican: announced 13 days ahead is one day short",
         duty(L.CITY_REPUBLICAN), [*quarterly("a", skip=(2,)), held("a", "2026-05-10", ahead=13)],
         {("R5", "a", "2026-05-10")}, approval=APPROVED),
    Case("oblast: 14 days ahead is enough",
         duty(L.OBLAST), [held("a", "2026-02-10", ahead=14), held("a", "2026-08-10")], set(),
         approval=APPROVED),
    Case("district: announced the day before",
         duty(L.DISTRICT), [*quarterly("a", skip=(1,)), held("a", "2026-02-10", ahead=1)],
         {("R5", "a", "2026-02-10")}),
    Case("city_local of a city: 7 days is not enough, 14 are asked",
         duty(L.CITY_LOCAL), [*quarterly("a", skip=(1,)), held("a", "2026-02-10", ahead=7)],
         {("R5", "a", "2026-02-10")}),
    Case("a rural district's akim: 7 days ahead is enough",
         duty(L.CITY_LOCAL, rural=True),
         [*quarterly("a", skip=(1,)), held("a", "2026-02-10", ahead=7)], set()),
    Case("a rural district's akim: 6 days is one short",
         duty(L.CITY_LOCAL, rural=True),
         [*quarterly("a", skip=(1,)), held("a", "2026-02-10", ahead=6)],
         {("R5", "a", "2026-02-10")}),
    Case("local: 7 days is enough, 6 is short",
         duty(L.LOCAL, ("a", "b")),
         [*quarterly("a"), *quarterly("b", skip=(3,)), held("b", "2026-08-10", ahead=6)],
         {("R5", "b", "2026-08-10")}),
    Case("a cancelled meeting is not checked for its announcement",
         duty(L.LOCAL), [*quarterly("a"), held("a", "2026-08-11", ahead=1, cancelled=True)],
         set()),
    Case("a meeting of another year is not checked in this one",
         duty(L.LOCAL), [*quarterly("a"), held("a", "2027-02-01", ahead=1)], set()),
    # --- R1 approval and submission ---
    Case("a calendar approved on 16 January is one day late",
         duty(L.CITY_REPUBLICAN, ()), [], {("R1", "home", "2026")},
         approval=Approval(office="o", year=YEAR, approved_on="2026-01-16",
                           submitted_on="2026-01-19")),
    Case("approved on 15 January and submitted on 21: the submission is late",
         duty(L.OBLAST, ()), [], {("R1", "home", "2026")},
         approval=Approval(office="o", year=YEAR, approved_on="2026-01-15",
                           submitted_on="2026-01-21")),
    Case("not approved by 16 January: both are gaps once past",
         duty(L.CITY_REPUBLICAN, ()), [], {("R1", "home", "2026")}, now=at("2026-01-25")),
    Case("not approved on 15 January is no gap yet",
         duty(L.CITY_REPUBLICAN, ()), [], set(), now=at("2026-01-15")),
    Case("a district's akim approves no calendar",
         duty(L.DISTRICT, ()), [], set()),
    # --- R6 ---
    Case("R6: a meeting's results overdue",
         duty(L.LOCAL), quarterly("a"), {("R6", "a", "2026-05-20")},
         overdue={"a-2026-05-10-11": [date(2026, 5, 20)]}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_r1_r5_r6_table(case: Case) -> None:
    approvals = {"o": case.approval} if case.approval else {}
    found = gaps(YEAR, [case.duty], case.meetings, approvals, case.overdue, case.now)
    assert {(g.rule, g.unit, g.period) for g in found} == case.expected
    assert all(g.office == "o" for g in found)
    assert all(g.detail for g in found)


def test_the_table_has_at_least_25_cases() -> None:
    assert len(CASES) >= 25


def test_r5_detail_says_by_how_much_and_names_the_meeting() -> None:
    meeting = held("a", "2026-05-10", ahead=13)
    [gap] = lead_gaps(duty(L.CITY_REPUBLICAN), YEAR, [meeting])
    assert gap == Gap(rule="R5", unit="a", office="o", period="2026-05-10",
                      meeting=meeting.meeting,
                      detail="announced 13 days ahead, 14 required (1 day short)")  # fmt: skip
    assert gap.public() == {"rule": "R5", "unit": "a", "office": "o", "period": "2026-05-10",
                            "detail": gap.detail, "meeting": meeting.meeting}  # fmt: skip
    [six] = lead_gaps(duty(L.LOCAL), YEAR, [held("a", "2026-05-10", ahead=5)])
    assert six.detail == "announced 5 days ahead, 7 required (2 days short)"


def test_r1_approval_details_say_how_late() -> None:
    late = Approval(office="o", year=YEAR, approved_on="2026-01-16", submitted_on="2026-01-22")
    found = approval_gaps(duty(L.CITY_REPUBLICAN), late, date(2026, 3, 1))
    assert [g.detail for g in found] == [
        "approved on 2026-01-16, 1 day late (due 2026-01-15)",
        "submitted on 2026-01-22, 2 days late (due 2026-01-20)",
    ]
    missing = approval_gaps(duty(L.OBLAST), Approval(office="o", year=YEAR), date(2026, 1, 25))
    assert [g.detail for g in missing] == [
        "not approved: due 2026-01-15, 10 days late",
        "not submitted: due 2026-01-20, 5 days late",
    ]
    assert missing[0].public() == {"rule": "R1", "unit": "home", "office": "o",
                                   "period": "2026", "detail": missing[0].detail}  # fmt: skip


def test_r1_visit_details_tell_past_from_running_periods() -> None:
    planned = held("a", "2026-02-10", happened=False)
    [past] = [g for g in visit_gaps(duty(L.LOCAL), YEAR, [planned], END_OF_YEAR)
              if g.period == "2026-Q1"]  # fmt: skip
    assert past.detail == "0 of 1 visiting meeting per quarter held (1 planned, not held)"
    [empty] = visit_gaps(duty(L.OBLAST), YEAR, [held("a", "2026-02-01")], END_OF_YEAR)
    assert empty.detail == "0 of 1 visiting meeting per half-year held"
    running = visit_gaps(duty(L.LOCAL), YEAR, [], at("2026-08-01"))
    assert [g.detail for g in running if g.period == "2026-Q4"] == [
        "0 of 1 visiting meeting per quarter held or planned"
    ]


def test_r6_detail_counts_the_days_overdue() -> None:
    meeting = held("a", "2026-05-10")
    [gap] = overdue_gaps([meeting], {meeting.meeting: [date(2026, 5, 20)]}, date(2026, 5, 21))
    assert gap.detail == "results due 2026-05-20 not published: 1 day overdue"
    assert gap.meeting == meeting.meeting


def test_periods_cover_the_year_without_gaps_or_overlaps() -> None:
    for level in L:
        found = periods(level, YEAR)
        assert found[0].first == date(YEAR, 1, 1)
        assert found[-1].last == date(YEAR, 12, 31)
        for before, after in itertools.pairwise(found):
            assert after.first == before.last + timedelta(days=1)
        assert len(found) == (2 if level is L.OBLAST else 4)


def test_counts_a_meeting_once_held_or_while_ahead() -> None:
    now = at("2026-05-01")
    assert counts(held("a", "2026-04-01"), now)
    assert counts(held("a", "2026-06-01", happened=False), now)
    assert not counts(held("a", "2026-04-01", happened=False), now)


def test_warnings_ahead_name_the_unvisited_units_of_a_period_ending_soon() -> None:
    city = duty(L.CITY_REPUBLICAN, ("medeu", "almaly", "auezov"))
    meetings = [
        held("almaly", "2026-04-10"),
        held("auezov", "2026-06-25", happened=False),
        held("medeu", "2026-05-01", happened=False),  # planned, passed, never held
    ]
    found = warnings([city], meetings, at("2026-06-21"))
    assert [(g.unit, g.period, g.detail) for g in found] == [
        ("medeu", "2026-Q2", "2026-Q2 ends in 9 days: not yet visited; nothing planned"),
        ("auezov", "2026-Q2", "2026-Q2 ends in 9 days: not yet visited; planned on 2026-06-25"),
    ]
    assert warnings([city], meetings, at("2026-05-01")) == []  # 60 days left: no warning yet
    [last] = warnings([duty(L.OBLAST)], [], at("2026-12-30"))
    assert last.detail == "2026-H2 ends in 1 day: not yet visited; nothing planned"
