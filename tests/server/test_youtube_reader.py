"""The YouTube chat reader and follower (issue 11) through the real `halyq youtube` command, a
real server and Redis, and a stand-in for yt-dlp (`tests/fake_ytdlp.py`) that writes the real
live-chat lines where yt-dlp would: YouTube itself is the one edge out of reach offline.

Comments are counted as akimat systems read them: `GET /api/meetings/{id}/items?channel=youtube`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from moderation import Meeting
from recordings.livechat import ChatMessage, parse
from server.auth.accounts import Role, Session, User, hash_password
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, create_meeting
from server.usecases.youtube import YouTubeChat
from server.youtube.follower import SOURCE, ytdlp_command
from server.youtube.reader import NoMeeting, Reader
from tests.conftest import meeting_command
from tests.helpers import ROOT, TIMEOUT, LiveServer, environment, live_server, wait_for

pytestmark = pytest.mark.anyio

TOKEN = {"Authorization": "Bearer test-admin-token"}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LIVE = FIXTURES / "youtube_live_chat.jsonl"
REPLAY = FIXTURES / "youtube_live_chat_replay.jsonl"
FAKE = Path(__file__).resolve().parent.parent / "fake_ytdlp.py"
STREAM = "https://www.youtube.com/watch?v=fake0000001"
CSRF = "test-csrf-token-for-the-feeds"


def message_ids(*lines: bytes) -> list[str]:
    """YouTube's ids of the chat messages on `lines` (the file's truth, before any reader)."""
    ids = []
    for line in lines:
        ids += [e.id for e in parse(line) if isinstance(e, ChatMessage)]
    return ids


def as_replay(line: bytes) -> bytes:
    """A live-shape line as yt-dlp's replay download of the same stream writes it: the raw
    replay action, its offset inside `replayChatItemAction`, no `isLive`."""
    live = json.loads(line)
    action = {"actions": live["replayChatItemAction"]["actions"],
              "videoOffsetTimeMsec": live["videoOffsetTimeMsec"]}  # fmt: skip
    return json.dumps({"clickTrackingParams": "CAEQl98BIhM", "replayChatItemAction": action},
                      ensure_ascii=False).encode()  # fmt: skip


async def youtube_items(server: LiveServer, meeting_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url, headers=TOKEN) as http:
        answer = await http.get(
            f"/api/meetings/{meeting_id}/items", params={"channel": "youtube", "limit": 1000}
        )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


def no_doubles(items: list[dict[str, Any]]) -> None:
    seen = Counter((i["name"], i["text"], i["received_at"]) for i in items)
    assert [key for key, n in seen.items() if n > 1] == []


def halyq(settings: Settings, *args: str, **more: str) -> list[str]:
    return [sys.executable, "-m", "server", *args, "--data-dir", str(settings.data_dir)]


def env_of(settings: Settings, **more: str) -> dict[str, str]:
    return environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix,
                       **more)  # fmt: skip


async def run(settings: Settings, *args: str, **more: str) -> subprocess.CompletedProcess[str]:
    """A `halyq` command to its end, off the event loop (the server runs on it)."""
    return await asyncio.to_thread(subprocess.run, halyq(settings, *args), cwd=ROOT,
                                   env=env_of(settings, **more), capture_output=True, text=True,
                                   timeout=TIMEOUT * 6)  # fmt: skip


class Process:
    """A `halyq` command running in the background, its output in a file."""

    def __init__(self, settings: Settings, log: Path, *args: str, **more: str) -> None:
        self.log = log
        with log.open("wb") as out:
            command, env = halyq(settings, *args), env_of(settings, **more)
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out,
                                            stderr=subprocess.STDOUT)  # fmt: skip

    def stop(self, number: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(number)
        try:
            return self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop(signal.SIGKILL)


async def test_ingest_follow_tails_a_growing_file_and_a_line_cut_inside_a_character_waits(
    server: LiveServer, live_meeting: Meeting, tmp_path: Path, processes: list[Process]
) -> None:
    """Another process (this test) appends while `halyq youtube ingest --follow` reads; a line
    cut in the middle of a Cyrillic letter is left until its end comes, then read whole."""
    lines = LIVE.read_bytes().splitlines(keepends=True)
    chat = tmp_path / "chat.live_chat.json"
    first, second = lines[:6], lines[6:]
    cut_line = second[0]
    cut = cut_line.index("Автобус".encode()) + 1  # inside the two bytes of "А"
    with chat.open("wb") as out:
        out.write(b"".join(first) + b"not json at all\n\n" + cut_line[:cut])
    reader = Process(server.services.settings, tmp_path / "ingest.log",
                     "youtube", "ingest", live_meeting.id, str(chat), "--follow")  # fmt: skip
    processes.append(reader)
    store = server.services.store
    source = f"file:{chat.resolve()}"
    done = len(b"".join(first)) + len(b"not json at all\n\n")  # a blank line is no line
    await wait_for(lambda: position_is(store, live_meeting.id, source, done), what="first lines")
    assert len(await youtube_items(server, live_meeting.id)) == len(message_ids(*first))
    with chat.open("ab") as out:  # the rest of the cut line, then the rest of the file
        out.write(cut_line[cut:])
        out.flush()
        out.write(b"".join(second[1:]))
    expected = message_ids(*lines)
    await wait_for(lambda: count_is(server, live_meeting.id, len(expected)), what="all lines")
    assert reader.stop() == 0
    found = await youtube_items(server, live_meeting.id)
    no_doubles(found)
    assert any(i["text"].startswith("Автобус №37") for i in found)
    assert "unreadable 1" in reader.output()  # counted, logged once, never fatal
    assert "a line not understood" in reader.output()


async def position_is(store: Store, meeting_id: str, source: str, offset: int) -> bool:
    return await store.feeds.position(meeting_id, source) == offset


async def count_is(server: LiveServer, meeting_id: str, count: int) -> bool:
    return len(await youtube_items(server, meeting_id)) >= count


def many_lines(count: int) -> list[bytes]:
    """`count` distinct text messages in the live shape (one fixture line, new ids and texts)."""
    template = json.loads(LIVE.read_bytes().splitlines()[1])
    lines = []
    for n in range(count):
        action = template["replayChatItemAction"]["actions"][0]["addChatItemAction"]
        body = action["item"]["liveChatTextMessageRenderer"]
        body["id"] = f"ChwKGkMany{n:06d}"
        body["message"] = {"runs": [{"text": f"Сұрақ №{n}: қашан?"}]}
        body["timestampUsec"] = str(1763614841467811 + n * 1000)
        lines.append(json.dumps(template, ensure_ascii=False).encode() + b"\n")
    return lines


async def test_a_reader_killed_in_the_middle_and_started_again_adds_nothing_twice(
    server: LiveServer, live_meeting: Meeting, tmp_path: Path, processes: list[Process]
) -> None:
    total = 400
    chat = tmp_path / "many.live_chat.json"
    chat.write_bytes(b"".join(many_lines(total)))
    settings = server.services.settings
    reader = Process(settings, tmp_path / "first.log",
                     "youtube", "ingest", live_meeting.id, str(chat), "--follow")  # fmt: skip
    processes.append(reader)
    await wait_for(lambda: count_is(server, live_meeting.id, 40), what="some lines read")
    reader.stop(signal.SIGKILL)  # kill -9: no chance to store anything more
    at_kill = len(await youtube_items(server, live_meeting.id))
    assert 40 <= at_kill < total, "killed in the middle"
    again = await run(settings, "youtube", "ingest", live_meeting.id, str(chat))
    assert again.returncode == 0, again.stderr
    found = await youtube_items(server, live_meeting.id)
    assert len(found) == total
    no_doubles(found)
    summary = again.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"added {total - at_kill},"), summary  # resumed where it stopped
    assert "repeated 0" in summary or "repeated 1," in summary  # at most the line it was in


async def test_the_live_and_the_replay_file_of_one_stream_add_each_item_once(
    server: LiveServer, live_meeting: Meeting, tmp_path: Path
) -> None:
    live = LIVE.read_bytes().splitlines(keepends=True)
    replay = tmp_path / "replay.live_chat.json"  # the same stream, downloaded after it ended
    replay.write_bytes(b"\n".join([*(as_replay(line) for line in live),
                                   *REPLAY.read_bytes().splitlines()]) + b"\n")  # fmt: skip
    settings = server.services.settings
    first = await run(settings, "youtube", "ingest", live_meeting.id, str(LIVE))
    assert first.returncode == 0, first.stderr
    second = await run(settings, "youtube", "ingest", live_meeting.id, str(replay))
    assert second.returncode == 0, second.stderr
    once = set(message_ids(*live, *REPLAY.read_bytes().splitlines()))
    found = await youtube_items(server, live_meeting.id)
    assert len(found) == len(once)
    no_doubles(found)
    assert f"repeated {len(set(message_ids(*live)))}," in second.stdout
    hidden = [i for i in found if i["status"] == "hidden"]
    assert hidden
    assert {i["reason"] for i in hidden} == {"removed_on_youtube"}
    again = await run(settings, "youtube", "ingest", live_meeting.id, str(replay))
    assert again.stdout.startswith("added 0, repeated 0,"), again.stdout  # its place was kept


async def test_ingest_refuses_a_missing_file_or_meeting_with_a_clear_message(
    server: LiveServer, live_meeting: Meeting, tmp_path: Path
) -> None:
    settings = server.services.settings
    missing = await run(settings, "youtube", "ingest", live_meeting.id, str(tmp_path / "none.json"))
    assert (missing.returncode, missing.stderr.strip()) == (
        1, f"halyq: youtube ingest: no file {str(tmp_path / 'none.json')!r}")  # fmt: skip
    nobody = await run(settings, "youtube", "ingest", "no-such-meeting", str(LIVE))
    assert (nobody.returncode, nobody.stderr.strip()) == (1, "halyq: no meeting 'no-such-meeting'")
    nobody = await run(settings, "youtube", "follow", "no-such-meeting", STREAM)
    assert (nobody.returncode, nobody.stderr.strip()) == (1, "halyq: no meeting 'no-such-meeting'")
    refused = await run(settings, "youtube", "follow", live_meeting.id, "file:///etc/passwd")
    assert refused.returncode == 1
    assert "only http and https" in refused.stderr
    elsewhere = await run(
        settings, "youtube", "follow", live_meeting.id, "https://example.com/live"
    )
    assert "HALYQ_ARCHIVE_HOSTS" in elsewhere.stderr
    assert elsewhere.returncode == 1
    usage = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "server", "youtube"],
                                    capture_output=True, text=True, cwd=ROOT, env=env_of(settings),
                                    timeout=TIMEOUT)  # fmt: skip
    assert usage.returncode == 2
    assert "ingest" in usage.stdout


async def test_a_scheduled_meeting_refuses_the_chat_and_a_missing_one_stops_the_reader(
    server: LiveServer, tmp_path: Path
) -> None:
    services = server.services
    meeting = await create_meeting(services.usecases, meeting_command())  # not started
    chat = YouTubeChat(cases=services.usecases, pseudonym=services.sender_pseudonym)
    reader = Reader(chat=chat, meeting_id=meeting.id, source="test")
    lines = LIVE.read_bytes().splitlines()
    for n, line in enumerate(lines[:4]):
        await reader.take(line, n + 1)
    assert reader.tally.as_dict() == {"added": 0, "repeated": 0, "hidden": 0, "refused": 3,
                                      "unreadable": 0}  # fmt: skip
    assert await reader.position() == 4
    gone = Reader(chat=chat, meeting_id="m-nobody", source="test")
    with pytest.raises(NoMeeting):
        await gone.take(lines[1], 1)


# The follower: yt-dlp supervised, its file tailed, the feed's health reported


def fake(*options: str) -> str:
    return " ".join([sys.executable, str(FAKE), *options])


async def staff_client(server: LiveServer, role: Role = Role.MODERATOR) -> httpx.AsyncClient:
    """A signed-in staff member's HTTP client (a real session in the real store)."""
    staff = server.services.staff
    name = f"{role.value}-{time.monotonic_ns()}"
    now = time.time()
    await staff.add_user(User(name=name, role=role, password_hash=hash_password("x" * 12),
                              created=now))  # fmt: skip
    session = f"session-{time.monotonic_ns()}"
    await staff.create_session(session, Session(name=name, role=role, created=now,
                                                last_seen=now, csrf=CSRF))  # fmt: skip
    return httpx.AsyncClient(base_url=server.url, cookies={"halyq_session": session},
                             headers={"X-CSRF-Token": CSRF})  # fmt: skip


