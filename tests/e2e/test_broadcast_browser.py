"""Our own broadcast on the viewer page and the producer's desk (issue 16), in headless Chromium.

The server runs with its ingest on (`rtmp_port`); an ffmpeg of the test's own writes a live HLS
stream in real time into the meeting's folder under the data folder, where the ingest's ffmpeg
writes it (`broadcast/<id>/hls/live.m3u8`, segments `p0001-00001.ts` served under `live/`), and
the test appends `broadcast.changed` as the ingest's manager does. The player's badge follows
the record: waiting (nothing fetched), live (the playlist loaded at once; `currentTime`
advances), reconnecting (the studio stopped: the buffer plays out, the badge does not fall back
to waiting), live again (part 2, loaded at once), ended. The producer's panel shows the status
the ingest's node reports, the outputs' URLs masked and never the stream key; with the ingest
off it says so, and follows the record's frames. Screenshots go to /tmp/shots16/.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from moderation import Meeting
from server.auth.accounts import Role
from server.auth.keys import KeyKind, current_key
from server.broadcast.ffmpeg import ffmpeg_program
from server.children import preexec
from server.settings import Settings
from server.usecases import now_ms
from server.usecases.broadcast import broadcast_changed
from tests.e2e.test_console_browser import PASSWORD, WAIT_MS, add_staff, clean, new_page
from tests.e2e.test_hls_browser import NO_NATIVE_HLS
from tests.helpers import LiveServer, end, free_port, live_server, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("/tmp/shots16")
SIZES = ((390, 844), (1440, 900))
# Within this after `broadcast.changed live`, the picture moves (the issue: "within a few
# seconds"; the first segment is a second of video away, and the player asks again each 1-2 s).
SEES_IT_S = 10.0


@pytest.fixture
async def ingest(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server whose studio ingest is on (RTMP on a free loopback port)."""
    on = dataclasses.replace(settings, rtmp_port=free_port(), rtmp_host="127.0.0.1")
    async with live_server(on) as live:
        yield live


@contextlib.contextmanager
def studio(folder: Path, part: int) -> Iterator[subprocess.Popen[bytes]]:
    """Part `part` of a live HLS stream, written in real time as the ingest's ffmpeg writes it
    (1 s segments named by part; part 2 goes on in the same playlist after a discontinuity)."""
    folder.mkdir(parents=True, exist_ok=True)
    flags = "delete_segments+append_list+omit_endlist+independent_segments"
    flags += "+discont_start" if part > 1 else ""
    process = subprocess.Popen(
        [ffmpeg_program(), "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440",
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
         "-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", flags,
         "-hls_segment_filename", str(folder / f"p{part:04d}-%05d.ts"),
         "-hls_base_url", "live/", str(folder / "live.m3u8")],
        stdin=subprocess.DEVNULL, preexec_fn=preexec(),
    )  # fmt: skip
    try:
        yield process
    finally:
        end(process)


def hls_folder(server: LiveServer, meeting_id: str) -> Path:
    return server.services.settings.data_dir / "broadcast" / meeting_id / "hls"


def segments(folder: Path) -> int:
    """How many segments the live playlist lists now."""
    playlist = folder / "live.m3u8"
    return playlist.read_text().count("#EXTINF") if playlist.is_file() else 0


async def badge(page: Page) -> str:
    return str(await page.get_attribute("#stream-state", "data-state"))


async def current_time(page: Page) -> float:
    return float(await page.evaluate("document.getElementById('video').currentTime"))


async def playing_on(page: Page, what: str) -> float:
    """Wait until the picture moves by a second; returns how long that took."""
    began, start = time.monotonic(), await current_time(page)

    async def moved() -> bool:
        return await current_time(page) > start + 1.0

    await wait_for(moved, timeout=SEES_IT_S, what=what)
    return time.monotonic() - began


@pytest.fixture(autouse=True)
def shots() -> None:
    SHOTS.mkdir(exist_ok=True)


async def shoot(page: Page, name: str) -> None:
    for width, height in SIZES:
        await page.set_viewport_size({"width": width, "height": height})
        path = str(SHOTS / f"{name}-{width}x{height}.png")
        shot = await page.screenshot(path=path, full_page=True)
        assert len(shot) > 10_000  # a page, not a blank


