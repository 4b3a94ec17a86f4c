"""Facebook Live comments into the one queue (issue 16): the reader against a fake Graph API
that speaks the real JSON (`tests/fakes_graph.py`), a real server and Redis; comments are
counted as akimat systems read them (`GET /api/meetings/{id}/items?channel=facebook`) and the
reader's health as the console reads it (`GET /api/meetings/{id}/feeds`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import Channel, Meeting
from server.channels.graph_live import (
    FACEBOOK,
    RATE_LIMITED,
    REFUSED,
    TOKEN_EXPIRED,
    UNAVAILABLE,
    GraphApi,
    GraphError,
    LiveComment,
    LiveReader,
    created_ms,
    facebook_comment,
)
from server.children import preexec
from server.cli import facebook
from server.settings import Settings
from server.store import Store
from server.usecases import create_meeting
from server.usecases.graph_live import LiveComments, NoMeeting
from tests.conftest import meeting_command
from tests.fakes_graph import (
    TOKEN,
    FakeGraph,
    channel_items,
    fake_graph,
    feed_state,
    graph_fixture,
    graph_reading,
    moderator,
)
from tests.helpers import ROOT, TIMEOUT, LiveServer, free_port, live_server, wait_for

pytestmark = pytest.mark.anyio

LIVE_VIDEO = "911936075671494"
POLL = 0.02  # seconds between polls: backoffs are multiples of it


def sample() -> list[dict[str, Any]]:
    """The documented page's three comments (one without `from`: the page may not see it)."""
    rows: list[dict[str, Any]] = graph_fixture("facebook_live_comments")["data"]
    return rows


def more(first: int, count: int) -> list[dict[str, Any]]:
    return [{"created_time": f"2026-11-30T10:{10 + (n // 60) % 50:02d}:{n % 60:02d}+0000",
             "from": {"name": f"Тұрғын {n}", "id": str(100000 + n)},
             "message": f"Сұрақ нөмірі {n}", "id": f"{LIVE_VIDEO}_{900000 + n}"}
            for n in range(first, first + count)]  # fmt: skip


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with fake_graph() as fake:
        yield fake


def reading(
    server: LiveServer, graph: FakeGraph, meeting: Meeting, poll: float = POLL
) -> contextlib.AbstractAsyncContextManager[LiveReader]:
    """A reader of the live video's comments running until the block ends."""
    return graph_reading(server, graph, meeting, platform=FACEBOOK, target=LIVE_VIDEO, poll=poll)


async def items(server: LiveServer, meeting: Meeting) -> list[dict[str, Any]]:
    return await channel_items(server, meeting.id, "facebook")


async def feed(server: LiveServer, meeting: Meeting) -> dict[str, Any]:
    return await feed_state(server, meeting.id, f"facebook:{LIVE_VIDEO}")


