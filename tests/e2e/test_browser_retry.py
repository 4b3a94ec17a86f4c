"""The viewer page in headless Chromium when the record stalls: a comment answered `retry` is
shown as not confirmed yet and sent again, with its id, until it is acknowledged once."""

from __future__ import annotations

from typing import Any

import pytest

from server.settings import Settings
from tests.e2e.test_browser import open_viewer, send
from tests.helpers import TIMEOUT, live_server
from tests.server.test_final_rejections import (
    StoppableRedis,
    live_meeting_on,
    recorded_ids,
    stoppable,
    viewers,
    warm,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
__all__ = ["stoppable"]  # a fixture, shared with the other tests


async def test_a_comment_the_record_did_not_confirm_is_sent_again_until_acknowledged(
    browser: Any, stoppable: StoppableRedis, settings: Settings
) -> None:
    """Issue 8, item 2: Redis stalls while a viewer comments. The page shows «not confirmed
    yet, sending again» (Russian here) and keeps sending the same comment; once Redis runs
    again it is acknowledged and shown as the viewer's own, and it is in the record once."""
    settings = settings.replace(redis_url=stoppable.url, ack_timeout=1.0)
    meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
    async with live_server(settings) as server:
        viewer = await open_viewer(browser, f"{server.url}/m/{meeting.id}?lang=ru")
        async with viewers(server, meeting.id, 8) as others:
            await warm(others)  # the comment then goes out on a pooled connection: `retry`
        stoppable.stall()
        try:
            await send(viewer, "Айгерім", "Когда починят дорогу на Абая?")
            note = viewer.page.locator("#comments li.pending .note")
            await note.filter(has_text="Ещё не подтверждено, отправляем снова").wait_for(
                timeout=TIMEOUT * 1000
            )
        finally:
            stoppable.resume()
        delivered = viewer.page.locator("#comments li.mine:not(.pending)")
        await delivered.wait_for(timeout=TIMEOUT * 1000)
        assert await delivered.locator(".text").text_content() == "Когда починят дорогу на Абая?"
        assert await viewer.violations() == []
    recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
    assert len([i for i in recorded if not i.startswith("warm-")]) == 1
