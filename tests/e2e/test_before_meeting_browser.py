"""Before the meeting, in headless Chromium against the demo (issue 13): a resident finds their
district's next meeting on the public calendar from a phone, in two taps, and sends a request
(R5); a commission member sees it and turns it into a problem issue; the compliance page shows
the district the akim has not visited (R1)."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, ServerProcess, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
SHOTS = Path(os.environ.get("HALYQ_TEST_SHOTS", "/tmp/shots"))
PHONE = {"width": 390, "height": 844}
DISTRICT = "almaty-almaly"
UNVISITED = "almaty-medeu"  # the demo's calendar leaves it unvisited in the last quarter
EXECUTOR = "Алматы қаласының Жолаушылар көлігі басқармасы"
REQUEST = "Абай даңғылындағы жаяу жүргіншілер өтпесіне бағдаршам керек"


def password(demo: ServerProcess, name: str) -> str:
    """The demo user's password, as `make demo` prints it."""

    def printed() -> bool:
        return re.search(rf"^\s+{name}\s+\S+$", demo.log.read_text(), re.M) is not None

    wait_until(printed, what=f"{name}'s password in the demo's output")
    found = re.search(rf"^\s+{name}\s+(\S+)$", demo.log.read_text(), re.M)
    assert found is not None
    return found.group(1)


async def phone(browser: Any) -> Any:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.add_init_script(TRAPS)
    return page


async def test_a_resident_asks_and_the_commission_makes_it_a_problem_issue(
    browser: Any, demo: ServerProcess
) -> None:
    # A resident, on a phone: the calendar, their district (tap 1), its next meeting (tap 2).
    page = await phone(browser)
    await page.goto(f"{demo.url}/calendar?lang=kk")
    await page.click(f'[data-unit="{DISTRICT}"] a')
    await page.click(".calendar-next-link")
    await page.wait_for_url(re.compile(r".*/m/[^/?]+(\?.*)?$"), timeout=TIMEOUT * 1000)
    meeting_id = page.url.split("/m/")[1].split("?")[0]
    form = page.locator("form.request-form")
    await form.scroll_into_view_if_needed()
    assert await form.is_visible()
    await form.locator('textarea[name="text"]').fill(REQUEST)
    await form.locator('button[type="submit"]').click()
    sent = page.locator(".request-sent")
    await sent.wait_for(state="visible", timeout=TIMEOUT * 1000)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await page.evaluate("window.__violations") == []
    await page.screenshot(path=str(SHOTS / "request-sent-kk-390.png"), full_page=True)
    await page.context.close()

    # A commission member signs in, finds it, and turns it into a problem issue.
    staff = await phone(browser)
    await staff.goto(f"{demo.url}/login?lang=ru&next=/console/{meeting_id}/requests")
    await staff.fill("#login-name", "demo-commission")
    await staff.fill("#login-password", password(demo, "demo-commission"))
    await staff.press("#login-password", "Enter")
    await staff.wait_for_url(f"**/console/{meeting_id}/requests", timeout=TIMEOUT * 1000)
    card = staff.locator(".request-card", has_text=REQUEST)
    await card.wait_for(state="visible", timeout=TIMEOUT * 1000)
    request_id = await card.get_attribute("data-request")
    await card.locator('[data-link="issue"]').click()  # fills the form below with its id
    issue = staff.locator('form[data-form="issue"]')
    await issue.wait_for(state="visible", timeout=TIMEOUT * 1000)
    assert await issue.locator('input[name="items"]').input_value() == request_id
    await issue.locator('input[name="title"]').fill("Бағдаршам: Абай даңғылы")
    await issue.locator('input[name="executor"]').fill(
        "Алматы қаласының Жолаушылар көлігі басқармасы"
    )
    await issue.locator('input[name="deadline"]').fill(
        date.today().replace(year=date.today().year + 1).isoformat()
    )
    await issue.locator('button[type="submit"]').click()
    await staff.locator("[data-done]").wait_for(state="visible", timeout=TIMEOUT * 1000)
    await staff.screenshot(path=str(SHOTS / "commission-issue-ru-390.png"), full_page=True)
    await staff.context.close()
    async with httpx.AsyncClient(base_url=demo.url) as http:
        issues = (await http.get("/api/issues", params={"meeting": meeting_id})).json()["issues"]
    [made] = [i for i in issues if i["questions"] == [request_id]]
    assert made["title"] == "Бағдаршам: Абай даңғылы"
    assert made["executor"]["organisation"] == EXECUTOR


async def test_the_compliance_page_shows_the_unvisited_district(
    browser: Any, demo: ServerProcess
) -> None:
    page = await phone(browser)
    await page.goto(f"{demo.url}/compliance?lang=ru")
    gap = page.locator(f'.compliance-gap[data-rule="R1"][data-unit="{UNVISITED}"]').first
    await gap.scroll_into_view_if_needed()
    assert await gap.is_visible()
    period = await gap.get_attribute("data-period")
    assert period is not None
    assert re.fullmatch(r"\d{4}-Q[1-4]", period)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(SHOTS / "compliance-ru-390.png"), full_page=True)
    await page.context.close()
