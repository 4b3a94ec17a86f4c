"""The public results page of the finished demo meeting in headless Chromium (issue 12.6): the
demo started as `make demo` starts it, the page read on a 390 px phone and on a desktop, its
charts and numbers visible, the transcript, the issues and the promises on it, nothing wider than
the screen, no script needed and none blocked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from server.cli.demo import RESULTS_ID
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
SHOTS = Path(os.environ.get("HALYQ_TEST_SHOTS", "/tmp/shots"))  # playwright makes the folder
CHARTS = ("chart-time", "chart-outcomes", "chart-topics", "chart-districts", "chart-channels")
SIZES = [(390, 844), (1366, 900)]
SMALLEST_TEXT = 11  # px: a chart's words stay readable on the phone


async def open_results(browser: Any, url: str, width: int, height: int, lang: str) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    await page.add_init_script(TRAPS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = await page.goto(f"{url}/m/{RESULTS_ID}/results?lang={lang}")
    assert response is not None
    assert response.status == 200
    page.errors = errors
    return page


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_the_results_page_of_the_finished_demo_reads_on_a_phone_and_a_desktop(
    browser: Any, demo: ServerProcess, width: int, height: int, lang: str
) -> None:
    page = await open_results(browser, demo.url, width, height, lang)
    assert await page.get_attribute("#results", "data-final") == "true"
    for chart in CHARTS:
        svg = page.locator(f"svg#{chart}")
        await svg.wait_for(state="visible", timeout=TIMEOUT * 1000)
        box = await svg.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width  # inside the screen
        assert await svg.get_attribute("role") == "img"
        # Its words are drawn big enough to read, not only there.
        label = svg.locator("text").first
        text_box = await label.bounding_box()
        assert text_box is not None
        assert text_box["height"] >= SMALLEST_TEXT, (chart, text_box)
    # The numbers as tables, visible: the answered ones of the demo (R4: and the overrun).
    answered = page.locator('[data-count="outcomes.answered"]')
    assert await answered.is_visible()
    assert (await answered.text_content()) == "6"
    overrun = page.locator('[data-count="time.overrun"]')
    assert await overrun.is_visible()
    assert (await overrun.text_content()) == "0:01:30"
    assert await page.locator('[data-due="publication"] time').is_visible()
    # The transcript: each question on air with what was said while it was (the demo's
    # captions), and the link to its moment.
    aired = page.locator(".transcript-list:not(.transcript-waiting) > .transcript-question")
    assert await aired.count() == 7  # 6 answered, 1 deferred
    assert await page.locator(".transcript-waiting > .transcript-question").count() == 3
    first = aired.first
    await first.scroll_into_view_if_needed()
    assert await first.is_visible()
    spoken = await first.locator(f'.q-captions[data-lang="{lang}"]').text_content()
    assert spoken is not None
    assert ("Төле би көшесін" if lang == "kk" else "Ремонт улицы Толе би") in spoken
    link = f"/m/{RESULTS_ID}/recording#t=1500"  # 0:25:00, the first question's moment
    assert await first.locator("a.q-link").get_attribute("href") == link
    # The issues, each with its executor and deadline; the promises, overdue first.
    issues = page.locator("#issues [data-issue]")
    assert await issues.count() == 5
    for n in range(5):
        issue = issues.nth(n)
        assert (await issue.locator('[data-field="executor"]').text_content() or "").strip()
        assert await issue.locator('[data-field="deadline"]').get_attribute("datetime")
    await issues.first.scroll_into_view_if_needed()
    assert await issues.first.locator('[data-field="executor"]').is_visible()
    promises = page.locator("#promises [data-promise]")
    assert await promises.count() == 4
    overdue = [await promises.nth(n).get_attribute("data-overdue") for n in range(4)]
    assert overdue == sorted(overdue, key=lambda o: o != "true")  # overdue first
    await promises.first.scroll_into_view_if_needed()
    assert await promises.first.is_visible()
    assert await page.locator("#transparency-link").is_visible()
    # Nothing wider than the screen; no script ran or was blocked.
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    assert await page.evaluate("window.__violations") == []
    assert page.errors == []
    name = f"results-{lang}-{width}x{height}.png"
    await page.screenshot(path=str(SHOTS / name), full_page=True)
    await page.context.close()


async def test_the_viewer_page_of_the_finished_demo_links_to_its_results(
    browser: Any, demo: ServerProcess
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(f"{demo.url}/m/{RESULTS_ID}?lang=en")
    await page.click("#results-link")
    await page.wait_for_url(f"**/m/{RESULTS_ID}/results")
    assert (await page.locator("h1").text_content()) == "Meeting results"
    await context.close()
