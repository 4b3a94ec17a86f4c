"""The YouTube chat feeds on the moderator console, in headless Chromium (issue 11): a moderator
starts following a stream with the console's button (yt-dlp is `tests/fake_ytdlp.py`, which
writes the real live-chat lines where yt-dlp would), sees the feed's state, and a banner when
the feed stops delivering or yt-dlp exits, within the configured time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from moderation import Meeting, StartMeeting
from server.auth.accounts import Role
from server.settings import Settings
from server.usecases import change_meeting, create_meeting
from server.usecases.youtube import YouTubeChat
from server.youtube.follower import Follower, chat_folder, ytdlp_command
from tests.conftest import meeting_command
from tests.e2e.test_console_browser import WAIT_MS, add_staff, clean, new_page, sign_in
from tests.helpers import LiveServer, live_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

FAKE = Path(__file__).resolve().parent.parent / "fake_ytdlp.py"
STREAM = "https://www.youtube.com/watch?v=fake0000001"
SHOTS = Path("/tmp/shots")  # playwright makes the folder


def fake(end: str) -> str:
    return f"{sys.executable} {FAKE} --fake-end {end}"


async def live(server: LiveServer) -> Meeting:
    cases = server.services.usecases
    meeting = await create_meeting(cases, meeting_command())
    return await change_meeting(cases, meeting.id, StartMeeting())


async def follow_from_the_console(page: Page) -> None:
    await page.fill("#feed-url", STREAM)
    await page.click("#feed-follow button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Following the YouTube chat")


async def shots(page: Page, name: str) -> None:
    """The console at a desktop's and a phone's size, for a person to look at."""
    for width, height in ((1280, 800), (390, 844)):
        await page.set_viewport_size({"width": width, "height": height})
        await expect(page.locator("#feed-banner")).to_be_visible()
        await page.screenshot(path=str(SHOTS / f"feeds-{name}-{width}x{height}.png"))


async def test_a_feed_that_stops_delivering_raises_the_banner(
    browser: Browser, settings: Settings
) -> None:
    quick = settings.replace(ytdlp_command=fake("hang"), youtube_stall_seconds=1.0)
    async with live_server(quick) as server:
        meeting = await live(server)
        page = await new_page(browser, 1280, 800)
        await sign_in(page, server, meeting.id, await add_staff(server, "moderator"))
        banner = page.locator("#feed-banner")
        await expect(banner).to_be_hidden()
        await follow_from_the_console(page)
        feed = page.locator("#feed-list .feed")
        await expect(feed.locator(".feed-state")).to_have_text("following", timeout=WAIT_MS)
        await expect(feed.locator(".feed-items")).to_contain_text("38", timeout=WAIT_MS)
        await expect(feed.locator(".feed-url")).to_have_text(STREAM)
        await expect(banner).to_be_visible(timeout=WAIT_MS)
        await expect(banner).to_have_attribute("data-warning", "stalled")
        await expect(banner).to_contain_text("The YouTube chat has delivered nothing for 1 s")
        await expect(page.locator("#queue li[data-id]").first).to_be_visible()
        await shots(page, "stalled")
        await clean(page)
        await page.context.close()


async def test_a_feed_whose_ytdlp_exits_raises_the_banner_with_its_error(
    browser: Browser, settings: Settings
) -> None:
    quick = settings.replace(ytdlp_command=fake("exit"), youtube_stall_seconds=2.0)
    async with live_server(quick) as server:
        meeting = await live(server)
        page = await new_page(browser, 1280, 800)
        await sign_in(page, server, meeting.id, await add_staff(server, "moderator"))
        await follow_from_the_console(page)
        banner = page.locator("#feed-banner")
        await expect(banner).to_have_attribute("data-warning", "exited", timeout=WAIT_MS)
        await expect(banner).to_contain_text("The YouTube chat is not being read: yt-dlp exited")
        error = "yt-dlp: ERROR: [youtube] fake0000001: This live event has ended."
        await expect(banner).to_contain_text(error)
        await expect(page.locator("#feed-list .feed-error")).to_have_text(error)
        await page.fill("#feed-url", "file:///etc/passwd")  # refused, named, nothing started
        await page.click("#feed-follow button[type=submit]")
        await expect(page.locator("#notice")).to_contain_text("Not started:")
        await shots(page, "exited")
        await clean(page)
        await page.context.close()


async def test_a_role_that_may_not_moderate_sees_the_feed_but_no_button(
    browser: Browser, settings: Settings
) -> None:
    quick = settings.replace(ytdlp_command=fake("hang"))
    async with live_server(quick) as server:
        meeting = await live(server)
        taken = server.services  # a follower started by a moderator elsewhere
        follower = Follower(
            chat=YouTubeChat(cases=taken.usecases, pseudonym=taken.sender_pseudonym),
            meeting_id=meeting.id,
            url=STREAM,
            folder=chat_folder(quick.data_dir, meeting.id),
            program=ytdlp_command(quick),
        )
        server.app.state.followers.start(follower)
        page = await new_page(browser, 390, 844)
        await sign_in(page, server, meeting.id, await add_staff(server, "operator", Role.OPERATOR))
        await expect(page.locator("#feed-list .feed-state")).to_have_text(
            "following", timeout=WAIT_MS
        )
        await expect(page.locator("#feed-follow")).to_be_hidden()
        await clean(page)
        await page.context.close()
