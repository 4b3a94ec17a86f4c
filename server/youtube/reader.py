"""The chat reader: yt-dlp's live-chat lines into the YouTube use case, durably (issue 11).

A line's position is stored only after every event on it was taken, so a reader killed at any
moment resumes at the first line not wholly taken; the record's idempotency (YouTube's own ids)
makes the lines read again harmless. A line that is not understood is counted, and each reason
logged once: YouTube changes its shapes often, and a feed must not stop for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from moderation import Meeting
from recordings.livechat import AuthorBan, ChatEvent, ChatMessage, ChatRemoval, Unreadable, parse
from server.store import Store, StoreUnavailable
from server.usecases.youtube import Later, Taken, YouTubeChat

logger = logging.getLogger(__name__)

RETRY_PAUSE = 1.0  # seconds before an item the record could not take is tried again
MEETING_FRESH = 1.0  # seconds a loaded meeting is used before it is loaded again


class NoMeeting(LookupError):
    """The meeting the chat is read into does not exist."""


@dataclass(slots=True)
class Tally:
    """What became of the chat items read, for the summary and the feed's state."""

    added: int = 0
    repeated: int = 0
    hidden: int = 0
    refused: int = 0
    unreadable: int = 0

    def count(self, taken: Taken) -> None:
        name = taken.value
        setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def summary(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.as_dict().items())


@dataclass(slots=True, kw_only=True)
class Reader:
    """Reads one chat file of one meeting into the record; `source` names the file's stored
    position. `on_message` is told of every chat message taken (the follower's health)."""

    chat: YouTubeChat
    meeting_id: str
    source: str
    pause: float = RETRY_PAUSE
    on_message: Callable[[], None] = lambda: None
    tally: Tally = field(default_factory=Tally)
    _reasons: set[str] = field(default_factory=set)
    _meeting: Meeting | None = None
    _loaded_at: float = 0.0

    @property
    def store(self) -> Store:
        return self.chat.cases.store

    async def position(self) -> int:
        """Where this file was last read up to (0: from its start)."""
        return await self.store.feeds.position(self.meeting_id, self.source)

    async def restart(self) -> None:
        """The file is read from its start again (a new file under the same name)."""
        await self.store.feeds.advance(self.meeting_id, self.source, 0)

    async def take(self, line: bytes, offset_after: int) -> None:
        """Take every event of one whole line, then store the position after it."""
        for event in self._events(line):
            await self._take(event)
        while True:
            try:
                await self.store.feeds.advance(self.meeting_id, self.source, offset_after)
                return
            except StoreUnavailable as error:
                await self._wait(error)

    def _events(self, line: bytes) -> list[ChatEvent]:
        if not line.strip():
            return []
        try:
            return parse(line)
        except Unreadable as error:
            self.tally.unreadable += 1
            if error.reason not in self._reasons:  # once per reason: a changed shape floods
                self._reasons.add(error.reason)
                logger.warning("youtube chat: a line not understood (%s)", error.reason)
            return []

    async def _take(self, event: ChatEvent) -> None:
        """One event, tried again after a pause while the record cannot take it (`Later`)."""
        while True:
            try:
                taken = await self._apply(await self._current(), event)
                break
            except (Later, StoreUnavailable) as error:
                await self._wait(error)
        if isinstance(event, ChatMessage):
            self.tally.count(taken)
            self.on_message()

    async def _wait(self, error: Exception) -> None:
        """The record cannot take the line now: the reader keeps its place and waits."""
        logger.info("youtube chat: the record cannot take an item now (%s)", error)
        await asyncio.sleep(self.pause)

    async def _apply(self, meeting: Meeting, event: ChatEvent) -> Taken:
        if isinstance(event, ChatMessage):
            return await self.chat.message(
                meeting,
                youtube_id=event.id,
                author=event.author,
                channel_id=event.author_channel,
                timestamp_usec=event.timestamp_usec,
                text=event.text,
                amount=event.amount,
                currency=event.currency,
                kind=event.kind,
            )
        if isinstance(event, ChatRemoval):
            return await self.chat.removed(meeting, event.id)
        assert isinstance(event, AuthorBan)
        return await self.chat.banned(meeting, event.author_channel)

    async def _current(self) -> Meeting:
        """The meeting as it is now (it starts and ends while a feed runs), loaded at most once
        a second."""
        now = time.monotonic()
        if self._meeting is None or now - self._loaded_at >= MEETING_FRESH:
            meeting = await self.store.meetings.get(self.meeting_id)
            if meeting is None:
                raise NoMeeting(self.meeting_id)
            self._meeting, self._loaded_at = meeting, now
        return self._meeting
