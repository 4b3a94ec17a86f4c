"""The studio's overlays in headless Chromium (issue 9.3): transparent 1920x1080 canvases with
the graphic inside the title-safe area, a 500-character Kazakh question inside its box, the
CasparCG calls, a put-on-air from a console reaching the lower third, and the clock agreeing
with the server's (R4) on a machine whose clock is 30 s off. Screenshots go to /tmp/shots/.
"""

from __future__ import annotations

import json
import re
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from moderation import Meeting, Moderate
from server.auth.accounts import Role
from server.auth.keys import KeyKind, current_key
from server.usecases import act
from tests.consoles import Console, console, open_session
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, LiveServer, catch_up, recv_until

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WAIT_MS = TIMEOUT * 1000
IN = re.compile(r"\bin\b")  # the class of a graphic that has played in
SHOTS = Path("/tmp/shots")
WIDTH, HEIGHT = 1920, 1080
# The title-safe area: 80% of the canvas, 10% in from each edge (left, top, right, bottom).
TITLE_SAFE = (WIDTH * 0.1, HEIGHT * 0.1, WIDTH * 0.9, HEIGHT * 0.9)
ADMIN = {"Authorization": "Bearer test-admin-token"}
ERRORS = """
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
"""
# This machine's clock 30 s ahead of the server's: the overlay must correct it.
CLOCK_OFF = """
(() => {
  const real = Date.now.bind(Date);
  Date.now = () => real() + 30000;
})();
"""
ROAD = "Абай көшесіндегі жолды қашан жөндейді?"
SCHOOL = "Алмалы ауданында жаңа мектеп қашан салынады?"


def kazakh_question(length: int = 500) -> str:
    """A long Kazakh question with every Kazakh letter, exactly `length` characters."""
    words = (
        "Құрметті әкім мырза, біздің ауданымыздағы Әуезов көшесінде қысқы маусымда жолдар "
        "тазаланбайды, ұзақ уақыт бойы көшелерде жарық жоқ, балалар мектепке қараңғыда барады, "
        "ғимараттардың шатырлары ағып тұр, Өнер үйінің алдындағы алаң ұмытылған, Үкімет "
        "уәде берген саябақ әлі салынбаған, һәм тұрғындар шағымдарына жауап ала алмай жүр. "
    )
    text = (words * 4)[: length - 1].rstrip()
    return text + "?" * (length - len(text))


async def ask(server: LiveServer, meeting_id: str, text: str, name: str, district: str) -> str:
    """A viewer's question over the viewer socket; its id once acknowledged."""
    async with server.socket(meeting_id) as ws:
        await catch_up(ws)
        frame = {"type": "question", "client_msg_id": uuid.uuid4().hex, "name": name,
                 "text": text, "district": district}  # fmt: skip
        await ws.send(json.dumps(frame))
        ack, _ = await recv_until(ws, lambda f: f.get("type") in ("ack", "rejected"))
    assert (ack["type"], ack["status"]) == ("ack", "pending"), ack
    return str(ack["id"])


async def moderate(server: LiveServer, meeting: Meeting, question: str, *actions: str) -> None:
    for action in actions:
        items = await server.services.store.board.items(meeting.id, [question])
        command = Moderate(action=action, item=question, version=items[question].version)
        await act(server.services.usecases, meeting, command, by="aliya")


@pytest.fixture
async def key(server: LiveServer, live_meeting: Meeting) -> str:
    return await current_key(server.services.store, live_meeting.id, KeyKind.OVERLAY)


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def overlay(
    browser: Browser, server: LiveServer, meeting_id: str, key: str, graphic: str, script: str = ""
) -> Page:
    """An overlay page in a 1920x1080 viewport, connected."""
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = await context.new_page()
    await page.add_init_script(TRAPS + ERRORS + script)
    await page.goto(f"{server.url}/overlay/{meeting_id}/{graphic}?key={key}")
    await expect(page.locator("html")).to_have_attribute("data-connected", "true", timeout=WAIT_MS)
    return page


