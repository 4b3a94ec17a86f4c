"""The broadcast's state in the record (issue 16): `broadcast.changed` appended once per (part,
state) on the real Redis, folded into the meeting, sent to viewers' and staff's sockets, and in
the viewer page's config for a page opened mid-broadcast; the page plays our own HLS when the
meeting names no stream and the ingest is on."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from moderation import EndMeeting, InvalidInput, Meeting, NotFound, StartMeeting, apply
from moderation.events import BroadcastChanged, Event
from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.broadcast import broadcast_changed
from tests.conftest import meeting_command
from tests.consoles import Console, console, open_session
from tests.helpers import LiveServer, catch_up, free_port, live_server, recv_until

pytestmark = pytest.mark.anyio

AT = 1_796_050_000_000


async def record_of(store: Store, meeting_id: str) -> list[Event]:
    """Every event of the meeting's record, oldest first."""
    events: list[Event] = []
    async for entries in store.record.replay(meeting_id, "0-0"):
        events += [event for _, event in entries]
    return events


async def broadcasts(store: Store, meeting_id: str) -> list[BroadcastChanged]:
    return [e for e in await record_of(store, meeting_id) if isinstance(e, BroadcastChanged)]


async def test_r3_each_state_of_each_part_is_recorded_once_and_folded_into_the_meeting(
    store: Store, live_meeting: Meeting
) -> None:
    cases, meeting_id = UseCases(store=store), live_meeting.id
    for _ in range(2):  # a repeated call (a retry, or a second node's report) adds nothing
        await broadcast_changed(cases, meeting_id, "live", 1, AT)
    await broadcast_changed(cases, meeting_id, "reconnecting", 1, AT + 5_000)
    await broadcast_changed(cases, meeting_id, "live", 2, AT + 9_000)
    await broadcast_changed(cases, meeting_id, "live", 2, AT + 9_500)
    assert await broadcasts(store, meeting_id) == [
        BroadcastChanged(at=AT, state="live", part=1),
        BroadcastChanged(at=AT + 5_000, state="reconnecting", part=1),
        BroadcastChanged(at=AT + 9_000, state="live", part=2),
    ]
    stored = await store.meetings.get(meeting_id)
    assert stored is not None
    assert stored.broadcast == "live"
    replayed = None  # the record rebuilds the meeting's projection, its broadcast too
    for event in await record_of(store, meeting_id):
        replayed = apply(replayed, event, meeting_id=meeting_id)
    assert replayed == stored


async def test_r3_a_meeting_that_ended_gets_the_end_of_its_broadcast_only(
    store: Store, live_meeting: Meeting
) -> None:
    cases, meeting_id = UseCases(store=store), live_meeting.id
    await broadcast_changed(cases, meeting_id, "live", 1, AT)
    await change_meeting(cases, meeting_id, EndMeeting())
    await broadcast_changed(cases, meeting_id, "live", 2, AT + 1)  # a studio too late: nothing
    await broadcast_changed(cases, meeting_id, "reconnecting", 1, AT + 2)
    await broadcast_changed(cases, meeting_id, "ended", 1, AT + 3)
    await broadcast_changed(cases, meeting_id, "ended", 1, AT + 4)
    assert await broadcasts(store, meeting_id) == [
        BroadcastChanged(at=AT, state="live", part=1),
        BroadcastChanged(at=AT + 3, state="ended", part=1),
    ]
    stored = await store.meetings.get(meeting_id)
    assert stored is not None
    assert (stored.status.value, stored.broadcast) == ("ended", "ended")


async def test_a_bad_state_part_or_meeting_is_refused_and_records_nothing(
    store: Store, live_meeting: Meeting
) -> None:
    cases, meeting_id = UseCases(store=store), live_meeting.id
    before = await record_of(store, meeting_id)
    with pytest.raises(InvalidInput, match="state"):
        await broadcast_changed(cases, meeting_id, "paused", 1, AT)
    with pytest.raises(InvalidInput, match="part"):
        await broadcast_changed(cases, meeting_id, "live", 0, AT)
    with pytest.raises(NotFound):
        await broadcast_changed(cases, "no-such-meeting", "live", 1, AT)
    assert await record_of(store, meeting_id) == before


async def test_two_reports_of_one_change_at_once_record_it_once(
    store: Store, live_meeting: Meeting
) -> None:
    """Two nodes' managers (or a retry racing the first call): the idempotency guard lets one
    append, whichever comes first."""
    cases = UseCases(store=store)
    await asyncio.gather(
        *(broadcast_changed(cases, live_meeting.id, "live", 1, AT + n) for n in range(5))
    )
    found = await broadcasts(store, live_meeting.id)
    assert [(e.state, e.part) for e in found] == [("live", 1)]


# On a real server: the sockets and the viewer page


@pytest.fixture
async def ingest(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server whose RTMP ingest is on (a free loopback port)."""
    on = Settings(**{**vars_of(settings), "rtmp_port": free_port(), "rtmp_host": "127.0.0.1"})
    async with live_server(on) as live:
        yield live


def vars_of(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


async def next_broadcast(ws: ClientConnection) -> dict[str, Any]:
    def has(frame: dict[str, Any]) -> bool:
        return frame["type"] == "events" and any(
            e["kind"] == "broadcast.changed" for e in frame["events"]
        )

    frame, _ = await recv_until(ws, has)
    found: dict[str, Any] = next(e for e in frame["events"] if e["kind"] == "broadcast.changed")
    return found


async def test_r3_viewers_and_staff_receive_the_change_and_a_page_opened_later_has_it(
    ingest: LiveServer, store: Store
) -> None:
    meeting = await create_meeting(UseCases(store=store), meeting_command())
    cases = ingest.services.usecases
    await change_meeting(cases, meeting.id, StartMeeting())
    session = await open_session(store, "dana", Role.PRODUCER)
    async with (
        ingest.socket(meeting.id) as viewer,
        console(ingest.url, meeting.id, session) as staff,
    ):
        hello, _ = await catch_up(viewer)
        assert hello["meeting"]["broadcast"] == "waiting"
        await Console(staff).start()
        await broadcast_changed(cases, meeting.id, "live", 1, AT)
        expected = {"kind": "broadcast.changed", "at": AT, "state": "live", "part": 1}
        seen = await next_broadcast(viewer)
        assert seen == expected | {"id": seen["id"]}
        assert await next_broadcast(staff) == expected | {"id": seen["id"], "items": []}
    async with ingest.socket(meeting.id) as later:
        hello, _ = await catch_up(later)
        assert hello["meeting"]["broadcast"] == "live"  # opened mid-broadcast
    async with httpx.AsyncClient(base_url=ingest.url) as http:
        page = await http.get(f"/m/{meeting.id}")
    found = re.search(r'<script type="application/json" id="config">(.*?)</script>', page.text)
    assert found is not None
    assert json.loads(found.group(1))["meeting"]["broadcast"] == "live"
    assert 'data-broadcast="live"' in page.text
    # Our own HLS, played by hls.js (or natively), fetched from this server only.
    assert f'data-src="/m/{meeting.id}/live.m3u8"' in page.text
    assert 'data-own="true"' in page.text
    assert "/static/vendor/hls/hls.min.js?v=" in page.text
    assert "connect-src 'self';" in page.headers["content-security-policy"]


async def test_with_the_ingest_off_a_meeting_with_no_stream_url_has_no_player(
    server: LiveServer, live_meeting: Meeting
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        page = await http.get(f"/m/{live_meeting.id}")
    assert "live.m3u8" not in page.text
    assert 'class="player player-none"' in page.text
