"""FLT-6 on the moderator console in headless Chromium: history the record lost is shown."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from moderation import Meeting
from server.settings import Settings
from server.store.keys import Keys
from server.web.i18n import translator
from tests.e2e.test_console_browser import add_staff, clean, open_console
from tests.helpers import LiveServer, comment, recv_json, recv_until
from tests.viewers import redis_cli

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

EN = translator("en")


async def test_flt6_the_console_names_the_acknowledged_comments_the_record_lost(
    browser: Browser, server: LiveServer, settings: Settings, live_meeting: Meeting
) -> None:
    meeting_id = live_meeting.id
    page = await open_console(browser, server, meeting_id, await add_staff(server, "dana.mod"))
    async with server.socket(meeting_id) as ws:
        await recv_json(ws)  # hello
        await ws.send(comment("gone-1", "Жарық қашан қосылады?"))
        ack, _ = await recv_until(ws, lambda f: f.get("client_msg_id") == "gone-1")
    assert ack["type"] == "ack", ack
    row = page.locator(f"#queue li[data-id='{ack['id']}']")
    await expect(row).to_have_count(1)
    keys = Keys(settings.redis_prefix)  # this test's own keys only, never the shared Redis's
    redis_cli(settings.redis_url, "DEL", keys.stream(meeting_id), keys.seen(meeting_id),
              keys.epoch(meeting_id))  # fmt: skip
    alert = page.locator(".discontinuity")
    await expect(alert).to_contain_text(EN("discontinuity_title"), timeout=5000)
    await expect(alert).to_contain_text("gone-1")
    # The console reconnects to the board as the record has it now, and the alert stays, once.
    await expect(row).to_have_count(0, timeout=5000)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    await expect(alert).to_have_count(1)
    await alert.get_by_role("button", name=EN("dismiss")).click()
    await expect(alert).to_have_count(0)
    await clean(page)
