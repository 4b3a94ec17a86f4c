"""The annual calendar (R1, issue 13): planning, moving, cancelling, approving and submitting,
each an event with who and when; a moved meeting keeps its id and counts its moves."""

from __future__ import annotations

from datetime import datetime

import pytest

from moderation.calendar import (
    Approval,
    Calendar,
    CalendarApproved,
    CalendarCancelled,
    CalendarMoved,
    CalendarPlanned,
    CalendarSubmitted,
    PlanFields,
    apply,
    approve,
    cancel,
    fold,
    local_start,
    move,
    next_meeting,
    plan,
    submit,
)
from moderation.deadlines import ALMATY
from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound

OFFICES = {"almaty": object()}
UNITS = {"medeu": object(), "almaly": object()}
FIELDS = PlanFields(office="almaty", unit="medeu", starts_at="2026-04-10T11:00",
                    place="Медеу ауданының әкімдігі",
                    titles={"kk": "Кездесу", "ru": "Встреча"})  # fmt: skip
EMPTY = Calendar()


def planned(calendar: Calendar = EMPTY, planned_id: str = "m1", **changes: object) -> Calendar:
    fields = PlanFields(**{**{f: getattr(FIELDS, f) for f in PlanFields.__dataclass_fields__},
                           **changes})  # fmt: skip
    event = plan(calendar, planned_id, fields, offices=OFFICES, units=UNITS, by="ana", now=5)
    return apply(calendar, event)


def test_r1_a_planned_meeting_is_recorded_in_almaty_time_with_who_and_when() -> None:
    event = plan(Calendar(), "m1", FIELDS, offices=OFFICES, units=UNITS, by="ana", now=5)
    assert event == CalendarPlanned(at=5, by="ana", planned="m1", office="almaty", unit="medeu",
                                    starts_at="2026-04-10T11:00:00+05:00",
                                    place="Медеу ауданының әкімдігі", visiting=True,
                                    planned_minutes=120,
                                    titles={"kk": "Кездесу", "ru": "Встреча"})  # fmt: skip
    meeting = apply(Calendar(), event).planned["m1"]
    assert meeting.starts == datetime(2026, 4, 10, 11, tzinfo=ALMATY)
    assert (meeting.year, meeting.sequence, meeting.cancelled) == (2026, 0, False)
    assert meeting.title_in("kk") == "Кездесу"
    assert meeting.title_in("en") == "Встреча"
    assert meeting.public()["meeting"] == "m1"


def test_a_start_given_in_another_offset_is_kept_as_almaty_time() -> None:
    calendar = planned(starts_at="2026-04-10T06:00:00+00:00")
    assert calendar.planned["m1"].starts_at == "2026-04-10T11:00:00+05:00"


@pytest.mark.parametrize(
    ("planned_id", "changes", "error", "names"),
    [
        ("M 1", {}, InvalidInput, "id"),
        ("m1", {"office": "nowhere"}, InvalidInput, "office"),
        ("m1", {"unit": "nowhere"}, InvalidInput, "unit"),
        ("m1", {"planned_minutes": 5}, InvalidInput, "planned_minutes"),
        ("m1", {"titles": {"kk": " ", "de": "Treffen"}}, InvalidInput, "title"),
        ("m1", {"starts_at": "soon"}, InvalidInput, "starts_at"),
        ("m1", {"place": " "}, InvalidInput, "place"),
    ],
)
def test_a_bad_plan_is_refused_naming_its_field(
    planned_id: str, changes: dict[str, object], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=names):
        planned(Calendar(), planned_id, **changes)


def test_an_id_is_planned_once() -> None:
    with pytest.raises(Conflict, match="id"):
        planned(planned())


def test_r1_a_moved_meeting_keeps_its_id_and_counts_its_moves() -> None:
    calendar = planned()
    moved = move(calendar, "m1", "2026-04-17T15:00", by="bek", now=9)
    assert moved == CalendarMoved(at=9, by="bek", planned="m1",
                                  starts_at="2026-04-17T15:00:00+05:00",
                                  place="Медеу ауданының әкімдігі")  # fmt: skip
    calendar = apply(calendar, moved)
    moved_again = move(calendar, "m1", "2026-04-17T15:00", "Дом культуры", by="b", now=10)
    again = apply(calendar, moved_again)
    meeting = again.planned["m1"]
    assert (meeting.id, meeting.sequence, meeting.place, meeting.updated_at) == (
        "m1", 2, "Дом культуры", 10)  # fmt: skip