async def feed(http: httpx.AsyncClient, meeting_id: str) -> dict[str, Any]:
    answer = await http.get(f"/api/meetings/{meeting_id}/feeds")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body["feeds"][0] if body["feeds"] else {}


@pytest.fixture
def quick(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(youtube_stall_seconds=1.0, data_dir=tmp_path / "data")


async def test_follow_restarts_an_exiting_ytdlp_and_the_feed_says_it_exited(
    quick: Settings, tmp_path: Path, processes: list[Process]
) -> None:
    """`halyq youtube follow`: yt-dlp exits (the stream ended, YouTube changed), it is started
    again with a growing pause, its error line is shown; each chat item is added once."""
    async with live_server(quick) as server:
        meeting = await started(server)
        follower = Process(quick, tmp_path / "follow.log", "youtube", "follow", meeting.id, STREAM,
                           HALYQ_YTDLP_COMMAND=fake("--fake-end", "exit"))  # fmt: skip
        processes.append(follower)
        expected = len(set(message_ids(*LIVE.read_bytes().splitlines())))
        async with await staff_client(server) as http:
            await wait_for(lambda: restarted(http, meeting.id, 2), what="two restarts")
            state = await feed(http, meeting.id)
            assert state["state"] in ("restarting", "following")
            assert state["error"] == "ERROR: [youtube] fake0000001: This live event has ended."
            assert state["repeated"] >= expected  # the second run re-sent the same chat
            found = await youtube_items(server, meeting.id)
            assert len(found) == expected
            no_doubles(found)
            assert follower.stop() == 0
            stopped = await feed(http, meeting.id)
            assert (stopped["state"], stopped["warning"]) == ("stopped", "exited")
        assert "added " in follower.output()


async def restarted(http: httpx.AsyncClient, meeting_id: str, times: int) -> bool:
    state = await feed(http, meeting_id)
    return bool(state) and state["restarts"] >= times and state["warning"] == "exited"


async def started(server: LiveServer) -> Meeting:
    from moderation import StartMeeting
    from server.usecases import change_meeting

    cases: UseCases = server.services.usecases
    meeting = await create_meeting(cases, meeting_command())
    return await change_meeting(cases, meeting.id, StartMeeting())


async def test_a_feed_whose_file_stops_growing_is_stalled_and_a_dead_follower_stopped(
    quick: Settings, tmp_path: Path, processes: list[Process]
) -> None:
    async with live_server(quick) as server:
        meeting = await started(server)
        follower = Process(quick, tmp_path / "follow.log", "youtube", "follow", meeting.id, STREAM,
                           HALYQ_YTDLP_COMMAND=fake("--fake-end", "cut"))  # fmt: skip
        processes.append(follower)
        async with await staff_client(server) as http:
            await wait_for(lambda: delivered(http, meeting.id, 30), what="the chat read")
            await wait_for(lambda: warned(http, meeting.id, "stalled"), what="a stalled feed")
            state = await feed(http, meeting.id)
            assert state["state"] == "following"
            assert state["items_last_minute"] > 30
            assert state["last_item_at"] is not None
            path = f"/api/meetings/{meeting.id}/feeds/youtube"
            taken = await http.post(path, json={"url": STREAM})  # followed by the command
            assert taken.status_code == 409, taken.text
            ytdlp = psutil.Process(follower.process.pid).children(recursive=True)
            assert ytdlp, "the follower runs yt-dlp"
            follower.stop(signal.SIGKILL)  # its reports stop, and its yt-dlp dies with it
            await wait_for(lambda: state_is(http, meeting.id, "stopped"), timeout=TIMEOUT * 2,
                           what="a follower that stopped reporting")  # fmt: skip
            assert (await feed(http, meeting.id))["warning"] == "exited"
            await wait_for(lambda: all_gone(ytdlp), what="yt-dlp ending with its follower")


async def all_gone(processes: list[psutil.Process]) -> bool:
    """Every one of `processes` has ended (a zombie not yet reaped by its new parent has)."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                return False
    return True


async def delivered(http: httpx.AsyncClient, meeting_id: str, count: int) -> bool:
    return int((await feed(http, meeting_id)).get("items_last_minute", 0)) > count


async def warned(http: httpx.AsyncClient, meeting_id: str, warning: str) -> bool:
    return (await feed(http, meeting_id)).get("warning") == warning


async def state_is(http: httpx.AsyncClient, meeting_id: str, state: str) -> bool:
    return (await feed(http, meeting_id)).get("state") == state


async def test_the_console_starts_a_follower_owned_by_the_server(quick: Settings) -> None:
    """`POST /api/meetings/{id}/feeds/youtube`: 202, then 409 while it runs; bad input gets 400
    naming `url`; a role that may not moderate gets 403; the app's end stops it."""
    settings = quick.replace(ytdlp_command=fake("--fake-end", "hang"))
    async with live_server(settings) as server:
        meeting = await started(server)
        path = f"/api/meetings/{meeting.id}/feeds/youtube"
        async with await staff_client(server) as http:
            assert (await http.post(path, content=b"{")).json()["field"] == "url"
            refused = await http.post(path, json={"url": "file:///etc/passwd"})
            assert (refused.status_code, refused.json()["field"]) == (400, "url")
            nowhere = await http.post("/api/meetings/m-nobody/feeds/youtube", json={"url": STREAM})
            assert nowhere.status_code == 404
            assert (await http.get("/api/meetings/m-nobody/feeds")).status_code == 404
            taken = await http.post(path, json={"url": STREAM})
            assert taken.status_code == 202, taken.text
            assert taken.json()["feed"]["url"] == STREAM
            again = await http.post(path, json={"url": STREAM})
            assert again.status_code == 409
            expected = len(set(message_ids(*LIVE.read_bytes().splitlines())))
            await wait_for(lambda: count_is(server, meeting.id, expected), what="the chat")
        async with await staff_client(server, Role.OPERATOR) as operator:
            assert (await operator.post(path, json={"url": STREAM})).status_code == 403
            assert (await feed(operator, meeting.id))["state"] == "following"
    states = await store_states(settings, meeting.id)
    assert states[SOURCE]["state"] == "stopped"  # stopped with the app, yt-dlp with it


async def store_states(settings: Settings, meeting_id: str) -> dict[str, dict[str, Any]]:
    store = Store(settings.redis_url, settings.redis_prefix)
    try:
        return await store.feeds.states(meeting_id)
    finally:
        await store.close()


def test_yt_dlp_is_this_python_s_module_unless_a_command_is_set(settings: Settings) -> None:
    assert ytdlp_command(settings) == [sys.executable, "-m", "yt_dlp"]  # the pinned wheel
    fake_one = settings.replace(ytdlp_command=f"{sys.executable} '{FAKE}' --fake-end hang")
    assert ytdlp_command(fake_one) == [sys.executable, str(FAKE), "--fake-end", "hang"]