async def shown_in(page: Page) -> None:
    """The graphic has played in and its transition is over."""
    await page.wait_for_function(
        "() => { const g = document.getElementById('graphic');"
        " return g.classList.contains('in') && getComputedStyle(g).opacity === '1'"
        " && getComputedStyle(g).transform === 'none'; }",
        timeout=WAIT_MS,
    )


async def clean(page: Page) -> None:
    found: list[str] = await page.evaluate("[...window.__violations, ...window.__errors]")
    assert found == []


def corner_alphas(png: bytes) -> list[int]:
    """The alpha of the four corner pixels of an 8-bit RGBA PNG, decoded with zlib."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, data, width, height = 8, b"", 0, 0
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 6), "8-bit RGBA expected (a transparent screenshot)"
        elif kind == b"IDAT":
            data += body
        at += 12 + length
    raw = zlib.decompress(data)
    stride = width * 4
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous)
        rows.append(row)
        previous = row
    return [rows[y][x * 4 + 3] for y in (0, height - 1) for x in (0, width - 1)]


def unfilter(kind: int, row: bytearray, above: bytearray) -> bytearray:
    """PNG's five row filters, undone (4 bytes a pixel)."""
    if kind == 0:
        return row
    if kind == 2:
        return bytearray((a + b) & 255 for a, b in zip(row, above, strict=True))
    for i in range(len(row)):
        left = row[i - 4] if i >= 4 else 0
        up = above[i]
        if kind == 1:
            row[i] = (row[i] + left) & 255
        elif kind == 3:
            row[i] = (row[i] + ((left + up) >> 1)) & 255
        else:
            corner = above[i - 4] if i >= 4 else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + best) & 255
    return row


async def screenshot(page: Page, name: str) -> None:
    """A transparent screenshot of the whole canvas, saved, with alpha 0 at its corners and the
    graphic inside the title-safe area."""
    png = await page.screenshot(omit_background=True, path=str(SHOTS / f"{name}.png"))
    assert corner_alphas(png) == [0, 0, 0, 0], name
    box = await page.locator("#graphic").bounding_box()
    assert box is not None
    left, top, right, bottom = TITLE_SAFE
    assert box["x"] >= left, (name, box)
    assert box["y"] >= top, (name, box)
    assert box["x"] + box["width"] <= right, (name, box)
    assert box["y"] + box["height"] <= bottom, (name, box)
    size = await page.evaluate("[document.documentElement.scrollWidth, innerWidth, innerHeight]")
    assert size == [WIDTH, WIDTH, HEIGHT]


async def test_each_overlay_is_a_transparent_canvas_with_its_graphic_title_safe(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, key: str
) -> None:
    road = await ask(server, live_meeting.id, ROAD, "Айгүл", "Алмалы")
    school = await ask(server, live_meeting.id, SCHOOL, "", "Алмалы")
    await moderate(server, live_meeting, road, "approve", "queue", "on_air")
    await moderate(server, live_meeting, school, "approve")
    answer = await http.post(
        f"/api/meetings/{live_meeting.id}/phase", headers=ADMIN, json={"phase": "presentation"}
    )
    assert answer.status_code == 200
    lower = await overlay(browser, server, live_meeting.id, key, "lower-third")
    await shown_in(lower)
    await expect(lower.locator("#name")).to_have_text("Айгүл")
    await expect(lower.locator("#district")).to_have_text("Алмалы")
    await expect(lower.locator("#text")).to_have_text(ROAD)
    await screenshot(lower, "lower-third")
    ticker = await overlay(browser, server, live_meeting.id, key, "ticker")
    await shown_in(ticker)
    # The one approved question; its sender left the name blank: "resident of <district>".
    await expect(ticker.locator("#text")).to_have_text(f"{SCHOOL} — Алмалы тұрғыны")
    await expect(ticker.locator("#heading")).to_have_text("Тұрғындардың сұрақтары")
    await screenshot(ticker, "ticker")
    clock = await overlay(browser, server, live_meeting.id, key, "clock")
    await shown_in(clock)
    await expect(clock.locator("#phase")).to_have_text("Баяндама")
    await expect(clock.locator("#time")).to_have_text(
        re.compile(r"^(29:\d\d|30:00)$")
    )  # 120 min / 4
    await screenshot(clock, "clock")
    for page in (lower, ticker, clock):
        await clean(page)


