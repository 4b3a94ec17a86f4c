"""A fake of Meta's Graph API for the Facebook Live and Instagram Live comment readers
(issue 16): a real HTTP server on a loopback port, speaking the real shapes
(`tests/fixtures/graph/*.json`, written out from Meta's documentation).

- `GET /{live-video-id}/comments` and `GET /{ig-media-id}/comments`: the object's comments,
  oldest first, `limit` (at most `page_size`) at a time, as `{"data": [...], "paging":
  {"cursors": {"before", "after"}, "next"}}` (`next` only while more are there; no `paging`
  on an empty page);
  `after=` resumes after a page. Only the fields asked for (`fields=`) are served.
- `GET /{ig-user-id}/live_media`: the user's live media, while it is live.
- The token is checked (the `Authorization` header, or `access_token=` as Meta allows);
  `expired` answers Graph's error 190, `failing` answers 500 that many times, `limited`
  Graph's rate-limit error (code 32) that many times, `garbled` a page that is not JSON that
  many times, and `rewind` serves the next page from the first comment whatever the cursor
  (a platform that serves a page again).
Every request is kept in `requests` (path, query, and whether the token was in the URL).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moderation import Meeting
from server.auth.accounts import Role, Session, User
from server.channels.graph_live import GraphApi, LiveReader, Platform
from server.usecases.graph_live import live_reader
from tests.helpers import TIMEOUT, LiveServer, wait_for

TOKEN = "EAAGm0PX4ZCpsBAtest-page-token"
GRAPH = Path(__file__).resolve().parent / "fixtures" / "graph"


def graph_fixture(name: str) -> Any:
    """One of Meta's sample answers (tests/fixtures/graph)."""
    return json.loads((GRAPH / f"{name}.json").read_text(encoding="utf-8"))


def _cursor(position: int) -> str:
    """An opaque cursor, as Graph's are (base64 of where a page ends)."""
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def _position(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("pos:"))
    except (ValueError, UnicodeDecodeError):
        return -1


@dataclass
class FakeGraph:
    """The fake's state: comments by object id, live media by IG user, and its faults."""

    url: str = ""
    comments: dict[str, list[Any]] = field(default_factory=dict)
    live: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    expired: bool = False
    failing: int = 0
    limited: int = 0
    garbled: int = 0
    rewind: bool = False
    page_size: int = 100  # Graph may serve fewer than the `limit` asked for
    requests: list[tuple[str, dict[str, str], bool]] = field(default_factory=list)

    def add(self, object_id: str, *rows: Any) -> None:
        self.comments.setdefault(object_id, []).extend(rows)

    def served(self, path_end: str) -> int:
        return sum(1 for path, _, _ in self.requests if path.endswith(path_end))


def _fake(request: Request) -> FakeGraph:
    fake: FakeGraph = request.app.state.fake
    return fake


def _fault(fake: FakeGraph, request: Request) -> Response | None:
    """The error the fake answers now, if any, checked in the order Graph would."""
    given = request.headers.get("authorization", "").removeprefix("Bearer ")
    token = request.query_params.get("access_token", given)
    if token != TOKEN or fake.expired:
        return JSONResponse(graph_fixture("graph_error_token_expired"), status_code=400)
    if fake.failing:
        fake.failing -= 1
        return JSONResponse(graph_fixture("graph_error_unknown"), status_code=500)
    if fake.limited:
        fake.limited -= 1
        return JSONResponse(graph_fixture("graph_error_rate_limited"), status_code=400)
    if fake.garbled:
        fake.garbled -= 1
        return Response("<html>502 Bad Gateway</html>", media_type="text/html")
    return None


def _only(row: Any, fields: str) -> Any:
    if not isinstance(row, dict):
        return row  # a broken row, served as it is
    wanted = {name.split("{")[0] for name in fields.split(",") if name}
    return {k: v for k, v in row.items() if not wanted or k in wanted}


