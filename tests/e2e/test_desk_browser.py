"""The phone desk in headless Chromium (issue 10.1): an operator takes three calls in a row by
keyboard alone, and a moderator's console shows them as they arrive, with channel `phone`.

Screenshots of the desk at a phone's and a desktop's size go to /tmp/shots/desk-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from moderation import Meeting, StartMeeting
from moderation.model import Channel
from server.auth.accounts import Role
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from server.web.i18n import translator
from tests.conftest import meeting_command
from tests.e2e.test_console_browser import (
    PASSWORD,
    WAIT_MS,
    add_staff,
    clean,
    new_page,
    open_console,
)
from tests.helpers import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("/tmp/shots")
EN = translator("en")
# (name, district as typed, callback, language keys, question lines)
CALLS = [
    ("Гульнар Ахметова", "Медеу", "8 701 234 56 78", [], ["Когда на Медеу починят освещение?"]),
    ("", "бостан", "", ["Alt+r"], ["Когда в Бостандыкском районе", "дадут горячую воду?"]),
    ("Ерлан", "", "+7 777 111 22 33", ["Alt+k"], ["Аулаға жол қашан салынады?"]),
]


# The elements that stick out past the right edge of a viewport of the given width.
WIDER = """width => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > width + 0.5)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)"""


@pytest.fixture(autouse=True)
def shots() -> None:
    SHOTS.mkdir(exist_ok=True)


@pytest.fixture
async def almaty(store: Store) -> Meeting:
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command(territory="г. Алматы"))
    return await change_meeting(cases, meeting.id, StartMeeting())


async def open_desk(browser: Browser, server: LiveServer, name: str) -> Page:
    """Sign in by keyboard alone: an operator lands on the desk, its first field focused."""
    page = await new_page(browser, 1280, 800)
    await page.goto(f"{server.url}/login?lang=en")
    await expect(page.locator("#login-name")).to_be_focused()
    await page.keyboard.type(name)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/desk", timeout=WAIT_MS)
    await expect(page.locator("#call-name")).to_be_focused()
    return page


async def take_call(
    page: Page, name: str, district: str, callback: str, keys: list[str], lines: list[str]
) -> None:
    """One call as an operator types it: Tab from field to field, Enter records it."""
    keyboard = page.keyboard
    await keyboard.type(name)
    await keyboard.press("Tab")
    await keyboard.type(district)
    await keyboard.press("Tab")
    await keyboard.type(callback)
    await keyboard.press("Tab")  # the language the caller spoke: kept from the last call
    await keyboard.press("Tab")
    for key in keys:
        await keyboard.press(key)
    await expect(page.locator("#call-text")).to_be_focused()
    for index, line in enumerate(lines):
        if index:
            await keyboard.press("Shift+Enter")  # a new line, not the end of the call
        await keyboard.type(line)
    await keyboard.press("Enter")


async def test_an_operator_takes_three_calls_by_keyboard_and_moderators_see_them(
    browser: Browser, server: LiveServer, almaty: Meeting
) -> None:
    await add_staff(server, "dana.ops", Role.OPERATOR)
    moderator = await add_staff(server, "aigerim.mod")
    console = await open_console(browser, server, almaty.id, moderator)
    page = await open_desk(browser, server, "dana.ops")
    await expect(page.locator("#districts option")).to_have_count(8)  # Almaty's districts
    recent = page.locator("#recent li")

    # A number that is not one is refused next to its field; nothing is lost or recorded.
    name, district, callback, keys, lines = CALLS[0]
    await take_call(page, name, district, "12345", keys, lines)
    error = page.locator("#call-callback-error")
    await expect(error).to_have_text(EN("desk_bad_callback"), timeout=WAIT_MS)
    await expect(page.locator("#call-callback")).to_be_focused()
    await expect(page.locator("#call-callback")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#call-text")).to_have_value(lines[0])
    await page.screenshot(path=str(SHOTS / "desk-refused-desktop.png"))
    await page.keyboard.press("Control+a")
    await page.keyboard.type(callback)
    await expect(error).to_be_hidden()
    await page.keyboard.press("Enter")
    await expect(recent).to_have_count(1, timeout=WAIT_MS)
    await page.keyboard.press("Enter")  # a double Enter on the cleared form records nothing

    for call in CALLS[1:]:
        await expect(page.locator("#call-name")).to_be_focused()  # ready for the next call
        await take_call(page, *call)
        await expect(recent).to_have_count(CALLS.index(call) + 1, timeout=WAIT_MS)

    for field in ("#call-name", "#call-district", "#call-callback", "#call-text"):
        await expect(page.locator(field)).to_have_value("")
    await expect(page.locator("#call-lang-kk")).to_be_checked()  # the last caller's language
    # Newest first; the operator sees the numbers in E.164, and "resident of" for no name.
    await expect(recent.nth(0).locator(".phone-number")).to_have_text("+77771112233")
    await expect(recent.nth(1).locator(".name")).to_have_text("Resident of Бостандык")
    await expect(recent.nth(1).locator(".phone-number")).to_have_text(EN("desk_no_number"))
    await expect(recent.nth(2).locator(".phone-number")).to_have_text("+77012345678")
    await expect(recent.locator(".phone-call-outcome")).to_have_text([EN("desk_recorded")] * 3)
    ids = [await row.get_attribute("data-id") for row in await recent.all()]
    await clean(page)

    # The moderator's console shows the three, as phone questions, as they arrived.
    for question in ids:
        row = console.locator(f"#queue li[data-id='{question}']")
        await expect(row).to_be_visible(timeout=WAIT_MS)
        await expect(row.locator(".channel")).to_have_text(EN("channel_phone"))
    await expect(console.locator("#queue li[data-id]")).to_have_count(3)
    await clean(console)

    items = await server.services.store.board.items(almaty.id, [i for i in ids if i])
    shown = [(i.name, i.district, i.language, i.channel) for i in (items[q] for q in ids if q)]
    assert shown == [
        ("Ерлан", "", "kk", Channel.PHONE),
        ("", "Бостандык", "ru", Channel.PHONE),  # typed "бостан": the type-ahead completed it
        ("Гульнар Ахметова", "Медеу", "kk", Channel.PHONE),
    ]
    # Shift+Enter made a new line, not a call of its own (the record keeps single spaces).
    assert items[ids[1] or ""].text == " ".join(CALLS[1][4])

    await page.locator("#call-name").focus()
    await page.screenshot(path=str(SHOTS / "desk-desktop.png"))
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(SHOTS / "desk-phone.png"))
    wider = await page.evaluate(WIDER, 390)
    assert wider == [], "nothing may stick out sideways on a phone"
    await page.screenshot(path=str(SHOTS / "desk-phone-full.png"), full_page=True)
