"""Staff pages in headless Chromium (issue 14): each page, for each role that may open it, fits a
390 px phone (nothing scrolls sideways, "Sign out" in view, tables scroll in their own box) and
a 1440 px desktop; every link on it opens for that role (no 403); the audit page shows the text
of a hidden comment and filters by moderator. Screenshots go to /tmp/shots14/S/.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from moderation import Meeting, Moderate, StartMeeting
from moderation.commands import AskQuestion, PostComment, Submission
from server.auth.accounts import Role, Session, User, hash_password
from server.settings import Settings
from server.store import Store
from server.usecases import Asked, Posted, act, change_meeting, create_meeting, submit
from server.web.audit import excerpt
from tests.conftest import meeting_command
from tests.e2e._chromium import TRAPS
from tests.helpers import TIMEOUT, LiveServer, live_server, unique_prefix

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SHOTS = Path("/tmp/shots14/S")
WAIT_MS = TIMEOUT * 1000
HIDDEN = "Во дворе дома 12 по улице Абая третью неделю не горят фонари, дети ходят в темноте"
QUESTION = "Когда отремонтируют дорогу на улице Толе би возле школы номер 12?"
PHONE = (390, 844)
DESKTOP = (1440, 900)
ROLES = {
    "aliya": Role.MODERATOR,
    "bolat": Role.MODERATOR,
    "root": Role.ADMIN,
    "erlan": Role.PRODUCER,
    "dana": Role.OPERATOR,
    "komissia": Role.COMMISSION,
}
# Each role's pages are read in one language, so all three are seen (Kazakh's words are longest).
LANGS = {"aliya": "ru", "bolat": "en", "root": "kk", "erlan": "kk", "dana": "kk", "komissia": "ru"}


@pytest.fixture(scope="module", autouse=True)
def shots() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


@dataclass
class Site:
    server: LiveServer
    meeting: Meeting
    sessions: dict[str, str]  # staff name -> session id

    def pages(self, role: Role) -> list[str]:
        """The staff pages `role` may open (its permissions, as server/auth/access.py says)."""
        m = self.meeting.id
        paths = ["/console", f"/console/{m}"]
        if role in (Role.ADMIN, Role.MODERATOR):
            paths.append(f"/console/{m}/audit")
        if role in (Role.ADMIN, Role.COMMISSION):
            paths += [f"/console/{m}/requests", "/demands"]
        if role in (Role.ADMIN, Role.OPERATOR):
            paths.append(f"/desk?meeting={m}")
        if role in (Role.ADMIN, Role.PRODUCER):
            paths.append(f"/producer/{m}")
        if role is Role.ADMIN:
            paths += ["/console/offices", "/console/territories"]
        return paths


async def add_session(store: Store, name: str, role: Role) -> str:
    now = time.time()
    user = User(
        name=name, role=role, password_hash=hash_password(secrets.token_hex(8)), created=now
    )
    await store.staff.add_user(user)
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session = Session(name=name, role=role, created=now, last_seen=now, csrf=csrf)
    await store.staff.create_session(session_id, session)
    return session_id


@pytest.fixture(scope="module")
async def site(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """One server for the module: a live meeting with a comment hidden by `aliya` and a question
    approved by `bolat`, and a session for each role."""
    settings = Settings(
        redis_url=redis_url,
        redis_prefix=unique_prefix(),
        data_dir=tmp_path_factory.mktemp("staff") / "data",
        admin_token="test-admin-token",
    )
    async with live_server(settings) as server:
        cases = server.services.usecases
        created = await create_meeting(cases, meeting_command())
        meeting = await change_meeting(cases, created.id, StartMeeting())
        said = PostComment(client_msg_id="c1", name="Айгерім", text=HIDDEN)
        posted = await submit(cases, meeting, Submission(what=said, sender="v1"))
        asked = await submit(
            cases,
            meeting,
            Submission(
                what=AskQuestion(client_msg_id="q1", name="Серік", text=QUESTION), sender="v2"
            ),
        )
        assert isinstance(posted, Posted)
        assert isinstance(asked, Asked)
        hide = Moderate(action="hide", item=posted.id, version=1, reason="spam")
        await act(cases, meeting, hide, by="aliya")
        await act(cases, meeting, Moderate(action="approve", item=asked.id, version=1), by="bolat")
        sessions = {
            name: await add_session(server.services.store, name, role)
            for name, role in ROLES.items()
        }
        yield Site(server, meeting, sessions)


async def signed_in(
    browser: Browser, site: Site, name: str, size: tuple[int, int]
) -> BrowserContext:
    width, height = size
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="ru-RU")
    host = urlsplit(site.server.url).hostname
    cookie = {"name": "halyq_session", "value": site.sessions[name], "domain": host, "path": "/"}
    await context.add_cookies([cookie])  # type: ignore[list-item]
    await context.add_init_script(TRAPS)
    return context


async def fits(page: Page, width: int) -> None:
    """Nothing scrolls sideways; the header's "Sign out" is inside the viewport."""
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (page.url, scroll)
    box = await page.locator("header .signed-in button").bounding_box()
    assert box is not None, page.url
    assert box["x"] >= 0, (page.url, box)
    assert box["x"] + box["width"] <= width, (page.url, box)


