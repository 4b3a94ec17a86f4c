"""The broadcast's routes and the ingest's gate on a real server and Redis (issue 16): our HLS
with its cache headers, only the manager's names served (no path trick reaches another file),
the status for staff only, from this node or another's snapshot, and who the ingest lets in.

The ingest's files are written here as the manager lays them out (`folder/<id>/hls/`): what is
tested is what the routes serve; ffmpeg making them is tests/e2e/test_broadcast.py's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from moderation import EndMeeting, Meeting
from server.auth.accounts import Role
from server.auth.keys import KeyKind, current_key
from server.ingest import APP, SNAPSHOT_TTL, Ingest
from server.settings import Settings, SettingsError
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.consoles import open_session
from tests.helpers import TIMEOUT, LiveServer, cli, free_port, live_server, wait_for

pytestmark = pytest.mark.anyio

PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nlive/p0001-00001.ts\n"
SEGMENT = b"\x47" + bytes(187)  # one MPEG-TS packet
YOUTUBE = "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-wxyz"


@pytest.fixture
async def ingest_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server with the ingest on (a free RTMP port): the HLS routes serve its folder."""
    async with live_server(settings.replace(rtmp_port=free_port())) as live:
        yield live


def ingest_of(server: LiveServer) -> Ingest:
    ingest: Ingest = server.app.state.ingest
    return ingest


def hls_folder(settings: Settings, meeting_id: str) -> Path:
    folder = settings.data_dir / "broadcast" / meeting_id / "hls"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_our_hls_is_served_with_its_cache_headers(
    ingest_server: LiveServer, settings: Settings, live_meeting: Meeting
) -> None:
    base = f"/m/{live_meeting.id}"
    async with httpx.AsyncClient(base_url=ingest_server.url) as http:
        before = await http.get(f"{base}/live.m3u8")
        assert (before.status_code, before.text) == (404, "no broadcast yet")
        assert before.headers["cache-control"] == "no-cache"  # a player asks again soon

        hls = hls_folder(settings, live_meeting.id)
        (hls / "live.m3u8").write_text(PLAYLIST)
        (hls / "p0001-00001.ts").write_bytes(SEGMENT)
        (hls / "low.m3u8").write_text(PLAYLIST)
        playlist = await http.get(f"{base}/live.m3u8")
        assert playlist.status_code == 200
        assert playlist.text == PLAYLIST
        assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert playlist.headers["cache-control"] == "no-cache"
        head = await http.head(f"{base}/live.m3u8")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == str(len(PLAYLIST))

        segment = await http.get(f"{base}/live/p0001-00001.ts")
        assert (segment.status_code, segment.content) == (200, SEGMENT)
        assert segment.headers["content-type"] == "video/mp2t"
        assert segment.headers["cache-control"] == "public, max-age=86400, immutable"
        assert (await http.head(f"{base}/live/p0001-00001.ts")).status_code == 200
        rendition = await http.get(f"{base}/live/low.m3u8")  # a lower rendition's playlist
        assert rendition.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert rendition.headers["cache-control"] == "no-cache"

        assert (await http.get(f"{base}/live/p0001-00002.ts")).status_code == 404  # not yet
        assert (await http.get("/m/other-meeting/live.m3u8")).status_code == 404


async def test_no_path_trick_reaches_another_file(
    ingest_server: LiveServer, settings: Settings, live_meeting: Meeting
) -> None:
    hls = hls_folder(settings, live_meeting.id)
    (hls / "live.m3u8").write_text(PLAYLIST)
    (hls / "notes.txt").write_text("not a segment")
    recording = hls.parent / "recording"
    recording.mkdir()
    (recording / "part-0001.ts").write_bytes(SEGMENT)
    (settings.data_dir / "secret.ts").write_bytes(SEGMENT)
    base = f"/m/{live_meeting.id}/live/"
    tricks = ["notes.txt", "..%2frecording%2fpart-0001.ts", "..%2f..%2f..%2fsecret.ts",
              "%2e%2e%2fsecret.ts", "live.m3u8%00.ts", "p0001-00001.ts%2f..%2fnotes.txt",
              "%2fetc%2fpasswd", "..\\secret.ts", "a" * 200 + ".ts"]  # fmt: skip
    async with httpx.AsyncClient(base_url=ingest_server.url) as http:
        for trick in tricks:
            answer = await http.get(base + trick)
            assert answer.status_code == 404, (trick, answer.status_code)
            assert answer.content != SEGMENT
        for path in (f"/m/..%2f{live_meeting.id}/live.m3u8", "/m/%2e%2e/live.m3u8"):
            assert (await http.get(path)).status_code == 404, path
    for raw in ("../recording/part-0001.ts", "../../../secret.ts", "..", "./live.m3u8"):
        assert await raw_status(ingest_server, base + raw) == 404, raw  # as sent, unnormalised


async def raw_status(server: LiveServer, path: str) -> int:
    """The status of a GET of `path` exactly as written (httpx would resolve its dots)."""
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status_line = await asyncio.wait_for(reader.readline(), TIMEOUT)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_without_the_ingest_there_is_no_broadcast(
    server: LiveServer, settings: Settings, live_meeting: Meeting
) -> None:
    (hls_folder(settings, live_meeting.id) / "live.m3u8").write_text(PLAYLIST)
    async with httpx.AsyncClient(base_url=server.url) as http:
        playlist = await http.get(f"/m/{live_meeting.id}/live.m3u8")
        assert (playlist.status_code, playlist.text) == (404, "no broadcast yet")
        segment = await http.get(f"/m/{live_meeting.id}/live/p0001-00001.ts")
        assert segment.status_code == 404
        assert "broadcast" not in (await http.get("/readyz")).json()  # the ingest is off


