"""The viewer page in headless Chromium on a phone (390x844) and a desktop (1440x900), in Kazakh,
Russian and English (issue 14): the chat and the questions get the screen's height, nothing is
wider than the screen, a scheduled meeting shows when it starts (Almaty time, a countdown, a
calendar file), and the small fixes: the "Live" badge, English times on one line, the sign-in
page's language links and user name.

One server and one browser for the module; the meetings are seeded once, through the use cases.
Screenshots go to `$HALYQ_TEST_SHOTS/viewer/` when it is set, else to the test's tmp folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from moderation import AskQuestion, Meeting, Moderate, PostComment, StartMeeting, Submission
from moderation.model import Action
from server.settings import Settings
from server.usecases import Asked, Posted, act, change_meeting, create_meeting, submit
from tests.conftest import meeting_command
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, LiveServer, live_server, unique_prefix, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
LANGS = ("kk", "ru", "en")
# What residents write in a live chat: one or two lines on a phone.
COMMENTS = (
    ("Айгерім", "Сәлеметсіз бе! Эфир басталды ма?"),
    ("Сергей", "Добрый вечер, слышно хорошо"),
    ("Нұрлан", "Абай даңғылындағы жол жөндеуі қашан аяқталады?"),
    ("Марина", "Автобус №32 ходит раз в 40 минут"),
    ("Данияр", "Ыстық су үш күннен бері жоқ"),
    ("Ольга", "Спасибо за встречу!"),
    ("Асель", "Аулада жарық жоқ, балалар қараңғыда ойнайды"),
    ("Тимур", "Когда уберут снег во дворах на Жандосова?"),
    ("Гүлнар", "Рахмет, жақсы сұрақ"),
    ("Игорь", "Поддерживаю вопрос про автобус"),
    ("Ерлан", "Мектеп жанындағы бағдаршам істемейді"),
    ("Наталья", "Когда откроют поликлинику после ремонта?"),
)
QUESTIONS = (
    "Когда отремонтируют дорогу на улице Толе би?",
    "Аулада балалар алаңы қашан салынады?",
    "Почему автобус №32 ходит так редко?",
    "Ыстық су қашан беріледі?",
    "Когда починят освещение во дворе дома 15?",
    "Мектеп жанына бағдаршам қоя ма?",
    "Когда вывезут мусор с пустыря на Жандосова?",
    "Емханаға жазылу неге қиын?",
    "Будет ли новый парк в микрорайоне Аксай?",
    "Жол жөндеуі қашан аяқталады?",
)


@dataclass(frozen=True)
class Seeded:
    server: LiveServer
    live: Meeting
    scheduled: Meeting
    starts: datetime  # the scheduled meeting's start


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("HALYQ_TEST_SHOTS")
    folder = Path(given) / "viewer" if given else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
async def seeded(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    """A live meeting with a chat and approved questions, and a scheduled one, on one server."""
    settings = Settings(
        redis_url=redis_url,
        redis_prefix=unique_prefix(),
        data_dir=tmp_path_factory.mktemp("viewer") / "data",
        admin_token="test-admin-token",
    )
    async with live_server(settings) as server:
        cases = server.services.usecases
        live = await create_meeting(cases, meeting_command())
        live = await change_meeting(cases, live.id, StartMeeting())
        for n, (name, text) in enumerate(COMMENTS * 2):
            posted = PostComment(client_msg_id=f"c{n}", name=name, text=text)
            outcome = await submit(cases, live, Submission(what=posted, sender=f"viewer-{n}"))
            assert isinstance(outcome, Posted), outcome
        for n, text in enumerate(QUESTIONS):
            asked = AskQuestion(client_msg_id=f"q{n}", name="", text=text)
            outcome = await submit(cases, live, Submission(what=asked, sender=f"asker-{n}"))
            assert isinstance(outcome, Asked), outcome
            approve = Moderate(action=Action.APPROVE, item=outcome.id, version=1)
            await act(cases, live, approve, by="moderator")
        starts = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
        command = meeting_command(starts_at=starts.isoformat(), titles={"en": "Meet the akim"})
        scheduled = await create_meeting(cases, command)
        yield Seeded(server, live, scheduled, starts)


async def open_page(browser: Browser, url: str, viewport: dict[str, int], lang: str) -> Page:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.add_init_script(TRAPS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = await page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
    assert response is not None
    assert response.status == 200
    page.errors = errors  # type: ignore[attr-defined]
    return page


# How many of a list's items are whole on the screen: inside the list's own box (it scrolls)
# and inside the window.
WHOLE = """(selector) => {
  const items = [...document.querySelectorAll(selector)];
  if (!items.length) return 0;
  const box = items[0].parentElement.getBoundingClientRect();
  const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, innerHeight);
  return items.filter((item) => {
    const r = item.getBoundingClientRect();
    return r.height > 0 && r.top >= top - 0.5 && r.bottom <= bottom + 0.5
      && r.left >= -0.5 && r.right <= innerWidth + 0.5;
  }).length;
}"""

# Everything wider than the window, or reaching past its right edge without an ancestor that
# clips it (an ellipsis, a scrolling list): what a reader would have to scroll sideways for.
OVERFLOWING = """() => {
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      const right = p.getBoundingClientRect().right;
      if (s.overflowX !== "visible" && right <= innerWidth + 0.5) return true;
    }
    return false;
  };
  const bad = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.width > innerWidth + 0.5 || (r.right > innerWidth + 0.5 && !clipped(el))) {
      const where = `${Math.round(r.left)}..${Math.round(r.right)}`;
      bad.push(`${el.tagName}#${el.id}.${el.className} ${where}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, bad};
}"""


async def until(page: Page, expression: str) -> None:
    """Wait until the page's `expression` is true (asked through DevTools: the page's CSP allows
    no string evaluation, which `wait_for_function` needs)."""
    await wait_for(lambda: page.evaluate(expression), what=expression)


async def assert_nothing_overflows(page: Page, width: int) -> None:
    found = await page.evaluate(OVERFLOWING)
    assert found["scrollWidth"] <= width, found
    assert found["bad"] == [], found


@pytest.mark.parametrize("lang", LANGS)
async def test_a_phone_shows_eight_comments_or_more_under_the_player(
    browser: Browser, seeded: Seeded, shots: Path, lang: str
) -> None:
    page = await open_page(browser, f"{seeded.server.url}/m/{seeded.live.id}", PHONE, lang)
    await until(page, "document.querySelectorAll('#comments > li').length >= 20")
    await until(
        page,
        "(() => { const l = document.getElementById('comments');"
        " return l.scrollTop + l.clientHeight >= l.scrollHeight - 2; })()",
    )
    await page.screenshot(path=str(shots / f"viewer-live-{lang}-390x844.png"))
    whole = await page.evaluate(WHOLE, "#comments > li")
    assert whole >= 8, whole
    player = await page.locator(".player").bounding_box()
    assert player is not None
    assert player["y"] < 60  # the player on top, under the bar
    send = await page.locator("#send").bounding_box()
    assert send is not None
    assert send["y"] + send["height"] <= PHONE["height"]  # the comment box at hand
    # English times on one line: each time is one line high.
    heights = await page.eval_on_selector_all(
        "#comments time", "ts => ts.map(t => t.getBoundingClientRect().height)"
    )
    assert heights
    assert max(heights) < 24, heights
    await assert_nothing_overflows(page, PHONE["width"])
    # The questions tab gets the same height.
    await page.click("#tab-questions")
    await until(page, "document.querySelectorAll('#questions > li').length >= 10")
    assert await page.evaluate(WHOLE, "#questions > li") >= 4
    await page.screenshot(path=str(shots / f"viewer-questions-{lang}-390x844.png"))
    await assert_nothing_overflows(page, PHONE["width"])
    assert await page.evaluate("window.__violations") == []
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


@pytest.mark.parametrize("lang", LANGS)
async def test_a_desktop_shows_the_questions_and_the_chat_side_by_side(
    browser: Browser, seeded: Seeded, shots: Path, lang: str
) -> None:
    page = await open_page(browser, f"{seeded.server.url}/m/{seeded.live.id}", DESKTOP, lang)
    await until(
        page,
        "document.querySelectorAll('#questions > li').length >= 10"
        " && document.querySelectorAll('#comments > li').length >= 20",
    )
    await page.screenshot(path=str(shots / f"viewer-live-{lang}-1440x900.png"))
    assert await page.evaluate(WHOLE, "#questions > li") >= 6
    assert await page.evaluate(WHOLE, "#comments > li") >= 6
    questions = await page.locator("#questions-panel").bounding_box()
    chat = await page.locator("#chat-panel").bounding_box()
    player = await page.locator(".player").bounding_box()
    assert questions is not None
    assert chat is not None
    assert player is not None
    assert player["x"] + player["width"] <= questions["x"] + 0.5 <= chat["x"]  # side by side
    for box in (questions, chat):  # each the window's height, under the bar
        assert box["y"] < 60
        assert box["y"] + box["height"] >= DESKTOP["height"] - 1
    assert not await page.locator(".tabs").is_visible()
    await assert_nothing_overflows(page, DESKTOP["width"])
    assert await page.evaluate("window.__violations") == []
    await page.context.close()


@pytest.mark.parametrize(
    ("lang", "viewport"),
    [("kk", PHONE), ("ru", DESKTOP), ("en", PHONE), ("en", DESKTOP)],
    ids=["kk-390x844", "ru-1440x900", "en-390x844", "en-1440x900"],
)
async def test_a_scheduled_meeting_shows_its_start_a_countdown_and_a_calendar_file(
    browser: Browser, seeded: Seeded, shots: Path, lang: str, viewport: dict[str, int]
) -> None:
    page = await open_page(browser, f"{seeded.server.url}/m/{seeded.scheduled.id}", viewport, lang)
    starts = page.locator("#starts-at")
    await starts.wait_for(state="visible", timeout=TIMEOUT * 1000)
    almaty = seeded.starts + timedelta(hours=5)  # Asia/Almaty: +05:00 all year
    text = str(await starts.text_content())
    assert str(almaty.year) in text
    assert f"{almaty.minute:02d}" in text
    moment = datetime.fromisoformat(str(await starts.get_attribute("datetime")))
    assert moment == seeded.starts
    assert moment.utcoffset() == timedelta(hours=5)  # written in Almaty time
    zone = {"kk": "Алматы уақыты", "ru": "время Алматы", "en": "Almaty time"}[lang]
    assert zone in str(await page.locator("#starts").text_content())
    countdown = page.locator("#countdown")
    await until(page, "/\\d+:\\d\\d:\\d\\d/.test(document.getElementById('countdown').textContent)")
    first = await countdown.text_content()
    days = {"kk": "күн", "ru": "(день|дня|дней)", "en": "days?"}[lang]
    assert re.search(rf"\d {days} \d+:\d\d:\d\d", str(first)), first  # two days ahead
    await until(page, f"document.getElementById('countdown').textContent !== {first!r}")
    for selector in ("#starts-at", "#countdown", "#add-to-calendar"):
        box = await page.locator(selector).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= viewport["width"] + 0.5
        assert box["y"] + box["height"] <= viewport["height"]  # seen without scrolling
    size = f"{viewport['width']}x{viewport['height']}"
    await page.screenshot(path=str(shots / f"viewer-scheduled-{lang}-{size}.png"))
    await assert_nothing_overflows(page, viewport["width"])
    href = await page.get_attribute("#add-to-calendar", "href")
    assert href == f"/m/{seeded.scheduled.id}/calendar.ics"
    ics = await page.request.get(f"{seeded.server.url}{href}")
    assert ics.status == 200
    body = await ics.text()
    assert body.startswith("BEGIN:VCALENDAR")
    assert f"DTSTART;TZID=Asia/Almaty:{almaty.strftime('%Y%m%dT%H%M%S')}" in body
    assert await page.evaluate("window.__violations") == []
    await page.context.close()


async def test_the_meetings_list_shows_a_small_live_badge(
    browser: Browser, seeded: Seeded, shots: Path
) -> None:
    page = await open_page(browser, f"{seeded.server.url}/", PHONE, "en")
    badge = page.locator(f'.meeting-card:has(a[href="/m/{seeded.live.id}"]) .status-live')
    box = await badge.bounding_box()
    assert box is not None
    assert box["width"] < 120  # a badge, not a bar across the card
    assert box["height"] < 30
    card = page.locator(f'.meeting-card:has(a[href="/m/{seeded.live.id}"])')
    assert "Almaty, Almaly district" in str(await card.text_content())  # the territory, in English
    await page.screenshot(path=str(shots / "index-en-390x844.png"))
    await assert_nothing_overflows(page, PHONE["width"])
    await page.context.close()


async def test_the_sign_in_page_keeps_next_and_the_name_typed(
    browser: Browser, seeded: Seeded, shots: Path
) -> None:
    url = f"{seeded.server.url}/login?next=/console/{seeded.live.id}"
    page = await open_page(browser, url, PHONE, "en")
    russian = page.locator('.langs a[hreflang="ru"]')
    assert await russian.get_attribute("href") == (
        f"/login?next=%2Fconsole%2F{seeded.live.id}&lang=ru"
    )
    await page.fill("#login-name", "nobody")
    await page.fill("#login-password", "not the password")
    await page.click("button[type=submit]")
    await page.locator(".login-message").wait_for(timeout=TIMEOUT * 1000)
    assert await page.input_value("#login-name") == "nobody"  # kept
    assert await page.input_value("#login-password") == ""
    assert await page.evaluate("document.activeElement.id") == "login-password"
    await russian.click()  # the language changes, and the sign-in still leads to the console
    await page.wait_for_url(re.compile(r"lang=ru"))
    assert await page.input_value("input[name=next]") == f"/console/{seeded.live.id}"
    await page.screenshot(path=str(shots / "login-ru-390x844.png"))
    assert await page.evaluate("window.__violations") == []
    await page.context.close()
