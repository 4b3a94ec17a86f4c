"""`halyq calendar import|list|move|cancel|approve|submit`: the annual calendar from the shell
(R1, issue 13).

`import FILE.csv` takes the whole file or nothing: any bad row and it prints every bad row as
`line N: reason` and exits with 1. Each planned meeting becomes a scheduled meeting (its id is
the planned meeting's); `move` and `cancel` are the corrections, recorded with who and when;
`approve OFFICE YEAR --on DATE` records the maslikhat's approval (R1: by 15 January), `submit
OFFICE YEAR --on DATE` its sending to the Government (R1: by 20 January).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from moderation import EndMeeting, StartMeeting
from moderation.calendar import Planned
from moderation.territories import ImportRefused
from server.cli.offices import ALMATY, DISTRICTS
from server.cli.shell import say, with_usecases
from server.settings import Settings
from server.usecases import UseCases, change_meeting
from server.usecases import calendar as cases_of
from server.usecases.calendar import COLUMNS

BY_SHELL = "shell"  # `by` of what `halyq calendar` did
BY_DEMO = "demo"


def add_parser(commands: Any) -> None:
    calendar = commands.add_parser("calendar", help="the annual calendar of meetings (issue 13)")
    actions = calendar.add_subparsers(title="actions", required=True)
    load = actions.add_parser("import", help="import a CSV of planned meetings: all or none")
    load.add_argument("file", metavar="FILE.csv", type=Path)
    load.set_defaults(run=_import)
    listing = actions.add_parser("list", help="list the planned meetings, soonest first")
    listing.add_argument("--office", default="", help="only this office's")
    listing.set_defaults(run=_list)
    moving = actions.add_parser("move", help="move a planned meeting (a correction)")
    moving.add_argument("planned_id", metavar="ID")
    moving.add_argument("--date", required=True, help="the new day, YYYY-MM-DD (Almaty)")
    moving.add_argument("--time", required=True, help="the new time, HH:MM (Almaty)")
    moving.add_argument("--place", default="", help="a new place, if it changes")
    moving.set_defaults(run=_move)
    cancelling = actions.add_parser("cancel", help="cancel a planned meeting (a correction)")
    cancelling.add_argument("planned_id", metavar="ID")
    cancelling.set_defaults(run=_cancel)
    for name, run, what in (("approve", _approve, "approved with the maslikhat (by 15 Jan)"),
                            ("submit", _submit, "sent to the Government (by 20 Jan)")):  # fmt: skip
        action = actions.add_parser(name, help=f"record the day a calendar was {what}")
        action.add_argument("office_id", metavar="OFFICE")
        action.add_argument("year", metavar="YEAR", type=int)
        action.add_argument("--on", required=True, help="the day, YYYY-MM-DD")
        action.set_defaults(run=run)
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)


def _print(planned: list[Planned], as_json: bool) -> None:
    if as_json:
        say(json.dumps([p.public() for p in planned], ensure_ascii=False))
        return
    for p in planned:
        flags = " cancelled" if p.cancelled else (" visiting" if p.visiting else "")
        say(f"{p.id}  {p.starts_at}  {p.office}  {p.unit}  {p.place}{flags}")


def _import(args: argparse.Namespace, settings: Settings) -> int:
    data = Path(args.file).read_bytes()
    try:
        done = with_usecases(settings, lambda cases: cases_of.import_csv(cases, data, by=BY_SHELL))
    except ImportRefused as refused:
        for problem in refused.problems:
            sys.stderr.write(f"{problem}\n")
        sys.stderr.write(f"halyq: nothing imported: {len(refused.problems)} bad row(s)\n")
        return 1
    if args.json:
        _print(done, True)
    else:
        say(f"imported {len(done)} planned meeting(s)")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    calendar = with_usecases(settings, cases_of.calendars).calendar
    found = [p for p in calendar.planned.values() if not args.office or p.office == args.office]
    found.sort(key=lambda p: p.starts)
    if not found and not args.json:
        say("no planned meetings yet: halyq calendar import FILE.csv")
    _print(found, args.json)
    return 0


def _move(args: argparse.Namespace, settings: Settings) -> int:
    moved = with_usecases(settings, lambda cases: cases_of.move_planned(
        cases, args.planned_id, args.date, args.time, args.place, by=BY_SHELL))  # fmt: skip
    _print([moved], args.json)
    return 0


def _cancel(args: argparse.Namespace, settings: Settings) -> int:
    cancelled = with_usecases(
        settings, lambda cases: cases_of.cancel_planned(cases, args.planned_id, by=BY_SHELL)
    )
    _print([cancelled], args.json)
    return 0


def _approve(args: argparse.Namespace, settings: Settings) -> int:
    with_usecases(settings, lambda cases: cases_of.approve_calendar(
        cases, args.office_id, args.year, args.on, by=BY_SHELL))  # fmt: skip
    say(f"the {args.year} calendar of {args.office_id} was approved on {args.on}")
    return 0


def _submit(args: argparse.Namespace, settings: Settings) -> int:
    with_usecases(settings, lambda cases: cases_of.submit_calendar(
        cases, args.office_id, args.year, args.on, by=BY_SHELL))  # fmt: skip
    say(f"the {args.year} calendar of {args.office_id} was submitted on {args.on}")
    return 0


# The demo (`make demo`): Almaty's calendar for the current year, a visiting meeting per quarter
# in each district, except Medeu, left unvisited in the last quarter before this one (the
# compliance page shows it), as if imported on 5 January: the meetings already past were held.
DEMO_UNVISITED = "medeu"
DEMO_IMPORTED = (1, 5)  # imported on 5 January, 09:00 in Almaty: every meeting 14+ days ahead
DEMO_MINUTES = 120


class _Clock:
    """The demo calendar's clock: the use cases read it, the seeding moves it."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def demo_csv(today: date) -> str:
    """The demo calendar's CSV for `today`'s year: each quarter's meetings fall in its middle
    month, a district every three days from the 3rd, but from this quarter on none before the
    day after tomorrow (a district a day from then), so that every district has a meeting
    ahead; Medeu has none in the quarter before today's (in Q1: none in Q1)."""
    year, quarter = today.year, (today.month - 1) // 3
    skipped = max(quarter - 1, 0)
    lines = [",".join(COLUMNS)]
    for q in range(4):
        for n, (slug, kk, ru, *_) in enumerate(DISTRICTS):
            if slug == DEMO_UNVISITED and q == skipped:
                continue
            day = date(year, q * 3 + 2, 3) + timedelta(days=n * 3)
            if q >= quarter and day <= today + timedelta(days=1):
                day = today + timedelta(days=2 + n)
            lines.append(
                f"almaty-{year}-q{q + 1}-{slug},{ALMATY},{ALMATY}-{slug},{day},18:00,"
                f'"Акимат района, {ru}",yes,{DEMO_MINUTES},'
                f"Алматы әкімінің {kk} тұрғындарымен кездесуі,"
                f"Встреча акима Алматы с жителями: {ru},The akim of Almaty meets residents"
            )
    return "\n".join(lines) + "\n"


