"""A viewer's own questions and comments and their fates, over real HTTP and the viewer socket
(issue 10.7), and no phone number, e-mail or IIN of a web question on any page, socket or API
that viewers and producers read (issue 10.8).

`GET /api/meetings/{id}/mine` knows the viewer by the signed `halyq_viewer` cookie exactly as
the viewer socket does: what that viewer sent, oldest first, with the fate moderators gave it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from moderation import Meeting, Moderate, PostComment, Submission
from server.auth.accounts import Role
from server.services import VIEWER_COOKIE
from server.usecases import Posted, act, submit
from server.web.mine import MAX_ITEMS
from tests.consoles import Console, ask, console, open_session
from tests.helpers import LiveServer, catch_up, comment, recv_until

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}
# A web question is recorded as typed: its contacts must be masked on the way out (10.8).
CONTACTS = "Звоните 87012345678 или пишите aigul@mail.kz, мой ИИН 900101300123. Когда дадут воду?"
NAME = "Айгүл 87019998877"
SECRETS = ("87012345678", "7012345678", "aigul@", "900101300123", "87019998877", "9998877")
MASKED_TEXT = "Звоните ••• ••• ••78 или пишите •••@mail.kz, мой ИИН ••• ••• ••23. Когда дадут воду?"


class Viewer:
    """A browser-like viewer: the cookie the page gave it, for its socket and its API calls."""

    def __init__(self, server: LiveServer, http: httpx.AsyncClient, cookie: str) -> None:
        self.server = server
        self.http = http
        self.cookie = cookie

    def socket(self, meeting_id: str) -> Any:
        return self.server.socket(
            meeting_id, additional_headers={"Cookie": f"{VIEWER_COOKIE}={self.cookie}"}
        )

    async def mine(self, meeting_id: str) -> list[dict[str, Any]]:
        answer = await self.http.get(
            f"/api/meetings/{meeting_id}/mine", headers={"Cookie": f"{VIEWER_COOKIE}={self.cookie}"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "private, no-store"
        items: list[dict[str, Any]] = answer.json()["items"]
        return items


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def new_viewer(server: LiveServer, http: httpx.AsyncClient, meeting: Meeting) -> Viewer:
    """A viewer that opened the page and got its cookie there."""
    page = await http.get(f"/m/{meeting.id}")
    assert page.status_code == 200
    cookie = page.cookies.get(VIEWER_COOKIE)
    assert cookie, page.headers
    http.cookies.clear()  # each viewer sends its own cookie, explicitly
    return Viewer(server, http, cookie)


async def send_comment(ws: ClientConnection, client_msg_id: str, text: str) -> dict[str, Any]:
    await ws.send(comment(client_msg_id, text))
    ack, _ = await recv_until(ws, lambda f: f.get("client_msg_id") == client_msg_id)
    assert ack["type"] == "ack", ack
    return ack


async def moderate(
    server: LiveServer, meeting: Meeting, item: str, action: str, **extra: str
) -> None:
    """A staff action through the one way in (`act`), at the item's current version."""
    items = await server.services.store.board.items(meeting.id, [item])
    command = Moderate(action=action, item=item, version=items[item].version, **extra)
    await act(server.services.usecases, meeting, command, by="aliya")


def fates(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(item["kind"], item["status"], item["reason"]) for item in items]