async def test_a_500_character_kazakh_question_is_readable_inside_its_box(
    browser: Browser, server: LiveServer, live_meeting: Meeting, key: str
) -> None:
    text = kazakh_question()
    assert len(text) == 500
    question = await ask(server, live_meeting.id, text, "Әлия Нұрғалиқызы", "Алмалы")
    await moderate(server, live_meeting, question, "approve", "queue", "on_air")
    page = await overlay(browser, server, live_meeting.id, key, "lower-third")
    await shown_in(page)
    fitted = await page.evaluate(
        "() => { const t = document.getElementById('text'); const s = getComputedStyle(t);"
        " return {scroll: t.scrollHeight, client: t.clientHeight, size: parseFloat(s.fontSize),"
        " text: t.textContent, right: t.getBoundingClientRect().right}; }"
    )
    assert fitted["scroll"] <= fitted["client"]  # nothing overflows its box
    assert 30 <= fitted["size"] <= 44  # shrunk within bounds, still readable on a TV
    shown = fitted["text"]
    assert shown.endswith(" …")
    assert text.startswith(shown.removesuffix(" …"))  # cut at a word
    assert len(shown) > 200
    await screenshot(page, "lower-third-500")
    # CasparCG's next(): the rest of the question, from where the first part was cut.
    await page.evaluate("next()")
    rest = await page.locator("#text").text_content()
    assert rest is not None
    assert rest.startswith("… ")
    assert text.endswith(rest.removeprefix("… ").removesuffix(" …"))
    assert await page.evaluate(
        "(() => { const t = document.getElementById('text');"
        " return t.scrollHeight <= t.clientHeight; })()"
    )
    await screenshot(page, "lower-third-500-next")
    await page.evaluate("next()")  # back to the start
    assert await page.locator("#text").text_content() == shown
    await clean(page)


async def test_casparcg_play_stop_next_and_update_change_what_is_shown(
    browser: Browser, server: LiveServer, live_meeting: Meeting, key: str
) -> None:
    page = await overlay(browser, server, live_meeting.id, key, "lower-third")
    graphic = page.locator("#graphic")
    await expect(graphic).not_to_have_class(IN)  # nothing on air: nothing shown
    xml = (
        '<templateData><componentData id="f0"><data id="text" value="Серік"/></componentData>'
        '<componentData id="f1"><data id="text" value="Аулаға жарық қашан береді?"/>'
        '</componentData><componentData id="f2"><data id="text" value="Медеу"/>'
        "</componentData></templateData>"
    )
    await page.evaluate("(data) => update(data)", xml)
    await shown_in(page)
    await expect(page.locator("#name")).to_have_text("Серік")
    await expect(page.locator("#text")).to_have_text("Аулаға жарық қашан береді?")
    await page.evaluate("stop()")
    await expect(graphic).not_to_have_class(IN)
    await page.evaluate("(data) => update(data)", json.dumps({"f0": "", "f1": "Су қашан?",
                                                              "f2": "Алмалы"}))  # fmt: skip
    await expect(page.locator("#text")).to_have_text("Су қашан?")
    await expect(page.locator("#name")).to_have_text("Алмалы тұрғыны")
    await expect(graphic).not_to_have_class(IN)  # stopped: it stays out
    await page.evaluate("play()")
    await shown_in(page)
    await page.evaluate("update('')")  # back to the live data: nothing on air
    await expect(graphic).not_to_have_class(IN, timeout=WAIT_MS)
    # The ticker's next() shows the next approved question at once.
    first = await ask(server, live_meeting.id, ROAD, "Айгүл", "")
    second = await ask(server, live_meeting.id, SCHOOL, "Ерлан", "")
    await moderate(server, live_meeting, first, "approve")
    await moderate(server, live_meeting, second, "approve")
    ticker = await overlay(browser, server, live_meeting.id, key, "ticker")
    await shown_in(ticker)
    await expect(ticker.locator("#graphic")).to_have_attribute("data-question", first)
    await ticker.evaluate("next()")
    await expect(ticker.locator("#graphic")).to_have_attribute("data-question", second)
    await expect(ticker.locator("#count")).to_have_text("2/2")
    await ticker.evaluate("stop()")
    await expect(ticker.locator("#graphic")).not_to_have_class(IN)
    # The clock's update() sets its label; next() gives the phase back.
    clock = await overlay(browser, server, live_meeting.id, key, "clock")
    await clock.evaluate('update(\'{"f0": "Әкімнің баяндамасы"}\')')
    await expect(clock.locator("#phase")).to_have_text("Әкімнің баяндамасы")
    await clock.evaluate("next()")
    await expect(clock.locator("#phase")).to_have_text("Басталған жоқ")
    for shown in (page, ticker, clock):
        await clean(shown)


