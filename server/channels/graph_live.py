"""Facebook Live and Instagram Live comments, read from Meta's Graph API (issue 16).

What the Graph API offers (verified against Meta's documentation, November 2026; the details
and what was left out are in README, "Facebook and Instagram comments"):

- Facebook: `GET /{live-video-id}/comments` with a Page access token (`pages_read_engagement`)
  answers `{"data": [{"id", "message", "created_time": "2026-11-30T10:00:00+0000",
  "from": {"name", "id"}}], "paging": {"cursors": {"before", "after"}, "next"}}`; `from` is
  left out where the page may not see the commenter. With `order=chronological`,
  `filter=stream` (replies too) and `live_filter=no_filter` (Facebook's low-quality filter off:
  our moderators decide), following `paging.cursors.after` gives every comment once, oldest
  first. This is what `FACEBOOK` polls. The streaming endpoint
  (`streaming-graph.facebook.com/{live-video-id}/live_comments`, Server-Sent Events) pushes
  the same comments with a `comment_rate`, but has no cursor to resume from after a restart:
  not implemented.
- Instagram (a Business or Creator account linked to a Page, `instagram_basic`,
  `instagram_manage_comments`): `GET /{ig-user-id}/live_media` lists the live video media
  being broadcast now (nothing otherwise), and `GET /{ig-media-id}/comments` its comments
  (`id`, `text`, `timestamp`, `username`, `from{id,username}`), only while it is live.
  `INSTAGRAM` finds the live media, then reads its comments like Facebook's.

A reader polls every `HALYQ_FACEBOOK_POLL_SECONDS`, hands each comment to `take` (the use
case: `submit` with the platform's channel, keyed by the platform's comment id) and stores the
page's `after` cursor only once every comment on it was taken: a reader stopped at any moment
resumes there, and the record's idempotency makes a page read again add nothing. The token is
sent in the `Authorization` header, never in a URL, and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from server.store import StoreUnavailable
from server.store.feeds import FeedStore

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 10.0  # seconds one Graph request may take before it counts as failed
PAGE_SIZE = 100
REPORT_EVERY = 1.0  # seconds between two reports of the reader's health (as YouTube's feed)
WINDOW_MS = 60_000  # "items in the last minute"
ERROR_CHARS = 300
# Backoffs, in polls (HALYQ_FACEBOOK_POLL_SECONDS, 2 s by default): a failed request is tried
# again after 2, 4, 8... polls up to 30; a rate limit waits 10, 20... up to 150 polls; an expired
# token is tried every 30 polls (a minute) until someone sets a new one.
RETRY_POLLS, RETRY_MAX_POLLS = 2, 30
RATE_POLLS, RATE_MAX_POLLS = 10, 150
TOKEN_POLLS = 30
RATE_CODES = frozenset({4, 17, 32, 613})  # Graph's application, user, page and custom limits
TOKEN_CODES = frozenset({190})  # the access token expired or was revoked

FOLLOWING, RESTARTING, STOPPED = "following", "restarting", "stopped"  # as YouTube's feed
# What is wrong, for the console and monitoring (`problem`).
TOKEN_EXPIRED, RATE_LIMITED, UNAVAILABLE, REFUSED, NOT_LIVE = (
    "token_expired", "rate_limited", "unavailable", "refused", "not_live",
)  # fmt: skip


class Later(Exception):
    """The record cannot take a comment now: the page is read again after a pause."""


class Unreadable(ValueError):
    """A comment that cannot be taken (no id, no text): skipped, the rest of the page taken."""


@dataclass(frozen=True, slots=True)
class LiveComment:
    """One comment as the platform gave it; `author` may be "" (not visible to the page)."""

    id: str
    text: str
    author: str
    author_id: str
    created_ms: int  # 0: the platform gave no time we understand (the record's time stands)


class GraphError(Exception):
    """A Graph API request that failed: HTTP `status` (0: no answer), Graph's error `code`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    @property
    def problem(self) -> str:
        if self.code in TOKEN_CODES:
            return TOKEN_EXPIRED
        if self.code in RATE_CODES or self.status == 429:
            return RATE_LIMITED
        if self.status < 400 or self.status >= 500:  # no answer, a garbled one, a 5xx
            return UNAVAILABLE
        return REFUSED

    def __str__(self) -> str:
        said = f"Graph API error {self.code}" if self.code else "Graph API"
        status = f"HTTP {self.status}" if self.status else "no answer"
        return f"{said} ({status}): {self.message}"[:ERROR_CHARS]