async def count(server: LiveServer, meeting: Meeting, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        found[:] = await items(server, meeting)
        return len(found) >= n

    await wait_for(enough, what=f"{n} facebook comments")
    return found


async def test_pages_of_comments_become_facebook_comments_once_each(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting
) -> None:
    """Four pages (Facebook serving 3 at a time here) through the `after` cursor, oldest
    first, with the names and times Facebook gives; the token never in a URL."""
    graph.page_size = 3
    graph.add(LIVE_VIDEO, *sample(), *more(0, 8))
    async with reading(server, graph, live_meeting) as reader:
        found = await count(server, live_meeting, 11)
        await wait_for(lambda: graph.served("/comments") >= 5, what="a poll past the last page")
    assert len({i["id"] for i in found}) == len(found) == 11
    by_text = {i["text"]: i for i in found}
    first = by_text["Сәлеметсіз бе! Біздің ауладағы жол қашан жөнделеді?"]
    assert first | {"channel": "facebook", "name": "Айгерім Сапарова",
                    "received_at": created_ms("2026-11-30T10:00:02+0000")} == first  # fmt: skip
    assert first["contact"] == "552524095105158"  # the admin sees it; viewers never do
    anonymous = by_text["Когда починят освещение на улице Толе би?"]
    assert (anonymous["name"], anonymous["channel"]) == ("", "facebook")
    assert reader.tally == {"added": 11}
    assert [i["text"] for i in sorted(found, key=lambda i: i["id"])][-1] == "Сұрақ нөмірі 7"
    paths = [(path, query) for path, query, _ in graph.requests]
    assert {path for path, _ in paths} == {f"/v21.0/{LIVE_VIDEO}/comments"}
    assert paths[0][1] | {"order": "chronological", "filter": "stream",
                          "live_filter": "no_filter", "limit": "100"} == paths[0][1]  # fmt: skip
    assert set(paths[0][1]["fields"].split(",")) == {"id", "message", "created_time", "from"}
    assert not any(in_url for _, _, in_url in graph.requests)  # the token: a header only
    assert "after" not in paths[0][1]
    assert paths[1][1]["after"]


async def test_a_restarted_reader_resumes_from_its_cursor_and_adds_nothing_twice(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting
) -> None:
    graph.add(LIVE_VIDEO, *sample())
    async with reading(server, graph, live_meeting):
        await count(server, live_meeting, 3)
    stored = await server.services.store.feeds.cursor(live_meeting.id, f"facebook:{LIVE_VIDEO}")
    assert stored  # kept once the page was taken
    graph.add(LIVE_VIDEO, *more(0, 2))
    graph.rewind = True  # and Facebook serves the first page again
    asked = len(graph.requests)
    async with reading(server, graph, live_meeting) as again:
        await count(server, live_meeting, 5)
        await wait_for(lambda: again.tally.get("added") == 2, what="the two new ones")
    assert graph.requests[asked][1]["after"] == stored  # resumed where the first one stopped
    assert again.tally == {"repeated": 3, "added": 2}
    # A crash between `submit` and storing the cursor: the page is read again, adds nothing.
    await server.services.store.feeds.keep_cursor(live_meeting.id, f"facebook:{LIVE_VIDEO}", "")
    async with reading(server, graph, live_meeting) as third:
        await wait_for(lambda: third.tally.get("repeated") == 5, what="all five read again")
    assert third.tally == {"repeated": 5}
    assert len(await items(server, live_meeting)) == 5


async def test_an_expired_token_a_500_and_a_rate_limit_show_in_health_and_recover(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting
) -> None:
    graph.add(LIVE_VIDEO, *sample()[:1])
    graph.expired = True
    async with reading(server, graph, live_meeting) as reader:
        for problem, fault in ((TOKEN_EXPIRED, "expired"), (UNAVAILABLE, "failing"),
                               (RATE_LIMITED, "limited")):  # fmt: skip
            shown: dict[str, Any] = {}

            async def says(problem: str = problem, shown: dict[str, Any] = shown) -> bool:
                shown.update(await feed(server, live_meeting))
                return shown.get("problem") == problem

            await wait_for(says, what=f"the console shows {problem}")
            assert shown["state"] == "restarting"
            assert shown["warning"] == "exited"
            setattr(graph, fault, False if fault == "expired" else 0)
            await wait_for(lambda: reader.state == "following", what=f"back from {problem}")
            if fault == "expired":
                assert "190" in shown["error"]
                assert "OAuthException" in shown["error"]
                graph.failing = 10_000
            elif fault == "failing":
                assert "HTTP 500" in shown["error"]
                graph.limited = 10_000
            else:
                assert "(#32) Page request limit reached" in shown["error"]
        await count(server, live_meeting, 1)
        recovered: dict[str, Any] = {}

        async def following() -> bool:
            recovered.update(await feed(server, live_meeting))
            return recovered.get("problem") == "" and recovered.get("state") == "following"

        await wait_for(following, what="the console shows it following again")
    assert recovered["error"] == ""
    assert recovered["added"] == 1
    assert recovered["restarts"] >= 3
    assert recovered["url"] == f"facebook: {LIVE_VIDEO}"
    assert TOKEN not in str(recovered)
    assert (await feed(server, live_meeting))["state"] == "stopped"  # the reader ended


async def test_malformed_answers_and_comments_are_skipped_and_lose_nothing(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting, caplog: pytest.LogCaptureFixture
) -> None:
    good, late = more(0, 2)
    graph.add(
        LIVE_VIDEO,
        good,
        {"created_time": "2026-11-30T10:20:00+0000", "message": "без id"},
        {"created_time": "2026-11-30T10:20:01+0000", "id": f"{LIVE_VIDEO}_1",
         "attachment": {"type": "sticker"}},  # a sticker alone: no message
        {"message": "Время неизвестно", "id": f"{LIVE_VIDEO}_2", "created_time": "yesterday",
         "from": "not an object"},
        "not a comment",
        late,
    )  # fmt: skip
    graph.garbled = 1  # the first answer is an HTML error page, not JSON
    with caplog.at_level(logging.WARNING, logger="server.channels.graph_live"):
        async with reading(server, graph, live_meeting) as reader:
            found = await count(server, live_meeting, 3)
            await wait_for(lambda: reader.tally.get("unreadable") == 3, what="three skipped")
    assert sorted(i["text"] for i in found) == sorted(
        [good["message"], late["message"], "Время неизвестно"]
    )
    odd = next(i for i in found if i["text"] == "Время неизвестно")
    assert odd["name"] == ""
    assert odd["received_at"] > 0
    said = caplog.text
    assert "a comment skipped (no id)" in said
    assert "a comment skipped (no message)" in said
    assert "a comment skipped (not an object)" in said
    assert "an answer that is not JSON" in said
    assert reader.restarts == 1


async def test_halyq_facebook_follow_reads_until_sigterm(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting
) -> None:
    """The command as an operator runs it: it reads and reports until SIGTERM, then says what
    it took and leaves the feed `stopped`."""
    graph.add(LIVE_VIDEO, *sample())
    settings = server.services.settings
    env = dict(os.environ, REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix,
               HALYQ_FACEBOOK_PAGE_TOKEN=TOKEN, HALYQ_FACEBOOK_API_BASE=graph.url,
               HALYQ_FACEBOOK_POLL_SECONDS="0.05", HALYQ_LOG_LEVEL="warning")  # fmt: skip
    # Not measured in the child: with coverage started in a child process (coverage 7.17's
    # `patch = subprocess`), anyio 4.16's `connect_tcp` leaks a CancelledError out of any httpx
    # request on this Python 3.11 (a plain `httpx.AsyncClient().get` fails the same way).
    env.pop("COVERAGE_PROCESS_CONFIG", None)
    command = [sys.executable, "-m", "server", "facebook", "follow", live_meeting.id, LIVE_VIDEO]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, stdout=PIPE, stderr=PIPE, preexec_fn=preexec()
    )
    try:
        await count(server, live_meeting, 3)
        source = f"facebook:{LIVE_VIDEO}"

        async def reported() -> bool:
            found = (await server.services.store.feeds.states(live_meeting.id)).get(source)
            return found is not None and found["state"] == "following"

        await wait_for(reported, what="the command's report")
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert out.decode().strip().endswith("added 3")
    states = await server.services.store.feeds.states(live_meeting.id)
    assert states[source]["state"] == "stopped"
    assert len(await items(server, live_meeting)) == 3


