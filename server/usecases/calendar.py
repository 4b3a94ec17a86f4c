"""The annual calendar end to end (R1, issue 13): a CSV imported whole or not at all, moves,
cancellations, approvals and submissions; each planned meeting becomes a scheduled meeting of the
product (its id is the planned meeting's id; its announcement is the moment it was planned, R5),
created right after its calendar event, and a move moves that meeting too (each meeting in a
write of its own: its keys and the calendar's are in different Redis Cluster slots, issue 15).

Compliance (`moderation.compliance`) is read here from the calendar, the meetings, the
territories (`moderation.territories.to_visit`, R1) and the issue pool (R6).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from moderation import Conflict, CreateMeeting, InvalidInput, Meeting, ModerationError, NotFound
from moderation import apply as apply_meeting
from moderation import create_meeting as announce
from moderation.calendar import (
    APPROVAL_DAY,
    CalendarEvent,
    CalendarPlanned,
    PlanFields,
    Planned,
    approve,
    cancel,
    local_start,
    move,
    plan,
    submit,
)
from moderation.calendar import apply as apply_calendar
from moderation.compliance import APPROVING, Duty, Gap, Held, gaps, warnings
from moderation.deadlines import ALMATY
from moderation.events import MeetingCreated
from moderation.meetings import reschedule
from moderation.model import LANGUAGES
from moderation.offices import Office
from moderation.territories import ImportRefused, Problem, Unit, UnitKind, to_visit
from server.store import Refused, Write
from server.store.calendar import Calendars, fold
from server.usecases import pool as pool_cases
from server.usecases import territories
from server.usecases.context import UseCases

TRIES = 5  # decisions made again when another write to the calendar's record came first
BOM = "\ufeff"
COLUMNS = ("id", "office", "unit", "date", "time", "place", "visiting", "planned_minutes",
           "title_kk", "title_ru", "title_en")  # fmt: skip
REQUIRED = ("office", "unit", "date", "time", "place")
YES, NO = frozenset({"yes", "true", "1", "да", "иә"}), frozenset({"no", "false", "0", "нет", "жоқ"})
Row = tuple[int, dict[str, str]]


async def calendars(cases: UseCases) -> Calendars:
    return await cases.store.calendar.calendars()


def now_local(cases: UseCases) -> datetime:
    return datetime.fromtimestamp(cases.clock() / 1000, UTC).astimezone(ALMATY)


# Import


def read_csv(data: bytes | str) -> list[Row]:
    """The rows of a calendar CSV (UTF-8, with or without a BOM), each with its line; a bad
    header or a row of the wrong length is `ImportRefused` naming its line."""
    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRefused([Problem(1, "the file is not UTF-8 text")]) from None
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=""))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or not {"title_kk", "title_ru"} & set(header):
        reason = (f"the header must name {', '.join(REQUIRED)} and title_kk or title_ru "
                  f"(columns: {', '.join(COLUMNS)})")  # fmt: skip
        raise ImportRefused([Problem(1, reason)])
    rows, problems, line = [], [], reader.line_num + 1
    for values in reader:
        if any(v.strip() for v in values):
            if len(values) != len(header):
                reason = f"{len(values)} fields, the header has {len(header)}"
                problems.append(Problem(line, reason))
            else:
                rows.append((line, dict(zip(header, values, strict=True))))
        line = reader.line_num + 1
    if problems or not rows:
        raise ImportRefused(problems or [Problem(1, "no rows: the file has only its header")])
    return rows


@dataclass(frozen=True, slots=True)
class _Context:
    offices: dict[str, Office]
    units: dict[str, Unit]
    now: int
    by: str


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if not word or word in YES:
        return True
    if word in NO:
        return False
    raise InvalidInput(f"visiting: {value[:20]!r} is not yes or no")


def _minutes(value: str) -> int:
    try:
        return int(value.strip() or "120")
    except ValueError:
        raise InvalidInput(f"planned_minutes: {value[:20]!r} is not a number") from None


def _row_plan(row: dict[str, str]) -> tuple[str, PlanFields]:
    starts = local_start(row["date"], row["time"])
    fields = PlanFields(
        office=row["office"].strip(), unit=row["unit"].strip(), starts_at=starts,
        place=row["place"], visiting=_flag(row.get("visiting", "")),
        planned_minutes=_minutes(row.get("planned_minutes", "")),
        titles={lang: row.get(f"title_{lang}", "") for lang in LANGUAGES},
    )  # fmt: skip
    planned_id = row.get("id", "").strip() or f"{fields.unit}-{starts[:10]}"
    return planned_id, fields


def _announcement(context: _Context, event: CalendarPlanned) -> MeetingCreated:
    """The scheduled meeting of a planned one: its office's level and holder on the day."""
    office = context.offices[event.office]
    day = date.fromisoformat(event.starts_at[:10])
    holder = office.holder_on(day) or office.holder
    unit = context.units[event.unit]
    title = event.titles.get("ru") or next(iter(event.titles.values()))
    command = CreateMeeting(title=title, titles=dict(event.titles),
                            akim=holder.name if holder else office.territory, level=office.level,
                            territory=unit.name("ru"), planned_minutes=event.planned_minutes,
                            starts_at=event.starts_at, office=office.id)  # fmt: skip
    return announce(command, now=context.now)