async def test_a_put_on_air_from_the_console_shows_on_the_lower_third_and_clears(
    browser: Browser, server: LiveServer, live_meeting: Meeting, key: str
) -> None:
    question = await ask(server, live_meeting.id, ROAD, "Айгүл", "Алмалы")
    page = await overlay(browser, server, live_meeting.id, key, "lower-third")
    session = await open_session(server.services.store, "aliya.mod", Role.MODERATOR)
    async with console(server.url, live_meeting.id, session) as ws:
        desk = await Console(ws).start()
        for action in ("approve", "queue", "on_air"):
            assert (await desk.act(action, question))["type"] == "result"
        put = time.monotonic()
        await expect(page.locator("#text")).to_have_text(ROAD, timeout=WAIT_MS)
        await shown_in(page)
        assert time.monotonic() - put < TIMEOUT
        assert (await desk.act("answer", question))["type"] == "result"
    await expect(page.locator("#graphic")).not_to_have_class(IN, timeout=WAIT_MS)
    await clean(page)


async def test_r4_the_clock_overlay_agrees_with_the_server_on_a_machine_30_s_off(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, key: str
) -> None:
    answer = await http.post(
        f"/api/meetings/{live_meeting.id}/phase", headers=ADMIN, json={"phase": "presentation"}
    )
    assert answer.status_code == 200
    page = await overlay(browser, server, live_meeting.id, key, "clock", CLOCK_OFF)
    assert await page.evaluate("Date.now() - new Date().getTime()") >= 29_000  # it is off
    await shown_in(page)
    for _ in range(3):
        before = (await http.get(f"/api/meetings/{live_meeting.id}/clock")).json()
        shown = float(await page.locator("#graphic").get_attribute("data-remaining") or "nan")
        after = (await http.get(f"/api/meetings/{live_meeting.id}/clock")).json()
        # Within a second of the server's reading, taken just before and just after.
        assert after["remaining_s"] - 1 <= shown <= before["remaining_s"] + 1, (before, shown)
        assert 1790 < shown < 1800
    await clean(page)


async def test_the_overlay_reconnects_by_itself_and_resumes_after_a_drop(
    browser: Browser, server: LiveServer, live_meeting: Meeting, key: str
) -> None:
    routes: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        route.connect_to_server()
        routes.append(route)

    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = await context.new_page()
    await page.add_init_script(TRAPS + ERRORS)
    await page.route_web_socket("**/ws/overlay/**", through)
    await page.goto(f"{server.url}/overlay/{live_meeting.id}/lower-third?key={key}")
    await expect(page.locator("html")).to_have_attribute("data-connected", "true", timeout=WAIT_MS)
    await routes[0].close(code=1001, reason="the network went away")
    await expect(page.locator("html")).to_have_attribute("data-connected", "false")
    # Meanwhile a question goes on air; the overlay shows it once it is back by itself.
    question = await ask(server, live_meeting.id, ROAD, "Айгүл", "Алмалы")
    await moderate(server, live_meeting, question, "approve", "queue", "on_air")
    await expect(page.locator("html")).to_have_attribute("data-connected", "true", timeout=WAIT_MS)
    assert len(routes) == 2
    await expect(page.locator("#text")).to_have_text(ROAD, timeout=WAIT_MS)
    await shown_in(page)
    await clean(page)