async def test_a_viewers_comments_and_questions_appear_under_mine_with_their_fates(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    aigul = await new_viewer(server, http, live_meeting)
    other = await new_viewer(server, http, live_meeting)
    async with aigul.socket(live_meeting.id) as ws, other.socket(live_meeting.id) as theirs:
        await catch_up(ws)
        await catch_up(theirs)
        shown = await send_comment(ws, "c1", "Сәлем, әкім!")
        held = await send_comment(ws, "c2", "Звоните 87012345678")
        assert (held["status"], held["reason"]) == ("held", "phone")
        water = await ask(ws, "q1", "Когда дадут горячую воду?")
        road = await ask(ws, "q2", "Когда починят дорогу на Абая?")
        await send_comment(theirs, "x1", "Чужой комментарий")
        await ask(theirs, "x2", "Чужой вопрос?")

    items = await aigul.mine(live_meeting.id)
    assert [item["id"] for item in items] == [shown["id"], held["id"], water, road]  # oldest first
    assert fates(items) == [
        ("comment", "shown", ""),
        ("comment", "held", "phone"),  # R3: the public reason
        ("question", "sent", ""),
        ("question", "sent", ""),
    ]
    assert items[0]["text"] == "Сәлем, әкім!"
    assert items[1]["text"] == "Звоните ••• ••• ••78"  # its own number, masked all the same
    assert all(isinstance(item["at"], int) and item["at"] > 0 for item in items)
    assert set(items[0]) == {"id", "kind", "text", "at", "status", "reason"}
    theirs_ids = {item["id"] for item in await other.mine(live_meeting.id)}
    assert len(theirs_ids) == 2
    assert not theirs_ids & {item["id"] for item in items}

    # The fates change as moderators decide (a rejection is not public: only /mine tells).
    await moderate(server, live_meeting, water, "approve")
    await moderate(server, live_meeting, road, "reject", reason="off_topic")
    await moderate(server, live_meeting, shown["id"], "hide", reason="spam")
    assert fates(await aigul.mine(live_meeting.id)) == [
        ("comment", "hidden", "spam"),
        ("comment", "held", "phone"),
        ("question", "approved", ""),
        ("question", "rejected", "off_topic"),
    ]
    for action, status in (("queue", "queued"), ("on_air", "on_air"), ("answer", "answered")):
        await moderate(server, live_meeting, water, action)
        assert (await aigul.mine(live_meeting.id))[2]["status"] == status


async def test_without_a_valid_cookie_nobodys_items_are_given(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    # A viewer without a cookie is known by its address: another client there is not them.
    async with server.socket(live_meeting.id) as anonymous:
        await catch_up(anonymous)
        await send_comment(anonymous, "a1", "Без куки")
    url = f"/api/meetings/{live_meeting.id}/mine"
    for cookie in ({}, {"Cookie": f"{VIEWER_COOKIE}=forged.0.0"}, {"Cookie": f"{VIEWER_COOKIE}="}):
        answer = await http.get(url, headers=cookie)
        assert (answer.status_code, answer.json()) == (200, {"items": []}), cookie
    for missing in ("/api/meetings/m-nosuch/mine", "/api/meetings/..%2F/mine"):
        answer = await http.get(missing)
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"


async def test_only_the_latest_items_are_listed(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    viewer = await new_viewer(server, http, live_meeting)
    # Sent through `submit` as the viewer socket sends them (faster than its flood limit).
    key = server.services.identify(viewer.cookie, "127.0.0.1").key
    sent = []
    for n in range(MAX_ITEMS + 2):
        command = PostComment(client_msg_id=f"n{n}", name="", text=f"Пікір {n}")
        outcome = await submit(
            server.services.usecases, live_meeting, Submission(what=command, sender=key)
        )
        assert isinstance(outcome, Posted), outcome
        sent.append(outcome.id)
    items = await viewer.mine(live_meeting.id)
    assert [item["id"] for item in items] == sent[-MAX_ITEMS:]


async def test_issue_10_8_a_web_questions_contacts_never_reach_viewers_or_producers(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    viewer = await new_viewer(server, http, live_meeting)
    session = await open_session(server.services.store, "dana", Role.PRODUCER)
    async with (
        viewer.socket(live_meeting.id) as watching,
        console(server.url, live_meeting.id, session) as desk_socket,
    ):
        await catch_up(watching)
        desk = await Console(desk_socket).start()
        frame = {"type": "question", "client_msg_id": "q-contacts", "name": NAME,
                 "text": CONTACTS}  # fmt: skip
        await watching.send(json.dumps(frame))
        ack, _ = await recv_until(watching, lambda f: f.get("client_msg_id") == "q-contacts")
        question = str(ack["id"])
        await desk.sees(question)
        await moderate(server, live_meeting, question, "approve")
        approved, _ = await recv_until(
            watching,
            lambda f: any(e.get("kind") == "question.approved" for e in f.get("events", [])),
        )
        await desk.until(lambda c: c.items[question]["status"] == "approved")
        (event,) = approved["events"]
        assert (event["text"], event["name"]) == (MASKED_TEXT, "Айгүл ••• ••• ••77")
        shown = desk.items[question]  # the producer's desk: a role without contacts
        assert (shown["text"], shown["name"]) == (MASKED_TEXT, "Айгүл ••• ••• ••77")
        pages = [
            json.dumps(approved, ensure_ascii=False),
            json.dumps(desk.items, ensure_ascii=False),
        ]

    async with viewer.socket(live_meeting.id) as later:  # a new viewer's hello
        hello, history = await catch_up(later)
    (listed,) = hello["questions"]
    assert listed["text"] == MASKED_TEXT
    pages += [json.dumps([hello, history], ensure_ascii=False)]
    pages.append((await http.get(f"/m/{live_meeting.id}")).text)
    producer = {"Cookie": f"halyq_session={session}"}
    desk_page = await http.get(f"/producer/{live_meeting.id}", headers=producer)
    assert desk_page.status_code == 200
    pages.append(desk_page.text)
    rundown = await http.get(f"/api/meetings/{live_meeting.id}/rundown", headers=ADMIN)
    assert rundown.json()["rundown"][0]["text"] == MASKED_TEXT
    pages.append(rundown.text)
    pages.append(json.dumps(await viewer.mine(live_meeting.id), ensure_ascii=False))
    for page in pages:
        for secret in SECRETS:
            assert secret not in page, (secret, page[:300])