async def links(page: Page) -> set[str]:
    """Every same-site link on the page (no fragment), absolute."""
    found: list[str] = await page.locator("a[href]").evaluate_all(
        "anchors => anchors.map(a => a.getAttribute('href'))"
    )
    return {urljoin(page.url, href).partition("#")[0] for href in found if not href.startswith("#")}


def shot_name(path: str, name: str, size: tuple[int, int], meeting_id: str) -> str:
    slug = re.sub(r"[/?=&]+", "-", path.replace(meeting_id, "m").strip("/")) or "root"
    return f"{slug}-{name}-{size[0]}x{size[1]}.png"


@pytest.mark.parametrize("name", list(ROLES))
async def test_each_staff_page_fits_a_phone_and_every_link_on_it_opens_for_its_role(
    browser: Browser, site: Site, name: str
) -> None:
    role = ROLES[name]
    context = await signed_in(browser, site, name, PHONE)
    page = await context.new_page()
    followed: dict[str, int] = {}
    try:
        for path in site.pages(role):
            lang = ("&" if "?" in path else "?") + f"lang={LANGS[name]}"
            answer = await page.goto(site.server.url + path + lang)
            assert answer is not None
            assert answer.status == 200, (path, answer.status)
            await page.wait_for_load_state("load")
            for size in (PHONE, DESKTOP):
                await page.set_viewport_size({"width": size[0], "height": size[1]})
                await fits(page, size[0])
                await page.screenshot(
                    path=str(SHOTS / shot_name(path, name, size, site.meeting.id)), full_page=True
                )
            await page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
            for url in await links(page):
                if urlsplit(url).netloc != urlsplit(site.server.url).netloc or url in followed:
                    continue
                got = await context.request.get(url, max_redirects=0)
                followed[url] = got.status
                assert got.status not in (401, 403), (role, path, url, got.status)
                assert got.status < 400, (role, path, url, got.status)
        found = await page.evaluate("window.__violations")
        assert found == []
    finally:
        await context.close()
    assert followed  # the pages had links to follow


async def test_a_forbidden_page_is_a_real_page_that_fits_a_phone(
    browser: Browser, site: Site
) -> None:
    context = await signed_in(browser, site, "erlan", PHONE)
    page = await context.new_page()
    try:
        answer = await page.goto(f"{site.server.url}/console/{site.meeting.id}/audit?lang=kk")
        assert answer is not None
        assert answer.status == 403
        await expect(page.locator("h1")).to_have_text("Кіруге рұқсат жоқ")
        await fits(page, PHONE[0])
        await page.screenshot(path=str(SHOTS / "error-403-erlan-390x844.png"))
        await page.locator("[data-link='console']").click()
        await page.wait_for_url("**/console", timeout=WAIT_MS)
    finally:
        await context.close()


async def test_the_audit_page_shows_the_text_of_a_hidden_comment_and_filters_by_moderator(
    browser: Browser, site: Site
) -> None:
    context = await signed_in(browser, site, "root", PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{site.server.url}/console/{site.meeting.id}/audit?lang=en")
        rows = page.locator("tbody tr")
        await expect(rows).to_have_count(2)
        hidden = page.locator("tr[data-kind='comment.hidden']")
        await expect(hidden.locator("[data-excerpt]")).to_have_text(excerpt(HIDDEN))
        await expect(hidden.locator("[data-reason]")).to_have_text("Reason: spam")
        await expect(hidden.locator("[data-author]")).to_contain_text("Айгерім")
        for moderator, kind in (("aliya", "comment.hidden"), ("bolat", "question.approved")):
            await page.select_option("select[name='by']", moderator)
            await page.locator(".audit-filters button[type='submit']").click()
            await page.wait_for_url(f"**by={moderator}**", timeout=WAIT_MS)
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_have_attribute("data-kind", kind)
            await expect(rows.first).to_have_attribute("data-by", moderator)
            csv = page.locator("[data-link='csv']")
            await expect(csv).to_have_attribute(
                "href", f"/console/{site.meeting.id}/audit.csv?by={moderator}"
            )
        await fits(page, PHONE[0])
        await page.screenshot(path=str(SHOTS / "audit-filtered-390x844.png"), full_page=True)
    finally:
        await context.close()
