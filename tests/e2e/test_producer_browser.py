"""The producer's desk (issue 9), in headless Chromium, driven by the keyboard as in a studio:
a phase key starts the R4 clock, Shift+arrow reorders the rundown, N takes the next, A marks it
answered, Enter takes the selected one, C clears the air; the lower third on air, the moderator's
console pin and the viewer's "now answering" follow each of them. Contacts in a question never
show on the desk (issue 9.5). Screenshots at a phone's and a laptop's size go to /tmp/shots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from moderation import Meeting
from server.auth.accounts import Role
from server.auth.keys import KeyKind, current_key
from tests.e2e.test_console_browser import (
    LIVE_MS,
    PASSWORD,
    WAIT_MS,
    add_staff,
    clean,
    new_page,
    sign_in,
)
from tests.e2e.test_on_air_browser import approved
from tests.e2e.test_overlays_browser import IN
from tests.helpers import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("/tmp/shots")
WATER = "Бұтақ ықшамауданында ауыз су қашан тұрақты беріледі? Екі жылдан бері су кестемен келеді."
ROAD = "Когда отремонтируют дорогу на улице Жандосова?"
LIGHT = "Аулаға жарық қашан береді?"
CONTACTS = "Нөмірім +7 701 234 56 78, поштам aigul.n@mail.kz, ЖСН 900101300123: су қашан болады?"


async def open_desk(browser: Browser, server: LiveServer, meeting_id: str, name: str) -> Page:
    """Signed in through the login form, straight to the desk; its console socket open."""
    page = await new_page(browser, 1366, 900)
    await page.goto(f"{server.url}/login?lang=kk&next=/producer/{meeting_id}")
    await page.fill("#login-name", name)
    await page.fill("#login-password", PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/producer/{meeting_id}", timeout=WAIT_MS)
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=WAIT_MS
    )
    return page


async def rows(page: Page) -> list[str]:
    return [
        str(i)
        for i in await page.locator("#rundown li").evaluate_all("r => r.map(e => e.dataset.id)")
    ]


@pytest.fixture(autouse=True)
def shots() -> None:
    SHOTS.mkdir(exist_ok=True)


async def shoot(page: Page, name: str) -> None:
    for width, height in ((390, 844), (1366, 900)):
        await page.set_viewport_size({"width": width, "height": height})
        shot = await page.screenshot(path=str(SHOTS / f"producer-{name}-{width}x{height}.png"))
        assert len(shot) > 10_000  # a page, not a blank


async def test_the_desk_drives_the_clock_the_rundown_and_the_air_by_keys(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    meeting_id = live_meeting.id
    water = await approved(server, live_meeting, WATER, "Айгүл")
    road = await approved(server, live_meeting, ROAD, "")
    light = await approved(server, live_meeting, LIGHT, "Серік")
    contacts = await approved(server, live_meeting, CONTACTS, "Айгүл +77012345678")
    key = await current_key(server.services.store, meeting_id, KeyKind.OVERLAY)
    console = await new_page(browser, 1366, 900)
    await sign_in(console, server, meeting_id, await add_staff(server, "aliya.desk"))
    viewer = await new_page(browser, 390, 844)
    await viewer.goto(f"{server.url}/m/{meeting_id}?lang=en")
    pin, banner = console.locator("#on-air"), viewer.locator("#now-answering")
    lower = await new_page(browser, 1920, 1080)
    await lower.goto(f"{server.url}/overlay/{meeting_id}/lower-third?key={key}&lang=kk")
    desk = await open_desk(
        browser, server, meeting_id, await add_staff(server, "erlan.tv", Role.PRODUCER)
    )
    await expect(desk.locator("#rundown li")).to_have_count(4)
    assert await rows(desk) == [water, road, light, contacts]
    row = await desk.locator(f"#rundown li[data-id='{contacts}']").inner_text()
    for secret in ("234 56 78", "2345678", "aigul.n@mail.kz", "900101300123"):
        assert secret not in row, row  # masked on the producer's page too (issue 9.5)
    await expect(desk.locator("#phase")).to_have_attribute("data-phase", "not_started")

    # R4: P starts the presentation; the desk counts down from the server's reading.
    await desk.keyboard.press("p")
    await expect(desk.locator("#phase")).to_have_attribute("data-phase", "presentation")
    async with httpx.AsyncClient(base_url=server.url) as http:
        reading = (await http.get(f"/api/meetings/{meeting_id}/clock")).json()
    shown = await desk.locator("#remaining").text_content()
    found = re.fullmatch(r"(\d+):(\d\d)", shown or "")
    assert found is not None, shown
    minutes, seconds = (int(x) for x in found.groups())
    assert abs(minutes * 60 + seconds - reading["remaining_s"]) <= 1.5

    # The producer's order: the second goes on top, and N takes it.
    await desk.keyboard.press("ArrowDown")
    await desk.keyboard.press("Shift+ArrowUp")
    await expect(desk.locator("#rundown li").first).to_have_attribute("data-id", road)
    await desk.keyboard.press("n")
    await expect(desk.locator("[data-on-air-text]")).to_have_text(ROAD)
    await expect(desk.locator("[data-on-air-who]")).to_have_text("Тұрғын")  # no name, no district
    await expect(lower.locator("#text")).to_have_text(ROAD, timeout=WAIT_MS)
    await expect(pin).to_have_attribute("data-item", road, timeout=LIVE_MS)
    await expect(banner).to_have_attribute("data-question", road, timeout=LIVE_MS)
    await shoot(desk, "on-air")

    # A: answered, never back; Enter takes the selected (the top); C clears the air.
    await desk.keyboard.press("a")
    await expect(desk.locator("#on-air")).to_have_attribute("data-empty", "true")
    assert await rows(desk) == [water, light, contacts]
    await expect(pin).to_be_hidden(timeout=LIVE_MS)
    await expect(banner).to_be_hidden(timeout=LIVE_MS)
    await desk.keyboard.press("Enter")
    await expect(desk.locator("[data-on-air-text]")).to_have_text(WATER)
    await expect(lower.locator("#text")).to_have_text(WATER, timeout=WAIT_MS)
    await expect(pin).to_have_attribute("data-item", water, timeout=LIVE_MS)
    await expect(banner).to_have_attribute("data-question", water, timeout=LIVE_MS)
    await desk.keyboard.press("c")
    await expect(desk.locator("#on-air")).to_have_attribute("data-empty", "true")
    await expect(desk.locator("#rundown li").first).to_have_attribute("data-id", water)
    await expect(lower.locator("#graphic")).not_to_have_class(IN)  # nothing on air: nothing shown
    await expect(pin).to_be_hidden(timeout=LIVE_MS)
    await expect(banner).to_be_hidden(timeout=LIVE_MS)
    for page in (desk, lower, console, viewer):
        await clean(page)
