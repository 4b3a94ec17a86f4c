"""Facebook Live and Instagram Live comments into the record (issue 16): a thin channel like
YouTube's chat.

The readers (`server/channels/graph_live.py`) hand each comment here: it becomes a comment with
channel `facebook` or `instagram` through `submit`, keyed by the platform's own comment id
(`fb:<id>`, `ig:<id>`: read twice, after a restart or a crash before the cursor was stored,
it is added once), with the time the platform gives and the commenter's name (anonymous when
the page may not see it, or when it reads as an official role). The commenter's platform id is
kept as a contact, never shown to viewers. The platforms pace their own viewers: our slow mode
does not apply (`BROADCAST_CHANNELS`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moderation import Channel, CommentRejected, Meeting, PostComment, Submission
from moderation.submissions import accepted_name
from server.channels.graph_live import (
    FACEBOOK,
    INSTAGRAM,
    GraphApi,
    Later,
    LiveComment,
    LiveReader,
    Platform,
)
from server.store import Write
from server.store.record import Appended
from server.usecases.context import UseCases
from server.usecases.outcomes import Held, Posted, Rejected, Repeated
from server.usecases.submit import submit
from server.usecases.youtube import FINAL

PREFIXES = {Channel.FACEBOOK: "fb:", Channel.INSTAGRAM: "ig:"}
MEETING_FRESH = 1.0  # seconds a loaded meeting is used before it is loaded again


class NoMeeting(LookupError):
    """The meeting the comments are read into does not exist."""


@dataclass(slots=True, kw_only=True)
class LiveComments:
    """One meeting's comments from one platform (`channel`), as the reader's `take`."""

    cases: UseCases
    pseudonym: Callable[[str], str]
    meeting_id: str
    channel: Channel
    _meeting: Meeting | None = field(default=None)
    _loaded_at: float = 0.0

    async def take(self, comment: LiveComment) -> str:
        """`added`, `repeated` (this comment id was taken before) or `refused` (the meeting
        takes no comments); `Later` when the record cannot take it now."""
        meeting = await self._current()
        platform = self.channel.value
        # Without the commenter's id (the page may not see them), each comment is its own.
        who = comment.author_id or f"comment:{comment.id}"
        sender = self.pseudonym(f"{platform}:{who}")
        try:
            name = accepted_name(comment.author)
        except CommentRejected:  # a name that reads as an official role: anonymous
            name = ""
        post = PostComment(
            client_msg_id=PREFIXES[self.channel] + comment.id,
            name=name,
            text=comment.text,
            channel=self.channel,
            received_at=comment.created_ms,
        )
        contact = {"channel": platform, "contact": comment.author_id, "reply_to": "", "via": "",
                   "name": comment.author}  # fmt: skip
        store = self.cases.store

        def keep(write: Write, at: Appended, event: object) -> None:
            if comment.author_id:
                store.intake.keep_contact(write, meeting.id, sender, contact)

        outcome = await submit(
            self.cases, meeting, Submission(what=post, sender=sender), extra=keep
        )
        if isinstance(outcome, Repeated):
            return "repeated"
        if isinstance(outcome, Rejected) and outcome.reason in FINAL:
            return "refused"
        if not isinstance(outcome, Posted | Held):
            raise Later(getattr(outcome, "detail", "the record did not take it"))
        return "added"

    async def _current(self) -> Meeting:
        """The meeting as it is now (it starts and ends while a reader runs), loaded at most
        once a second."""
        now = time.monotonic()
        if self._meeting is None or now - self._loaded_at >= MEETING_FRESH:
            meeting = await self.cases.store.meetings.get(self.meeting_id)
            if meeting is None:
                raise NoMeeting(self.meeting_id)
            self._meeting, self._loaded_at = meeting, now
        return self._meeting


CHANNELS = {FACEBOOK.name: Channel.FACEBOOK, INSTAGRAM.name: Channel.INSTAGRAM}


def live_reader(
    cases: UseCases,
    pseudonym: Callable[[str], str],
    *,
    platform: Platform,
    meeting_id: str,
    target: str,
    api: GraphApi,
    poll_seconds: float,
    clock: Callable[[], float] = time.time,
) -> LiveReader:
    """A reader of `platform`'s comments on `target` (a Facebook live video's id, an
    Instagram user's id) into the meeting, through `LiveComments`."""
    comments = LiveComments(
        cases=cases, pseudonym=pseudonym, meeting_id=meeting_id, channel=CHANNELS[platform.name]
    )
    return LiveReader(platform=platform, meeting_id=meeting_id, target=target, api=api,
                      take=comments.take, feeds=cases.store.feeds, poll_seconds=poll_seconds,
                      clock=clock)  # fmt: skip
