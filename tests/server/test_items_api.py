"""The staff's JSON API of a meeting's queue (issue 10.9), and the channels' status the
operators read (`/readyz`, the admin console): over real HTTP against a real server.

A WhatsApp question comes in through the signed webhook, as Meta sends it; web comments and
questions through `submit`, as the viewer socket hands them over.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import AskQuestion, Meeting, PostComment, Submission
from server.auth.accounts import Role
from server.settings import Settings
from server.usecases import Asked, Held, Posted, submit
from tests import fakes
from tests.fakes import Providers
from tests.helpers import LiveServer, live_server
from tests.server.test_auth import add_user, login

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]

TOKEN = {"Authorization": "Bearer test-admin-token"}  # the `settings` fixture's admin token
SENDER = "77011234567"  # WhatsApp's wa_id: the number without its "+"
WRITTEN = "Позвоните мне 8 701 234 56 78 или напишите aigul.s@mail.kz, ИИН 880212300456"
SENT_AT = 1764460800_000  # the message's "timestamp", which the channel says it was sent at


async def whatsapp(server: LiveServer, wamid: str, text: str) -> None:
    body = fakes.whatsapp_body(fakes.whatsapp_text(wamid, text, SENDER))
    answer = await fakes.whatsapp(body).post(server.url)
    assert answer.status_code == 200, answer.text


async def web(
    server: LiveServer, meeting: Meeting, key: str, what: PostComment | AskQuestion
) -> str:
    outcome = await submit(server.services.usecases, meeting, Submission(what=what, sender=key))
    assert isinstance(outcome, Posted | Held | Asked), outcome
    return outcome.id


async def queue(server: LiveServer, meeting: Meeting) -> dict[str, str]:
    """A queue of every kind: channel -> id of what it sent."""
    ids = {
        "comment": await web(server, meeting, "viewer-1",
                             PostComment(client_msg_id="c1", name="Асель",
                                         text="Сәлеметсіз бе, бүгін эфир қашан басталады?")),
        "held": await web(server, meeting, "viewer-2",
                          PostComment(client_msg_id="c2", name="Болат",
                                      text="Звоните 87019876543 по поводу дороги")),
        "question": await web(server, meeting, "viewer-1",
                              AskQuestion(client_msg_id="q1", name="Асель",
                                          text="Когда отремонтируют дорогу на Абая?")),
    }  # fmt: skip
    await whatsapp(server, "wamid.ITEMS1", WRITTEN)
    ids["whatsapp"] = await only(server, meeting, "whatsapp")
    return ids


async def only(server: LiveServer, meeting: Meeting, channel: str) -> str:
    answer = await get(server, meeting, TOKEN, channel=channel)
    (item,) = answer["items"]
    return str(item["id"])


async def get(
    server: LiveServer, meeting: Meeting, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.get(f"/api/meetings/{meeting.id}/items", params=params,
                                  headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found: dict[str, Any] = answer.json()
    return found


async def as_staff(server: LiveServer, meeting: Meeting, role: Role) -> dict[str, Any]:
    await add_user(server.services, role.value, role)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await login(http, role.value)).status_code == 303
        answer = await http.get(f"/api/meetings/{meeting.id}/items")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in answer["items"]}


async def test_the_admin_token_reads_every_item_with_its_contact_and_original_text(
    webhooks: LiveServer, live_meeting: Meeting
) -> None:
    ids = await queue(webhooks, live_meeting)
    answer = await get(webhooks, live_meeting, TOKEN)
    assert answer["next"] is None
    assert [item["id"] for item in answer["items"]] == sorted(ids.values(), key=stream_order)
    items = by_id(answer)
    asked = items[ids["whatsapp"]]
    assert asked == asked | {
        "kind": "question", "channel": "whatsapp", "status": "new", "name": "Айгүл",
        "text": WRITTEN, "language": "ru", "votes": 0, "received_at": SENT_AT,
        "superchat": None, "note": "", "contact": "+" + SENDER, "similar": [],
    }  # fmt: skip
    assert set(asked) == {"id", "kind", "channel", "status", "name", "text", "language",
                          "similar", "topic", "district", "votes", "received_at", "superchat",
                          "note", "contact", "asks", "reason"}  # fmt: skip
    comment = items[ids["comment"]]
    assert (comment["kind"], comment["channel"], comment["status"]) == ("comment", "web", "shown")
    assert comment["language"] == "kk"  # R3: a comment records none; it is detected
    assert comment["contact"] is None  # a web viewer leaves none
    assert comment["received_at"] > SENT_AT  # the time it reached the record
    assert items[ids["held"]]["status"] == "held"
    assert items[ids["held"]]["text"] == "Звоните 87019876543 по поводу дороги"
    question = items[ids["question"]]
    assert (question["kind"], question["language"]) == ("question", "ru")
    assert question["topic"] == "roads"  # R4: the suggested topic until a moderator tags it
    assert question["similar"] == []


def stream_order(item_id: str) -> tuple[int, int]:
    millis, _, sequence = item_id.partition("-")
    return int(millis), int(sequence)


async def test_a_moderator_sees_contacts_masked_and_an_operator_sees_them_whole(
    webhooks: LiveServer, live_meeting: Meeting
) -> None:
    ids = await queue(webhooks, live_meeting)
    moderator = by_id(await as_staff(webhooks, live_meeting, Role.MODERATOR))
    masked = moderator[ids["whatsapp"]]
    assert masked["contact"] == "+7 701 ***-**-67"
    for raw in ("701 234 56 78", "aigul.s@", "880212300456"):
        assert raw not in masked["text"]
    assert "••78" in masked["text"]
    assert "•••@mail.kz" in masked["text"]
    assert "87019876543" not in moderator[ids["held"]]["text"]  # PRIV-1, in a comment too
    assert masked["received_at"] == SENT_AT
    operator = by_id(await as_staff(webhooks, live_meeting, Role.OPERATOR))
    assert (operator[ids["whatsapp"]]["text"], operator[ids["whatsapp"]]["contact"]) == (
        WRITTEN,
        "+" + SENDER,
    )
    assert operator[ids["held"]]["text"] == "Звоните 87019876543 по поводу дороги"
    producer = by_id(await as_staff(webhooks, live_meeting, Role.PRODUCER))
    assert producer[ids["whatsapp"]]["text"] == masked["text"]


async def test_without_a_valid_token_or_session_the_answer_is_401(
    server: LiveServer, live_meeting: Meeting
) -> None:
    path = f"/api/meetings/{live_meeting.id}/items"
    async with httpx.AsyncClient(base_url=server.url) as client:
        for headers in ({}, {"Authorization": "Bearer wrong-token"},
                        {"Authorization": "Basic dGVzdC1hZG1pbi10b2tlbg=="},
                        {"Authorization": "Bearer"}):  # fmt: skip
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 401, headers
            assert answer.json()["error"] == "unauthorized"
        viewer = await client.get(f"/m/{live_meeting.id}")
        assert "halyq_viewer" in client.cookies, viewer.status_code
        assert (await client.get(path)).status_code == 401  # a viewer's cookie is no session


async def test_the_admin_token_is_refused_while_the_admin_api_is_off(
    settings: Settings, live_meeting: Meeting
) -> None:
    off = settings.replace(admin_token="")
    async with live_server(off) as live, httpx.AsyncClient(base_url=live.url) as client:
        answer = await client.get(f"/api/meetings/{live_meeting.id}/items", headers=TOKEN)
    assert answer.status_code == 401


async def test_an_unknown_meeting_is_404(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=TOKEN) as client:
        for meeting_id in ("no-such-meeting", "NOT%20AN%20ID"):
            answer = await client.get(f"/api/meetings/{meeting_id}/items")
            assert answer.status_code == 404, meeting_id
            assert answer.json()["error"] == "not_found"


async def test_filters_by_channel_and_status(webhooks: LiveServer, live_meeting: Meeting) -> None:
    ids = await queue(webhooks, live_meeting)

    async def listed(**params: str) -> set[str]:
        return set(by_id(await get(webhooks, live_meeting, TOKEN, **params)))

    assert await listed(channel="whatsapp") == {ids["whatsapp"]}
    assert await listed(channel="web") == {ids["comment"], ids["held"], ids["question"]}
    assert await listed(channel="web, whatsapp") == set(ids.values())
    assert await listed(channel="telegram") == set()
    assert await listed(status="held") == {ids["held"]}
    assert await listed(status="new,held") == {ids["held"], ids["question"], ids["whatsapp"]}
    assert await listed(channel="web", status="new") == {ids["question"]}
    assert await listed(channel="", status="") == set(ids.values())


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"channel": "fax"}, "channel"),
        ({"channel": "web,fax"}, "channel"),
        ({"status": "pending"}, "status"),
        ({"status": "NEW"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "yesterday"}, "after"),
        ({"after": "1-2-3"}, "after"),
    ],
)
async def test_a_bad_parameter_is_400_naming_it(
    server: LiveServer, live_meeting: Meeting, params: dict[str, str], named: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=TOKEN) as client:
        answer = await client.get(f"/api/meetings/{live_meeting.id}/items", params=params)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(named + " must be")


async def test_paging_through_next_covers_every_item_once_in_order(
    server: LiveServer, live_meeting: Meeting
) -> None:
    made = []
    for n in range(23):
        what: PostComment | AskQuestion = (
            AskQuestion(client_msg_id=f"q{n}", name="", text=f"Вопрос номер {n} про дороги")
            if n % 3 == 0
            else PostComment(client_msg_id=f"c{n}", name="Асель", text=f"Комментарий {n}")
        )
        made.append(await web(server, live_meeting, f"viewer-{n}", what))
    assert len((await get(server, live_meeting, TOKEN, limit="1000"))["items"]) == 23
    assert (await get(server, live_meeting, TOKEN, limit="23"))["next"] is None
    assert (await get(server, live_meeting, TOKEN))["next"] is None  # 100 by default

    seen: list[str] = []
    pages = 0
    url: str | None = f"{server.url}/api/meetings/{live_meeting.id}/items?limit=5"
    async with httpx.AsyncClient(headers=TOKEN) as client:
        while url is not None:
            answer = (await client.get(url)).json()
            assert len(answer["items"]) <= 5
            seen += [item["id"] for item in answer["items"]]
            url = answer["next"]
            assert url is None or url.startswith(server.url + "/api/meetings/")
            pages += 1
        assert seen == made  # oldest first, each exactly once
        assert pages == 5

        first = f"{server.url}/api/meetings/{live_meeting.id}/items?status=new&limit=2"
        questions, url = [], first
        while url is not None:
            assert url == first or ("status=new" in url and re.search(r"after=\d+-\d+", url))
            answer = (await client.get(url)).json()
            questions += [item["id"] for item in answer["items"]]
            url = answer["next"]
    assert questions == made[::3]  # the filter holds on every page


@pytest.fixture
async def whatsapp_only(settings: Settings, providers: Providers) -> AsyncIterator[LiveServer]:
    """A server with only WhatsApp's intake on (its answers, and the others', are on)."""
    configured = providers.settings(
        settings, whatsapp_app_secret=fakes.APP_SECRET, whatsapp_verify_token=fakes.VERIFY_TOKEN
    )
    async with live_server(configured) as live:
        yield live


async def test_readyz_says_which_channels_are_on(
    whatsapp_only: LiveServer, settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=whatsapp_only.url) as client:
        ready = (await client.get("/readyz")).json()
    found = ready["channels"]
    assert found["whatsapp"] == {"in": True, "out": True}  # secret, verify and access token
    assert found["telegram"] == {"in": False, "out": True}  # no HALYQ_TELEGRAM_SECRET_TOKEN
    assert found["twilio"]["in"] is False  # no HALYQ_TWILIO_AUTH_TOKEN nor HALYQ_PUBLIC_URL
    assert found["email"] == {"in": False, "out": True}  # no HALYQ_SMTP_PORT
    assert found["phone"]["in"] is True
    async with live_server(settings) as bare, httpx.AsyncClient(base_url=bare.url) as client:
        off = (await client.get("/readyz")).json()["channels"]
    assert all(not state["out"] for state in off.values())
    assert [name for name, state in off.items() if state["in"]] == ["phone"]


async def test_the_admin_console_shows_each_channel_and_the_settings_an_off_one_needs(
    whatsapp_only: LiveServer,
) -> None:
    await add_user(whatsapp_only.services, "root", Role.ADMIN)
    await add_user(whatsapp_only.services, "mod", Role.MODERATOR)
    async with httpx.AsyncClient(base_url=whatsapp_only.url) as http:
        assert (await login(http, "root")).status_code == 303
        page = (await http.get("/console", params={"lang": "en"})).text
        russian = (await http.get("/console", params={"lang": "ru"})).text
        kazakh = (await http.get("/console", params={"lang": "kk"})).text
    box = page[page.index('class="channels"') :]
    box = box[: box.index("</section>")]
    rows = dict(re.findall(r'data-channel="(\w+)"(.*?)</tr>', box, re.S))
    assert set(rows) == {"phone", "whatsapp", "twilio", "telegram", "email"}
    assert 'data-in="on" data-out="on"' in rows["whatsapp"]
    assert "HALYQ_" not in rows["whatsapp"]
    assert 'data-in="off"' in rows["telegram"]
    assert "HALYQ_TELEGRAM_SECRET_TOKEN" in rows["telegram"]
    assert "HALYQ_TELEGRAM_BOT_TOKEN" not in rows["telegram"]  # its answers are on
    assert "<code>HALYQ_TWILIO_AUTH_TOKEN</code>, <code>HALYQ_PUBLIC_URL</code>" in rows["twilio"]
    assert "HALYQ_SMTP_PORT" in rows["email"]
    assert tuple(re.findall(r'id="channels-title">(\w+)<', page + russian + kazakh)) == (
        "Channels",
        "Каналы",
        "Арналар",
    )
    async with httpx.AsyncClient(base_url=whatsapp_only.url) as http:
        assert (await login(http, "mod")).status_code == 303
        moderators = (await http.get("/console")).text
    assert 'class="channels"' not in moderators  # settings are the admin's business