async def test_the_overlays_follow_the_producers_order_takes_and_clear(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, key: str
) -> None:
    """The ticker keeps the producer's order (a replaced question back on top) and the lower
    third the air, as the vMix feed has them."""
    meeting = live_meeting.id
    a = await ask(server, meeting, ROAD, "Айгүл", "")
    b = await ask(server, meeting, SCHOOL, "Ерлан", "")
    c = await ask(server, meeting, "Су қашан береді?", "Серік", "")
    for question in (a, b, c):
        await moderate(server, live_meeting, question, "approve")
    lower = await overlay(browser, server, meeting, key, "lower-third")
    ticker = await overlay(browser, server, meeting, key, "ticker")
    order = ticker.locator("#graphic")
    await expect(order).to_have_attribute("data-order", f"{a} {b} {c}")

    async def studio(action: str, **body: object) -> None:
        answer = await http.post(f"/api/meetings/{meeting}/rundown/{action}", headers=ADMIN,
                                 json=body)  # fmt: skip
        assert answer.status_code == 200, answer.text

    await studio("move", question=c, position=0)
    await expect(order).to_have_attribute("data-order", f"{c} {a} {b}", timeout=WAIT_MS)
    await studio("take", question=a)
    await expect(lower.locator("#text")).to_have_text(ROAD, timeout=WAIT_MS)
    await expect(order).to_have_attribute("data-order", f"{c} {b}", timeout=WAIT_MS)
    await studio("take", question=b)
    await expect(lower.locator("#text")).to_have_text(SCHOOL, timeout=WAIT_MS)
    await expect(order).to_have_attribute("data-order", f"{a} {c}", timeout=WAIT_MS)
    await studio("clear")
    await expect(lower.locator("#graphic")).not_to_have_class(IN, timeout=WAIT_MS)
    await expect(order).to_have_attribute("data-order", f"{b} {a} {c}", timeout=WAIT_MS)
    rows = (await http.get(f"/feeds/{meeting}/vmix.json", params={"key": key})).json()
    assert [row["Question.Text"] for row in rows[1:]] == [SCHOOL, ROAD, "Су қашан береді?"]
    for page in (lower, ticker):
        await clean(page)


async def test_in_obs_the_source_visibility_plays_the_graphic_in_and_out(
    browser: Browser, server: LiveServer, live_meeting: Meeting, key: str
) -> None:
    question = await ask(server, live_meeting.id, ROAD, "Айгүл", "Алмалы")
    await moderate(server, live_meeting, question, "approve", "queue", "on_air")
    obs = "window.obsstudio = {pluginVersion: '2.24.0'};"  # what OBS's browser source defines
    page = await overlay(browser, server, live_meeting.id, key, "lower-third", obs)
    await shown_in(page)
    hidden = "new CustomEvent('obsSourceVisibleChanged', {detail: {visible: false}})"
    await page.evaluate(f"window.dispatchEvent({hidden})")
    await expect(page.locator("#graphic")).not_to_have_class(IN)
    active = "new CustomEvent('obsSourceActiveChanged', {detail: {active: true}})"
    await page.evaluate(f"window.dispatchEvent({active})")
    await shown_in(page)
    await page.evaluate(f"window.dispatchEvent({hidden})")
    await expect(page.locator("#graphic")).not_to_have_class(IN)
    visible = "new CustomEvent('obsSourceVisibleChanged', {detail: {visible: true}})"
    await page.evaluate(f"window.dispatchEvent({visible})")
    await shown_in(page)
    await clean(page)
