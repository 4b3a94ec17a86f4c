"""The viewer page in headless Chromium: live comments, text-only rendering, strict CSP (R3)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moderation import Meeting
from tests.e2e._chromium import CHROMIUM_FLAGS, TRAPS, require_chromium
from tests.helpers import ROOT, TIMEOUT, LiveServer, environment, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


class Viewer:
    """A phone-sized page with its own cookies, watching for dialogs and CSP violations."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None,
        )

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    async def violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("window.__violations")
        return found + self.errors


async def open_viewer(browser: Any, url: str) -> Viewer:
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale="kk-KZ")
    page = await context.new_page()
    await page.add_init_script(TRAPS)
    viewer = Viewer(page)
    await page.goto(url)
    await page.wait_for_selector(
        "#connection[data-state=open]", state="attached", timeout=TIMEOUT * 1000
    )
    return viewer


async def send(viewer: Viewer, name: str, text: str) -> None:
    await viewer.page.fill("#name", name)
    await viewer.page.fill("#text", text)
    await viewer.page.press("#text", "Enter")


PAYLOADS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=\"alert('img')\">",
    "Абай даңғылы <b>жөндеу</b> &amp; жарық",
]


async def test_two_viewers_see_comments_live_as_plain_text_without_csp_violations(
    browser: Any, server: LiveServer, live_meeting: Meeting
) -> None:
    url = f"{server.url}/m/{live_meeting.id}"
    author = await open_viewer(browser, url)
    reader = await open_viewer(browser, url)
    for text in PAYLOADS:
        await send(author, "<i>Айгерім</i>", text)
    texts = reader.page.locator("#comments li .text")
    await texts.nth(len(PAYLOADS) - 1).wait_for(timeout=TIMEOUT * 1000)
    assert await texts.all_text_contents() == PAYLOADS
    assert await reader.page.locator("#comments li .name").first.text_content() == "<i>Айгерім</i>"
    for viewer in (author, reader):
        assert (
            await viewer.page.locator("#comments img, #comments script, #comments i").count() == 0
        )
        assert viewer.dialogs == []
        assert await viewer.violations() == []
    # The author sees its own comments delivered, marked as its own.
    mine = author.page.locator("#comments li.mine:not(.pending)")
    await mine.nth(len(PAYLOADS) - 1).wait_for(timeout=TIMEOUT * 1000)
    # Mobile first: nothing wider than a phone's screen.
    assert await reader.page.evaluate("document.documentElement.scrollWidth") <= 390


async def test_a_held_comment_tells_its_author_and_moves_the_public_count(
    browser: Any, server: LiveServer, live_meeting: Meeting
) -> None:
    url = f"{server.url}/m/{live_meeting.id}?lang=ru"
    author = await open_viewer(browser, url)
    reader = await open_viewer(browser, url)
    await send(author, "Ерлан", "Пишите на akim@example.kz")
    await author.page.wait_for_selector("#comments li.held .note", timeout=TIMEOUT * 1000)
    note = await author.page.locator("#comments li.held .note").text_content()
    assert note == "Скрыто: адрес e-mail"
    await reader.page.wait_for_selector("#held-total:text-is('1')", timeout=TIMEOUT * 1000)
    assert await reader.page.locator("#comments li").count() == 0  # the text is not shown


async def test_the_language_switch_and_the_name_are_remembered(
    browser: Any, server: LiveServer, live_meeting: Meeting
) -> None:
    viewer = await open_viewer(browser, f"{server.url}/m/{live_meeting.id}")
    page = viewer.page
    assert await page.get_attribute("html", "lang") == "kk"
    await send(viewer, "Данияр", "Рахмет!")
    await page.click("a.lang[hreflang='ru']")
    await page.wait_for_selector(
        "#connection[data-state=open]", state="attached", timeout=TIMEOUT * 1000
    )
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.input_value("#name") == "Данияр"
    await page.goto(f"{server.url}/m/{live_meeting.id}")
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.locator("#send").text_content() == "Отправить"


def test_make_demo_serves_the_demo_meeting_to_a_browser(tmp_path: Path) -> None:
    """The README's first command: `make demo` starts everything and a browser sees it."""
    require_chromium()
    ready, log = tmp_path / "ready.json", tmp_path / "demo.log"
    args = f"--port 0 --ready-file {ready}"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            ["make", "-s", "demo", f"DEMO_ARGS={args}"],
            cwd=ROOT,
            env=environment(HALYQ_DATA_DIR=str(tmp_path / "data")),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: ready.exists() or demo.poll() is not None, TIMEOUT * 12, "make demo")
        assert demo.poll() is None, log.read_text()
        served = json.loads(ready.read_text())
        script = SCREEN.format(url=served["url"] + "/m/almaly-demo?lang=ru")
        shown = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT * 6
        )
        assert shown.returncode == 0, shown.stderr
        title, comments = json.loads(shown.stdout)
        assert title == "Встреча акима Алмалинского района с населением"
        assert comments >= 5  # the seeded comments, Kazakh and Russian
    finally:
        if ready.exists():
            os.kill(json.loads(ready.read_text())["pid"], signal.SIGTERM)
        demo.wait(TIMEOUT * 3)
    printed = log.read_text()
    assert "Viewer page, Kazakh:" in printed
    assert "/producer/almaly-demo" in printed  # the desk and the studio's URLs (issue 9)
    assert re.search(r"/overlay/almaly-demo/lower-third\?key=[\w-]{20,}", printed), printed


# The browser of the demo test runs in its own process: this test is synchronous.
SCREEN = """
import asyncio, json
from playwright.async_api import async_playwright
async def main():
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                          args=%s)
        page = await browser.new_page()
        await page.goto("{url}")
        await page.wait_for_selector("#comments li:nth-child(5)", timeout=30000)
        title = await page.locator("h1").text_content()
        count = await page.locator("#comments li").count()
        print(json.dumps([title.strip(), count]))
        await browser.close()
asyncio.run(main())
""".replace("%s", repr(CHROMIUM_FLAGS))
