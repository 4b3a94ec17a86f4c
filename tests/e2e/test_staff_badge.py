"""The staff badge in headless Chromium (issue 8): a moderator's comment as staff shows a badge
element that no viewer's name can make, on a phone and on a desktop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moderation import Meeting
from server.auth.accounts import Role
from server.store import Store
from tests.consoles import desk_and_viewer
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SIZES = ((390, 844), (1366, 900))
STAFF_TEXT = "Сәлеметсіздер ме! Әкім сұрақтарға эфирдің екінші жартысында жауап береді."
# A viewer who tries to look like staff: the markup stays text, the word is a reserved name.
POSER = "<span class=staff-badge>Модератор</span>"


async def test_a_staff_comment_has_the_badge_and_no_viewer_name_makes_one(
    browser: Any, server: LiveServer, store: Store, live_meeting: Meeting, tmp_path: Path
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "Айгүл", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        for client_msg_id, name, text in (
            ("v1", "Ерлан", "Жол қашан жөнделеді?"),
            ("v2", "Aigul Moderatova", "Su joq, kómektesińizder"),
        ):
            frame = {"type": "comment", "client_msg_id": client_msg_id, "name": name,
                     "text": text}  # fmt: skip
            await viewer.send(json.dumps(frame))
        await desk.ws.send(json.dumps({"type": "post", "cmd": "p1", "text": STAFF_TEXT}))
        await desk.until(lambda c: "p1" in c.answers and len(c.items) == 3)
        await viewer.send(
            json.dumps({"type": "comment", "client_msg_id": "v3", "name": POSER, "text": "Мен"})
        )
        for width, height in SIZES:
            context = await browser.new_context(
                viewport={"width": width, "height": height}, locale="kk-KZ"
            )
            page = await context.new_page()
            await page.add_init_script(TRAPS)
            await page.goto(f"{server.url}/m/{live_meeting.id}")
            badge = page.locator("#comments li.staff .staff-badge")
            await badge.wait_for(timeout=TIMEOUT * 1000)
            assert await badge.all_text_contents() == ["Модератор"]
            assert await page.locator("#comments li.staff .text").text_content() == STAFF_TEXT
            assert await page.locator("#comments li.staff .name").text_content() == "Айгүл"
            assert await page.locator("#comments li").count() == 3  # the poser was refused
            assert await page.locator(".staff-badge").count() == 1
            assert await page.evaluate("window.__violations") == []
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await page.screenshot(path=tmp_path / f"staff-badge-{width}x{height}.png")
            await context.close()
