"""The facts appended to a meeting's stream: the record every projection is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from moderation.model import AkimLevel, Channel, HoldReason


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingCreated:
    """A meeting was announced; the first event of its stream."""

    kind: ClassVar[str] = "meeting.created"
    at: int
    title: str
    akim: str
    level: AkimLevel
    territory: str
    planned_minutes: int
    stream_url: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    starts_at: str = ""
    slow_mode_seconds: float = 5.0
    slow_mode_burst: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingStarted:
    """The broadcast began: from now on commenting is open (R3)."""

    kind: ClassVar[str] = "meeting.started"
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingEnded:
    """The broadcast ended: no more comments; results follow (R6)."""

    kind: ClassVar[str] = "meeting.ended"
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommentFields:
    """What every comment event records: when, from where, by whom (a pseudonym), what."""

    at: int
    channel: Channel
    client_msg_id: str
    viewer: str
    name: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentPosted(_CommentFields):
    """A viewer's comment passed the first filter and is public (R3)."""

    kind: ClassVar[str] = "comment.posted"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentHeld(_CommentFields):
    """The first filter held a comment back with a public reason; its text stays in the record."""

    kind: ClassVar[str] = "comment.held"
    reason: HoldReason


Event = MeetingCreated | MeetingStarted | MeetingEnded | CommentPosted | CommentHeld
Comment = CommentPosted | CommentHeld

KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (MeetingCreated, MeetingStarted, MeetingEnded, CommentPosted, CommentHeld)
}