async def ensure_almaty_calendar(cases: UseCases) -> None:
    """The demo's calendar (`make demo`): imported once as if on 5 January (approved on the
    10th, submitted on the 15th: on time), each meeting already past held at its time; left
    as it is after."""
    now = cases_of.now_local(cases)
    if (await cases_of.calendars(cases)).calendar.of_office(ALMATY, now.year):
        return
    month, day = DEMO_IMPORTED
    imported = datetime.combine(date(now.year, month, day), time(9), now.tzinfo)
    clock = _Clock(int(imported.timestamp() * 1000))
    scripted = UseCases(store=cases.store, clock=clock)
    planned = await cases_of.import_csv(scripted, demo_csv(now.date()), by=BY_DEMO)
    await cases_of.approve_calendar(scripted, ALMATY, now.year, f"{now.year}-01-10", by=BY_DEMO)
    await cases_of.submit_calendar(scripted, ALMATY, now.year, f"{now.year}-01-15", by=BY_DEMO)
    for meeting in planned:
        if meeting.starts + timedelta(minutes=DEMO_MINUTES) < now:
            clock.now_ms = int(meeting.starts.timestamp() * 1000)
            await change_meeting(scripted, meeting.id, StartMeeting())
            clock.now_ms += DEMO_MINUTES * 60_000
            await change_meeting(scripted, meeting.id, EndMeeting())