async def test_the_follow_commands_resume_and_say_what_is_wrong(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting, capsys: pytest.CaptureFixture[str]
) -> None:
    """`halyq facebook|instagram follow ... --once`, parsed and run as `halyq` does, in this
    process: a second run resumes (nothing new), and every refusal is one line on stderr."""
    graph.add(LIVE_VIDEO, *sample())
    settings = server.services.settings.replace(facebook_page_token=TOKEN,
                                                facebook_api_base=graph.url)  # fmt: skip
    parser = argparse.ArgumentParser(prog="halyq")
    facebook.add_parser(parser.add_subparsers())

    async def halyq(*argv: str, given: Settings = settings) -> tuple[int, str, str]:
        args = parser.parse_args(argv)
        code = await asyncio.to_thread(args.run, args, given)
        said = capsys.readouterr()
        return code, said.out, said.err

    follow = ("facebook", "follow", live_meeting.id, LIVE_VIDEO, "--once")
    assert (await halyq(*follow))[:2] == (0, "added 3\n")
    assert (await halyq(*follow))[:2] == (0, "nothing\n")  # resumed from the stored cursor
    assert len(await items(server, live_meeting)) == 3
    graph.live["17841405822304914"] = []
    ig = ("instagram", "follow", live_meeting.id, "17841405822304914", "--once")
    assert (await halyq(*ig))[:2] == (0, "nothing\n")  # not live: nothing to read
    graph.expired = True
    code, _, err = await halyq(*follow)
    assert (code, TOKEN in err) == (1, False)
    assert err.startswith("halyq: facebook follow: Graph API error 190 (HTTP 400)")
    refusals = {
        ("facebook", "follow", "m-nobody", LIVE_VIDEO, "--once"): "no meeting 'm-nobody'",
        ("facebook", "follow", live_meeting.id, "fb.watch/x"): "live_video_id is a number",
    }
    for argv, reason in refusals.items():
        code, _, err = await halyq(*argv)
        assert (code, reason in err) == (1, True), err
    code, _, err = await halyq(*follow, given=settings.replace(facebook_page_token=""))
    assert (code, err) == (1, "halyq: facebook follow: set HALYQ_FACEBOOK_PAGE_TOKEN\n")
    assert (await halyq("instagram"))[0] == 2  # no command: its help