def created_ms(value: Any) -> int:
    """Graph's `created_time`/`timestamp` ("2026-11-30T10:00:00+0000") in ms, else 0."""
    if not isinstance(value, str):
        return 0
    try:
        return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp() * 1000)
    except ValueError:
        return 0


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return value if isinstance(value, str) else ""


def _object(row: dict[str, Any], name: str) -> dict[str, Any]:
    value = row.get(name)
    return value if isinstance(value, dict) else {}


def _required(row: Any, text_field: str) -> tuple[dict[str, Any], str, str]:
    if not isinstance(row, dict):
        raise Unreadable("not an object")
    comment_id, text = _text(row, "id"), _text(row, text_field)
    if not comment_id:
        raise Unreadable("no id")
    if not text.strip():
        raise Unreadable(f"no {text_field}")  # a sticker or a photo alone: nothing to read
    return row, comment_id, text


def facebook_comment(row: Any) -> LiveComment:
    """A Facebook Comment node (`id`, `message`, `created_time`, `from{name,id}`)."""
    row, comment_id, text = _required(row, "message")
    author = _object(row, "from")
    return LiveComment(comment_id, text, _text(author, "name"), _text(author, "id"),
                       created_ms(row.get("created_time")))  # fmt: skip


def instagram_comment(row: Any) -> LiveComment:
    """An IG Comment node (`id`, `text`, `timestamp`, `username`, `from{id,username}`)."""
    row, comment_id, text = _required(row, "text")
    author = _object(row, "from")
    name = _text(row, "username") or _text(author, "username")
    return LiveComment(comment_id, text, name, _text(author, "id"),
                       created_ms(row.get("timestamp")))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Platform:
    """What differs between Facebook's and Instagram's comments."""

    name: str  # the channel's value and the feed's source prefix
    fields: str
    params: dict[str, str]
    parse: Callable[[Any], LiveComment]


FACEBOOK = Platform(
    "facebook",
    "id,message,created_time,from",
    {"order": "chronological", "filter": "stream", "live_filter": "no_filter"},
    facebook_comment,
)
INSTAGRAM = Platform("instagram", "id,text,timestamp,username,from", {}, instagram_comment)


@dataclass(slots=True)
class Page:
    """One page of comments: those understood, the reasons of those skipped, and the cursor
    to read the next page from ("" when the page gave none: keep the one we had)."""

    comments: list[LiveComment]
    skipped: list[str]
    after: str
    more: bool  # `paging.next` was given: another page is there now


def parse_page(body: Any, parse: Callable[[Any], LiveComment]) -> Page:
    """A Graph list answer; `GraphError` when it is not one (nothing of it is taken)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise GraphError(200, 0, "an answer without a data list")
    comments, skipped = [], []
    for row in body["data"]:
        try:
            comments.append(parse(row))
        except Unreadable as error:
            skipped.append(str(error))
    paging = _object(body, "paging")
    after = _text(_object(paging, "cursors"), "after")
    return Page(comments, skipped, after, bool(paging.get("next")) and bool(after))


class GraphApi:
    """The Graph API's GET requests with a Page access token, errors made `GraphError`."""

    def __init__(self, base: str, token: str, http: httpx.AsyncClient | None = None) -> None:
        self._base = base.rstrip("/")
        self._token = token
        self._http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        # httpx logs each request's URL at INFO; ours carry no token, but the level stays down.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def close(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, params: dict[str, str]) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            answer = await self._http.get(f"{self._base}/{path}", params=params, headers=headers)
        except httpx.HTTPError as error:
            raise GraphError(0, 0, type(error).__name__) from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            raise _error(answer.status_code, body)
        if body is None:
            raise GraphError(answer.status_code, 0, "an answer that is not JSON")
        return body

    async def comments(self, platform: Platform, object_id: str, after: str) -> Page:
        params = {"fields": platform.fields, "limit": str(PAGE_SIZE), **platform.params}
        if after:
            params["after"] = after
        return parse_page(await self.get(f"{object_id}/comments", params), platform.parse)

    async def live_media(self, ig_user_id: str) -> str:
        """The IG user's live video media being broadcast now, or "" (none)."""
        body = await self.get(f"{ig_user_id}/live_media",
                              {"fields": "id,media_type,media_product_type"})  # fmt: skip
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise GraphError(200, 0, "an answer without a data list")
        ids = [_text(row, "id") for row in rows if isinstance(row, dict)]
        return next((found for found in ids if found), "")


