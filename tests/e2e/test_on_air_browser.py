"""On air everywhere within a second (issue 9), in headless Chromium: a take over the rundown's
HTTP API (as a Stream Deck or the producer's desk sends it) makes the moderator's console pin the
question and the viewer page say "now answering"; a take of another replaces it on both; a clear
removes both. Screenshots of both pages with a question on air go to /tmp/shots/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from moderation import Meeting, Moderate
from server.usecases import act
from tests.e2e.test_console_browser import (
    LIVE_MS,
    WAIT_MS,
    add_staff,
    ask,
    clean,
    new_page,
    sign_in,
)
from tests.helpers import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

ADMIN = {"Authorization": "Bearer test-admin-token"}
SHOTS = Path("/tmp/shots")
WATER = (
    "Медеу ауданындағы Бұтақ ықшамауданында ауыз су қашан тұрақты беріледі? Екі жылдан бері "
    "су кестемен ғана келеді, балалар мектепке барар алдында жуына алмайды. Жауап беріңізші."
)
ROAD = "Когда отремонтируют дорогу на улице Жандосова?"
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as client:
        yield client


async def approved(server: LiveServer, meeting: Meeting, text: str, name: str) -> str:
    question = await ask(server, meeting.id, text, name=name)
    command = Moderate(action="approve", item=question, version=1)
    await act(server.services.usecases, meeting, command, by="aliya")
    return question


async def rundown(http: httpx.AsyncClient, meeting_id: str, verb: str, body: str = "") -> None:
    answer = await http.post(f"/api/meetings/{meeting_id}/rundown/{verb}", content=body)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(exist_ok=True)
    return SHOTS


async def shoot(page: Page, folder: Path, name: str) -> None:
    """Screenshots of `page` at a phone's and a laptop's size, for a person to look at."""
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        shot = await page.screenshot(path=str(folder / f"on-air-{name}-{width}x{height}.png"))
        assert len(shot) > 10_000, size  # a page, not a blank


async def test_a_take_pins_the_question_on_consoles_and_viewers_see_now_answering(
    browser: Browser,
    server: LiveServer,
    live_meeting: Meeting,
    http: httpx.AsyncClient,
    shots: Path,
) -> None:
    meeting_id = live_meeting.id
    water = await approved(server, live_meeting, WATER, "Айгерім")
    road = await approved(server, live_meeting, ROAD, "")
    moderator = await add_staff(server, "aliya.onair")
    console = await new_page(browser, 1366, 900)
    await sign_in(console, server, meeting_id, moderator)
    viewer = await new_page(browser, 390, 844)
    await viewer.goto(f"{server.url}/m/{meeting_id}?lang=en")
    await expect(viewer.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=WAIT_MS
    )
    pin, banner = console.locator("#on-air"), viewer.locator("#now-answering")
    await expect(pin).to_be_hidden()
    await expect(banner).to_be_hidden()

    await rundown(http, meeting_id, "take", f'{{"question": "{water}"}}')
    await expect(pin).to_be_visible(timeout=LIVE_MS)
    await expect(banner).to_be_visible(timeout=LIVE_MS)
    await expect(pin).to_have_attribute("data-item", water)
    await expect(pin.locator("h2")).to_have_text("On air now")
    await expect(pin.locator("[data-on-air-text]")).to_have_text(WATER)
    await expect(pin.locator("[data-on-air-name]")).to_have_text("Айгерім")
    await expect(banner).to_have_attribute("data-question", water)
    await expect(banner.locator("h2")).to_have_text("Now answering")
    await expect(banner.locator("[data-now-text]")).to_have_text(WATER)
    await expect(banner.locator("[data-now-name]")).to_have_text("Айгерім")
    # The console pins it above the queue, whatever the queue holds.
    pin_box, queue_box = await pin.bounding_box(), await console.locator("#queue").bounding_box()
    assert pin_box is not None
    assert queue_box is not None
    assert pin_box["y"] < queue_box["y"]
    await shoot(console, shots, "console")
    await shoot(viewer, shots, "viewer")
    await viewer.set_viewport_size({"width": 390, "height": 844})
    banner_box = await banner.bounding_box()
    assert banner_box is not None
    assert banner_box["y"] + banner_box["height"] <= 844  # seen without scrolling on a phone

    # A take of another replaces it on both screens; a clear removes it from both.
    await rundown(http, meeting_id, "take", f'{{"question": "{road}"}}')
    await expect(pin).to_have_attribute("data-item", road, timeout=LIVE_MS)
    await expect(banner).to_have_attribute("data-question", road, timeout=LIVE_MS)
    await expect(pin.locator("[data-on-air-text]")).to_have_text(ROAD)
    await expect(banner.locator("[data-now-name]")).to_have_text("Guest")
    await rundown(http, meeting_id, "clear")
    await expect(pin).to_be_hidden(timeout=LIVE_MS)
    await expect(banner).to_be_hidden(timeout=LIVE_MS)

    # A page opened while a question is on air shows it from its first frame.
    await rundown(http, meeting_id, "next")  # the cleared one is at the top of the rundown
    late = await new_page(browser, 390, 844)
    await late.goto(f"{server.url}/m/{meeting_id}?lang=ru")
    await expect(late.locator("#now-answering")).to_have_attribute(
        "data-question", road, timeout=WAIT_MS
    )
    await expect(late.locator("#now-answering h2")).to_have_text("Сейчас отвечают на вопрос")
    for page in (console, viewer, late):
        await clean(page)