def test_graph_errors_are_sorted_by_what_to_do() -> None:
    """190 waits for a new token; 4, 17, 32, 613 and HTTP 429 back off; 5xx and no answer are
    tried again; any other refusal is said as Graph said it."""
    assert GraphError(400, 190, "expired").problem == TOKEN_EXPIRED
    for code in (4, 17, 32, 613):
        assert GraphError(400, code, "limit").problem == RATE_LIMITED
    assert GraphError(429, 0, "").problem == RATE_LIMITED
    assert GraphError(503, 0, "").problem == GraphError(0, 0, "ConnectTimeout").problem
    assert GraphError(0, 0, "ConnectTimeout").problem == UNAVAILABLE
    assert GraphError(400, 100, "Unsupported get request").problem == REFUSED
    assert str(GraphError(0, 0, "ReadTimeout")) == "Graph API (no answer): ReadTimeout"
    assert facebook_comment({"id": "1_2", "message": "Сәлем"}).created_ms == 0


async def test_the_console_starts_a_reader_in_the_server(
    settings: Settings, store: Store, graph: FakeGraph, live_meeting: Meeting
) -> None:
    """`POST /api/meetings/{id}/feeds/facebook` (and `/instagram`), as the YouTube button:
    202 and the comments come; 409 while it reads; bad input 400 naming the field; 404; the
    reader stops with the server."""
    graph.add(LIVE_VIDEO, *sample())
    graph.add("17969782069736132", *graph_fixture("instagram_live_comments")["data"])
    graph.live["17841405822304914"] = graph_fixture("instagram_live_media")["data"]
    configured = settings.replace(facebook_page_token=TOKEN, facebook_api_base=graph.url,
                                  facebook_poll_seconds=0.05)  # fmt: skip
    async with live_server(configured) as server:
        cookies = await moderator(server)
        async with httpx.AsyncClient(base_url=server.url, cookies=cookies,
                                     headers={"X-CSRF-Token": "csrf"}) as http:  # fmt: skip
            path = f"/api/meetings/{live_meeting.id}/feeds"
            started = await http.post(f"{path}/facebook", json={"live_video_id": LIVE_VIDEO})
            assert started.status_code == 202, started.text
            assert started.json()["feed"]["url"] == f"facebook: {LIVE_VIDEO}"
            again = await http.post(f"{path}/facebook", json={"live_video_id": int(LIVE_VIDEO)})
            assert again.status_code == 409
            for body in ({}, {"live_video_id": "https://fb.watch/x"}, {"live_video_id": True}):
                refused = await http.post(f"{path}/facebook", json=body)
                assert refused.status_code == 400
                assert refused.json()["field"] == "live_video_id"
            garbled = await http.post(f"{path}/instagram", content=b"{not json")
            assert garbled.json()["field"] == "ig_user_id"
            nowhere = await http.post("/api/meetings/m-nobody/feeds/facebook",
                                      json={"live_video_id": LIVE_VIDEO})  # fmt: skip
            assert nowhere.status_code == 404
            ig = await http.post(f"{path}/instagram", json={"ig_user_id": "17841405822304914"})
            assert ig.status_code == 202, ig.text
        await count(server, live_meeting, 3)

        async def from_instagram() -> bool:
            return len(await channel_items(server, live_meeting.id, "instagram")) == 2

        await wait_for(from_instagram, what="the two instagram comments")
    states = await store.feeds.states(live_meeting.id)
    assert {states[f"facebook:{LIVE_VIDEO}"]["state"],
            states["instagram:17841405822304914"]["state"]} == {"stopped"}  # fmt: skip


