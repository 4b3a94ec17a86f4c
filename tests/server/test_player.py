"""The stream player a meeting's URL gets, and the viewer page around it (issue 14): HLS
through hls.js, a scheduled meeting's start and calendar file, territory names, sign-in links."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar as ICalendar

from moderation import Meeting
from server.store import Store
from server.usecases import UseCases, create_meeting
from server.web.places import district_in, territory_in
from server.web.player import Player, player_for
from tests.conftest import meeting_command
from tests.helpers import ROOT, LiveServer

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", Player("none")),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1",
         Player("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?playsinline=1")),
        ("https://youtu.be/dQw4w9WgXcQ",
         Player("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?playsinline=1")),
        ("https://www.youtube.com/live/dQw4w9WgXcQ?si=x",
         Player("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?playsinline=1")),
        ("https://www.youtube.com/watch?v=short",
         Player("link", "https://www.youtube.com/watch?v=short")),
        ("https://www.youtube.com/@akimat", Player("link", "https://www.youtube.com/@akimat")),
        ("https://www.facebook.com/almatyakimat/videos/123",
         Player("facebook", "https://www.facebook.com/plugins/video.php?href="
                "https%3A%2F%2Fwww.facebook.com%2Falmatyakimat%2Fvideos%2F123")),
        ("https://cdn.example.kz/live/stream.m3u8",
         Player("video", "https://cdn.example.kz/live/stream.m3u8",
                "application/vnd.apple.mpegurl")),
        ("https://cdn.example.kz/meeting.MP4",
         Player("video", "https://cdn.example.kz/meeting.MP4", "video/mp4")),
        ("https://akimat.almaty.kz/live", Player("link", "https://akimat.almaty.kz/live")),
    ],
)  # fmt: skip
def test_player_for(url: str, expected: Player) -> None:
    assert player_for(url) == expected


def test_a_meeting_with_no_stream_url_plays_our_own_broadcast_when_the_ingest_is_on() -> None:
    """Issue 16: the playlist of our own HLS, marked `own` (its state is the record's)."""
    own = "/m/almaly-x/live.m3u8"
    assert player_for("", own=own) == Player(
        "video", own, "application/vnd.apple.mpegurl", own=True
    )
    assert player_for("https://youtu.be/dQw4w9WgXcQ", own=own).kind == "youtube"  # named: kept


# Issue 14: the viewer page's player, its start and its calendar file, served by a real server.


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def scheduled(store: Store, **changes: object) -> Meeting:
    command = meeting_command(starts_at="2026-12-02T18:00:00+05:00", **changes)
    return await create_meeting(UseCases(store=store), command)


def policy(response: httpx.Response) -> dict[str, str]:
    """The Content-Security-Policy's directives by name."""
    parts = (
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


async def test_an_hls_stream_gets_hls_js_and_may_be_fetched_from_its_origin(
    http: httpx.AsyncClient, store: Store
) -> None:
    meeting = await scheduled(store, stream_url="http://127.0.0.1:9/live/index.m3u8")
    page = await http.get(f"/m/{meeting.id}")
    assert page.status_code == 200
    assert "/static/vendor/hls/hls.min.js?v=" in page.text
    assert 'data-src="http://127.0.0.1:9/live/index.m3u8"' in page.text
    directives = policy(page)
    assert directives["connect-src"] == "'self' http://127.0.0.1:9"
    assert directives["worker-src"] == "'self' blob:"  # hls.js's worker, made from a blob: URL
    assert "http://127.0.0.1:9" in directives["media-src"]  # native HLS (Safari) loads it as media
    script = await http.get("/static/vendor/hls/hls.min.js")
    assert script.status_code == 200
    assert "MediaSource" in script.text
    version = (ROOT / "frontend/static/vendor/hls/VERSION").read_text()
    assert "Apache-2.0" in version
    assert "hls.js 1.7.4" in version  # the version pinned, and where it came from


async def test_an_embed_keeps_the_strict_policy_and_loads_no_hls_js(
    http: httpx.AsyncClient, store: Store
) -> None:
    meeting = await scheduled(store, stream_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    page = await http.get(f"/m/{meeting.id}")
    assert "hls.min.js" not in page.text
    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ" in page.text
    directives = policy(page)
    assert directives["connect-src"] == "'self'"
    assert "worker-src" not in directives
    assert 'id="stream-state"' in page.text  # the stream's state, shown on the player


@pytest.mark.parametrize(
    ("lang", "date", "time", "zone", "territory"),
    [
        ("kk", "2026", "18:00", "Алматы уақыты", "Алматы, Алмалы ауданы"),
        ("ru", "2 декабря 2026", "18:00", "время Алматы", "Алматы, Алмалинский район"),
        ("en", "December 2, 2026", "6:00\u202fPM", "Almaty time", "Almaty, Almaly district"),
    ],
    ids=["kk", "ru", "en"],
)
async def test_a_scheduled_meeting_shows_its_start_in_almaty_time_in_each_language(
    http: httpx.AsyncClient,
    store: Store,
    lang: str,
    date: str,
    time: str,
    zone: str,
    territory: str,
) -> None:
    meeting = await scheduled(store)
    page = await http.get(f"/m/{meeting.id}", params={"lang": lang})
    start = re.search(
        r'<div id="starts" class="starts" data-ms="(\d+)">(.*?)</div>', page.text, re.S
    )
    assert start is not None, page.text
    moment = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)  # 18:00 in Almaty (+05:00)
    assert int(start[1]) == moment.timestamp() * 1000  # what the countdown counts to
    assert date in start[2]
    assert time in start[2]
    assert zone in start[2]
    assert f'href="/m/{meeting.id}/calendar.ics"' in start[2]
    assert f'<bdi id="territory">{territory}</bdi>' in page.text  # the territory, translated


async def test_a_live_meeting_or_one_without_a_start_shows_no_countdown(
    http: httpx.AsyncClient, store: Store, live_meeting: Meeting
) -> None:
    unannounced = await create_meeting(UseCases(store=store), meeting_command())
    for meeting in (live_meeting, unannounced):
        page = await http.get(f"/m/{meeting.id}")
        assert page.status_code == 200
        assert 'id="starts"' not in page.text


async def test_the_calendar_file_holds_the_one_meeting_in_almaty_time(
    http: httpx.AsyncClient, store: Store
) -> None:
    meeting = await scheduled(store, titles={"en": "The akim meets residents"}, planned_minutes=90)
    answer = await http.get(f"/m/{meeting.id}/calendar.ics", params={"lang": "en"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="halyq-{meeting.id}.ics"'
    assert b"DTSTART;TZID=Asia/Almaty:20261202T180000" in answer.content
    calendar = ICalendar.from_ical(answer.content)
    [event] = calendar.walk("VEVENT")
    assert event["summary"] == "The akim meets residents"
    assert event["location"] == "Almaty, Almaly district"
    start = event.decoded("dtstart")
    assert start == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert event.decoded("dtend") - start == timedelta(minutes=90)
    assert str(event["url"]).endswith(f"/m/{meeting.id}")
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Almaty"]


async def test_no_calendar_file_for_an_unknown_meeting_or_one_without_a_start(
    http: httpx.AsyncClient, store: Store
) -> None:
    unannounced = await create_meeting(UseCases(store=store), meeting_command())
    for path in (
        "/m/nobody/calendar.ics",
        f"/m/{unannounced.id}/calendar.ics",
        "/m/%2E/calendar.ics",
    ):
        answer = await http.get(path)
        assert answer.status_code == 404, path
        assert "text/html" in answer.headers["content-type"]


@pytest.mark.parametrize(
    ("territory", "lang", "expected"),
    [
        ("Алматы, Алмалы ауданы", "ru", "Алматы, Алмалинский район"),
        ("Алматы, Алмалы ауданы", "en", "Almaty, Almaly district"),
        ("г. Алматы", "kk", "Алматы"),
        ("Almaty, Bostandyk district", "kk", "Алматы, Бостандық ауданы"),
        ("Астана, район Есиль", "en", "Astana, Yesil district"),
        ("Есиль район", "kk", "Есіл ауданы"),
        ("Шымкент,  аль-фарабийский  район", "en", "Shymkent, Al-Farabi district"),
        ("Көктөбе ауылы", "en", "Көктөбе ауылы"),  # not known: as written
        ("Алматы", "de", "Алматы"),  # a language the table does not have
        ("", "en", ""),
    ],
)
def test_territory_names_in_each_language(territory: str, lang: str, expected: str) -> None:
    assert territory_in(territory, lang) == expected


@pytest.mark.parametrize(
    ("territory", "district", "lang", "expected"),
    [
        ("г. Алматы", "Алмалы", "en", "Almaly district"),
        ("Алматы", "Бостандык", "kk", "Бостандық ауданы"),
        ("Астана", "Алматы", "ru", "Алматинский район"),  # Astana's district, not the city
        ("Шымкент", "Аль-Фараби", "en", "Al-Farabi district"),
        ("Астана", "Алмалы", "en", "Алмалы"),  # not a district of that city: as given
        ("Алматы", "Алмалы", "de", "Алмалы"),
    ],
)
def test_districts_in_each_language(
    territory: str, district: str, lang: str, expected: str
) -> None:
    assert district_in(territory, district, lang) == expected


async def test_the_district_choice_reads_in_the_page_language_and_keeps_its_value(
    http: httpx.AsyncClient, store: Store
) -> None:
    meeting = await scheduled(store, territory="г. Алматы")
    page = await http.get(f"/m/{meeting.id}", params={"lang": "en"})
    assert '<option value="Алмалы">Almaly district</option>' in page.text
    assert '<bdi id="territory">Almaty</bdi>' in page.text


async def test_the_meetings_list_names_the_territory_in_the_page_language(
    http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    page = await http.get("/", params={"lang": "en"})
    assert "<bdi>Almaty, Almaly district</bdi>" in page.text


async def test_the_login_pages_language_links_keep_next(http: httpx.AsyncClient) -> None:
    page = await http.get("/login", params={"next": "/console/almaly-demo", "lang": "en"})
    assert 'href="/login?next=%2Fconsole%2Falmaly-demo&amp;lang=ru"' in page.text
    unsafe = await http.get("/login", params={"next": "//evil.example"})
    assert "evil" not in unsafe.text  # only a path on this site is kept
    assert 'href="/login?lang=ru"' in unsafe.text
    failed = await http.post("/login", data={"name": "x", "password": "y", "next": "/desk"})
    assert failed.status_code == 403  # no CSRF cookie: the form again, and `next` still kept
    assert 'href="/login?next=%2Fdesk&amp;lang=ru"' in failed.text
    # a failed sign-in keeps the name typed: the page's script, since the answer is the same
    # for every name (AUTH-6)
    assert "/static/js/login.js?v=" in failed.text