async def import_csv(cases: UseCases, data: bytes | str, *, by: str) -> list[Planned]:
    """Plan every row of a calendar CSV and create its meetings, in one write; `ImportRefused`
    naming every bad row (nothing imported) if any is bad."""
    rows = read_csv(data)
    for _ in range(TRIES):
        before = await calendars(cases)
        context = _Context((await cases.store.offices.ledger()).offices,
                           await territories.units(cases), cases.clock(), by)  # fmt: skip
        planned = await _checked(cases, before, rows, context)
        write = Write()
        cases.store.calendar.append(write, before, [e for e, _ in planned])
        if not isinstance(await cases.store.record.run(write), Refused):
            await _announce_planned(cases, [m for _, m in planned], [e.planned for e, _ in planned])
            after = before.calendar
            for event, _ in planned:
                after = apply_calendar(after, event)
            return [after.planned[e.planned] for e, _ in planned]
    raise Conflict("the calendar kept changing meanwhile; try again")


async def _announce_planned(
    cases: UseCases, announced: Sequence[MeetingCreated], ids: Sequence[str]
) -> None:
    """Create the planned meetings, after the plan: each in a write of its own, then listed in
    the index (a meeting's keys and the calendar's are in different Redis Cluster slots, issue
    15). A meeting created meanwhile under a planned id is left as it is."""
    created = []
    for meeting_event, meeting_id in zip(announced, ids, strict=True):
        meeting = apply_meeting(None, meeting_event, meeting_id=meeting_id)
        assert meeting is not None
        write = Write()
        cases.store.meetings.create(write, meeting)
        cases.store.record.append(write, meeting.id, meeting_event)
        if not isinstance(await cases.store.record.run(write), Refused):
            created.append(meeting)
    await cases.store.meetings.index(*created)


async def _checked(
    cases: UseCases, before: Calendars, rows: Sequence[Row], context: _Context
) -> list[tuple[CalendarPlanned, MeetingCreated]]:
    calendar, problems, planned = before.calendar, [], []
    for line, row in rows:
        try:
            planned_id, fields = _row_plan(row)
            event = plan(calendar, planned_id, fields, offices=context.offices,
                         units=context.units, by=context.by, now=context.now)  # fmt: skip
            if await cases.store.meetings.get(planned_id) is not None:
                raise Conflict(f"id: a meeting {planned_id} already exists")
            meeting_event = _announcement(context, event)
        except ModerationError as error:
            problems.append(Problem(line, error.detail or str(error)))
            continue
        calendar = apply_calendar(calendar, event)
        planned.append((event, meeting_event))
    if problems:
        raise ImportRefused(problems)
    return planned


# Corrections, approval and submission


async def _decide(cases: UseCases, decide: Callable[[Calendars], CalendarEvent]) -> Calendars:
    for _ in range(TRIES):
        before = await calendars(cases)
        event = decide(before)
        write = Write()
        cases.store.calendar.append(write, before, [event])
        if not isinstance(await cases.store.record.run(write), Refused):
            return fold(before, event)
    raise Conflict("the calendar kept changing meanwhile; try again")


async def move_planned(
    cases: UseCases, planned_id: str, day: str, at: str, place: str = "", *, by: str
) -> Planned:
    """Move a planned meeting, then its scheduled meeting (R1: a correction); one already on
    air or over cannot move (`InvalidTransition`, before anything is written)."""
    starts = local_start(day, at)
    for _ in range(TRIES):
        before = await calendars(cases)
        event = move(before.calendar, planned_id, starts, place, by=by, now=cases.clock())
        meeting = await cases.store.meetings.get(planned_id)
        if meeting is None:
            raise NotFound(f"no meeting {planned_id!r} for the planned meeting")
        reschedule(meeting, event.starts_at, now=event.at)  # raises for one on air or over
        write = Write()
        cases.store.calendar.append(write, before, [event])
        if not isinstance(await cases.store.record.run(write), Refused):
            await _move_meeting(cases, meeting, event.starts_at, event.at)
            return fold(before, event).calendar.planned[planned_id]
    raise Conflict("the calendar kept changing meanwhile; try again")


