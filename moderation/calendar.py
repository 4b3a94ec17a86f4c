"""The annual calendar of meetings (R1, issue 13): each office plans its meetings per unit, with
a date and time in Almaty, a place and whether it is a visiting one; the maslikhat approves the
calendar by 15 January and it goes to the Government by 20 January. Every correction (a meeting
moved, added or cancelled) is an event with who (`by`) and when (`at`); a moved meeting keeps its
id, so that its iCalendar UID stays and its SEQUENCE goes up.

Sans-I/O: `now`, `by` and ids are passed in; `apply` folds the events back into the calendars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import ClassVar

from moderation.deadlines import ALMATY
from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from moderation.meetings import PLANNED_MINUTES
from moderation.model import LANGUAGES, about
from moderation.offices import OFFICE_ID, label

# R1: calendars are in the akimat's local time, Asia/Almaty: UTC+05:00 all year since 2024 (no
# daylight saving); the feeds name the zone (`recordings/ical.py`).
PLANNED_ID = OFFICE_ID  # a planned meeting's id is also its meeting's id: 2-64 of a-z 0-9 -
APPROVAL_DAY = (1, 15)  # R1: approved with the maslikhat by 15 January...
SUBMISSION_DAY = (1, 20)  # ...and sent to the Government by 20 January


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanFields:
    """What the calendar says about one planned meeting; declared once for the event and the
    record (and the columns of `halyq calendar import`)."""

    office: str = field(metadata=about("the office holding it (halyq office list)"))
    unit: str = field(metadata=about("the unit (territory) it is held for"))
    starts_at: str = field(metadata=about("local date and time, ISO 8601 with +05:00"))
    place: str = field(metadata=about("where: the address or hall"))
    visiting: bool = field(default=True, metadata=about("R1: a visiting (on-site) meeting"))
    planned_minutes: int = field(default=120, metadata=about("R4: its planned length"))
    titles: dict[str, str] = field(default_factory=dict, metadata=about("title by language"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned(PlanFields):
    """A planned meeting as the calendar holds it now: `sequence` counts its moves (RFC 5545's
    SEQUENCE), `cancelled` says whether it was called off; its id is its meeting's id."""

    id: str
    sequence: int = 0
    cancelled: bool = False
    updated_at: int = 0

    @property
    def starts(self) -> datetime:
        """The start in Almaty's time (+05:00)."""
        return datetime.fromisoformat(self.starts_at).astimezone(ALMATY)

    @property
    def year(self) -> int:
        return self.starts.year

    def title_in(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get("ru") or next(iter(self.titles.values()))

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "meeting": self.id,
            "office": self.office,
            "unit": self.unit,
            "starts_at": self.starts_at,
            "place": self.place,
            "visiting": self.visiting,
            "planned_minutes": self.planned_minutes,
            "titles": dict(self.titles),
            "sequence": self.sequence,
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    """An office's calendar for a year: when the maslikhat approved it and when it was sent to
    the Government (ISO dates, "" until then)."""

    office: str
    year: int
    approved_on: str = ""
    submitted_on: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarPlanned(PlanFields):
    """Staff (`by`) planned the meeting `planned` (R1): imported or added as a correction."""

    kind: ClassVar[str] = "calendar.planned"
    at: int
    by: str
    planned: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarMoved:
    """Staff (`by`) moved the planned meeting to `starts_at` (and `place`): a correction (R1);
    it keeps its id and its meeting moves with it."""

    kind: ClassVar[str] = "calendar.moved"
    at: int
    by: str
    planned: str
    starts_at: str
    place: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarCancelled:
    """Staff (`by`) cancelled the planned meeting: a correction (R1); feeds show it cancelled."""

    kind: ClassVar[str] = "calendar.cancelled"
    at: int
    by: str
    planned: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarApproved:
    """The office's calendar for `year` was approved with the maslikhat `on` (R1: by 15 Jan)."""

    kind: ClassVar[str] = "calendar.approved"
    at: int
    by: str
    office: str
    year: int
    on: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarSubmitted:
    """The office's calendar for `year` was sent to the Government `on` (R1: by 20 January)."""

    kind: ClassVar[str] = "calendar.submitted"
    at: int
    by: str
    office: str
    year: int
    on: str


CalendarEvent = (
    CalendarPlanned | CalendarMoved | CalendarCancelled | CalendarApproved | CalendarSubmitted
)
CALENDAR_KINDS: dict[str, type[CalendarEvent]] = {
    cls.kind: cls
    for cls in (
        CalendarPlanned,
        CalendarMoved,
        CalendarCancelled,
        CalendarApproved,
        CalendarSubmitted,
    )
}


@dataclass(frozen=True, slots=True)
class Calendar:
    """Every planned meeting (by id) and every office's approval (by office and year)."""

    planned: dict[str, Planned] = field(default_factory=dict)
    approvals: dict[tuple[str, int], Approval] = field(default_factory=dict)

    def of_office(self, office: str, year: int | None = None) -> list[Planned]:
        """The office's planned meetings (of `year`), soonest first."""
        return sorted(
            (p for p in self.planned.values()
             if p.office == office and (year is None or p.year == year)),
            key=lambda p: p.starts,
        )  # fmt: skip

    def of_unit(self, unit: str) -> list[Planned]:
        """The unit's planned meetings, soonest first."""
        return sorted((p for p in self.planned.values() if p.unit == unit), key=lambda p: p.starts)

    def approval(self, office: str, year: int) -> Approval:
        return self.approvals.get((office, year)) or Approval(office=office, year=year)


def local_start(day: str, at: str) -> str:
    """A local date (YYYY-MM-DD) and time (HH:MM) in Almaty as ISO 8601 with its offset, or
    `InvalidInput` naming `date` or `time`."""
    try:
        on = date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD") from None
    try:
        clock = time.fromisoformat(at.strip())
    except ValueError:
        raise InvalidInput("time must be HH:MM") from None
    return datetime.combine(on, clock.replace(second=0, microsecond=0), ALMATY).isoformat()


def plan(
    calendar: Calendar,
    planned_id: str,
    fields: PlanFields,
    *,
    offices: Mapping[str, object],
    units: Mapping[str, object],
    by: str,
    now: int,
) -> CalendarPlanned:
    """Validate a planned meeting: a free id, a known office and unit, a start with its offset,
    a place, planned minutes in range and a title in at least one language."""
    if not PLANNED_ID.fullmatch(planned_id):
        raise InvalidInput("id: 2-64 of a-z, 0-9 and '-', not starting with '-'")
    if planned_id in calendar.planned:
        raise Conflict(f"id: planned meeting {planned_id} already exists")
    if fields.office not in offices:
        raise InvalidInput(f"office: no office {fields.office!r}")
    if fields.unit not in units:
        raise InvalidInput(f"unit: no unit {fields.unit!r}")
    low, high = PLANNED_MINUTES
    if not low <= fields.planned_minutes <= high:
        raise InvalidInput(f"planned_minutes: between {low} and {high}")
    titles = {
        lang: label(f"title_{lang}", text, required=False)
        for lang, text in fields.titles.items()
        if lang in LANGUAGES
    }
    titles = {lang: text for lang, text in titles.items() if text}
    if not titles:
        raise InvalidInput("title_kk or title_ru is required")
    return CalendarPlanned(
        at=now,
        by=by,
        planned=planned_id,
        office=fields.office,
        unit=fields.unit,
        starts_at=_starts_at(fields.starts_at),
        place=_place(fields.place),
        visiting=fields.visiting,
        planned_minutes=fields.planned_minutes,
        titles=titles,
    )


def move(
    calendar: Calendar, planned_id: str, starts_at: str, place: str = "", *, by: str, now: int
) -> CalendarMoved:
    """Move a planned meeting (a correction, R1): a new start, and a new place if given."""
    planned = _open(calendar, planned_id)
    start = _starts_at(starts_at)
    where = _place(place) if place.strip() else planned.place
    if start == planned.starts_at and where == planned.place:
        raise InvalidInput("starts_at: the meeting is already then and there")
    return CalendarMoved(at=now, by=by, planned=planned.id, starts_at=start, place=where)


def cancel(calendar: Calendar, planned_id: str, *, by: str, now: int) -> CalendarCancelled:
    """Call a planned meeting off (a correction, R1)."""
    return CalendarCancelled(at=now, by=by, planned=_open(calendar, planned_id).id)


def approve(
    calendar: Calendar, office: str, year: int, on: str, *, by: str, now: int
) -> CalendarApproved:
    """Record the maslikhat's approval of the office's calendar for `year` (R1); a later date
    is recorded as it is (compliance reports it late)."""
    day = _day("on", on, year)
    if calendar.approval(office, year).approved_on:
        raise Conflict(f"the {year} calendar of {office} is already approved")
    return CalendarApproved(at=now, by=by, office=office, year=year, on=day)


def submit(
    calendar: Calendar, office: str, year: int, on: str, *, by: str, now: int
) -> CalendarSubmitted:
    """Record that the office's approved calendar for `year` went to the Government (R1)."""
    day = _day("on", on, year)
    approval = calendar.approval(office, year)
    if not approval.approved_on:
        raise InvalidTransition(f"the {year} calendar of {office} is not approved yet")
    if approval.submitted_on:
        raise Conflict(f"the {year} calendar of {office} is already submitted")
    if day < approval.approved_on:
        raise InvalidInput(f"on: before its approval on {approval.approved_on}")
    return CalendarSubmitted(at=now, by=by, office=office, year=year, on=day)


def apply(calendar: Calendar, event: CalendarEvent) -> Calendar:
    """The calendar after `event`; replaying the events from the start rebuilds it."""
    planned, approvals = dict(calendar.planned), dict(calendar.approvals)
    if isinstance(event, CalendarPlanned):
        described = {name: getattr(event, name) for name in PlanFields.__dataclass_fields__}
        planned[event.planned] = Planned(id=event.planned, updated_at=event.at, **described)
    elif isinstance(event, CalendarMoved):
        before = planned[event.planned]
        planned[event.planned] = replace(
            before,
            starts_at=event.starts_at,
            place=event.place,
            sequence=before.sequence + 1,
            updated_at=event.at,
        )
    elif isinstance(event, CalendarCancelled):
        before = planned[event.planned]
        planned[event.planned] = replace(
            before, cancelled=True, sequence=before.sequence + 1, updated_at=event.at
        )
    else:
        key = (event.office, event.year)
        approval = approvals.get(key) or Approval(office=event.office, year=event.year)
        if isinstance(event, CalendarApproved):
            approvals[key] = replace(approval, approved_on=event.on)
        else:
            approvals[key] = replace(approval, submitted_on=event.on)
    return Calendar(planned, approvals)


def fold(events: list[CalendarEvent]) -> Calendar:
    calendar = Calendar()
    for event in events:
        calendar = apply(calendar, event)
    return calendar


def next_meeting(calendar: Calendar, unit: str, now: datetime) -> Planned | None:
    """The unit's next meeting that is not cancelled and has not started by `now`."""
    return next((p for p in calendar.of_unit(unit) if not p.cancelled and p.starts >= now), None)


def _open(calendar: Calendar, planned_id: str) -> Planned:
    planned = calendar.planned.get(planned_id)
    if planned is None:
        raise NotFound(f"no planned meeting {planned_id[:64]!r}")
    if planned.cancelled:
        raise InvalidTransition(f"planned meeting {planned_id} is cancelled")
    return planned


def _starts_at(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("starts_at must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ALMATY)  # R1: the calendar is in Almaty's time
    return moment.astimezone(ALMATY).isoformat()


def _place(value: str) -> str:
    return label("place", value)


def _day(what: str, value: str, year: int) -> str:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a date, YYYY-MM-DD") from None
    if day.year not in (year - 1, year):
        raise InvalidInput(f"{what}: {day} is not around the {year} calendar")
    return day.isoformat()
