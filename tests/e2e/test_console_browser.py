"""The moderator console and the public questions in headless Chromium (R3, R4, AUTH-2).

Everything is set up through real parts: staff users in the real staff store, sign-in through the
login form, questions from viewers over the real viewer socket or from the page's own form.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
from playwright.async_api import Browser, Page, expect

from moderation import Meeting, StartMeeting
from moderation.model import ItemStatus
from server.auth import accounts
from server.auth.accounts import Role, User
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from server.web.i18n import translator
from tests.conftest import meeting_command
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, LiveServer, catch_up, recv_until

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.usefixtures("fast_hashing")]

WAIT_MS = TIMEOUT * 1000
# A change made in one console shows in every other one within this bound.
LIVE_MS = 1000 * float(os.environ.get("HALYQ_TEST_TIMEOUT_FACTOR", "1"))
PASSWORD = "correct horse battery"
EN = translator("en")

ROAD = "Когда отремонтируют дорогу на улице Жандосова?"
ROAD_AGAIN = "Дорогу по Жандосова когда будут ремонтировать?"  # the same question, reworded
ADVERT = "Продаю гараж недорого, пишите в личку"


async def add_staff(server: LiveServer, name: str, role: Role = Role.MODERATOR) -> str:
    user = User(
        name=name,
        role=role,
        password_hash=accounts.hash_password(PASSWORD),
        created=time.time(),
    )
    assert await server.services.staff.add_user(user)
    return name


async def ask(server: LiveServer, meeting_id: str, text: str, name: str = "Айгерім") -> str:
    """A viewer's question over the viewer socket; returns its id once acknowledged."""
    async with server.socket(meeting_id) as ws:
        await catch_up(ws)
        frame = {"type": "question", "client_msg_id": uuid.uuid4().hex, "name": name, "text": text}
        await ws.send(json.dumps(frame))
        ack, _ = await recv_until(ws, lambda f: f.get("type") in ("ack", "rejected"))
    assert ack["type"] == "ack", ack
    assert ack["status"] == "pending", ack
    question_id: str = ack["id"]
    return question_id


# Besides CSP violations (TRAPS), a page records its own uncaught errors.
ERRORS = """
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
"""


# A key's text colour and the colour behind it (its own background, else its option's).
KEY_COLOURS = """key => {
  const own = getComputedStyle(key).backgroundColor;
  const option = getComputedStyle(key.closest("li")).backgroundColor;
  const behind = own === "rgba(0, 0, 0, 0)" ? option : own;
  return [getComputedStyle(key).color, behind];
}"""


async def new_page(browser: Browser, width: int, height: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = await context.new_page()
    await page.add_init_script(TRAPS + ERRORS)
    return page


async def clean(page: Page) -> None:
    """No script errors and no Content-Security-Policy violations on the page."""
    found: list[str] = await page.evaluate("[...window.__violations, ...window.__errors]")
    assert found == []


async def sign_in(page: Page, server: LiveServer, meeting_id: str, name: str) -> None:
    """Through the login form, by keyboard alone: the name field has the focus."""
    await page.goto(f"{server.url}/login?lang=en&next=/console/{meeting_id}")
    await expect(page.locator("#login-name")).to_be_focused()
    await page.keyboard.type(name)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/console/{meeting_id}", timeout=WAIT_MS)
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=WAIT_MS
    )


async def open_console(browser: Browser, server: LiveServer, meeting_id: str, name: str) -> Page:
    page = await new_page(browser, 1280, 900)
    await sign_in(page, server, meeting_id, name)
    return page


async def open_viewer(browser: Browser, server: LiveServer, meeting_id: str) -> Page:
    page = await new_page(browser, 390, 800)
    await page.goto(f"{server.url}/m/{meeting_id}?lang=en")
    await expect(page.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=WAIT_MS
    )
    await page.click("#tab-questions")
    return page


