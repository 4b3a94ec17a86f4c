"""The quarter-of-time clock (R4, issue 9.1) on the viewer page and the moderators' console, in
headless Chromium: every screen counts the presentation's time from the server's readings with
its own clock corrected by its measured offset, so they agree with `GET /api/meetings/{id}/clock`
and with each other within a second, even a browser whose clock is 30 s off. Screenshots of the
viewer page (a phone's and a laptop's size) and of the console, the clock running, go to
/tmp/shots/clock-*.png.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, FloatRect, Page, expect

from moderation import Meeting, StartMeeting
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.e2e.test_console_browser import WAIT_MS, add_staff, clean, new_page, open_console
from tests.helpers import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

SHOTS = Path("/tmp/shots")
ADMIN = {"Authorization": "Bearer test-admin-token"}
# This machine's clock 30 s ahead of the server's, for Date.now() and new Date() alike.
CLOCK_OFF = """
(() => {
  const Real = Date;
  const SHIFT = 30000;
  function Shifted(...args) {
    if (!new.target) return Real();
    return args.length ? new Real(...args) : new Real(Real.now() + SHIFT);
  }
  Shifted.prototype = Real.prototype;
  Shifted.now = () => Real.now() + SHIFT;
  Shifted.parse = Real.parse;
  Shifted.UTC = Real.UTC;
  globalThis.Date = Shifted;
})();
"""
# What a screen shows of its clock: the remaining seconds it counts (to the ms) and its words.
SHOWN = """e => ({
  phase: e.dataset.phase,
  remaining: Number(e.dataset.remaining),
  overrun: Number(e.dataset.overrun),
  phaseText: e.querySelector("[data-clock-phase]").textContent,
  time: e.querySelector("[data-clock-time]").textContent,
  note: e.querySelector("[data-clock-note]").textContent,
  color: getComputedStyle(e.querySelector("[data-clock-time]")).color,
})"""
BAD = "rgb(180, 35, 24)"  # --bad in app.css


class ShiftedClock:
    """The server's time (`UseCases.clock`): the real time, moved forward when a test says."""

    def __init__(self) -> None:
        self.shift_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.shift_ms


@pytest.fixture(autouse=True)
def shots() -> None:
    SHOTS.mkdir(exist_ok=True)


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def reading(http: httpx.AsyncClient, meeting_id: str) -> dict[str, Any]:
    answer = await http.get(f"/api/meetings/{meeting_id}/clock")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


async def set_phase(http: httpx.AsyncClient, meeting_id: str, phase: str) -> dict[str, Any]:
    answer = await http.post(
        f"/api/meetings/{meeting_id}/phase", headers=ADMIN, json={"phase": phase}
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def open_viewer(
    browser: Browser,
    server: LiveServer,
    meeting_id: str,
    size: tuple[int, int],
    script: str = "",
    lang: str = "en",
) -> Page:
    page = await new_page(browser, *size)
    if script:
        await page.add_init_script(script)
    await page.goto(f"{server.url}/m/{meeting_id}?lang={lang}")
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=WAIT_MS
    )
    return page


async def shown(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = await page.locator("#clock").evaluate(SHOWN)
    return found


def seconds(text: str) -> int:
    """The first m:ss (or h:mm:ss) in a text, in seconds."""
    match = re.search(r"(?:(\d+):)?(\d+):(\d\d)", text)
    assert match, text
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)


async def agree(http: httpx.AsyncClient, meeting_id: str, pages: list[Page]) -> list[float]:
    """Every page's remaining time lies within a second of the server's, read just before and
    just after it; the pages, read together, agree with each other within a second."""
    before = await reading(http, meeting_id)
    screens = [await shown(page) for page in pages]
    after = await reading(http, meeting_id)
    low, high = after["remaining_s"] - 1, before["remaining_s"] + 1
    for screen in screens:
        assert low <= screen["remaining"] <= high, (before, screen, after)
        # The words count whole seconds up, as a countdown does (and as the clock overlay does).
        assert seconds(screen["time"]) == math.ceil(screen["remaining"]), screen
        assert screen["time"].endswith(" left")
    remaining = [screen["remaining"] for screen in screens]
    assert max(remaining) - min(remaining) <= 1, remaining
    return remaining


async def inside(page: Page, selector: str) -> FloatRect:
    """The element's box, which must lie within the viewport."""
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert size is not None
    assert box["x"] >= 0, (selector, box)
    assert box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"] + 0.5, (selector, box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (selector, box, size)
    return box


