"""An HLS stream plays on the viewer page in headless Chromium (issue 14): segments made by the
imageio-ffmpeg binary (a few seconds of H.264 baseline test picture), served by a loopback HTTP
server of the test's own with CORS as a CDN serves them, the meeting's stream URL pointing at its
.m3u8. The video's `currentTime` advances and the page says the stream is live; once the
segments stop coming it says it is reconnecting, and once the meeting ends, that it has ended.

Played twice: by hls.js (in a browser that says it has no HLS of its own, as Firefox and older
Chromes say), and natively, as this Chromium offers (Safari's way).
"""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import imageio_ffmpeg  # type: ignore[import-untyped]
import pytest
from playwright.async_api import Browser, Page

from moderation import EndMeeting, Meeting, StartMeeting
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.e2e._chromium import TRAPS
from tests.helpers import LiveServer, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECONDS = 16  # of video, in 2 s segments: a player starts 3 segments before the live edge
SEGMENT = 2  # s: the 6 s of runway that leaves outlast a loaded machine's pause between the
# stream starting to play and the test reading where it is (CI saw 1 s segments run out)
H264 = 'video/mp4; codecs="avc1.42E01E"'  # H.264 baseline, what the segments hold
# A browser without HLS of its own: what Firefox and Chrome before 141 answer.
NO_NATIVE_HLS = """
const canPlayType = HTMLMediaElement.prototype.canPlayType;
HTMLMediaElement.prototype.canPlayType = function (type) {
  return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
};
"""


class CorsHandler(SimpleHTTPRequestHandler):
    """Static files with `Access-Control-Allow-Origin: *`, as a CDN serves a live stream."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a test's output is its own


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a live-looking HLS playlist (no end) on a loopback server."""
    folder = tmp_path_factory.mktemp("hls")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-t", str(SECONDS),
         "-c:v", "libx264", "-profile:v", "baseline", "-level", "3.0", "-pix_fmt", "yuv420p",
         "-g", "25", "-f", "hls", "-hls_time", str(SEGMENT), "-hls_list_size", "0",
         "-hls_flags", "omit_endlist", "-hls_segment_filename", str(folder / "seg%03d.ts"),
         str(folder / "index.m3u8")],
        check=True, timeout=60,
    )  # fmt: skip
    assert len(list(folder.glob("seg*.ts"))) >= SECONDS // SEGMENT - 1
    handler = functools.partial(CorsHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/index.m3u8"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def live_on(store: Store, url: str) -> Meeting:
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command(stream_url=url))
    return await change_meeting(cases, meeting.id, StartMeeting())


async def state(page: Page) -> str:
    return str(await page.get_attribute("#stream-state", "data-state"))


async def watch(
    browser: Browser, server: LiveServer, store: Store, stream: str, init: str
) -> tuple[Page, Meeting]:
    meeting = await live_on(store, stream)
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    page = await context.new_page()
    await page.add_init_script(TRAPS + init)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{server.url}/m/{meeting.id}?lang=en")
    assert await page.evaluate(f"MediaSource.isTypeSupported({H264!r})")
    # The state shows from the first paint (a loaded machine may already have seen the video
    # wait for its next segment: "reconnecting"); never blank, never "ended" while live.
    assert await state(page) in ("waiting", "live", "reconnecting")
    await wait_for(lambda: _is(page, "live"), what="the stream playing")
    assert await page.text_content("#stream-state") == "On air"
    started = await page.evaluate("document.getElementById('video').currentTime")
    await wait_for(lambda: _advanced(page, started + 1.0), what="currentTime advancing by a second")
    assert errors == []
    return page, meeting


async def _is(page: Page, expected: str) -> bool:
    return await state(page) == expected


async def _advanced(page: Page, beyond: float) -> bool:
    return bool(await page.evaluate(f"document.getElementById('video').currentTime > {beyond}"))


async def test_hls_js_plays_the_stream_where_the_browser_has_no_hls_of_its_own(
    browser: Browser, server: LiveServer, store: Store, stream: str
) -> None:
    page, meeting = await watch(browser, server, store, stream, NO_NATIVE_HLS)
    video = await page.evaluate(
        "(() => { const v = document.getElementById('video');"
        " return {player: v.dataset.player, src: v.currentSrc}; })()"
    )
    assert video["player"] == "hls.js"
    assert video["src"].startswith("blob:")  # a MediaSource fed by hls.js
    # The playlist has no end and no segment comes after the last: the page says so.
    await wait_for(lambda: _is(page, "reconnecting"), what="the stream stalling")
    assert await page.text_content("#stream-state") == "Reconnecting to the broadcast…"
    await change_meeting(UseCases(store=store), meeting.id, EndMeeting())
    await wait_for(lambda: _is(page, "ended"), what="the meeting's end")
    assert await page.text_content("#stream-state") == "The broadcast has ended"
    assert await page.evaluate("window.__violations") == []  # hls.js within the page's CSP
    await page.context.close()


async def test_a_browser_with_hls_of_its_own_plays_it_natively(
    browser: Browser, server: LiveServer, store: Store, stream: str
) -> None:
    page, _ = await watch(browser, server, store, stream, "")
    video = await page.evaluate(
        "(() => { const v = document.getElementById('video');"
        " return {player: v.dataset.player, src: v.currentSrc, hls: typeof window.Hls}; })()"
    )
    assert video["player"] == "native"
    assert video["src"] == stream  # the playlist itself, no MediaSource
    assert await page.evaluate("window.__violations") == []
    await page.context.close()
