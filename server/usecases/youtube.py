"""YouTube's live chat into the record (issue 11): a thin channel like the others.

The reader (`server/cli/youtube.py`, from yt-dlp's live-chat file) hands each chat item here:
a message becomes a comment with channel `youtube` through `submit`, keyed by YouTube's own id
(delivered twice, in the live and the replay file, or after a restart: added once), with the
time YouTube gives and a super chat's amount; the author's channel id is kept as a contact,
never shown to viewers. YouTube's deletions and bans hide the comments with the reason
`removed_on_youtube`: a deletion that comes before its comment, and a banned author's later
comments, are hidden as soon as they are taken. YouTube's chat has its own slow mode: ours does
not apply (it would only lose comments).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from moderation import (
    Channel,
    CommentRejected,
    Conflict,
    Meeting,
    Moderate,
    PostComment,
    RejectReason,
    Submission,
)
from moderation.model import Action, ItemStatus, ModerationReason
from moderation.submissions import accepted_name
from server.store import Write
from server.store.record import Appended
from server.usecases.act import act
from server.usecases.context import UseCases
from server.usecases.outcomes import Held, Posted, Rejected, Repeated
from server.usecases.submit import submit

# Refusals that another try would not change (the meeting has not started, an empty or
# over-long text); any other answer (unavailable, overloaded, unconfirmed) is tried again.
FINAL = frozenset({RejectReason.MEETING_CLOSED, RejectReason.INVALID, RejectReason.TOO_LONG})
HIDE_TRIES = 3
BY = "youtube"  # who hid a comment YouTube removed (the audit log shows it)
PREFIX = "yt:"


class Taken(enum.StrEnum):
    """What became of one chat item."""

    ADDED = "added"
    REPEATED = "repeated"  # taken before: the same YouTube id
    HIDDEN = "hidden"  # a deletion or a ban applied
    REFUSED = "refused"  # the meeting does not take comments (not started)
    RETRY = "retry"  # the record cannot take it now: read it again later


class Later(Exception):
    """The record cannot take the item now; the reader keeps its place and tries again."""


@dataclass(slots=True, kw_only=True)
class YouTubeChat:
    """The YouTube chat use case, with how to make an author's pseudonym (a keyed hash)."""

    cases: UseCases
    pseudonym: Callable[[str], str]

    async def message(
        self,
        meeting: Meeting,
        *,
        youtube_id: str,
        author: str,
        channel_id: str,
        timestamp_usec: int,
        text: str,
        amount: str = "",
        currency: str = "",
        kind: str = "text",
    ) -> Taken:
        """Take one chat message as a comment; `Later` when the record cannot take it now."""
        store = self.cases.store
        sender = self.pseudonym(f"youtube:{channel_id}")
        try:
            name = accepted_name(author)
        except CommentRejected:  # a display name that reads as an official role: anonymous
            name = ""
        shown = text.strip() or " ".join(p for p in (amount, currency) if p) or f"[{kind}]"
        comment = PostComment(
            client_msg_id=PREFIX + youtube_id,
            name=name,
            text=shown,
            channel=Channel.YOUTUBE,
            received_at=timestamp_usec // 1000,
            amount=amount,
            currency=currency,
        )
        contact = {"channel": "youtube", "contact": channel_id, "reply_to": "", "via": "",
                   "name": author}  # fmt: skip

        def keep(write: Write, at: Appended, event: object) -> None:
            store.intake.keep_contact(write, meeting.id, sender, contact)

        outcome = await submit(
            self.cases, meeting, Submission(what=comment, sender=sender), extra=keep
        )
        if isinstance(outcome, Repeated):
            return Taken.REPEATED
        if isinstance(outcome, Rejected) and outcome.reason in FINAL:
            return Taken.REFUSED
        if not isinstance(outcome, Posted | Held):
            raise Later(getattr(outcome, "detail", "the record did not take it"))
        if await store.feeds.removed_on_youtube(meeting.id, youtube_id, channel_id):
            await self._hide(meeting, outcome.id)
            return Taken.HIDDEN
        return Taken.ADDED

    async def removed(self, meeting: Meeting, youtube_id: str) -> Taken:
        """YouTube deleted a message: its comment is hidden (now, or when it comes)."""
        store = self.cases.store
        seen = await store.record.seen(meeting.id, PREFIX + youtube_id)
        if seen is None:
            await store.feeds.remove_later(meeting.id, youtube_id)
            return Taken.HIDDEN
        await self._hide(meeting, seen.id)
        return Taken.HIDDEN

    async def banned(self, meeting: Meeting, channel_id: str) -> Taken:
        """YouTube banned an author: every comment of theirs is hidden, later ones too."""
        store = self.cases.store
        await store.feeds.ban(meeting.id, channel_id)
        sender = self.pseudonym(f"youtube:{channel_id}")
        for item_id in await store.intake.sent_by(meeting.id, sender):
            await self._hide(meeting, item_id)
        return Taken.HIDDEN

    async def _hide(self, meeting: Meeting, item_id: str) -> None:
        """Hide a comment YouTube removed, whatever moderators did to it meanwhile."""
        store = self.cases.store
        reason = ModerationReason.REMOVED_ON_YOUTUBE.value
        for _ in range(HIDE_TRIES):
            item = (await store.board.items(meeting.id, [item_id])).get(item_id)
            if item is None or item.status is ItemStatus.HIDDEN:
                return
            command = Moderate(
                action=Action.HIDE.value, item=item_id, version=item.version, reason=reason
            )
            try:
                await act(self.cases, meeting, command, by=BY)
                return
            except Conflict:  # a moderator acted on it at the same moment: look again
                continue