async def test_r4_viewers_and_the_console_show_the_servers_countdown_even_30_s_off(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    meeting_id = live_meeting.id
    phone = await open_viewer(browser, server, meeting_id, (390, 844))
    desk = await open_console(browser, server, meeting_id, await add_staff(server, "dana.mod"))
    await desk.set_viewport_size({"width": 1366, "height": 900})
    # Before any phase: the console says so, the viewer page shows no clock at all.
    await expect(desk.locator("#clock")).to_have_attribute("data-phase", "not_started")
    await expect(desk.locator("#clock [data-clock-phase]")).to_have_text("Not started")
    await expect(phone.locator("#clock")).to_be_hidden()

    # The phase change reaches the open pages as an event; a page opened after it (its clock
    # 30 s ahead) starts from its hello.
    started = await set_phase(http, meeting_id, "presentation")
    assert started["phase"] == "presentation"
    off = await open_viewer(browser, server, meeting_id, (1366, 900), CLOCK_OFF)
    assert await off.evaluate("Date.now() - performance.timeOrigin - performance.now()") > 29_000
    assert (
        await off.evaluate("new Date().getTime() - performance.timeOrigin - performance.now()")
        > 29_000
    )
    pages = [phone, desk, off]
    for page in pages:
        await expect(page.locator("#clock")).to_have_attribute(
            "data-phase", "presentation", timeout=WAIT_MS
        )
        await expect(page.locator("#clock [data-clock-phase]")).to_have_text("Presentation")
        # The page also asked the clock API once, which bounds its offset from both sides.
        await expect(page.locator("#clock")).to_have_attribute(
            "data-synced", "true", timeout=WAIT_MS
        )
    first = await agree(http, meeting_id, pages)
    assert all(1790 < r < 1800 for r in first), first  # a 120-minute meeting: 30:00 budget
    # It counts down: a second later by the server, every page shows a second less.
    await expect(phone.locator("#clock")).not_to_have_attribute(
        "data-remaining", re.compile(rf"^{int(first[0])}\."), timeout=WAIT_MS
    )
    assert max(await agree(http, meeting_id, pages)) < max(first)

    for page, name in (
        (phone, "viewer-390x844"),
        (off, "viewer-1366x900"),
        (desk, "console-1366x900"),
    ):
        shot = await page.screenshot(path=str(SHOTS / f"clock-{name}.png"))
        assert len(shot) > 10_000  # a page, not a blank
    # On a phone the clock is one line under the title: the player and the comment box stay on
    # the screen, and nothing overlaps.
    title = await inside(phone, ".about h1")
    line = await inside(phone, "#clock")
    assert line["y"] >= title["y"] + title["height"] - 0.5
    assert line["height"] < 30
    await inside(phone, ".player")
    await inside(phone, "#text")
    await inside(phone, "#send")
    # What the clock is, said on hover: the rule itself.
    rule = "The akim's presentation may take at most a quarter of the planned time;"
    for page in (phone, desk):
        assert str(await page.locator("#clock").get_attribute("title")).startswith(rule)
    chip = await inside(desk, "#clock")
    assert chip["height"] < 40
    await inside(desk, "#connection")

    # Q&A: the phase shows and the count stops at the presentation's time as of the change.
    qa = await set_phase(http, meeting_id, "qa")
    used = int(qa["presentation_s"])
    for page in pages:
        await expect(page.locator("#clock")).to_have_attribute("data-phase", "qa", timeout=WAIT_MS)
        screen = await shown(page)
        assert screen["phaseText"] == "Questions and answers"
        assert screen["remaining"] == pytest.approx(qa["remaining_s"], abs=0.002)
        assert screen["time"] == f"Presentation {used // 60}:{used % 60:02d} of 30:00"
    now = await reading(http, meeting_id)
    assert now["remaining_s"] == qa["remaining_s"]  # the server's count stopped too
    # In Kazakh, on a phone that opens now: the same from its hello, in its own words.
    kazakh = await open_viewer(browser, server, meeting_id, (390, 844), lang="kk")
    await expect(kazakh.locator("#clock")).to_have_attribute("data-phase", "qa")
    screen = await shown(kazakh)
    assert screen["phaseText"] == "Сұрақтар мен жауаптар"
    assert screen["time"] == f"Баяндама: 30:00 ішінен {used // 60}:{used % 60:02d}"
    await inside(kazakh, "#clock")
    await inside(kazakh, "#text")
    await kazakh.screenshot(path=str(SHOTS / "clock-viewer-qa-kk-390x844.png"))
    await desk.screenshot(path=str(SHOTS / "clock-console-qa-1366x900.png"))
    await desk.set_viewport_size({"width": 390, "height": 844})  # the console on a phone
    await inside(desk, "#clock")
    await desk.screenshot(path=str(SHOTS / "clock-console-qa-390x844.png"))
    for page in [*pages, kazakh]:
        await clean(page)


async def test_r4_past_the_budget_the_page_shows_the_overrun_in_red_and_the_end_stops_it(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, store: Store
) -> None:
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command(planned_minutes=10))  # 2:30 budget
    await change_meeting(cases, meeting.id, StartMeeting())
    clock = ShiftedClock()
    server.services.usecases.clock = clock
    await set_phase(http, meeting.id, "presentation")
    clock.shift_ms = 160_000  # the server's time 2:40 on: 10 s past the budget
    page = await open_viewer(browser, server, meeting.id, (390, 844))
    await expect(page.locator("#clock")).to_have_attribute("data-over", "true", timeout=WAIT_MS)
    before = await reading(http, meeting.id)
    screen = await shown(page)
    after = await reading(http, meeting.id)
    assert before["overrun_s"] - 1 <= screen["overrun"] <= after["overrun_s"] + 1
    assert re.fullmatch(r"\+0:1\d", screen["time"]), screen
    assert screen["note"] == "Over the limit"
    assert screen["color"] == BAD
    assert screen["remaining"] == 0
    await page.screenshot(path=str(SHOTS / "clock-viewer-overrun-390x844.png"))

    # The meeting's end (the admin API) stops the count at its moment, as the server's does.
    ended = await http.post(f"/api/meetings/{meeting.id}/end", headers=ADMIN)
    assert ended.status_code == 200, ended.text
    await expect(page.locator("#clock")).to_have_attribute("data-phase", "ended", timeout=WAIT_MS)
    final = await reading(http, meeting.id)
    screen = await shown(page)
    assert screen["phaseText"] == "Ended"
    assert screen["overrun"] == pytest.approx(final["overrun_s"], abs=0.002)
    over = int(final["overrun_s"])
    assert re.fullmatch(rf"Presentation 2:4\d of 2:30: over by 0:{over:02d}", screen["time"])
    await clean(page)
