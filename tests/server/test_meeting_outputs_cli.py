"""`halyq meeting outputs` and the studio's stream key in `halyq meeting keys` (issue 16), each
command in its own process on the test Redis: destinations added, listed masked (their stream
keys are secrets) and removed; bad ones refused with a clear error; the RTMP URL and the key."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from moderation import Meeting
from server.auth.keys import KeyKind, current_key, rotate_key, stream_key_meeting
from server.cli.outputs import problem
from server.settings import Settings
from server.store import Store
from tests.helpers import ROOT, TIMEOUT, environment

pytestmark = pytest.mark.anyio

YOUTUBE = "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-wxyz"
FACEBOOK = "rtmps://live-api-s.facebook.com:443/rtmp/FB-1234567890-0-AbCdEfGh9876"


def halyq(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process on the test Redis, with `extra` HALYQ_* settings."""
    env = environment(
        REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix, **extra
    )
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )


async def run(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(halyq, settings, *args, **extra)


def no_secret_in(answer: subprocess.CompletedProcess[str]) -> None:
    for secret in ("abcd-efgh-ijkl-mnop", "FB-1234567890-0-AbCdEf"):
        assert secret not in answer.stdout + answer.stderr


async def test_outputs_are_added_listed_masked_and_removed(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    outputs = ("meeting", "outputs", live_meeting.id)
    added = await run(settings, *outputs, "add", "--name", "youtube", "--url", YOUTUBE)
    assert added.returncode == 0, added.stderr
    assert added.stdout.split() == ["youtube", "rtmp://a.rtmp.youtube.com/live2/****wxyz"]
    no_secret_in(added)
    both = await run(settings, *outputs, "add", "--name", "facebook", "--url", FACEBOOK, "--json")
    assert json.loads(both.stdout) == {
        "meeting": live_meeting.id,
        "outputs": [
            {"name": "facebook", "url": "rtmps://live-api-s.facebook.com:443/rtmp/****9876"},
            {"name": "youtube", "url": "rtmp://a.rtmp.youtube.com/live2/****wxyz"},
        ],
    }
    no_secret_in(both)
    assert await store.broadcasts.outputs(live_meeting.id) == {
        "facebook": FACEBOOK,
        "youtube": YOUTUBE,
    }  # the manager reads the whole URL, key and all

    taken = await run(settings, *outputs, "add", "--name", "youtube", "--url", YOUTUBE + "2")
    assert (taken.returncode, taken.stdout) == (1, "")
    assert "already has an output 'youtube'" in taken.stderr
    assert (await store.broadcasts.outputs(live_meeting.id))["youtube"] == YOUTUBE  # unchanged
    replaced = await run(
        settings, *outputs, "add", "--name", "youtube", "--url", YOUTUBE + "2", "--replace"
    )
    assert replaced.returncode == 0, replaced.stderr
    assert (await store.broadcasts.outputs(live_meeting.id))["youtube"] == YOUTUBE + "2"

    removed = await run(settings, *outputs, "remove", "facebook", "--json")
    assert json.loads(removed.stdout)["outputs"] == [
        {"name": "youtube", "url": "rtmp://a.rtmp.youtube.com/live2/****xyz2"}
    ]
    again = await run(settings, *outputs, "remove", "facebook")
    assert (again.returncode, again.stderr) == (1, "halyq: the meeting has no output 'facebook'\n")
    listed = await run(settings, *outputs, "list")
    assert listed.stdout.split() == ["youtube", "rtmp://a.rtmp.youtube.com/live2/****xyz2"]


async def test_bad_destinations_and_unknown_meetings_are_refused(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    outputs = ("meeting", "outputs", live_meeting.id)
    unknown = ("meeting", "outputs", "no-such-meeting")
    bad, http, *missing = await asyncio.gather(  # each in its own process, at once
        run(settings, *outputs, "add", "--name", "YouTube!", "--url", YOUTUBE),
        run(settings, *outputs, "add", "--name", "web", "--url", "https://x.example/a/b"),
        run(settings, *unknown, "list"),
        run(settings, *unknown, "remove", "youtube"),
        run(settings, *unknown, "add", "--name", "yt", "--url", YOUTUBE),
    )
    assert bad.returncode == 2
    assert bad.stderr == "halyq: --name: 'YouTube!' is not 1-32 of a-z, 0-9, _ and -\n"
    assert http.returncode == 2
    assert http.stderr == "halyq: --url: must start with rtmp:// or rtmps://\n"
    assert await store.broadcasts.outputs(live_meeting.id) == {}  # nothing stored
    for answer in missing:
        assert (answer.returncode, answer.stderr) == (1, "halyq: no meeting 'no-such-meeting'\n")
    assert await store.broadcasts.outputs("no-such-meeting") == {}


@pytest.mark.parametrize(
    ("name", "url", "wrong"),
    [
        ("yt", YOUTUBE, ""),
        ("a" * 32, "rtmps://live-api-s.facebook.com:443/rtmp/KEY", ""),
        ("", YOUTUBE, "--name"),
        ("a" * 33, YOUTUBE, "--name"),
        ("yt", "rtmp://a.rtmp.youtube.com", "no path"),
        ("yt", "rtmp://a.rtmp.youtube.com/", "no path"),
        ("yt", "rtmp:///live2/key", "no host"),
        ("yt", "srt://a.example:9000/live", "rtmp://"),
        ("yt", "a.rtmp.youtube.com/live2/key", "rtmp://"),
        ("yt", "rtmp://a.example:port/live2/key", "not a URL"),
        ("yt", "rtmp://a.example/live2/my key", "space"),
    ],
)
def test_a_destination_is_a_name_and_an_rtmp_url_with_a_host_and_a_path(
    name: str, url: str, wrong: str
) -> None:
    found = problem(name, url)
    assert (found == "") if not wrong else (wrong in found), found


async def test_keys_print_the_studio_rtmp_url_and_rotate_the_stream_key(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    keys = ("meeting", "keys", live_meeting.id, "--base-url", "https://halyq.example.kz/")
    shown = await run(settings, *keys, "--json", HALYQ_RTMP_PORT="1936")
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == ""
    found = json.loads(shown.stdout)
    stream = found["stream_key"]
    assert stream.startswith(f"{live_meeting.id}-")
    assert found["rtmp_url"] == f"rtmp://halyq.example.kz:1936/live/{stream}"
    assert found["urls"]["rtmp_url"] == found["rtmp_url"]  # beside the overlays and feeds
    assert found["urls"]["clock"].startswith("https://halyq.example.kz/overlay/")
    assert await stream_key_meeting(store, stream) == live_meeting.id

    text = await run(settings, "meeting", "keys", live_meeting.id)  # the ingest off: 1935
    assert text.returncode == 0, text.stderr
    assert "HALYQ_RTMP_PORT is not set" in text.stderr
    assert f"stream key:    {stream}" in text.stdout.splitlines()
    assert f"rtmp_url:      rtmp://127.0.0.1:1935/live/{stream}" in text.stdout.splitlines()

    rotated = await run(settings, *keys, "--rotate", "--json", HALYQ_RTMP_PORT="1936")
    new = json.loads(rotated.stdout)
    assert new["stream_key"] != stream
    assert new["producer_key"] != found["producer_key"]  # rotated with the others
    assert await stream_key_meeting(store, stream) is None  # revoked at once
    assert await stream_key_meeting(store, new["stream_key"]) == live_meeting.id


async def test_a_stream_key_opens_only_its_own_meeting_and_only_whole(
    store: Store, live_meeting: Meeting
) -> None:
    key = await current_key(store, live_meeting.id, KeyKind.STREAM)
    assert await current_key(store, live_meeting.id, KeyKind.STREAM) == key  # made once
    tail = key.removeprefix(live_meeting.id)
    assert len(tail) == 25
    assert tail.startswith("-")
    for wrong in ("", "-", tail, key[:-1], key + "x", key[:-1] + ("A" if key[-1] != "A" else "B"),
                  f"other-meeting{tail}", f"x{key}", "a" * 25, "a" * 80):  # fmt: skip
        assert await stream_key_meeting(store, wrong) is None, wrong
    assert await stream_key_meeting(store, key) == live_meeting.id
    assert await rotate_key(store, live_meeting.id, KeyKind.STREAM) != key
    assert await stream_key_meeting(store, key) is None