async def _comments(request: Request) -> Response:
    fake = _fake(request)
    path = request.url.path
    fake.requests.append((path, dict(request.query_params), "access_token" in request.query_params))
    if (fault := _fault(fake, request)) is not None:
        return fault
    object_id = request.path_params["object_id"]
    if object_id not in fake.comments:
        error = {"message": f"Unsupported get request. Object with ID '{object_id}' does not "
                 "exist", "type": "GraphMethodException", "code": 100, "error_subcode": 33,
                 "fbtrace_id": "AZ1x"}  # fmt: skip
        return JSONResponse({"error": error}, status_code=400)
    rows = fake.comments[object_id]
    start = 0 if fake.rewind else max(0, _position(request.query_params.get("after", "")))
    fake.rewind = False
    limit = min(int(request.query_params.get("limit", "25")), fake.page_size)
    page = rows[start : start + limit]
    if not page:
        return JSONResponse({"data": []})
    fields = request.query_params.get("fields", "")
    end = start + len(page)
    body: dict[str, Any] = {
        "data": [_only(row, fields) for row in page],
        "paging": {"cursors": {"before": _cursor(start), "after": _cursor(end)}},
    }
    if end < len(rows):  # Graph's `next` carries the token: our reader never follows it
        body["paging"]["next"] = f"{fake.url}{path}?access_token={TOKEN}&after={_cursor(end)}"
    return JSONResponse(body)


async def _live_media(request: Request) -> Response:
    fake = _fake(request)
    fake.requests.append((request.url.path, dict(request.query_params), False))
    if (fault := _fault(fake, request)) is not None:
        return fault
    return JSONResponse({"data": fake.live.get(request.path_params["user_id"], [])})


@contextlib.asynccontextmanager
async def fake_graph() -> AsyncIterator[FakeGraph]:
    """The fake Graph API on a loopback port of its own, `/v21.0` as its base's path."""
    fake = FakeGraph()
    app = Starlette(
        routes=[
            Route("/v21.0/{object_id}/comments", _comments),
            Route("/v21.0/{user_id}/live_media", _live_media),
        ]
    )
    app.state.fake = fake
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[listener]))
    try:
        await wait_for(lambda: server.started or task.done(), what="the fake Graph API")
        fake.url = f"http://127.0.0.1:{listener.getsockname()[1]}/v21.0"
        yield fake
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        listener.close()


# How the tests read what the readers did, as akimat systems and the console read it.

ADMIN = {"Authorization": "Bearer test-admin-token"}


async def channel_items(server: LiveServer, meeting_id: str, channel: str) -> list[dict[str, Any]]:
    """`GET /api/meetings/{id}/items?channel=...` with the admin token (contacts shown)."""
    async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
        answer = await http.get(f"/api/meetings/{meeting_id}/items",
                                params={"channel": channel, "limit": 1000})  # fmt: skip
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


async def moderator(server: LiveServer) -> dict[str, str]:
    """A moderator's session cookie (a real session in the real store): the console's feeds
    are for staff who may view it."""
    staff, now = server.services.staff, time.time()
    name = f"moderator-{time.monotonic_ns()}"
    await staff.add_user(User(name=name, role=Role.MODERATOR, password_hash="not-used",
                              created=now))  # fmt: skip
    session = f"session-{time.monotonic_ns()}"
    await staff.create_session(session, Session(name=name, role=Role.MODERATOR, created=now,
                                                last_seen=now, csrf="csrf"))  # fmt: skip
    return {"halyq_session": session}


async def feed_state(server: LiveServer, meeting_id: str, source: str) -> dict[str, Any]:
    """One feed as the console reads it (`GET /api/meetings/{id}/feeds`), {} if not there."""
    async with httpx.AsyncClient(base_url=server.url, cookies=await moderator(server)) as http:
        answer = await http.get(f"/api/meetings/{meeting_id}/feeds")
    assert answer.status_code == 200, answer.text
    feeds = {f["source"]: f for f in answer.json()["feeds"]}
    state: dict[str, Any] = feeds.get(source, {})
    return state


@contextlib.asynccontextmanager
async def graph_reading(
    server: LiveServer,
    graph: FakeGraph,
    meeting: Meeting,
    *,
    platform: Platform,
    target: str,
    poll: float,
) -> AsyncIterator[LiveReader]:
    """A reader of `platform`'s live comments on `target` running until the block ends."""
    services = server.services
    api = GraphApi(graph.url, TOKEN)
    reader = live_reader(services.usecases, services.sender_pseudonym, platform=platform,
                         meeting_id=meeting.id, target=target, api=api, poll_seconds=poll,
                         clock=services.clock)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(reader.run(stop))
    try:
        yield reader
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)
        await api.close()
