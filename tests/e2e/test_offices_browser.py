"""The public promise tracker in headless Chromium with scripts off (issue 12.5): on a 390 px
phone it lists the office's promises overdue first, marks the inherited ones, and nothing is
wider than the screen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from moderation.promises import Pledge
from server.cli.offices import ensure_almaty
from server.usecases import create_meeting, offices
from tests.conftest import meeting_command
from tests.helpers import LiveServer
from tests.server.test_promises import noon

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
SHOTS = Path(os.environ.get("HALYQ_TEST_SHOTS", "/tmp/shots"))


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_the_tracker_reads_on_a_phone_without_scripts(
    browser: Any, server: LiveServer, lang: str
) -> None:
    cases = server.services.usecases
    cases.clock = lambda: noon("2026-03-10")
    await ensure_almaty(cases)
    meeting = await create_meeting(cases, meeting_command(office="almaty-almaly"))
    for what, due in (("Абай даңғылындағы жолды жөндеу, жаяу жүргіншілер өткелін қоса алғанда, "
                       "және бағдаршамдарды ауыстыру", "2026-09-01"),
                      ("Ыстық суды қосу", "2026-04-01")):  # fmt: skip
        await offices.record_promise(cases, meeting.id, Pledge(what=what, due=due), by="mod")
    await offices.set_holder(cases, "almaty-almaly", "Жаңа Әкім", "2026-05-01", by="root")
    cases.clock = lambda: noon("2026-06-01")
    context = await browser.new_context(viewport={"width": 390, "height": 844},
                                        java_script_enabled=False)  # fmt: skip
    page = await context.new_page()
    response = await page.goto(f"{server.url}/offices/almaty-almaly?lang={lang}")
    assert response is not None
    assert response.status == 200
    rows = page.locator("li[data-promise]")
    assert await rows.count() == 2
    assert await rows.nth(0).get_attribute("data-overdue") == "true"  # overdue first
    assert "Ыстық суды қосу" in (await rows.nth(0).inner_text())
    assert await page.locator("li[data-inherited=true] .promise-inherited").count() == 2
    assert await page.locator(".promise-inherited").first.is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(SHOTS / f"offices-tracker-390-{lang}.png"), full_page=True)
    await context.close()
