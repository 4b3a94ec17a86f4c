"""The calendar's iCalendar feeds (R1, issue 13): they parse with `icalendar`, hold the planned
meetings with their places in Asia/Almaty time, and a moved meeting keeps its UID and raises
its SEQUENCE; a cancelled one is `STATUS:CANCELLED`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar as ICalendar

from moderation.calendar import Calendar, PlanFields, apply, cancel, move, plan
from recordings.ical import CONTENT_TYPE, feed, uid

ALMATY = ZoneInfo("Asia/Almaty")
OFFICES = {"almaty": object()}
UNITS = {"almaty-medeu": object(), "almaty-almaly": object()}
BASE = "https://halyq.example.kz/"


def calendar() -> Calendar:
    cal = Calendar()
    for planned_id, unit, start, place in [
        ("medeu-q2", "almaty-medeu", "2026-04-10T11:00", "Медеу ауданы әкімдігі, Қонаев к. 2"),
        ("almaly-q2", "almaty-almaly", "2026-05-05T18:30", "ДК «Алмалы»"),
    ]:  # fmt: skip
        fields = PlanFields(office="almaty", unit=unit, starts_at=start, place=place,
                            planned_minutes=90,
                            titles={"kk": "Әкіммен кездесу", "ru": "Встреча с акимом"})  # fmt: skip
        event = plan(cal, planned_id, fields, offices=OFFICES, units=UNITS, by="a", now=1_000)
        cal = apply(cal, event)
    return cal


def parsed(data: bytes) -> list[dict[str, object]]:
    events = ICalendar.from_ical(data).walk("VEVENT")
    return [
        {
            "uid": str(e["UID"]),
            "sequence": int(str(e["SEQUENCE"])),
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "summary": str(e["SUMMARY"]),
            "location": str(e["LOCATION"]),
            "url": str(e["URL"]),
            "status": str(e["STATUS"]),
            "tzid": e["DTSTART"].params.get("TZID"),
        }
        for e in events
    ]


def test_r1_the_feed_parses_and_holds_the_planned_meetings_in_almaty_time() -> None:
    data = feed("Алматы", calendar().planned.values(), base_url=BASE, lang="ru")
    whole = ICalendar.from_ical(data)
    assert [str(tz["TZID"]) for tz in whole.walk("VTIMEZONE")] == ["Asia/Almaty"]
    [medeu, almaly] = parsed(data)
    start = datetime(2026, 4, 10, 11, tzinfo=ALMATY)
    assert medeu == {
        "uid": "medeu-q2@halyq",
        "sequence": 0,
        "start": start,
        "end": start + timedelta(minutes=90),
        "summary": "Встреча с акимом",
        "location": "Медеу ауданы әкімдігі, Қонаев к. 2",
        "url": "https://halyq.example.kz/m/medeu-q2",
        "status": "CONFIRMED",
        "tzid": "Asia/Almaty",
    }
    assert medeu["start"].utcoffset() == timedelta(hours=5)  # type: ignore[attr-defined]
    assert almaly["location"] == "ДК «Алмалы»"
    assert CONTENT_TYPE == "text/calendar; charset=utf-8"


def test_r1_a_moved_meeting_keeps_its_uid_and_raises_its_sequence() -> None:
    cal = calendar()
    before = parsed(feed("Алматы", cal.planned.values(), base_url=BASE))
    cal = apply(cal, move(cal, "medeu-q2", "2026-04-17T15:00", by="b", now=2_000))
    after = parsed(feed("Алматы", cal.planned.values(), base_url=BASE))
    assert before[0]["uid"] == after[0]["uid"] == uid(cal.planned["medeu-q2"])
    assert (before[0]["sequence"], after[0]["sequence"]) == (0, 1)
    assert after[0]["start"] == datetime(2026, 4, 17, 15, tzinfo=ALMATY)
    assert after[0]["summary"] == "Әкіммен кездесу"  # the Kazakh title by default
    assert after[1] == before[1]  # the other meeting is unchanged


def test_r1_a_cancelled_meeting_stays_in_the_feed_as_cancelled() -> None:
    cal = calendar()
    cal = apply(cal, cancel(cal, "almaly-q2", by="b", now=3_000))
    [_, almaly] = parsed(feed("Алматы", cal.planned.values(), base_url=BASE))
    assert (almaly["status"], almaly["sequence"], almaly["uid"]) == (
        "CANCELLED", 1, "almaly-q2@halyq")  # fmt: skip


def test_an_empty_feed_is_still_a_calendar() -> None:
    whole = ICalendar.from_ical(feed("Медеу", [], base_url=BASE))
    assert str(whole["X-WR-CALNAME"]) == "Медеу"
    assert whole.walk("VEVENT") == []