@pytest.mark.parametrize("player", ["hls.js", "native"])
async def test_r3_the_badge_follows_the_record_and_the_player_loads_at_once_when_live(
    browser: Browser, ingest: LiveServer, live_meeting: Meeting, player: str
) -> None:
    cases, meeting_id = ingest.services.usecases, live_meeting.id
    page = await new_page(browser, *SIZES[1])
    if player == "hls.js":
        await page.add_init_script(NO_NATIVE_HLS)  # as Firefox and Chrome before 141
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/live" in r.url else None)
    await page.goto(f"{ingest.url}/m/{meeting_id}?lang=en")
    await expect(page.locator("#stream-state")).to_have_text("Waiting for the broadcast")
    assert await badge(page) == "waiting"
    assert await page.get_attribute("#video", "data-src") == f"/m/{meeting_id}/live.m3u8"
    assert asked == []  # nothing is fetched while the studio is not on

    folder = hls_folder(ingest, meeting_id)
    with studio(folder, part=1) as first:
        # The manager says live at the studio's first media: before the playlist exists.
        await broadcast_changed(cases, meeting_id, "live", 1, now_ms())
        await expect(page.locator("#stream-state")).to_have_text("On air", timeout=WAIT_MS)
        seen_after = await playing_on(page, "the picture moving after `live`")
        assert await page.evaluate("document.getElementById('video').dataset.player") == player
        if player == "hls.js":
            await shoot(page, "viewer-live")
        end(first)  # the studio dropped
        await broadcast_changed(cases, meeting_id, "reconnecting", 1, now_ms())
        await expect(page.locator("#stream-state")).to_have_text(
            "Reconnecting to the broadcast…", timeout=WAIT_MS
        )
        if player == "hls.js":
            await shoot(page, "viewer-reconnecting")
    with studio(folder, part=2):  # back within the grace period: the same broadcast goes on
        await broadcast_changed(cases, meeting_id, "live", 2, now_ms())
        await expect(page.locator("#stream-state")).to_have_text("On air", timeout=WAIT_MS)
        await playing_on(page, "the picture moving again in part 2")
        await broadcast_changed(cases, meeting_id, "ended", 2, now_ms())
        await expect(page.locator("#stream-state")).to_have_text(
            "The broadcast has ended", timeout=WAIT_MS
        )
    assert any(url.endswith(f"/m/{meeting_id}/live.m3u8") for url in asked)
    await clean(page)  # no script error, no CSP violation
    print(f"{player}: the picture moved {seen_after:.1f} s after `broadcast.changed live`")  # noqa: T201
    await page.context.close()


async def test_a_page_opened_mid_broadcast_plays_at_once(
    browser: Browser, ingest: LiveServer, live_meeting: Meeting
) -> None:
    cases, meeting_id = ingest.services.usecases, live_meeting.id
    folder = hls_folder(ingest, meeting_id)
    with studio(folder, part=1):
        await broadcast_changed(cases, meeting_id, "live", 1, now_ms())
        await wait_for(lambda: segments(folder) >= 2, what="two segments in the playlist")
        page = await new_page(browser, *SIZES[0])
        await page.goto(f"{ingest.url}/m/{meeting_id}?lang=kk")
        assert await page.get_attribute("main", "data-broadcast") == "live"
        await expect(page.locator("#stream-state")).to_have_attribute("data-state", "live")
        await playing_on(page, "the picture moving on a page opened mid-broadcast")
        await clean(page)
        await page.context.close()


# The producer's desk


async def open_desk(browser: Browser, server: LiveServer, meeting_id: str) -> Page:
    """A producer signed in through the login form, on the desk, its console socket open."""
    name = await add_staff(server, "dana", Role.PRODUCER)
    page = await new_page(browser, *SIZES[1])
    await page.goto(f"{server.url}/login?lang=en&next=/producer/{meeting_id}")
    await page.fill("#login-name", name)
    await page.fill("#login-password", PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/producer/{meeting_id}", timeout=WAIT_MS)
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=WAIT_MS
    )
    return page


def reported(meeting_id: str, since: int) -> dict[str, object]:
    """What the ingest's node reports (the `status()` body of interfaces.md)."""
    return {
        "meeting": meeting_id, "state": "live",
        "ingest": {"state": "live", "since": since, "bitrate_kbps": 2510, "part": 2,
                   "grace_until": 0, "video": "h264", "audio": "aac"},
        "hls": {"state": "running", "playlist": f"/m/{meeting_id}/live.m3u8", "restarts": 1,
                "low_rendition": 0},
        "outputs": [
            {"name": "youtube", "url": "rtmp://a.rtmp.youtube.com/live2/****wxyz",
             "state": "live", "restarts": 0, "error": "", "retry_at": 0, "bitrate_kbps": 2500},
            {"name": "facebook", "url": "rtmps://live-api-s.facebook.com:443/rtmp/****9abc",
             "state": "retrying", "restarts": 3, "error": "Connection refused",
             "retry_at": since + 3_600_000, "bitrate_kbps": 0},
        ],
        "recording": {"bytes": 52_400_000, "parts": [
            {"part": 1, "file": "part-0001.ts", "started_at": since - 90_000,
             "ended_at": since - 30_000, "duration_ms": 60_000, "bytes": 30_000_000},
            {"part": 2, "file": "part-0002.ts", "started_at": since, "ended_at": since,
             "duration_ms": 0, "bytes": 22_400_000},
        ]},
    }  # fmt: skip


