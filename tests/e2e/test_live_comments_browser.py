"""Facebook Live and Instagram Live readers on the moderator console, in headless Chromium
(issue 16): a moderator starts one from the feeds panel, sees its health in the platform's own
words (an expired Page token raises the banner with Graph's error), and the comments arrive in
the queue once the token works again. The Graph API is `tests/fakes_graph.py`."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from moderation import StartMeeting
from server.settings import Settings
from server.usecases import change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.e2e.test_console_browser import WAIT_MS, add_staff, clean, new_page, sign_in
from tests.fakes_graph import TOKEN, fake_graph, graph_fixture
from tests.helpers import live_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

LIVE_VIDEO = "911936075671494"


async def test_a_facebook_reader_started_from_the_console_shows_its_health(
    browser: Browser, settings: Settings
) -> None:
    async with fake_graph() as graph:
        graph.add(LIVE_VIDEO, *graph_fixture("facebook_live_comments")["data"])
        graph.expired = True
        configured = settings.replace(facebook_page_token=TOKEN, facebook_api_base=graph.url,
                                      facebook_poll_seconds=0.05)  # fmt: skip
        async with live_server(configured) as server:
            cases = server.services.usecases
            meeting = await create_meeting(cases, meeting_command())
            meeting = await change_meeting(cases, meeting.id, StartMeeting())
            page = await new_page(browser, 1280, 800)
            await sign_in(page, server, meeting.id, await add_staff(server, "moderator"))
            await page.fill("#feed-graph-id", "https://fb.watch/abc")  # not an id: the browser
            await page.click("#feed-graph button[type=submit]")  # says so, nothing is sent
            await expect(page.locator("#feed-graph-id:invalid")).to_have_count(1)
            await page.select_option("#feed-platform", "facebook")
            await page.fill("#feed-graph-id", LIVE_VIDEO)
            await page.click("#feed-graph button[type=submit]")
            await expect(page.locator("#notice")).to_have_text("Reading the Facebook comments")
            feed = page.locator("#feed-list .feed")
            await expect(feed.locator(".feed-state")).to_have_text("retrying", timeout=WAIT_MS)
            await expect(feed.locator(".feed-error")).to_contain_text(
                "Facebook: Graph API error 190 (HTTP 400): OAuthException"
            )
            banner = page.locator("#feed-banner")
            await expect(banner).to_contain_text("The Facebook comments are not being read")
            graph.expired = False  # a new token: the reader goes on by itself
            await expect(feed.locator(".feed-state")).to_have_text("following", timeout=WAIT_MS)
            await expect(banner).to_be_hidden(timeout=WAIT_MS)
            await expect(feed.locator(".feed-url")).to_have_text(f"facebook: {LIVE_VIDEO}")
            await expect(page.get_by_text("Where is this place?").first).to_be_visible(
                timeout=WAIT_MS
            )
            assert graph.served("/comments") > 1
            assert graph.requests[0][0] == f"/v21.0/{LIVE_VIDEO}/comments"
            await clean(page)
            await page.context.close()
