"""iCalendar feeds of the annual calendar (R1, issue 13), made with `icalendar`: one VEVENT per
planned meeting, in Asia/Almaty time (TZID and its VTIMEZONE), with the meeting's title, place
and page. A planned meeting's UID never changes (`<id>@halyq`); each move or cancellation raises
its SEQUENCE, so that calendar programs update the event they have instead of adding one, and a
cancelled one stays in the feed as `STATUS:CANCELLED` for them to remove.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from moderation.calendar import Planned

PRODID = "-//Halyq//akims' meetings calendar//KK"
UID_DOMAIN = "halyq"
ALMATY = ZoneInfo("Asia/Almaty")
CONTENT_TYPE = "text/calendar; charset=utf-8"


def uid(planned: Planned) -> str:
    """The event's UID: the planned meeting's id, which a move keeps."""
    return f"{planned.id}@{UID_DOMAIN}"


def event(planned: Planned, *, base_url: str, lang: str) -> Event:
    """One planned meeting as a VEVENT (its page is `/m/{id}` under `base_url`)."""
    entry = Event()
    entry.add("uid", uid(planned))
    entry.add("sequence", planned.sequence)
    entry.add("dtstamp", datetime.fromtimestamp(planned.updated_at / 1000, UTC))
    start = planned.starts.astimezone(ALMATY)  # TZID=Asia/Almaty, with its VTIMEZONE
    entry.add("dtstart", start)
    entry.add("dtend", start + timedelta(minutes=planned.planned_minutes))
    entry.add("summary", planned.title_in(lang))
    entry.add("location", planned.place)
    entry.add("url", f"{base_url.rstrip('/')}/m/{planned.id}")
    entry.add("status", "CANCELLED" if planned.cancelled else "CONFIRMED")
    entry.add("categories", ["visiting" if planned.visiting else "in-office"])
    return entry


def feed(name: str, planned: Iterable[Planned], *, base_url: str, lang: str = "kk") -> bytes:
    """A calendar of `planned` (soonest first), named `name`, with the VTIMEZONE it uses."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Almaty")
    for one in sorted(planned, key=lambda p: (p.starts, p.id)):
        calendar.add_component(event(one, base_url=base_url, lang=lang))
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data