def _error(status: int, body: Any) -> GraphError:
    """Graph's `{"error": {"message", "type", "code", "fbtrace_id"}}`, or what there was."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(status, 0, f"HTTP {status}")
    code = error.get("code")
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    kind = error.get("type") if isinstance(error.get("type"), str) else ""
    said = f"{kind}: {message}" if kind else message
    return GraphError(status, code if isinstance(code, int) else 0, said or f"HTTP {status}")


Take = Callable[[LiveComment], Awaitable[str]]  # "added", "repeated" or "refused"; or Later


@dataclass(slots=True, kw_only=True)
class LiveReader:
    """One meeting's reader of one platform's live comments: Facebook's live video
    `target`, or the Instagram user `target`'s live media. `take` is the use case."""

    platform: Platform
    meeting_id: str
    target: str
    api: GraphApi
    take: Take
    feeds: FeedStore
    poll_seconds: float
    clock: Callable[[], float] = time.time
    state: str = FOLLOWING
    problem: str = ""
    error: str = ""
    restarts: int = 0
    started_at: int = 0
    last_item_at: int | None = None
    media: str = ""  # Instagram: the live media read now
    tally: dict[str, int] = field(default_factory=dict)
    _recent: deque[int] = field(default_factory=deque)
    _reasons: set[str] = field(default_factory=set)
    _failures: int = 0

    @property
    def source(self) -> str:
        """The feed's name in the meeting's feeds (its health) and positions (its cursor)."""
        return f"{self.platform.name}:{self.target}"

    def _cursor_source(self) -> str:
        return f"{self.source}:{self.media}" if self.media else self.source

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def as_state(self) -> dict[str, Any]:
        """The feed's state as the console reads it (`GET /api/meetings/{id}/feeds`)."""
        now = self._now_ms()
        while self._recent and self._recent[0] <= now - WINDOW_MS:
            self._recent.popleft()
        counts = {name: self.tally.get(name, 0)
                  for name in ("added", "repeated", "refused", "unreadable")}  # fmt: skip
        return {
            "platform": self.platform.name,
            "url": f"{self.platform.name}: {self.target}",
            "state": self.state,
            "problem": self.problem,
            "items_last_minute": len(self._recent),
            "last_item_at": self.last_item_at,
            "started_at": self.started_at,
            "reported_at": now,
            "error": self.error,
            "restarts": self.restarts,
            **counts,
        }

    async def report(self) -> None:
        await self.feeds.report(self.meeting_id, self.source, self.as_state())

    async def poll(self) -> bool:
        """Read one page from the stored cursor and take it; True when another page is there
        already. Raises `GraphError`, `Later` or `StoreUnavailable` with nothing stored."""
        if self.platform is INSTAGRAM and not self.media:
            self.media = await self.api.live_media(self.target)
            if not self.media:
                self.problem = NOT_LIVE  # nothing to read until the account goes live
                return False
        self.problem = ""
        object_id = self.media or self.target
        cursor = await self.feeds.cursor(self.meeting_id, self._cursor_source())
        try:
            page = await self.api.comments(self.platform, object_id, cursor)
        except GraphError as error:
            if self.media and error.problem == REFUSED:
                self.media = ""  # the live media ended: look for the account's next one
            raise
        for reason in page.skipped:
            self._skipped(reason)
        for comment in page.comments:
            self._count(await self.take(comment))
        if page.after and page.after != cursor:
            await self.feeds.keep_cursor(self.meeting_id, self._cursor_source(), page.after)
        return page.more and page.after != cursor

    def _skipped(self, reason: str) -> None:
        self.tally["unreadable"] = self.tally.get("unreadable", 0) + 1
        if reason not in self._reasons:  # once per reason: a changed shape would flood
            self._reasons.add(reason)
            logger.warning("%s comments: a comment skipped (%s) in meeting %s",
                           self.platform.name, reason, self.meeting_id)  # fmt: skip

    def _count(self, taken: str) -> None:
        self.tally[taken] = self.tally.get(taken, 0) + 1
        if taken == "added":
            now = self._now_ms()
            self.last_item_at = now
            self._recent.append(now)

    def _failed(self, error: Exception) -> float:
        """Say what went wrong in the feed's state; the seconds to wait before the next try."""
        self._failures += 1
        self.state, self.restarts = RESTARTING, self.restarts + 1
        polls: float = RETRY_POLLS
        if isinstance(error, GraphError):
            self.problem, self.error = error.problem, str(error)
            if error.problem == TOKEN_EXPIRED:
                polls = TOKEN_POLLS
            elif error.problem == RATE_LIMITED:
                polls = min(RATE_POLLS * 2 ** (self._failures - 1), RATE_MAX_POLLS)
            else:
                polls = min(RETRY_POLLS * 2 ** (self._failures - 1), RETRY_MAX_POLLS)
        else:  # the record cannot take a comment now: the page is read again soon
            self.problem, self.error = UNAVAILABLE, f"the record: {error}"[:ERROR_CHARS]
        logger.warning("%s comments of meeting %s: %s; again in %.1f s", self.platform.name,
                       self.meeting_id, self.error, polls * self.poll_seconds)  # fmt: skip
        return polls * self.poll_seconds

    def _recovered(self) -> None:
        if self.state != FOLLOWING:
            logger.info("%s comments of meeting %s: reading again", self.platform.name,
                        self.meeting_id)  # fmt: skip
        self.state, self._failures, self.error = FOLLOWING, 0, ""

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, reporting the feed's health every second."""
        self.state, self.started_at = FOLLOWING, self._now_ms()
        reporting = asyncio.create_task(self._report_every(stop))
        try:
            while not stop.is_set():
                shown = (self.state, self.problem)
                try:
                    more = await self.poll()
                    self._recovered()
                    wait = 0.0 if more else self.poll_seconds
                except (GraphError, Later, StoreUnavailable) as error:
                    wait = self._failed(error)
                if (self.state, self.problem) != shown:  # the console hears of it at once
                    await self._report_now()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            reporting.cancel()
            self.state = STOPPED
            with contextlib.suppress(Exception):
                await asyncio.shield(self.report())

    async def _report_now(self) -> None:
        try:
            await self.report()
        except StoreUnavailable as error:  # the store is away for a moment: report later
            logger.info("%s comments: the feed's state not reported (%s)",
                        self.platform.name, error)  # fmt: skip

    async def _report_every(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._report_now()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REPORT_EVERY)


@dataclass(slots=True)
class LiveReaders:
    """The readers this server process runs (started from the console), one per meeting and
    source; the app's lifespan owns them and stops them when it ends."""

    running: dict[tuple[str, str], tuple[LiveReader, asyncio.Event, asyncio.Task[None]]] = field(
        default_factory=dict
    )

    def is_running(self, meeting_id: str, source: str) -> bool:
        found = self.running.get((meeting_id, source))
        return found is not None and not found[2].done()

    def start(self, reader: LiveReader) -> None:
        """Run `reader` until the app stops (one already running is refused first)."""
        stop = asyncio.Event()
        task = asyncio.create_task(reader.run(stop), name=f"{reader.source}:{reader.meeting_id}")
        task.add_done_callback(_log_end)
        self.running[(reader.meeting_id, reader.source)] = (reader, stop, task)

    async def stop(self) -> None:
        """Stop every reader (each reports `stopped`) and close its Graph client."""
        for _, stop, _ in self.running.values():
            stop.set()
        tasks = [task for _, _, task in self.running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=HTTP_TIMEOUT * 2)
        for reader, _, _ in self.running.values():
            await reader.api.close()
        self.running.clear()


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("live comments: a reader ended on an error", exc_info=error)