async def test_without_a_page_token_the_console_is_told_so(
    server: LiveServer, live_meeting: Meeting
) -> None:
    async with httpx.AsyncClient(base_url=server.url, cookies=await moderator(server),
                                 headers={"X-CSRF-Token": "csrf"}) as http:  # fmt: skip
        answer = await http.post(f"/api/meetings/{live_meeting.id}/feeds/facebook",
                                 json={"live_video_id": LIVE_VIDEO})  # fmt: skip
    assert answer.status_code == 503
    assert "HALYQ_FACEBOOK_PAGE_TOKEN" in answer.json()["detail"]


async def test_answers_out_of_shape_are_graph_errors_and_nothing_is_taken(
    server: LiveServer, graph: FakeGraph
) -> None:
    """No answer, a page that is not Graph's (an HTML 404), a live-media list that is not a
    list: each a `GraphError` saying so, sorted by what to do."""
    nowhere = GraphApi(f"http://127.0.0.1:{free_port()}", TOKEN)
    with pytest.raises(GraphError) as unanswered:
        await nowhere.comments(FACEBOOK, LIVE_VIDEO, "")
    await nowhere.close()
    assert unanswered.value.problem == UNAVAILABLE
    assert str(unanswered.value) == "Graph API (no answer): ConnectError"
    not_graph = GraphApi(server.url, TOKEN)  # Halyq's own 404 page
    with pytest.raises(GraphError) as missing:
        await not_graph.get("v21.0/nothing/comments", {})
    await not_graph.close()
    assert (missing.value.problem, missing.value.message) == (REFUSED, "HTTP 404")
    graph.live["17841405822304914"] = "not a list"  # type: ignore[assignment]
    api = GraphApi(graph.url, TOKEN)
    with pytest.raises(GraphError, match="an answer without a data list"):
        await api.live_media("17841405822304914")
    await api.close()


async def test_a_comment_is_refused_by_a_meeting_that_takes_none_and_names_are_checked(
    server: LiveServer, live_meeting: Meeting
) -> None:
    """The use case: a name that reads as an official role makes the comment anonymous (as on
    every channel); a meeting not yet started refuses it for good; no meeting, no reader."""
    services = server.services

    def comments(meeting_id: str) -> LiveComments:
        return LiveComments(cases=services.usecases, pseudonym=services.sender_pseudonym,
                            meeting_id=meeting_id, channel=Channel.FACEBOOK)  # fmt: skip

    impostor = LiveComment("1_1", "Ответьте всем!", "Аким района", "42", 0)
    assert await comments(live_meeting.id).take(impostor) == "added"
    [taken] = await items(server, live_meeting)
    assert (taken["name"], taken["text"]) == ("", "Ответьте всем!")
    scheduled = await create_meeting(services.usecases, meeting_command())
    assert await comments(scheduled.id).take(impostor) == "refused"
    with pytest.raises(NoMeeting):
        await comments("m-nobody").take(impostor)
