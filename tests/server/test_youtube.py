"""YouTube's live chat into the record (issue 11), through the use case the chat reader calls:
comments with channel `youtube`, added once per YouTube id, YouTube's deletions and bans
respected, read back through the staff items API as akimat systems read them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from moderation import EndMeeting, Meeting
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.youtube import Taken, YouTubeChat
from tests.conftest import meeting_command
from tests.helpers import LiveServer, catch_up

pytestmark = pytest.mark.anyio

TOKEN = {"Authorization": "Bearer test-admin-token"}
AUTHOR = "UCk3mN2pQ8rT5vW1xY4zA7bC"
USEC = 1763615000_000_000


def chat(server: LiveServer) -> YouTubeChat:
    return YouTubeChat(cases=server.services.usecases, pseudonym=server.services.sender_pseudonym)


async def items(server: LiveServer, meeting: Meeting) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url, headers=TOKEN) as http:
        answer = await http.get(f"/api/meetings/{meeting.id}/items", params={"channel": "youtube"})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


async def say(
    youtube: YouTubeChat, meeting: Meeting, youtube_id: str, text: str, **more: Any
) -> Taken:
    values: dict[str, Any] = {"author": "Айгерім", "channel_id": AUTHOR, "timestamp_usec": USEC}
    return await youtube.message(meeting, youtube_id=youtube_id, text=text, **(values | more))


async def test_a_chat_message_is_a_youtube_comment_added_once(
    server: LiveServer, live_meeting: Meeting
) -> None:
    youtube = chat(server)
    assert await say(youtube, live_meeting, "Ch1", "Сәлем бәріне! 👋") is Taken.ADDED
    assert await say(youtube, live_meeting, "Ch1", "Сәлем бәріне! 👋") is Taken.REPEATED
    paid = await say(
        youtube, live_meeting, "Ch2", "", author="\u202eБауыржан\u202c", amount="2000.00",
        currency="KZT", kind="superchat", timestamp_usec=USEC + 5_000_000,
    )  # fmt: skip
    assert paid is Taken.ADDED
    first, second = await items(server, live_meeting)
    assert first | {"channel": "youtube", "kind": "comment", "name": "Айгерім",
                    "text": "Сәлем бәріне! 👋", "received_at": USEC // 1000,
                    "superchat": None} == first  # fmt: skip
    assert first["contact"] == AUTHOR  # the admin token sees contacts; viewers never do
    assert second["superchat"] == {"amount": "2000.00", "currency": "KZT"}
    assert (second["name"], second["text"]) == ("Бауыржан", "2000.00 KZT")
    assert second["received_at"] == (USEC + 5_000_000) // 1000


async def test_a_youtube_deletion_hides_its_comment_before_or_after_it_comes(
    server: LiveServer, live_meeting: Meeting
) -> None:
    youtube = chat(server)
    await say(youtube, live_meeting, "Sp1", "Купите курс! http://spam.example")
    assert await youtube.removed(live_meeting, "Sp1") is Taken.HIDDEN
    await youtube.removed(live_meeting, "Sp2")  # deleted before we read it
    assert await say(youtube, live_meeting, "Sp2", "Ещё спам") is Taken.HIDDEN
    await youtube.removed(live_meeting, "Sp1")  # deleted twice: nothing more
    found = {i["text"]: (i["status"], i["reason"]) for i in await items(server, live_meeting)}
    assert found == {
        "Купите курс! http://spam.example": ("hidden", "removed_on_youtube"),
        "Ещё спам": ("hidden", "removed_on_youtube"),
    }
    await say(youtube, live_meeting, "Ok1", "Нормальный комментарий")
    async with server.socket(live_meeting.id) as viewer:  # a viewer who comes now
        hello, events = await catch_up(viewer)
    seen = json.dumps([hello, events], ensure_ascii=False)
    assert "Нормальный комментарий" in seen
    assert "спам" not in seen.lower()  # never in viewers' history


async def test_a_youtube_ban_hides_everything_its_author_wrote_and_will_write(
    server: LiveServer, live_meeting: Meeting
) -> None:
    youtube = chat(server)
    await say(youtube, live_meeting, "B1", "Первое", channel_id="UCtroll")
    await say(youtube, live_meeting, "B2", "Второе", channel_id="UCtroll")
    await say(youtube, live_meeting, "G1", "Когда починят дорогу на Абая?")
    await youtube.banned(live_meeting, "UCtroll")
    assert await say(youtube, live_meeting, "B3", "Третье", channel_id="UCtroll") is Taken.HIDDEN
    found = {i["text"]: i["status"] for i in await items(server, live_meeting)}
    assert found == {"Первое": "hidden", "Второе": "hidden", "Третье": "hidden",
                     "Когда починят дорогу на Абая?": "shown"}  # fmt: skip
    asks = {i["text"]: i["asks"] for i in await items(server, live_meeting)}
    assert asks["Когда починят дорогу на Абая?"] is True  # marked for the moderators
    assert asks["Первое"] is False


async def test_the_replay_is_taken_after_the_meeting_but_not_before_it_starts(
    server: LiveServer, live_meeting: Meeting
) -> None:
    youtube = chat(server)
    cases = UseCases(store=server.services.store)
    ended = await change_meeting(cases, live_meeting.id, EndMeeting())
    assert await say(youtube, ended, "R1", "Из записи эфира") is Taken.ADDED
    scheduled = await create_meeting(cases, meeting_command())
    assert await say(youtube, scheduled, "R2", "До эфира") is Taken.REFUSED
    assert [i["text"] for i in await items(server, ended)] == ["Из записи эфира"]


async def test_a_display_name_that_reads_as_an_official_is_dropped_not_the_comment(
    server: LiveServer, live_meeting: Meeting
) -> None:
    youtube = chat(server)
    assert (
        await say(youtube, live_meeting, "N1", "Всем привет", author="Аким города") is Taken.ADDED
    )
    (item,) = await items(server, live_meeting)
    assert (item["name"], item["text"]) == ("", "Всем привет")