async def test_the_producers_panel_shows_the_ingest_each_output_and_the_recording(
    browser: Browser, ingest: LiveServer, live_meeting: Meeting
) -> None:
    meeting_id, store = live_meeting.id, ingest.services.store
    stream_key = await current_key(store, meeting_id, KeyKind.STREAM)
    await store.broadcasts.add_output(
        meeting_id, "youtube", "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-wxyz", replace=True
    )
    await store.broadcasts.report(meeting_id, reported(meeting_id, now_ms()), 120)
    page = await open_desk(browser, ingest, meeting_id)
    panel = page.locator("#broadcast")
    await expect(page.locator("#broadcast-state")).to_have_text("The studio is on air")
    await expect(page.locator("#broadcast-ingest")).to_have_text(
        "The studio is on air · 2510 kbit/s · part 2 · h264/aac"
    )
    await expect(page.locator("#broadcast-hls")).to_have_text("Running · restarts: 1")
    await expect(page.locator("#broadcast-recording")).to_have_text("52.4 MB, parts: 2")
    facebook = page.locator('#broadcast-outputs li[data-name="facebook"]')
    await expect(facebook.locator(".broadcast-output-state")).to_have_text("Retrying")
    await expect(facebook).to_contain_text("rtmps://live-api-s.facebook.com:443/rtmp/****9abc")
    await expect(facebook).to_contain_text("Connection refused")
    await expect(facebook).to_contain_text(re.compile(r"restarts: 3 · next try in 3[56]\d\d s"))
    youtube = page.locator('#broadcast-outputs li[data-name="youtube"]')
    await expect(youtube).to_contain_text("Sending")
    assert await page.locator("#broadcast-no-outputs").is_hidden()
    html = await page.content()
    assert stream_key not in html  # the CLI shows the stream key, never the page
    assert "abcd-efgh-wxyz" not in html  # an output's key neither
    await shoot(page, "producer-broadcast-live")
    # The ingest's node reports a change: the panel follows within its 2 s poll.
    dropped = reported(meeting_id, now_ms())
    dropped["state"] = "reconnecting"
    dropped["ingest"] = {"state": "reconnecting", "since": now_ms(), "bitrate_kbps": 0,
                         "part": 2, "grace_until": now_ms() + 30_000, "video": "h264",
                         "audio": "aac"}  # fmt: skip
    await store.broadcasts.report(meeting_id, dropped, 120)
    await expect(page.locator("#broadcast-state")).to_have_text(
        "The studio dropped: waiting for it", timeout=WAIT_MS
    )
    await expect(panel).to_have_attribute("data-state", "reconnecting")
    await expect(page.locator("#broadcast-ingest")).to_have_text(
        re.compile(r"The studio dropped: waiting for it · part 2 · h264/aac · "
                   r"continues if back within (30|29|28) s")
    )  # fmt: skip
    await clean(page)
    await shoot(page, "producer-broadcast-reconnecting")
    await page.goto(f"{ingest.url}/producer/{meeting_id}?lang=kk")  # the longest words
    await expect(page.locator("#broadcast-state")).to_have_text(
        "Студия ажырады: қайта қосылуы күтілуде"
    )
    await expect(page.locator("#broadcast-recording")).to_have_text("52.4 МБ, бөліктер: 2")
    await shoot(page, "producer-broadcast-kk")
    await page.context.close()


async def test_with_the_ingest_off_the_panel_says_so_and_follows_the_records_frames(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    page = await open_desk(browser, server, live_meeting.id)
    await expect(page.locator("#broadcast-off")).to_contain_text("HALYQ_RTMP_PORT")
    await expect(page.locator("#broadcast-state")).to_have_text("Waiting for the studio")
    cases = server.services.usecases
    await broadcast_changed(cases, live_meeting.id, "live", 1, now_ms())
    await expect(page.locator("#broadcast-state")).to_have_text(
        "The studio is on air", timeout=WAIT_MS
    )
    await broadcast_changed(cases, live_meeting.id, "ended", 1, now_ms())
    await expect(page.locator("#broadcast-state")).to_have_text(
        "The broadcast has ended", timeout=WAIT_MS
    )
    await clean(page)
    await page.context.close()