async def _move_meeting(cases: UseCases, meeting: Meeting, starts_at: str, now: int) -> None:
    """Move the scheduled meeting of a planned meeting that moved, in a write of its own after
    the calendar's (another Redis Cluster slot, issue 15); `Conflict` if the meeting changed
    since it was read (it went on air): the calendar moved, the meeting did not."""
    moved = reschedule(meeting, starts_at, now=now)
    after = apply_meeting(meeting, moved, meeting_id=meeting.id)
    assert after is not None
    write = Write()
    cases.store.meetings.change(write, meeting, after)
    cases.store.record.append(write, meeting.id, moved)
    if isinstance(await cases.store.record.run(write), Refused):
        raise Conflict(f"meeting {meeting.id} changed meanwhile; the calendar moved, it did not")


async def cancel_planned(cases: UseCases, planned_id: str, *, by: str) -> Planned:
    """Cancel a planned meeting (R1: a correction); feeds show it `CANCELLED`."""
    now = cases.clock()
    after = await _decide(cases, lambda c: cancel(c.calendar, planned_id, by=by, now=now))
    return after.calendar.planned[planned_id]


async def _office(cases: UseCases, office_id: str) -> Office:
    found = (await cases.store.offices.ledger()).offices.get(office_id)
    if found is None:
        raise NotFound(f"no office {office_id[:40]!r}")
    return found


async def approve_calendar(cases: UseCases, office_id: str, year: int, on: str, *, by: str) -> None:
    """Record the maslikhat's approval of the office's calendar for `year` (R1)."""
    office, now = await _office(cases, office_id), cases.clock()
    await _decide(cases, lambda c: approve(c.calendar, office.id, year, on, by=by, now=now))


async def submit_calendar(cases: UseCases, office_id: str, year: int, on: str, *, by: str) -> None:
    """Record that the office's calendar for `year` went to the Government (R1)."""
    office, now = await _office(cases, office_id), cases.clock()
    await _decide(cases, lambda c: submit(c.calendar, office.id, year, on, by=by, now=now))


# Compliance


@dataclass(frozen=True, slots=True)
class Checked:
    """What the checks ran on, for the pages to name units and offices."""

    gaps: list[Gap]
    warnings: list[Gap]
    units: dict[str, Unit]
    offices: dict[str, Office]


def _duty(office: Office, units: dict[str, Unit]) -> Duty:
    unit = units.get(office.unit)
    rural = unit is not None and unit.unit_kind is UnitKind.RURAL_DISTRICT
    visit = tuple(u.id for u in to_visit(units, office.unit, office.level))
    return Duty(office=office.id, level=office.level, unit=office.unit, rural=rural,
                must_visit=visit)  # fmt: skip


async def compliance(cases: UseCases, year: int) -> Checked:
    """Every gap of `year` (`GET /api/compliance`), and the warnings ahead (`/console`).

    Checked: the offices with a calendar that year (a planned meeting or an approval), and,
    once it is due (after 15 January), every oblast's and big city's office (R1: they must
    have one). A planned meeting counts for R1 once it happened or while it is still ahead."""
    cal = (await calendars(cases)).calendar
    offices = (await cases.store.offices.ledger()).offices
    units = await territories.units(cases)
    meetings = {m.id: m for m in await cases.store.meetings.all()}
    with_calendar = {p.office for p in cal.planned.values() if p.year == year}
    with_calendar |= {o for (o, y), a in cal.approvals.items() if y == year and a.approved_on}
    now = now_local(cases)
    due = now.date() > date(year, *APPROVAL_DAY)
    duties = [_duty(o, units) for o in offices.values()
              if o.id in with_calendar or (due and o.level in APPROVING)]  # fmt: skip
    held = [_held(p, meetings[p.id]) for p in cal.planned.values() if p.id in meetings]
    flagged = await pool_cases.overdue(cases, [meetings[h.meeting] for h in held])
    overdue = {m: [date.fromisoformat(str(d)) for d in f["dates"]]  # type: ignore[attr-defined]
               for m, f in flagged.items()}  # fmt: skip
    approvals = {d.office: cal.approval(d.office, year) for d in duties}
    return Checked(gaps(year, duties, held, approvals, overdue, now),
                   warnings(duties, held, now), units, offices)  # fmt: skip


def _held(planned: Planned, meeting: Meeting) -> Held:
    announced = datetime.fromtimestamp(meeting.created_at / 1000, UTC)
    return Held(meeting=planned.id, office=planned.office, unit=planned.unit,
                starts=planned.starts, announced=announced, visiting=planned.visiting,
                happened=meeting.started_at > 0, cancelled=planned.cancelled)  # fmt: skip
