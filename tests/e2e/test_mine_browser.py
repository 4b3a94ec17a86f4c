"""The viewer page's "My questions" in headless Chromium (issue 10.7): a viewer asks, reloads,
and still sees the question and its fate; a moderator approves it and the fate changes, live
and after a reload; a rejection shows its public reason (R3). Screenshots at a phone's and a
laptop's size go to /tmp/shots/mine-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from moderation import Meeting, Moderate
from server.usecases import act
from server.web.i18n import translator
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WAIT_MS = TIMEOUT * 1000
SHOTS = Path("/tmp/shots")
EN = translator("en")
RU = translator("ru")
WATER = "When will the hot water come back on Abai street 10?"
ROAD = "Is the akim going to buy a new car for himself?"


async def viewer_page(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    await page.add_init_script(TRAPS)
    await page.goto(url)
    await opened(page)
    return page


async def opened(page: Page) -> None:
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=WAIT_MS
    )


async def ask(page: Page, text: str) -> str:
    """Ask through the page's own form; the question's id once the server acknowledged it."""
    await page.fill("#q-text", text)
    await page.press("#ask", "Enter")
    row = page.locator("#my-questions li.asked", has_text=text)
    await expect(row.locator(".note")).to_have_text(EN("question_pending"), timeout=WAIT_MS)
    question = await row.get_attribute("data-id")
    assert question
    return question


async def moderate(
    server: LiveServer, meeting: Meeting, item: str, action: str, **extra: str
) -> None:
    """A moderator's decision through the one way in (`act`), as the console sends it."""
    items = await server.services.store.board.items(meeting.id, [item])
    command = Moderate(action=action, item=item, version=items[item].version, **extra)
    await act(server.services.usecases, meeting, command, by="aliya")


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def row(page: Page, question: str) -> Locator:
    return page.locator(f"#my-questions li[data-id='{question}']")


async def test_a_viewer_who_asked_reloads_and_sees_the_fate_change_from_sent_to_approved(
    browser: Browser, server: LiveServer, live_meeting: Meeting, shots: Path
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    url = f"{server.url}/m/{live_meeting.id}?lang=en"
    page = await viewer_page(context, url)
    await expect(page.locator("#mine")).to_be_hidden()  # nothing sent yet
    await page.click("#tab-questions")
    water = await ask(page, WATER)
    road = await ask(page, ROAD)
    await page.click("#tab-chat")
    await page.fill("#text", "Сәлем, әкім!")
    await page.press("#text", "Enter")
    await expect(page.locator("#comments li.mine:not(.pending)")).to_have_count(1, timeout=WAIT_MS)

    # Reloaded: the questions and the comment are still there, with their fates (the cookie).
    await page.reload()
    await opened(page)
    await page.click("#tab-questions")
    mine = page.locator("#my-questions li")
    await expect(mine).to_have_count(3, timeout=WAIT_MS)
    await expect(mine.locator(".text")).to_have_text([WATER, ROAD, "Сәлем, әкім!"])
    await expect(mine.locator(".note")).to_have_text(
        [EN("question_pending"), EN("question_pending"), EN("mine_shown")]
    )
    await expect(page.locator("#mine-count")).to_have_text("3")
    await page.screenshot(path=str(shots / "mine-390x844-sent.png"))

    # Approved by a moderator: the fate changes live, without a reload.
    await moderate(server, live_meeting, water, "approve")
    await expect(row(page, water).locator(".note")).to_have_text(
        EN("mine_approved"), timeout=WAIT_MS
    )
    # A rejection is not public: the page learns it when it asks, here on a reload.
    await moderate(server, live_meeting, road, "reject", reason="out_of_scope")
    await page.reload()
    await opened(page)
    await page.click("#tab-questions")
    await expect(row(page, water).locator(".note")).to_have_text(
        EN("mine_approved"), timeout=WAIT_MS
    )
    rejected = EN("mine_rejected", reason=EN("reason_out_of_scope"))
    await expect(row(page, road).locator(".note")).to_have_text(rejected)
    await page.screenshot(path=str(shots / "mine-390x844-fates.png"))

    # Keyboard: the view folds and unfolds from its summary; its list can be scrolled.
    summary = page.locator("#mine summary")
    await summary.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#my-questions")).to_be_hidden()
    await page.keyboard.press("Enter")
    await expect(page.locator("#my-questions")).to_be_visible()
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "my-questions"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    await page.set_viewport_size({"width": 1280, "height": 800})
    await expect(page.locator("#mine")).to_be_visible()
    await page.screenshot(path=str(shots / "mine-1280x800.png"))
    assert await page.evaluate("window.__violations") == []
    await context.close()


async def test_the_view_speaks_the_pages_language_and_never_shows_another_viewers_items(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    url = f"{server.url}/m/{live_meeting.id}?lang=ru"
    asker = await browser.new_context(viewport={"width": 390, "height": 844})
    other = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await viewer_page(asker, url)
    await page.click("#tab-questions")
    await page.fill("#q-text", "Когда отремонтируют школу №12?")
    await page.press("#ask", "Enter")
    note = page.locator("#my-questions li .note")
    await expect(note).to_have_text(RU("question_pending"), timeout=WAIT_MS)
    question = await page.locator("#my-questions li").get_attribute("data-id")
    assert question
    await moderate(server, live_meeting, question, "approve")
    await moderate(server, live_meeting, question, "queue")
    await moderate(server, live_meeting, question, "on_air")
    await expect(note).to_have_text(RU("mine_on_air"), timeout=WAIT_MS)
    assert RU("mine_on_air") == "Сейчас в эфире"

    stranger = await viewer_page(other, url)
    await stranger.click("#tab-questions")
    await expect(stranger.locator("#questions li")).to_have_count(1)  # public: on the list
    await expect(stranger.locator("#mine")).to_be_hidden()  # but not theirs
    await asker.close()
    await other.close()
