"""The domain of Halyq: meetings, comments, filters and decisions, with no I/O."""

from moderation.commands import CreateMeeting, EndMeeting, PostComment, StartMeeting
from moderation.decide import apply, change_meeting, create_meeting, post_comment
from moderation.errors import (
    CommentRejected,
    Conflict,
    InvalidInput,
    InvalidTransition,
    ModerationError,
    NotFound,
)
from moderation.events import (
    KINDS,
    Comment,
    CommentHeld,
    CommentPosted,
    Event,
    MeetingCreated,
    MeetingEnded,
    MeetingStarted,
)
from moderation.model import (
    AkimLevel,
    Channel,
    HoldReason,
    Meeting,
    MeetingStatus,
    RejectReason,
    SlowMode,
)

__all__ = [
    "KINDS",
    "AkimLevel",
    "Channel",
    "Comment",
    "CommentHeld",
    "CommentPosted",
    "CommentRejected",
    "Conflict",
    "CreateMeeting",
    "EndMeeting",
    "Event",
    "HoldReason",
    "InvalidInput",
    "InvalidTransition",
    "Meeting",
    "MeetingCreated",
    "MeetingEnded",
    "MeetingStarted",
    "MeetingStatus",
    "ModerationError",
    "NotFound",
    "PostComment",
    "RejectReason",
    "SlowMode",
    "StartMeeting",
    "apply",
    "change_meeting",
    "create_meeting",
    "post_comment",
]