def test_a_move_to_where_and_when_it_already_is_is_refused() -> None:
    with pytest.raises(InvalidInput, match="already"):
        move(planned(), "m1", "2026-04-10T11:00+05:00", by="b", now=9)


def test_r1_a_cancelled_meeting_stays_with_its_id_and_moves_no_more() -> None:
    calendar = planned()
    event = cancel(calendar, "m1", by="bek", now=9)
    assert event == CalendarCancelled(at=9, by="bek", planned="m1")
    calendar = apply(calendar, event)
    assert calendar.planned["m1"].cancelled
    assert calendar.planned["m1"].sequence == 1
    with pytest.raises(InvalidTransition):
        cancel(calendar, "m1", by="bek", now=10)
    with pytest.raises(NotFound):
        move(calendar, "nope", "2026-04-17T15:00", by="bek", now=10)


def test_r1_approved_by_the_maslikhat_then_submitted_to_the_government() -> None:
    calendar = Calendar()
    with pytest.raises(InvalidTransition, match="not approved"):
        submit(calendar, "almaty", 2026, "2026-01-18", by="b", now=1)
    approved = approve(calendar, "almaty", 2026, "2026-01-16", by="bek", now=2)
    assert approved == CalendarApproved(at=2, by="bek", office="almaty", year=2026,
                                        on="2026-01-16")  # fmt: skip
    calendar = apply(calendar, approved)
    with pytest.raises(Conflict, match="already approved"):
        approve(calendar, "almaty", 2026, "2026-01-17", by="bek", now=3)
    with pytest.raises(InvalidInput, match="before its approval"):
        submit(calendar, "almaty", 2026, "2026-01-10", by="b", now=3)
    submitted = submit(calendar, "almaty", 2026, "2026-01-19", by="b", now=3)
    assert submitted == CalendarSubmitted(at=3, by="b", office="almaty", year=2026,
                                          on="2026-01-19")  # fmt: skip
    calendar = apply(calendar, submitted)
    assert calendar.approval("almaty", 2026) == Approval(
        office="almaty", year=2026, approved_on="2026-01-16", submitted_on="2026-01-19"
    )
    with pytest.raises(Conflict, match="already submitted"):
        submit(calendar, "almaty", 2026, "2026-01-20", by="b", now=4)


@pytest.mark.parametrize("on", ["16 January", "2024-12-20"])
def test_an_approval_date_must_be_a_date_around_its_year(on: str) -> None:
    with pytest.raises(InvalidInput, match="on"):
        approve(Calendar(), "almaty", 2026, on, by="b", now=1)


def test_the_fold_rebuilds_the_calendar_and_finds_each_units_next_meeting() -> None:
    events = [
        plan(Calendar(), "m1", FIELDS, offices=OFFICES, units=UNITS, by="a", now=1),
        plan(Calendar(), "m2", PlanFields(office="almaty", unit="medeu",
             starts_at="2026-07-10T11:00", place="Hall", titles={"ru": "Встреча"}),
             offices=OFFICES, units=UNITS, by="a", now=2),
        plan(Calendar(), "m3", PlanFields(office="almaty", unit="almaly",
             starts_at="2027-02-01T10:00", place="Hall", visiting=False,
             titles={"ru": "Встреча"}), offices=OFFICES, units=UNITS, by="a", now=3),
    ]  # fmt: skip
    calendar = fold([*events, CalendarCancelled(at=4, by="a", planned="m1")])
    assert [p.id for p in calendar.of_office("almaty")] == ["m1", "m2", "m3"]
    assert [p.id for p in calendar.of_office("almaty", 2027)] == ["m3"]
    assert [p.id for p in calendar.of_unit("medeu")] == ["m1", "m2"]
    before_all = datetime(2026, 1, 1, tzinfo=ALMATY)
    found = next_meeting(calendar, "medeu", before_all)
    assert found is not None
    assert found.id == "m2"
    assert next_meeting(calendar, "medeu", datetime(2026, 8, 1, tzinfo=ALMATY)) is None


@pytest.mark.parametrize(
    ("day", "clock", "expected"),
    [
        ("2026-04-10", "11:00", "2026-04-10T11:00:00+05:00"),
        ("2026-04-10", "9:5", InvalidInput),
        ("10.04.2026", "11:00", InvalidInput),
    ],
)
def test_local_start_reads_a_date_and_a_time_in_almaty(
    day: str, clock: str, expected: str | type[Exception]
) -> None:
    if isinstance(expected, str):
        assert local_start(day, clock) == expected
        return
    with pytest.raises(expected, match=r"date|time"):
        local_start(day, clock)