async def test_a_moderator_approves_rejects_and_merges_by_keyboard_alone(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    meeting_id = live_meeting.id
    moderator = await add_staff(server, "aigerim.mod")
    first = await ask(server, meeting_id, ROAD)
    advert = await ask(server, meeting_id, ADVERT, name="Реклама")
    again = await ask(server, meeting_id, ROAD_AGAIN, name="Ерлан")
    page = await open_console(browser, server, meeting_id, moderator)
    rows = page.locator("#lane-incoming li[data-id]")
    await expect(rows).to_have_count(3, timeout=WAIT_MS)
    # Issue 14: the incoming lane lists the oldest first, so nothing waits forever.
    assert [await r.get_attribute("data-id") for r in await rows.all()] == [first, advert, again]
    detail = page.locator("#detail")

    keyboard = page.keyboard
    for _ in range(3):
        await keyboard.press("j")
    await keyboard.press("Home")
    first_row = page.locator(f"#queue li[data-id='{first}']")
    await expect(first_row).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#lane-incoming [data-list]")).to_be_focused()
    await expect(detail).to_have_attribute("data-id", first)  # the side panel shows it whole
    await keyboard.press("a")
    # The approved question leaves the lane for the approved queue; the next takes its place.
    await expect(page.locator(f"#lane-approved li[data-id='{first}']")).to_have_attribute(
        "data-status", "approved", timeout=WAIT_MS
    )
    await expect(first_row).to_have_attribute("data-version", "2")

    advert_row = page.locator(f"#queue li[data-id='{advert}']")
    await expect(advert_row).to_have_attribute("aria-selected", "true")
    await keyboard.press("r")
    reasons = page.locator('[data-chooser="reason"]')
    await expect(reasons).to_be_visible()
    await expect(reasons.locator("[data-options]")).to_be_focused()
    # Issue 14: the highlighted option's key reads on its background (it was white on white).
    chosen_key = reasons.locator("[role=option][aria-selected=true] kbd")
    ink, paper = await chosen_key.evaluate(KEY_COLOURS)
    assert ink != paper, (ink, paper)
    await keyboard.press("7")  # the seventh reason: advertising
    await expect(reasons).to_be_hidden()
    await expect(advert_row).to_have_attribute("data-status", "rejected", timeout=WAIT_MS)
    await expect(page.locator(f"#lane-done li[data-id='{advert}']")).to_have_count(1)

    again_row = page.locator(f"#queue li[data-id='{again}']")
    await expect(again_row).to_have_attribute("aria-selected", "true")
    # The repeat is flagged as a possible duplicate of the first question.
    await expect(detail.locator(f"[data-similar='{first}']")).to_contain_text(ROAD)
    await keyboard.press("m")
    targets = page.locator('[data-chooser="merge"]')
    await expect(targets).to_be_visible()
    # The suggested duplicate comes first and is already chosen: Enter merges into it.
    active = targets.locator("[role=option][aria-selected=true]")
    await expect(active).to_have_attribute("data-value", first)
    await expect(active).to_have_attribute("data-suggested", "true")
    await keyboard.press("Enter")
    await expect(again_row).to_have_attribute("data-status", "merged", timeout=WAIT_MS)
    for lane, count in (("incoming", "0"), ("approved", "1"), ("on_air", "0"), ("done", "2")):
        await expect(page.locator(f"[data-lane-count='{lane}']")).to_have_text(count)
    # The lane of questions done with, newest first; each one's details in the side panel.
    await keyboard.press("5")
    await expect(again_row).to_have_attribute("aria-selected", "true")
    await expect(detail.locator("[data-merged-into]")).to_have_attribute("data-merged-into", first)
    await keyboard.press("j")
    await expect(detail.locator("[data-reason]")).to_have_attribute("data-reason", "advertising")
    await clean(page)

    # The record agrees with the screen.
    items = await server.services.store.board.items(meeting_id, [first, advert, again])
    assert items[first].status is ItemStatus.APPROVED
    assert items[advert].status is ItemStatus.REJECTED
    assert items[advert].reason == "advertising"
    assert items[again].status is ItemStatus.MERGED
    assert items[again].merged_into == first
    assert {items[i].by for i in (first, advert, again)} == {moderator}

    # The audit trail names each action, newest first; the public report counts them.
    await page.goto(f"{server.url}/console/{meeting_id}/audit?lang=en")
    kinds = await page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["question.merged", "question.rejected", "question.approved"]
    await page.goto(f"{server.url}/m/{meeting_id}/transparency?lang=en")
    counts = {
        "questions.received": "3",
        "questions.approved": "1",
        "questions.rejected": "1",
        "questions.merged": "1",
        "questions.public": "1",
        "questions.rejected_by_reason.advertising": "1",
        "questions.rejected_by_reason.spam": "0",
    }
    for key, value in counts.items():
        await expect(page.locator(f"[data-count='{key}']")).to_have_text(value)
    reason = page.locator("[data-count='questions.rejected_by_reason.advertising']")
    assert await reason.evaluate("cell => cell.previousElementSibling.textContent") == "advertising"
    await clean(page)


async def test_a_viewer_sees_an_approved_question_live_and_votes_count_once_per_viewer(
    browser: Browser, server: LiveServer, store: Store
) -> None:
    created = await create_meeting(UseCases(store=store), meeting_command(territory="Алматы"))
    meeting_id = (await change_meeting(UseCases(store=store), created.id, StartMeeting())).id
    moderator = await add_staff(server, "moderator")
    first_viewer = await open_viewer(browser, server, meeting_id)
    second_viewer = await open_viewer(browser, server, meeting_id)

    # Viewer 1 asks through the page's own form, naming a district of the city.
    await first_viewer.fill("#q-name", "Данияр")
    await first_viewer.select_option("#q-district", "Медеу")
    await first_viewer.fill("#q-text", "Когда откроют каток на Медеу для всех?")
    await first_viewer.click("#ask")
    mine = first_viewer.locator("#my-questions li")
    await expect(mine.locator(".note")).to_have_text(EN("question_pending"), timeout=WAIT_MS)
    question = await mine.get_attribute("data-id")
    assert question is not None
    for viewer in (first_viewer, second_viewer):
        await expect(viewer.locator("#questions li")).to_have_count(0)

    console = await open_console(browser, server, meeting_id, moderator)
    await console.click(f"#queue li[data-id='{question}']")
    await console.click("#detail button[data-action='approve']")

    rows = [
        v.locator(f"#questions li[data-question='{question}']")
        for v in (first_viewer, second_viewer)
    ]
    for shown in rows:
        await expect(shown).to_contain_text(
            "Когда откроют каток на Медеу для всех?", timeout=WAIT_MS
        )
        await expect(shown).to_contain_text("Медеу")
        await expect(shown.locator("[data-votes]")).to_have_text("0")
    await expect(first_viewer.locator("#questions-count")).to_have_text("1")

    await second_viewer.click(f"button[data-vote='{question}']")
    for shown in rows:
        await expect(shown.locator("[data-votes]")).to_have_text("1", timeout=WAIT_MS)
    second_button = second_viewer.locator(f"button[data-vote='{question}']")
    await expect(second_button).to_have_attribute("aria-pressed", "true")
    await expect(second_button).to_be_disabled()
    first_button = first_viewer.locator(f"button[data-vote='{question}']")
    await expect(first_button).to_have_attribute("aria-pressed", "false")

    await first_button.click()
    for shown in rows:
        await expect(shown.locator("[data-votes]")).to_have_text("2", timeout=WAIT_MS)
    await expect(first_button).to_have_attribute("aria-pressed", "true")
    await expect(first_button).to_be_disabled()

    # The same viewer again, having forgotten its vote: the server counts it once.
    await first_viewer.evaluate("localStorage.clear()")
    await first_viewer.reload()
    await expect(first_viewer.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=WAIT_MS
    )
    await first_viewer.click("#tab-questions")
    await expect(first_button).to_have_attribute("aria-pressed", "false")
    await expect(rows[0].locator("[data-votes]")).to_have_text("2")
    await first_button.click()
    await expect(first_button).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    for shown in rows:
        await expect(shown.locator("[data-votes]")).to_have_text("2")
    items = await store.board.items(meeting_id, [question])
    assert items[question].votes == 2
    assert items[question].district == "Медеу"
    for page in (first_viewer, second_viewer, console):
        await clean(page)
    assert await first_viewer.evaluate("document.documentElement.scrollWidth") <= 390


async def test_two_consoles_show_each_others_changes_and_a_stale_action_is_refused(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    meeting_id = live_meeting.id
    first_name = await add_staff(server, "first.mod")
    second_name = await add_staff(server, "second.mod")
    question = await ask(server, meeting_id, ROAD)
    first = await open_console(browser, server, meeting_id, first_name)
    second = await open_console(browser, server, meeting_id, second_name)
    in_first = first.locator(f"#queue li[data-id='{question}']")
    in_second = second.locator(f"#queue li[data-id='{question}']")
    await expect(in_second).to_have_attribute("data-status", "new", timeout=WAIT_MS)

    # The second moderator starts rejecting the question, as it is at version 1...
    await second.keyboard.press("j")
    await second.keyboard.press("r")
    await expect(second.locator('[data-chooser="reason"]')).to_be_visible()
    # ...while the first approves it; both consoles show that within a second.
    await first.keyboard.press("j")
    await first.keyboard.press("a")
    await expect(in_first).to_have_attribute("data-status", "approved", timeout=WAIT_MS)
    await expect(in_second).to_have_attribute("data-status", "approved", timeout=LIVE_MS)
    await expect(in_second).to_have_attribute("data-version", "2")

    # The second's rejection was formed at version 1: refused, nothing undone.
    await second.keyboard.press("1")
    await expect(second.locator("#notice")).to_have_text(EN("conflict"), timeout=WAIT_MS)
    await expect(in_second).to_have_attribute("data-status", "approved")

    # A comment hidden in one console is hidden in both, with its reason.
    async with server.socket(meeting_id) as ws:
        await catch_up(ws)
        await ws.send(json.dumps({"type": "comment", "client_msg_id": "c1", "text": "Спам-спам"}))
        ack, _ = await recv_until(ws, lambda f: f.get("type") == "ack")
    comment_in_first = first.locator(f"#queue li[data-id='{ack['id']}']")
    await expect(comment_in_first).to_have_attribute("data-status", "shown", timeout=WAIT_MS)
    await expect(comment_in_first).to_have_attribute("data-kind", "comment")
    await comment_in_first.click()
    await expect(first.locator("#detail")).to_have_attribute("data-id", ack["id"])
    await first.keyboard.press("h")
    await expect(first.locator('[data-chooser="reason"]')).to_be_visible()
    await first.keyboard.press("1")
    comment_in_second = second.locator(f"#queue li[data-id='{ack['id']}']")
    await expect(comment_in_first).to_have_attribute("data-status", "hidden", timeout=WAIT_MS)
    await expect(comment_in_second).to_have_attribute("data-status", "hidden", timeout=LIVE_MS)
    await comment_in_second.click()
    await expect(second.locator("#detail [data-reason]")).to_have_attribute("data-reason", "spam")
    items = await server.services.store.board.items(meeting_id, [question, ack["id"]])
    assert items[question].by == first_name
    assert items[ack["id"]].reason == "spam"
    for page in (first, second):
        await clean(page)


async def test_hiding_and_releasing_a_comment_shows_on_the_viewer_page_and_tags_by_keyboard(
    browser: Browser, server: LiveServer, store: Store
) -> None:
    created = await create_meeting(UseCases(store=store), meeting_command(territory="Алматы"))
    meeting_id = (await change_meeting(UseCases(store=store), created.id, StartMeeting())).id
    moderator = await add_staff(server, "moderator")
    viewer = await open_viewer(browser, server, meeting_id)
    await viewer.click("#tab-chat")
    await viewer.fill("#name", "Сауле")
    await viewer.fill("#text", "Когда починят трубы отопления во дворе?")
    await viewer.press("#text", "Enter")
    shown = viewer.locator("#comments li.mine:not(.pending)")
    await expect(shown).to_have_count(1, timeout=WAIT_MS)
    comment = await shown.get_attribute("data-id")
    assert comment is not None
    other = await open_viewer(browser, server, meeting_id)
    await other.click("#tab-chat")
    in_chat = other.locator(f"#comments li[data-id='{comment}']")
    await expect(in_chat.locator(".text")).to_have_text("Когда починят трубы отопления во дворе?")

    console = await open_console(browser, server, meeting_id, moderator)
    keyboard = console.keyboard
    row = console.locator(f"#queue li[data-id='{comment}']")
    detail = console.locator("#detail")
    await keyboard.press("4")  # the comments' lane
    await expect(row).to_have_attribute("aria-selected", "true")
    await keyboard.press("h")
    await keyboard.press("1")  # spam
    await expect(row).to_have_attribute("data-status", "hidden", timeout=WAIT_MS)
    # The text leaves the viewers' chat; the public reason takes its place (R3).
    for page in (viewer, other):
        line = page.locator(f"#comments li[data-id='{comment}']")
        await expect(line).to_have_text(EN("comment_hidden", reason="spam"), timeout=WAIT_MS)
    await keyboard.press("u")
    await expect(row).to_have_attribute("data-status", "shown", timeout=WAIT_MS)
    await expect(in_chat.locator(".text")).to_have_text(
        "Когда починят трубы отопления во дворе?", timeout=WAIT_MS
    )
    await expect(viewer.locator(f"#comments li[data-id='{comment}'].mine")).to_have_count(1)

    # A comment made a question, then tagged: topic kept as suggested, district chosen.
    await keyboard.press("p")
    questions = console.locator("#queue li[data-kind='question']")
    await expect(questions).to_have_count(1, timeout=WAIT_MS)
    question = await questions.get_attribute("data-id")
    assert question is not None
    await expect(detail.locator("[data-promoted]")).to_have_text(EN("promoted_note"))
    await expect(detail.locator("[data-reason]")).to_have_count(0)  # released: no reason shown
    await keyboard.press("1")  # the incoming lane, where the new question waits
    await expect(questions).to_have_attribute("aria-selected", "true")
    await keyboard.press("t")
    tags = console.locator('[data-chooser="tag"]')
    await expect(tags.locator("[data-tag='topic']")).to_be_focused()
    await expect(tags.locator("[data-tag='topic']")).to_have_value("heating")
    await keyboard.press("Tab")
    await expect(tags.locator("[data-tag='district']")).to_be_focused()
    await keyboard.press("ArrowDown")  # from "no district" to the first: Алатау
    await keyboard.press("Enter")
    await expect(tags).to_be_hidden()
    await expect(detail.locator(".tag-district")).to_have_attribute(
        "data-district", "Алатау", timeout=WAIT_MS
    )
    items = await store.board.items(meeting_id, [comment, question])
    assert items[comment].promoted
    assert items[question].source == comment
    assert (items[question].topic, items[question].district) == ("heating", "Алатау")
    for page in (viewer, other, console):
        await clean(page)


async def test_a_console_goes_to_the_login_page_when_its_session_ends(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    moderator = await add_staff(server, "leaving.mod")
    console = await open_console(browser, server, live_meeting.id, moderator)
    elsewhere = await console.context.new_page()
    await elsewhere.goto(f"{server.url}/console?lang=en")
    await expect(elsewhere.locator(f"[data-meeting='{live_meeting.id}']")).to_have_count(1)
    await elsewhere.click("form.signed-in button")
    await elsewhere.wait_for_url("**/login", timeout=WAIT_MS)
    # The console's socket closes (4401) and the page asks to sign in again, coming back here.
    await console.wait_for_url(f"**/login?next=%2Fconsole%2F{live_meeting.id}", timeout=WAIT_MS)
    await expect(console.locator("#login-name")).to_be_visible()


async def test_the_queue_filters_and_a_merge_target_is_found_by_typing(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    meeting_id = live_meeting.id
    moderator = await add_staff(server, "filter.mod")
    bus = await ask(server, meeting_id, "Почему автобус 32 ходит раз в час?")
    advert = await ask(server, meeting_id, ADVERT)
    lights = await ask(server, meeting_id, "Во дворе по Абая 10 не горят фонари, и автобуса нет")
    page = await open_console(browser, server, meeting_id, moderator)
    keyboard = page.keyboard
    rows = page.locator("#queue li[data-id]")
    await expect(rows).to_have_count(3, timeout=WAIT_MS)

    await keyboard.press("?")
    await expect(page.locator("#help")).to_be_visible()
    await keyboard.press("Escape")
    await expect(page.locator("#help")).to_be_hidden()

    await keyboard.press("/")
    await expect(page.locator("#filter-text")).to_be_focused()
    await keyboard.type("10")
    await expect(page.locator("#queue li[data-id]:visible")).to_have_count(1)
    await expect(page.locator("[data-lane-total='incoming']")).to_have_text("1 / 3")
    await keyboard.press("Enter")  # back to the queue, on the one row left
    await expect(page.locator(f"#queue li[data-id='{lights}']")).to_have_attribute(
        "aria-selected", "true"
    )
    await keyboard.press("/")
    await keyboard.press("Control+a")
    await keyboard.press("Backspace")
    await keyboard.press("Escape")
    await expect(page.locator("#queue li[data-id]:visible")).to_have_count(3)

    # Typing in the chooser finds the target: here, by the bus's number.
    await keyboard.press("m")
    targets = page.locator('[data-chooser="merge"]')
    await expect(targets.locator("[role=option]")).to_have_count(2)
    await keyboard.type("32")
    await expect(targets.locator("[data-chooser-filter]")).to_be_focused()
    await expect(targets.locator("[role=option]")).to_have_count(1)
    await expect(targets.locator("[role=option][aria-selected=true]")).to_have_attribute(
        "data-value", bus
    )
    await keyboard.press("Enter")
    lights_row = page.locator(f"#queue li[data-id='{lights}']")
    await expect(lights_row).to_have_attribute("data-status", "merged", timeout=WAIT_MS)
    items = await server.services.store.board.items(meeting_id, [lights, advert])
    assert items[lights].merged_into == bus
    assert items[advert].status is ItemStatus.NEW
    await clean(page)


async def test_a_producer_sees_the_queue_but_has_no_moderation_actions(
    browser: Browser, server: LiveServer, live_meeting: Meeting
) -> None:
    producer = await add_staff(server, "producer", Role.PRODUCER)
    question = await ask(server, live_meeting.id, ROAD)
    page = await open_console(browser, server, live_meeting.id, producer)
    row = page.locator(f"#queue li[data-id='{question}']")
    await expect(row).to_have_attribute("data-status", "new", timeout=WAIT_MS)
    await expect(page.locator("#read-only")).to_be_visible()
    await expect(page.locator("#details button")).to_have_count(0)
    await page.keyboard.press("j")
    await expect(row).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("a")
    await expect(page.locator("#notice")).to_have_text(EN("read_only"))
    await expect(row).to_have_attribute("data-status", "new")
    items = await server.services.store.board.items(live_meeting.id, [question])
    assert items[question].status is ItemStatus.NEW
    await clean(page)