async def test_the_status_is_for_staff_and_the_producer_key(
    ingest_server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    await store.broadcasts.add_output(live_meeting.id, "youtube", YOUTUBE, replace=False)
    producer = await current_key(store, live_meeting.id, KeyKind.PRODUCER)
    path = f"/api/meetings/{live_meeting.id}/broadcast"
    sessions = {role: await open_session(store, role.value, role) for role in Role}
    async with httpx.AsyncClient(base_url=ingest_server.url) as http:
        assert (await http.get(path)).status_code == 401
        wrong = {"Authorization": "Bearer not-a-key"}
        assert (await http.get(path, headers=wrong)).status_code == 403
        for role, session_id in sessions.items():
            answer = await http.get(path, headers={"Cookie": f"halyq_session={session_id}"})
            allowed = role in (Role.ADMIN, Role.MODERATOR, Role.PRODUCER)
            assert answer.status_code == (200 if allowed else 403), role
        by_key = await http.get(path, headers={"Authorization": f"Bearer {producer}"})
        admin = {"Authorization": "Bearer test-admin-token"}
        by_admin = await http.get(path, headers=admin)
        unknown = await http.get("/api/meetings/no-such-meeting/broadcast", headers=admin)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    assert by_key.json() == by_admin.json()
    assert by_key.headers["cache-control"] == "no-store"
    assert by_key.json() == {
        "meeting": live_meeting.id,
        "state": "waiting",
        "ingest": {"state": "waiting", "since": 0, "bitrate_kbps": 0, "part": 0,
                   "grace_until": 0, "video": "", "audio": ""},
        "hls": {"state": "stopped", "playlist": f"/m/{live_meeting.id}/live.m3u8",
                "restarts": 0, "low_rendition": 0},
        "outputs": [{"name": "youtube", "url": "rtmp://a.rtmp.youtube.com/live2/****wxyz",
                     "state": "stopped", "restarts": 0, "error": "", "retry_at": 0,
                     "bitrate_kbps": 0}],
        "recording": {"bytes": 0, "parts": []},
    }  # fmt: skip
    assert "abcd-efgh" not in by_key.text  # the destination's key is a secret


async def test_another_nodes_snapshot_answers_for_the_broadcast_it_runs(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """A node without the ingest answers from the snapshot the ingest's node writes."""
    elsewhere = {"meeting": live_meeting.id, "state": "live", "ingest": {"bitrate_kbps": 2510}}
    await store.broadcasts.report(live_meeting.id, elsewhere, SNAPSHOT_TTL)
    admin = {"Authorization": "Bearer test-admin-token"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        found = await http.get(f"/api/meetings/{live_meeting.id}/broadcast", headers=admin)
    assert found.json() == elsewhere


async def test_the_ingest_lets_in_only_a_live_meetings_stream_key(
    ingest_server: LiveServer, settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    ingest = ingest_of(ingest_server)
    cases = UseCases(store=store)
    scheduled = await create_meeting(cases, meeting_command(), meeting_id="not-yet")
    key = await current_key(store, live_meeting.id, KeyKind.STREAM)
    early = await current_key(store, scheduled.id, KeyKind.STREAM)
    peer = "127.0.0.1:50000"
    assert await ingest.authorize("other-app", key, peer) is None
    assert await ingest.authorize(APP, key + "x", peer) is None
    assert await ingest.authorize(APP, "", peer) is None
    assert await ingest.authorize(APP, early, peer) is None  # R3: not live yet
    session = await ingest.authorize(APP, key, peer)
    assert session is not None
    assert await ingest.authorize(APP, key, "127.0.0.1:50001") is None  # its studio is in
    assert ingest.broadcasts is not None
    assert live_meeting.id in ingest.broadcasts.live
    async with httpx.AsyncClient(base_url=ingest_server.url) as http:
        ready = (await http.get("/readyz")).json()
        assert ready["broadcast"] == {"rtmp": ingest.port, "live": 1}

        # R3: the broadcast ends with the meeting (the snapshot loop sees it end)
        await change_meeting(cases, live_meeting.id, EndMeeting())

        async def ended() -> bool:
            found = await store.broadcasts.status(live_meeting.id)
            return found is not None and found["state"] == "ended"

        await wait_for(ended, what="the snapshot to say the broadcast ended")
        assert live_meeting.id not in ingest.broadcasts.live
        assert (await http.get("/readyz")).json()["broadcast"]["live"] == 0
        # Once the snapshot has lapsed, this node still knows how its broadcast ended.
        snapshot = f"{settings.redis_prefix}m:{{{live_meeting.id}}}:broadcast"
        assert cli(settings.redis_url, "DEL", snapshot) == "1"
        admin = {"Authorization": "Bearer test-admin-token"}
        found = await http.get(f"/api/meetings/{live_meeting.id}/broadcast", headers=admin)
        assert found.json()["state"] == "ended"
        assert found.json()["ingest"]["part"] == 0  # no media came: no part


async def test_a_port_taken_stops_the_start_unless_another_worker_has_it(
    server: LiveServer,
) -> None:
    """With `HALYQ_WORKERS` > 1 the first worker to bind the RTMP port runs the ingest; a single
    process that cannot bind it does not start (as with the HTTP port)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = server.services.settings.replace(rtmp_port=port)
        alone = Ingest(dataclasses.replace(server.services, settings=settings))
        with pytest.raises(SettingsError, match=f"cannot listen on 127.0.0.1:{port} \\(RTMP\\)"):
            await alone.start()
        await alone.stop()
        many = settings.replace(workers=2)
        worker = Ingest(dataclasses.replace(server.services, settings=many))
        await worker.start()
        try:
            assert (worker.rtmp, worker.port) == (None, 0)
            assert worker.broadcasts is not None  # it serves the files the other one writes
        finally:
            await worker.stop()
